"""The SQLite ledger repository (R15-R25, R41, R42), attached to
:class:`~asolora_core.adapters.sqlite.SqliteUnitOfWork` as ``uow.ledger`` (it sees the unit of
work only as :class:`~asolora_core.adapters.sqlite_base.SqliteTransaction`).

The journal is two tables: ``ledger_txns`` (one row per transaction: ``seq``, the UNIQUE
idempotency ``key``, kind, vendor, order and ref, memo, ``prev_hash`` and ``hash``) and
``ledger_entries`` (one row per posting, INTEGER minor units, CHECK non-zero). The database
enforces what is cheap to enforce: a key is posted once (so two workers cannot release an
order or post one payout twice), ``seq`` is unique, a payout row is positive and points at
its journal transaction. One vendor's folds and statements read that vendor's rows only,
through the ``ledger_entries_vendor`` covering index.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import sqlite3
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from asolora_core import _codec
from asolora_core.adapters.sqlite_base import (
    SqliteTransaction,
    dumps_sorted,
    instant,
    loads_json,
    micros,
)
from asolora_core.errors import ConcurrencyConflictError
from asolora_core.ledger.integrity import JournalFacts, readable
from asolora_core.ledger.model import (
    BALANCE,
    GENESIS_HASH,
    PAID_OUT,
    Entry,
    Hold,
    JournalTransaction,
    Payout,
    VendorAccount,
    iso,
    seal,
    seal_chain,
    stored_transaction,
    vendor_account,
)

__all__ = [
    "HOLDS_CHECK_MIGRATION",
    "LEDGER_INVARIANTS_MIGRATION",
    "LEDGER_KINDS_MIGRATION",
    "LEDGER_MIGRATION",
    "LEDGER_TOTALS_MIGRATION",
    "SqliteLedger",
]

#: The schema step that adds the ledger (appended to ``sqlite.MIGRATIONS``).
LEDGER_MIGRATION = """
    CREATE TABLE ledger_txns (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL
            CHECK (kind IN ('capture', 'fees', 'refund', 'release', 'chargeback', 'payout')),
        at INTEGER NOT NULL,
        vendor_id TEXT NOT NULL,
        order_id TEXT,
        ref TEXT,
        memo TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    CREATE INDEX ledger_txns_order ON ledger_txns (order_id) WHERE order_id IS NOT NULL;
    CREATE TABLE ledger_entries (
        seq INTEGER NOT NULL REFERENCES ledger_txns (seq),
        n INTEGER NOT NULL CHECK (n >= 0),
        account TEXT NOT NULL,
        vendor_id TEXT,
        kind TEXT NOT NULL,
        currency TEXT NOT NULL CHECK (length(currency) = 3),
        amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
        PRIMARY KEY (seq, n)
    ) WITHOUT ROWID;
    CREATE INDEX ledger_entries_vendor
        ON ledger_entries (vendor_id, currency, kind, seq, amount_minor)
        WHERE vendor_id IS NOT NULL;
    CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, amount_minor);
    CREATE TABLE ledger_holds (
        order_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        vendor_id TEXT NOT NULL,
        released INTEGER NOT NULL CHECK (released IN (0, 1)),
        body TEXT NOT NULL
    );
    CREATE INDEX ledger_holds_vendor ON ledger_holds (vendor_id, order_id);
    CREATE TABLE ledger_payouts (
        payout_id TEXT PRIMARY KEY,
        vendor_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE REFERENCES ledger_txns (seq),
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        body TEXT NOT NULL
    );
    CREATE INDEX ledger_payouts_vendor ON ledger_payouts (vendor_id, currency, seq);
    CREATE TABLE ledger_vendors (
        vendor_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        payout_currency TEXT NOT NULL CHECK (length(payout_currency) = 3),
        body TEXT NOT NULL
    )
"""

#: The schema step that lets the journal hold the endings' kinds (won chargebacks, staff
#: adjustments, the rolling reserve; R39, R41). SQLite cannot alter a CHECK constraint and
#: ``ledger_entries`` and ``ledger_payouts`` reference ``ledger_txns``, so the three tables
#: are rebuilt: the new children reference the new journal (renaming it rewrites their
#: references), the old children are dropped before the old journal, so no foreign key is
#: ever violated; every row is copied as it is, so every hash stays valid.
LEDGER_KINDS_MIGRATION = """
    CREATE TABLE ledger_txns_v2 (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL
            CHECK (kind IN ('capture', 'fees', 'refund', 'release', 'chargeback', 'payout',
                            'chargeback_won', 'adjustment', 'reserve', 'reserve_released')),
        at INTEGER NOT NULL,
        vendor_id TEXT NOT NULL,
        order_id TEXT,
        ref TEXT,
        memo TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    INSERT INTO ledger_txns_v2 SELECT * FROM ledger_txns;
    CREATE TABLE ledger_entries_v2 (
        seq INTEGER NOT NULL REFERENCES ledger_txns_v2 (seq),
        n INTEGER NOT NULL CHECK (n >= 0),
        account TEXT NOT NULL,
        vendor_id TEXT,
        kind TEXT NOT NULL,
        currency TEXT NOT NULL CHECK (length(currency) = 3),
        amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
        PRIMARY KEY (seq, n)
    ) WITHOUT ROWID;
    INSERT INTO ledger_entries_v2 SELECT * FROM ledger_entries;
    CREATE TABLE ledger_payouts_v2 (
        payout_id TEXT PRIMARY KEY,
        vendor_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE REFERENCES ledger_txns_v2 (seq),
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        body TEXT NOT NULL
    );
    INSERT INTO ledger_payouts_v2 SELECT * FROM ledger_payouts;
    DROP TABLE ledger_payouts;
    DROP TABLE ledger_entries;
    DROP TABLE ledger_txns;
    ALTER TABLE ledger_txns_v2 RENAME TO ledger_txns;
    ALTER TABLE ledger_entries_v2 RENAME TO ledger_entries;
    ALTER TABLE ledger_payouts_v2 RENAME TO ledger_payouts;
    CREATE INDEX ledger_txns_order ON ledger_txns (order_id) WHERE order_id IS NOT NULL;
    CREATE INDEX ledger_entries_vendor
        ON ledger_entries (vendor_id, currency, kind, seq, amount_minor)
        WHERE vendor_id IS NOT NULL;
    CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, amount_minor);
    CREATE INDEX ledger_payouts_vendor ON ledger_payouts (vendor_id, currency, seq);
"""

#: The schema step that adds running totals per (account, currency), filled from the journal
#: already there: a balance is one row read however long the vendor's history (R22, R23).
LEDGER_TOTALS_MIGRATION = """
    CREATE TABLE ledger_totals (
        account TEXT NOT NULL,
        currency TEXT NOT NULL,
        vendor_id TEXT,
        kind TEXT NOT NULL,
        total_minor INTEGER NOT NULL,
        debits_minor INTEGER NOT NULL CHECK (debits_minor >= 0),
        credits_minor INTEGER NOT NULL CHECK (credits_minor <= 0),
        PRIMARY KEY (account, currency)
    ) WITHOUT ROWID;
    CREATE INDEX ledger_totals_vendor ON ledger_totals (vendor_id, currency, kind)
        WHERE vendor_id IS NOT NULL;
    INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, debits_minor,
        credits_minor)
        SELECT account, currency, vendor_id, kind, sum(amount_minor),
            sum(max(amount_minor, 0)), sum(min(amount_minor, 0))
        FROM ledger_entries GROUP BY account, currency
"""

#: The schema step that makes SQLite refuse, whoever writes: updates and deletes of journal
#: and payout rows (R24, R42), a second release of an order (R17), a hold recording more
#: refunded than paid (R20). SQLite has no deferred constraints, so a journal transaction's
#: balance is checked by the library (and by ``verify_journal``), not at COMMIT.
LEDGER_INVARIANTS_MIGRATION = """
    CREATE TRIGGER ledger_txns_no_update BEFORE UPDATE ON ledger_txns
    BEGIN SELECT RAISE(ABORT, 'ledger_txns is append-only: UPDATE refused'); END;
    CREATE TRIGGER ledger_txns_no_delete BEFORE DELETE ON ledger_txns
    BEGIN SELECT RAISE(ABORT, 'ledger_txns is append-only: DELETE refused'); END;
    CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE refused'); END;
    CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE refused'); END;
    CREATE TRIGGER ledger_payouts_no_update BEFORE UPDATE ON ledger_payouts
    BEGIN SELECT RAISE(ABORT, 'ledger_payouts is append-only: UPDATE refused'); END;
    CREATE TRIGGER ledger_payouts_no_delete BEFORE DELETE ON ledger_payouts
    BEGIN SELECT RAISE(ABORT, 'ledger_payouts is append-only: DELETE refused'); END;
    CREATE UNIQUE INDEX ledger_one_release_per_order ON ledger_txns (order_id)
        WHERE kind = 'release';
    CREATE TRIGGER ledger_holds_refunds_within_paid_insert BEFORE INSERT ON ledger_holds
    WHEN json_extract(NEW.body, '$.refunded_minor') > json_extract(NEW.body, '$.paid_minor')
    BEGIN SELECT RAISE(ABORT, 'refunds above the paid amount refused'); END;
    CREATE TRIGGER ledger_holds_refunds_within_paid_update BEFORE UPDATE ON ledger_holds
    WHEN json_extract(NEW.body, '$.refunded_minor') > json_extract(NEW.body, '$.paid_minor')
    BEGIN SELECT RAISE(ABORT, 'refunds above the paid amount refused'); END
"""

#: The schema step that refuses a hold recording more refunded than paid (R20) with a CHECK
#: constraint of the row instead of two triggers (a trigger program ran on every write of a
#: hold). SQLite cannot add a constraint to a table: the table is rebuilt with its
#: rows (rowids kept: ``holds_for_vendor`` reads in rowid order) and its index; dropping the
#: old table drops its triggers. The CHECK passes where the trigger did not fire (``NOT`` of
#: the trigger's ``WHEN``: a missing amount passes both), and its name is the same message.
HOLDS_CHECK_MIGRATION = """
    CREATE TABLE ledger_holds_checked (
        order_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        vendor_id TEXT NOT NULL,
        released INTEGER NOT NULL CHECK (released IN (0, 1)),
        body TEXT NOT NULL,
        CONSTRAINT "refunds above the paid amount refused" CHECK (
            NOT json_extract(body, '$.refunded_minor') > json_extract(body, '$.paid_minor')
        )
    );
    INSERT INTO ledger_holds_checked (rowid, order_id, version, vendor_id, released, body)
        SELECT rowid, order_id, version, vendor_id, released, body FROM ledger_holds
        ORDER BY rowid;
    DROP TABLE ledger_holds;
    ALTER TABLE ledger_holds_checked RENAME TO ledger_holds;
    CREATE INDEX ledger_holds_vendor ON ledger_holds (vendor_id, order_id)
"""


_loads = loads_json


def _fast_codec(cls: type[Any]) -> tuple[Callable[[Any], str], Callable[[str], Any]]:
    """The JSON text of a stored ``cls`` value and back, as ``_dumps(_codec.encoder(cls)(v))``
    and ``_codec.decoder(cls)(json.loads(text))`` give them (the same text: the fields in
    sorted order), generated once as one dict display and one constructor call: a release
    reads and writes one hold each, so the generic per-field loop showed in its profile.
    A body missing a field (written before the field existed) takes the generic decoder."""
    hints = typing.get_type_hints(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "_datetime": _dt.datetime,
        "_fromiso": _dt.datetime.fromisoformat,
        "_loads": _loads,
        "_encode": dumps_sorted,
        "_iso": iso,
        "_slow": _codec.decoder(cls),
    }
    plain = {int, str, bool, int | None, str | None, bool | None}
    enc: list[str] = []
    dec: list[str] = []
    for f in sorted(attrs.fields(cls), key=lambda f: f.name):
        tp = hints[f.name]
        name = f.name
        if tp in plain:
            enc.append(f"{name!r}: v.{name}")
            dec.append(f"{name}=x[{name!r}]")
        elif tp is _dt.datetime:
            enc.append(f"{name!r}: _iso(v.{name})")
            dec.append(f"{name}=_fromiso(x[{name!r}])")
        elif tp == _dt.datetime | None:
            enc.append(f"{name!r}: None if (y := v.{name}) is None else _iso(y)")
            dec.append(f"{name}=None if (y := x[{name!r}]) is None else _fromiso(y)")
        else:
            namespace[f"_enc_{name}"] = _codec.encoder(tp)
            namespace[f"_dec_{name}"] = _codec.decoder(tp)
            enc.append(f"{name!r}: _enc_{name}(v.{name})")
            dec.append(f"{name}=_dec_{name}(x[{name!r}])")
    source = (
        f"def encode(v):\n    return _encode({{{', '.join(enc)}}})\n"
        "def decode(text):\n"
        "    x = _loads(text)\n"
        "    try:\n"
        f"        return cls({', '.join(dec)})\n"
        "    except KeyError:\n"
        "        return _slow(x)\n"
    )
    exec(compile(source, f"<stored {cls.__qualname__}>", "exec"), namespace)
    return namespace["encode"], namespace["decode"]


_hold_text, _hold_from_text = _fast_codec(Hold)
_hold_from_text = readable(_hold_from_text, "hold")
_enc_payout = _codec.encoder(Payout)
_dec_payout = readable(lambda text: _codec.decoder(Payout)(json.loads(text)), "payout")
_vendor_text, _vendor_from_text = _fast_codec(VendorAccount)
_vendor_from_text = readable(_vendor_from_text, "vendor account")
#: Vendor accounts decoded, by their stored text (a text always decodes to the same frozen
#: value): a sweep batch reads each of its vendors twice (the release, the reports' rollups)
#: and the same vendors batch after batch. Bounded: cleared when full.
_VENDORS_READ: dict[str, VendorAccount] = {}
_VENDORS_READ_MAX = 4096


def _vendor(text: str) -> VendorAccount:
    account = _VENDORS_READ.get(text)
    if account is None:
        if len(_VENDORS_READ) >= _VENDORS_READ_MAX:
            _VENDORS_READ.clear()
        account = _VENDORS_READ[text] = _vendor_from_text(text)
    return account


_TXN_COLUMNS = (
    "t.seq, t.key, t.kind, t.at, t.vendor_id, t.order_id, t.ref, t.memo, t.prev_hash, t.hash"
)


#: Most ids in one ``IN (...)`` list (SQLite's limit on parameters is 999 in old builds).
_IN_CHUNK = 500


#: ``compact_json(data, sort_keys=True)`` with the encoder built once (``json.dumps`` builds a
#: new one on every call that passes options)
_dumps = dumps_sorted


#: Most entries one INSERT writes (7 parameters each; SQLite allows 32766).
_ENTRIES_PER_INSERT = 1000


@functools.lru_cache(maxsize=32)
def _insert_entries(n: int) -> str:
    """``INSERT`` of ``n`` journal entries (7 parameters each)."""
    return (
        "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
        "VALUES " + ",".join(["(?,?,?,?,?,?,?)"] * n)
    )


@functools.lru_cache(maxsize=32)
def _add_totals(n: int) -> str:
    """Upsert of ``n`` entries into the running totals (7 parameters each; rows of one
    account and currency add up, each applied in turn)."""
    return (
        "INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, "
        "debits_minor, credits_minor) VALUES " + ",".join(["(?,?,?,?,?,?,?)"] * n) + " "
        "ON CONFLICT (account, currency) DO UPDATE SET "
        "total_minor = total_minor + excluded.total_minor, "
        "debits_minor = debits_minor + excluded.debits_minor, "
        "credits_minor = credits_minor + excluded.credits_minor"
    )


class SqliteLedger:
    def __init__(self, uow: SqliteTransaction) -> None:
        self._uow = uow

    # journal ------------------------------------------------------------------------------

    def post(self, txn: JournalTransaction, *, key: bytes | None = None) -> JournalTransaction:
        seq, prev = self.head()
        sealed = seal(txn, seq + 1, prev, key)
        conn = self._uow.conn
        try:
            conn.execute(
                "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, "
                "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sealed.seq,
                    sealed.key,
                    sealed.kind,
                    micros(sealed.at),
                    sealed.vendor_id,
                    sealed.order_id,
                    sealed.ref,
                    _dumps(sealed.memo),
                    sealed.prev_hash,
                    sealed.hash,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                f"journal transaction {txn.key!r} is already posted", key=txn.key
            ) from exc
        # one statement per table for the transaction's entries (a few rows each)
        entries = sealed.entries
        for start in range(0, len(entries), _ENTRIES_PER_INSERT):
            chunk = entries[start : start + _ENTRIES_PER_INSERT]
            conn.execute(
                _insert_entries(len(chunk)),
                [
                    value
                    for n, e in enumerate(chunk, start)
                    for value in (
                        sealed.seq,
                        n,
                        e.account,
                        e.vendor_id,
                        e.kind,
                        e.currency,
                        e.amount_minor,
                    )
                ],
            )
            conn.execute(
                _add_totals(len(chunk)),
                [
                    value
                    for e in chunk
                    for value in (
                        e.account,
                        e.currency,
                        e.vendor_id,
                        e.kind,
                        e.amount_minor,
                        *((e.amount_minor, 0) if e.amount_minor > 0 else (0, e.amount_minor)),
                    )
                ],
            )
        return sealed

    def _load(self, where: str, params: tuple[Any, ...]) -> tuple[JournalTransaction, ...]:
        rows = self._uow.execute(
            f"SELECT {_TXN_COLUMNS}, e.account, e.currency, e.amount_minor "
            f"FROM ledger_txns t JOIN ledger_entries e ON e.seq = t.seq WHERE {where} "
            "ORDER BY t.seq, e.n",
            params,
        ).fetchall()
        # built as stored (``stored_transaction``: no balance check on the way in, so a
        # tampered, unbalanced row set still loads for ``verify_journal`` to report)
        out: list[JournalTransaction] = []
        entry = _entry
        current: Any = None
        entries: list[Entry] = []
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    out.append(_stored(current, entries))
                current = row
                entries = []
            entries.append(entry(row[10], row[11], row[12]))
        if current is not None:
            out.append(_stored(current, entries))
        return tuple(out)

    def by_key(self, key: str) -> JournalTransaction | None:
        found = self._load("t.key = ?", (key,))
        return found[0] if found else None

    def journal(self, *, after_seq: int = 0) -> tuple[JournalTransaction, ...]:
        return self._load("t.seq > ?", (after_seq,))

    def head(self) -> tuple[int, str]:
        row = self._uow.execute(
            "SELECT seq, hash FROM ledger_txns ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def fold(self, account: str, currency: str) -> int:
        row = self._uow.execute(
            "SELECT total_minor FROM ledger_totals WHERE account = ? AND currency = ?",
            (account, currency),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def journal_fold(self, account: str, currency: str) -> int:
        # the entries themselves (the covering index ledger_entries_account), not the totals
        row = self._uow.execute(
            "SELECT sum(amount_minor) FROM ledger_entries WHERE account = ? AND currency = ?",
            (account, currency),
        ).fetchone()
        return int(row[0] or 0)

    # The vendor folds read the running totals keyed by the hashed ``account`` column (R42),
    # never the denormalised ``vendor_id`` / ``kind``.

    def vendor_fold(self, vendor_id: str, currency: str, kind: str, *, sign: int = 0) -> int:
        # the running totals (ledger_totals), one row: O(1) however long the history
        column = {0: "total_minor", 1: "debits_minor", -1: "credits_minor"}[sign]
        row = self._uow.execute(
            f"SELECT {column} FROM ledger_totals WHERE account = ? AND currency = ?",
            (vendor_account(vendor_id, kind), currency),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def vendor_transactions(
        self, vendor_id: str, currency: str, kind: str, *, after_seq: int = 0
    ) -> tuple[JournalTransaction, ...]:
        return self._load(
            "t.seq IN (SELECT seq FROM ledger_entries WHERE account = ? AND currency = ? "
            "AND seq > ?)",
            (vendor_account(vendor_id, kind), currency, after_seq),
        )

    def vendor_currencies(self, vendor_id: str) -> tuple[str, ...]:
        rows = self._uow.execute(
            "SELECT DISTINCT currency FROM ledger_entries WHERE account = ? ORDER BY currency",
            (vendor_account(vendor_id, BALANCE),),
        ).fetchall()
        return tuple(r[0] for r in rows)

    def balance_accounts(self) -> tuple[tuple[str, str], ...]:
        rows = self._uow.execute(
            "SELECT DISTINCT account, currency FROM ledger_entries "
            "WHERE account >= 'vendor:' AND account < 'vendor;' AND account LIKE '%:balance'"
        ).fetchall()
        found = {(Entry(account=a, currency=c, amount_minor=1).vendor_id, c) for a, c in rows}
        return tuple(sorted((str(v), c) for v, c in found))

    def for_order(self, order_id: str) -> tuple[JournalTransaction, ...]:
        return self._load("t.order_id = ?", (order_id,))

    # holds --------------------------------------------------------------------------------

    def get_hold(self, order_id: str) -> Hold | None:
        row = self._uow.execute(
            "SELECT body FROM ledger_holds WHERE order_id = ?", (order_id,)
        ).fetchone()
        return None if row is None else _hold_from_text(row[0])

    def add_hold(self, hold: Hold) -> None:
        try:
            self._uow.execute(
                "INSERT INTO ledger_holds (order_id, version, vendor_id, released, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    hold.order_id,
                    hold.version,
                    hold.vendor_id,
                    int(hold.released_at is not None),
                    _hold_text(hold),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} already exists", order_id=hold.order_id
            ) from exc

    def save_hold(self, hold: Hold) -> None:
        cur = self._uow.execute(
            "UPDATE ledger_holds SET version = ?, released = ?, body = ? "
            "WHERE order_id = ? AND version = ?",
            (
                hold.version,
                int(hold.released_at is not None),
                _hold_text(hold),
                hold.order_id,
                hold.version - 1,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} changed since it was read; reload and retry",
                order_id=hold.order_id,
            )

    def holds_for_vendor(self, vendor_id: str) -> tuple[Hold, ...]:
        rows = self._uow.execute(
            "SELECT body FROM ledger_holds WHERE vendor_id = ? ORDER BY rowid", (vendor_id,)
        ).fetchall()
        return tuple(_hold_from_text(r[0]) for r in rows)

    # payouts and vendors ------------------------------------------------------------------

    def add_payout(self, payout: Payout) -> None:
        self._uow.execute(
            "INSERT INTO ledger_payouts (payout_id, vendor_id, currency, seq, amount_minor, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                payout.payout_id,
                payout.vendor_id,
                payout.currency,
                payout.seq,
                payout.amount_minor,
                _dumps(_enc_payout(payout)),
            ),
        )

    def payouts(self, vendor_id: str) -> tuple[Payout, ...]:
        rows = self._uow.execute(
            "SELECT body FROM ledger_payouts WHERE vendor_id = ? ORDER BY rowid", (vendor_id,)
        ).fetchall()
        return tuple(_dec_payout(r[0]) for r in rows)

    def last_payout_seq(self, vendor_id: str, currency: str) -> int:
        # from the journal's payout postings (hashed), not from the payout rows (R42)
        row = self._uow.execute(
            "SELECT max(seq) FROM ledger_entries WHERE account = ? AND currency = ?",
            (vendor_account(vendor_id, PAID_OUT), currency),
        ).fetchone()
        return int(row[0] or 0)

    def get_vendor(self, vendor_id: str) -> VendorAccount | None:
        row = self._uow.execute(
            "SELECT body FROM ledger_vendors WHERE vendor_id = ?", (vendor_id,)
        ).fetchone()
        return None if row is None else _vendor(row[0])

    def put_vendor(self, account: VendorAccount) -> None:
        body = _vendor_text(account)
        if account.version == 1:
            try:
                self._uow.execute(
                    "INSERT INTO ledger_vendors (vendor_id, version, payout_currency, body) "
                    "VALUES (?, 1, ?, ?)",
                    (account.vendor_id, account.payout_currency, body),
                )
            except sqlite3.IntegrityError as exc:
                raise ConcurrencyConflictError(
                    f"vendor {account.vendor_id} already exists", vendor_id=account.vendor_id
                ) from exc
            return
        cur = self._uow.execute(
            "UPDATE ledger_vendors SET version = ?, payout_currency = ?, body = ? "
            "WHERE vendor_id = ? AND version = ?",
            (
                account.version,
                account.payout_currency,
                body,
                account.vendor_id,
                account.version - 1,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrencyConflictError(
                f"vendor {account.vendor_id} changed since it was read; reload and retry",
                vendor_id=account.vendor_id,
            )

    # batched forms (the release sweep): one executemany or one IN (...) query each ----------

    def post_many(
        self, txns: Sequence[JournalTransaction], *, key: bytes | None = None
    ) -> tuple[JournalTransaction, ...]:
        if len(txns) <= 1:
            return tuple(self.post(t, key=key) for t in txns)
        seq, prev = self.head()
        out = seal_chain(txns, seq, prev, key)
        conn = self._uow.conn
        try:
            conn.executemany(
                "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, "
                "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        t.seq,
                        t.key,
                        t.kind,
                        micros(t.at),
                        t.vendor_id,
                        t.order_id,
                        t.ref,
                        _dumps(t.memo),
                        t.prev_hash,
                        t.hash,
                    )
                    for t in out
                ],
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyConflictError(
                "a journal transaction of the batch is already posted",
                keys=[t.key for t in txns][:20],
            ) from exc
        # one pass over the entries: their rows and the running totals they add to (the
        # account's vendor and kind parsed once per account)
        entry_rows: list[tuple[Any, ...]] = []
        totals: dict[tuple[str, str], list[Any]] = {}
        for t in out:
            seq = t.seq
            for n, e in enumerate(t.entries):
                account, currency, a = e.account, e.currency, e.amount_minor
                row = totals.get((account, currency))
                if row is None:
                    row = totals[(account, currency)] = [e.vendor_id, e.kind, 0, 0, 0]
                entry_rows.append((seq, n, account, row[0], row[1], currency, a))
                row[2] += a
                row[3 if a > 0 else 4] += a
        conn.executemany(
            "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
            "amount_minor) VALUES (?, ?, ?, ?, ?, ?, ?)",
            entry_rows,
        )
        conn.executemany(
            "INSERT INTO ledger_totals (account, currency, vendor_id, kind, total_minor, "
            "debits_minor, credits_minor) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, currency) DO UPDATE SET "
            "total_minor = total_minor + excluded.total_minor, "
            "debits_minor = debits_minor + excluded.debits_minor, "
            "credits_minor = credits_minor + excluded.credits_minor",
            [(a, c, *row) for (a, c), row in totals.items()],
        )
        return tuple(out)

    def _in(self, sql: str, ids: Sequence[str]) -> list[Any]:
        """Rows of ``sql`` (with one ``{}`` for the placeholders) for ``ids``, in chunks."""
        rows: list[Any] = []
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows.extend(self._uow.execute(sql.format(marks), chunk).fetchall())
        return rows

    def get_holds(self, order_ids: Sequence[str]) -> dict[str, Hold]:
        rows = self._in("SELECT order_id, body FROM ledger_holds WHERE order_id IN ({})", order_ids)
        return {r[0]: _hold_from_text(r[1]) for r in rows}

    def save_holds(self, holds: Sequence[Hold]) -> None:
        if not holds:
            return
        cur = self._uow.conn.executemany(
            "UPDATE ledger_holds SET version = ?, released = ?, body = ? "
            "WHERE order_id = ? AND version = ?",
            [
                (
                    h.version,
                    int(h.released_at is not None),
                    _hold_text(h),
                    h.order_id,
                    h.version - 1,
                )
                for h in holds
            ],
        )
        if cur.rowcount != len(holds):
            raise ConcurrencyConflictError(
                "a hold of the batch changed since it was read; reload and retry",
                order_ids=[h.order_id for h in holds][:20],
            )

    def get_vendors(self, vendor_ids: Sequence[str]) -> dict[str, VendorAccount]:
        rows = self._in(
            "SELECT vendor_id, body FROM ledger_vendors WHERE vendor_id IN ({})", vendor_ids
        )
        return {r[0]: _vendor(r[1]) for r in rows}

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, tuple[JournalTransaction, ...]]:
        found: dict[str, list[JournalTransaction]] = {o: [] for o in order_ids}
        unique = list(found)
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for txn in self._load(f"t.order_id IN ({marks})", tuple(chunk)):
                assert txn.order_id is not None
                found[txn.order_id].append(txn)
        return {o: tuple(t) for o, t in found.items()}

    def journal_facts(self, order_ids: Sequence[str]) -> dict[str, Sequence[JournalFacts]]:
        # one row per transaction and entry on a held account (usually one), not every
        # column of every entry: the cross-check reads nothing else (and no memo but the
        # capture's)
        found: dict[str, list[JournalFacts]] = {o: [] for o in order_ids}
        unique = list(found)
        loads = _loads
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            rows = self._uow.execute(
                "SELECT t.order_id, t.seq, t.vendor_id, t.kind, "
                "CASE WHEN t.kind = 'capture' THEN t.memo END, e.account, e.currency, "
                "e.amount_minor FROM ledger_txns t LEFT JOIN ledger_entries e "
                "ON e.seq = t.seq AND e.account GLOB '*:held' "
                f"WHERE t.order_id IN ({', '.join('?' * len(chunk))}) ORDER BY t.seq, e.n",
                chunk,
            ).fetchall()
            seq = None
            held: list[tuple[str, str, int]] = []
            for order_id, txn_seq, vendor_id, kind, memo, account, currency, amount in rows:
                if txn_seq != seq:
                    seq = txn_seq
                    held = []
                    found[order_id].append(
                        (seq, vendor_id, kind, None if memo is None else loads(memo), held)
                    )
                if account is not None:
                    held.append((account, currency, amount))
        return dict(found)

    def claim_vendors(self, vendor_ids: Sequence[str]) -> tuple[str, ...]:
        """Every one: SQLite runs one writing transaction at a time."""
        return tuple(dict.fromkeys(vendor_ids))

    def vendor_balances(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        unique = list(dict.fromkeys(pairs))
        accounts = {vendor_account(v, BALANCE): v for v, _ in unique}
        found: dict[tuple[str, str], int] = {}
        for account, currency, total in self._in(
            "SELECT account, currency, total_minor FROM ledger_totals WHERE account IN ({})",
            list(accounts),
        ):
            found[(accounts[account], currency)] = int(total)
        return {p: found.get(p, 0) for p in unique}

    def lock_vendors(self, vendor_ids: Sequence[str]) -> None:
        """Nothing to do: SQLite runs one writing transaction at a time."""


def _entry(account: str, currency: str, amount_minor: int) -> Entry:
    return Entry(account=account, currency=currency, amount_minor=amount_minor)


def _stored(row: Any, entries: list[Entry]) -> JournalTransaction:
    """A stored transaction from its ``ledger_txns`` columns and its entries, as stored."""
    return stored_transaction(
        seq=row[0],
        key=row[1],
        kind=row[2],
        at=instant(row[3]),
        vendor_id=row[4],
        order_id=row[5],
        ref=row[6],
        memo=_loads(row[7]),
        prev_hash=row[8],
        hash=row[9],
        entries=tuple(entries),
    )
