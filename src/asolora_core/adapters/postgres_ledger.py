"""The PostgreSQL ledger repository (R15-R25, R41, R42), attached to
:class:`~asolora_core.adapters.postgres.PostgresUnitOfWork` as ``uow.ledger`` (it sees the unit
of work only as :class:`PgTransaction`).

* The journal is ``ledger_txns`` (one row per transaction) and ``ledger_entries`` (one row per
  posting, ``bigint`` minor units), chained by hash. ``ledger_head`` is one row holding the
  last ``seq`` and hash: a posting locks it (``FOR UPDATE``), so postings from any number of
  connections are appended one after the other and the chain never forks.
* ``ledger_totals`` keeps a running total per (account, currency), with its positive and
  negative parts, updated in the same transaction as each posting: balances and folds are
  one row read, however long a vendor's history is.
* A balance read meant to be acted on (``vendor_fold(..., sign=0)`` on a vendor's balance,
  ``vendor_balances``: a release's offset, a payout's amount) first takes the vendor's lock
  (a transaction-scoped advisory lock, :meth:`PostgresLedger.lock_vendors`), and so does
  every posting to a vendor's balance, so no two transactions pay or offset the same money
  and the balance read is the one just before the posting in the journal. Vendor locks are
  taken in one order (their keys sorted) and before the head: the head is held only for the
  short sealed append at the end of a transaction, and workers never deadlock.
* ``post_many`` and the other batched forms send their rows as arrays (``unnest``; numbers
  and instants binary, each text column as one text the server splits: :func:`texts`), one
  statement for a whole sweep batch.
* The database itself refuses what must never happen (see ``LEDGER_MIGRATION`` and
  ``INVARIANTS_MIGRATION`` in :mod:`asolora_core.adapters.postgres`): unbalanced
  transactions (checked at commit), updates and deletes of journal rows, a second release of
  an order, refunds above the paid amount.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, cast

from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from asolora_core import _codec
from asolora_core.errors import ConcurrencyConflictError, InvalidInputError, LedgerIntegrityError
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
    digest_middle,
    seal,
    seal_chain,
    vendor_account,
)

__all__ = [
    "BALANCE_BY_KEY_MIGRATION",
    "BALANCE_NOTES_MIGRATION",
    "BALANCE_ONCE_MIGRATION",
    "BALANCE_SET_MIGRATION",
    "INVARIANTS_MIGRATION",
    "LEDGER_KINDS_MIGRATION",
    "LEDGER_MIGRATION",
    "PgTransaction",
    "PostgresLedger",
]


T = TypeVar("T")


def _head_checked(post: Callable[..., T]) -> Callable[..., T]:
    """``post`` (or ``post_many``) with a stored journal row in the way (a ``seq`` taken: the
    head row ``ledger_head`` moved back by hand; a second release of an order under another
    key) refused as :class:`LedgerIntegrityError`, not psycopg's ``UniqueViolation`` (R42)."""

    @functools.wraps(post)
    def checked(*args: Any, **kwargs: Any) -> T:
        try:
            return post(*args, **kwargs)
        except UniqueViolation as exc:
            raise LedgerIntegrityError(
                "a journal row is in the way of the next one: the journal or its head row "
                "(ledger_head) was changed outside the library; nothing is posted: run "
                "verify_journal and restore it"
            ) from exc

    return checked


class PgTransaction(Protocol):
    """An open PostgreSQL transaction: a statement runner."""

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    def run_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None: ...

    def fetchone_after(
        self, first: str, first_params: Sequence[Any], sql: str, params: Sequence[Any] = ()
    ) -> tuple[Any, ...] | None:
        """Run ``first`` (a write whose result nobody reads), then ``sql``: in one round trip
        where the driver can (a pipeline), in two otherwise; ``sql``'s first row."""
        ...

    @property
    def read_only(self) -> bool:
        """True in a reader (a ``READ ONLY`` transaction: no row locks, no writes)."""
        ...


#: The schema step that adds the ledger (see ``postgres.MIGRATIONS``).
LEDGER_MIGRATION = f"""
    CREATE TABLE ledger_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL CHECK (seq >= 0),
        hash text NOT NULL
    );
    INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}');
    CREATE TABLE ledger_txns (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        key text NOT NULL UNIQUE,
        kind text NOT NULL
            CHECK (kind IN ('capture', 'fees', 'refund', 'release', 'chargeback', 'payout')),
        at timestamptz NOT NULL,
        vendor_id text NOT NULL,
        order_id text,
        ref text,
        memo jsonb NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL UNIQUE
    );
    CREATE INDEX ledger_txns_order ON ledger_txns (order_id) WHERE order_id IS NOT NULL;
    CREATE TABLE ledger_entries (
        seq bigint NOT NULL REFERENCES ledger_txns (seq),
        n integer NOT NULL CHECK (n >= 0),
        account text NOT NULL,
        vendor_id text,
        kind text NOT NULL,
        currency text NOT NULL CHECK (length(currency) = 3),
        amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
        PRIMARY KEY (seq, n)
    );
    CREATE INDEX ledger_entries_vendor
        ON ledger_entries (vendor_id, currency, kind, seq) INCLUDE (amount_minor)
        WHERE vendor_id IS NOT NULL;
    CREATE TABLE ledger_totals (
        account text NOT NULL,
        currency text NOT NULL,
        vendor_id text,
        kind text NOT NULL,
        total_minor bigint NOT NULL,
        debits_minor bigint NOT NULL CHECK (debits_minor >= 0),
        credits_minor bigint NOT NULL CHECK (credits_minor <= 0),
        PRIMARY KEY (account, currency)
    );
    CREATE INDEX ledger_totals_vendor ON ledger_totals (vendor_id, currency, kind)
        WHERE vendor_id IS NOT NULL;
    CREATE TABLE ledger_holds (
        order_id text PRIMARY KEY,
        version integer NOT NULL CHECK (version >= 1),
        vendor_id text NOT NULL,
        currency text NOT NULL,
        paid_minor bigint NOT NULL CHECK (paid_minor >= 0),
        refunded_minor bigint NOT NULL CHECK (refunded_minor >= 0),
        released boolean NOT NULL,
        release_at timestamptz,
        body jsonb NOT NULL,
        seq bigserial NOT NULL,
        CONSTRAINT refunds_within_paid CHECK (refunded_minor <= paid_minor)
    );
    CREATE INDEX ledger_holds_vendor ON ledger_holds (vendor_id, seq);
    CREATE TABLE ledger_payouts (
        payout_id text PRIMARY KEY,
        vendor_id text NOT NULL,
        currency text NOT NULL,
        seq bigint NOT NULL UNIQUE REFERENCES ledger_txns (seq),
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        body jsonb NOT NULL
    );
    CREATE INDEX ledger_payouts_vendor ON ledger_payouts (vendor_id, currency, seq);
    CREATE TABLE ledger_vendors (
        vendor_id text PRIMARY KEY,
        version integer NOT NULL CHECK (version >= 1),
        payout_currency text NOT NULL CHECK (length(payout_currency) = 3),
        body jsonb NOT NULL
    )
"""

#: The schema step that makes the database refuse what must never happen, whoever writes:
#: * a journal transaction that does not balance per currency, or has no entries, is refused
#:   at COMMIT (deferred constraint triggers: the entries of one transaction are inserted one
#:   by one, so the check waits for the end of the transaction) (R24); step 9
#:   (``BALANCE_ONCE_MIGRATION``) replaced these row triggers by one check per transaction;
#: * journal rows and payout rows are never updated, deleted or truncated (R24, R42);
#: * one release per order (R17); refunds never above the paid amount (R20; the CHECKs
#:   ``refunds_within_paid`` on holds and ``order_refunds_within_paid`` on orders);
#: * an idempotency key once per actor scope (R35; the primary key
#:   ``idempotency_key_per_actor``).
INVARIANTS_MIGRATION = """
    CREATE FUNCTION asolora_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad record;
    BEGIN
        SELECT currency, sum(amount_minor) AS off INTO bad FROM ledger_entries
            WHERE seq = NEW.seq GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal transaction % does not balance in % (off by %)',
                NEW.seq, bad.currency, bad.off USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger_entries WHERE seq = NEW.seq) THEN
            RAISE EXCEPTION 'journal transaction % has no entries', NEW.seq
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$;
    CREATE CONSTRAINT TRIGGER ledger_txns_balanced AFTER INSERT ON ledger_txns
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION asolora_journal_balanced();
    CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION asolora_journal_balanced();
    CREATE FUNCTION asolora_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$;
    CREATE TRIGGER ledger_txns_append_only BEFORE UPDATE OR DELETE ON ledger_txns
        FOR EACH ROW EXECUTE FUNCTION asolora_append_only();
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION asolora_append_only();
    CREATE TRIGGER ledger_payouts_append_only BEFORE UPDATE OR DELETE ON ledger_payouts
        FOR EACH ROW EXECUTE FUNCTION asolora_append_only();
    CREATE TRIGGER ledger_txns_no_truncate BEFORE TRUNCATE ON ledger_txns
        FOR EACH STATEMENT EXECUTE FUNCTION asolora_append_only();
    CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION asolora_append_only();
    CREATE UNIQUE INDEX ledger_one_release_per_order ON ledger_txns (order_id)
        WHERE kind = 'release';
"""

#: The schema step for the endings' journal kinds (won chargebacks, staff adjustments, the
#: rolling reserve; R39, R41) and for the reads that follow the hashed ``account`` column
#: (R42): a vendor's balances, statements and payout starts are found by account, never by
#: the denormalised ``vendor_id`` / ``kind`` columns (their indexes go: no read uses them,
#: and every posting paid for them). PostgreSQL alters the CHECK in place.
LEDGER_KINDS_MIGRATION = """
    ALTER TABLE ledger_txns DROP CONSTRAINT ledger_txns_kind_check;
    ALTER TABLE ledger_txns ADD CONSTRAINT ledger_txns_kind_check
        CHECK (kind IN ('capture', 'fees', 'refund', 'release', 'chargeback', 'payout',
                        'chargeback_won', 'adjustment', 'reserve', 'reserve_released'));
    CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, seq)
        INCLUDE (amount_minor);
    DROP INDEX ledger_entries_vendor;
    DROP INDEX ledger_totals_vendor
"""

#: The schema step that checks each database transaction's journal balance ONCE, at COMMIT,
#: instead of once per inserted row (a release batch of 200 journal transactions would
#: queue ~900 deferred row checks, run while the journal head is locked). The refusals
#: are the same, whoever writes:
#:
#: * a statement-level trigger on ``ledger_txns`` and on ``ledger_entries`` notes the
#:   ``seq`` of every row the statement inserted in the transaction-local setting
#:   ``asolora.unchecked_seqs`` and inserts one marker row per database transaction into
#:   ``ledger_unchecked`` (``ON CONFLICT DO NOTHING``: once);
#: * the marker's deferred constraint trigger ``ledger_journal_balanced`` runs one set-based
#:   check of every noted ``seq`` at ``COMMIT`` (a journal transaction without entries, or
#:   whose entries do not sum to zero per currency, is refused: ``check_violation``; so are
#:   entries of a ``seq`` with no ``ledger_txns`` row: ``foreign_key_violation``, the check
#:   that replaces the foreign key ``ledger_entries_seq_fkey``, which looked up the journal
#:   transaction once per entry row), then forgets the marker. Journal transactions are
#:   never deleted (``ledger_txns_append_only``), so an entry checked once stays attached.
#:
#: A savepoint rolled back takes its rows, its noted ``seq`` values (a ``set_config`` with
#: ``is_local``) and its marker with it; ``SET CONSTRAINTS ledger_journal_balanced
#: IMMEDIATE`` (or ``ALL``) checks at the end of each statement instead, as the row triggers
#: did.
BALANCE_ONCE_MIGRATION = """
    DROP TRIGGER ledger_txns_balanced ON ledger_txns;
    DROP TRIGGER ledger_entries_balanced ON ledger_entries;
    DROP FUNCTION asolora_journal_balanced();
    ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_seq_fkey;
    CREATE TABLE ledger_unchecked (
        xid bigint PRIMARY KEY
    );
    CREATE FUNCTION asolora_journal_note() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        seqs text;
    BEGIN
        SELECT string_agg(DISTINCT seq::text, ',') INTO seqs FROM added;
        IF seqs IS NULL THEN
            RETURN NULL;
        END IF;
        PERFORM set_config('asolora.unchecked_seqs', concat_ws(',',
            nullif(current_setting('asolora.unchecked_seqs', true), ''), seqs), true);
        INSERT INTO ledger_unchecked (xid) VALUES (pg_current_xact_id()::text::bigint)
            ON CONFLICT (xid) DO NOTHING;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER ledger_txns_noted AFTER INSERT ON ledger_txns
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION asolora_journal_note();
    CREATE TRIGGER ledger_entries_noted AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION asolora_journal_note();
    CREATE FUNCTION asolora_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad record;
    BEGIN
        SELECT s.seq FROM (SELECT DISTINCT unnest(string_to_array(
                nullif(current_setting('asolora.unchecked_seqs', true), ''), ','
              )::bigint[]) AS seq) AS s
            WHERE NOT EXISTS (SELECT 1 FROM ledger_txns t WHERE t.seq = s.seq)
            ORDER BY s.seq LIMIT 1 INTO bad;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entries of transaction % have no journal transaction',
                bad.seq USING ERRCODE = 'foreign_key_violation';
        END IF;
        SELECT s.seq, e.currency, sum(e.amount_minor) AS off INTO bad
            FROM (SELECT DISTINCT unnest(string_to_array(
                    nullif(current_setting('asolora.unchecked_seqs', true), ''), ','
                  )::bigint[]) AS seq) AS s
            LEFT JOIN ledger_entries e ON e.seq = s.seq
            GROUP BY s.seq, e.currency
            HAVING e.currency IS NULL OR sum(e.amount_minor) <> 0
            ORDER BY s.seq
            LIMIT 1;
        IF FOUND THEN
            IF bad.currency IS NULL THEN
                RAISE EXCEPTION 'journal transaction % has no entries', bad.seq
                    USING ERRCODE = 'check_violation';
            END IF;
            RAISE EXCEPTION 'journal transaction % does not balance in % (off by %)',
                bad.seq, bad.currency, bad.off USING ERRCODE = 'check_violation';
        END IF;
        PERFORM set_config('asolora.unchecked_seqs', '', true);
        DELETE FROM ledger_unchecked WHERE xid = NEW.xid;
        RETURN NULL;
    END
    $$;
    CREATE CONSTRAINT TRIGGER ledger_journal_balanced AFTER INSERT ON ledger_unchecked
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION asolora_journal_balanced()
"""

#: The schema step that makes the COMMIT-time balance check (``BALANCE_ONCE_MIGRATION``)
#: look each noted ``seq`` up by its key whatever the planner believes: its set-based
#: queries were planned from the tables' statistics, and on tables without any (a bulk load
#: not yet analyzed; a server with autovacuum off, as the test server runs) the planner took
#: the journal for a few rows and merge-joined the noted ``seq`` values with the WHOLE of
#: ``ledger_entries`` at every commit: a release batch's commit cost grew with the journal
#: (57 ms at 200,000 entries). Now each noted ``seq`` is checked with two statements that
#: can only be answered by the primary keys (``seq = $1`` on ``ledger_txns_pkey``, the
#: leading column of ``ledger_entries_pkey``), so a commit costs in proportion to what the
#: transaction wrote. The refusals are those of step 9, in the same order (the lowest
#: ``seq`` first; a missing journal transaction before an unbalanced one).
BALANCE_BY_KEY_MIGRATION = """
    CREATE OR REPLACE FUNCTION asolora_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        s bigint;
        seqs bigint[];
        bad record;
    BEGIN
        seqs := ARRAY(SELECT DISTINCT unnest(string_to_array(
            nullif(current_setting('asolora.unchecked_seqs', true), ''), ','
          )::bigint[]) ORDER BY 1);
        FOREACH s IN ARRAY seqs LOOP
            IF NOT EXISTS (SELECT 1 FROM ledger_txns t WHERE t.seq = s) THEN
                RAISE EXCEPTION 'journal entries of transaction % have no journal transaction',
                    s USING ERRCODE = 'foreign_key_violation';
            END IF;
        END LOOP;
        FOREACH s IN ARRAY seqs LOOP
            SELECT e.currency, sum(e.amount_minor) AS off INTO bad
                FROM ledger_entries e WHERE e.seq = s
                GROUP BY e.currency ORDER BY sum(e.amount_minor) = 0, e.currency LIMIT 1;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'journal transaction % has no entries', s
                    USING ERRCODE = 'check_violation';
            END IF;
            IF bad.off <> 0 THEN
                RAISE EXCEPTION 'journal transaction % does not balance in % (off by %)',
                    s, bad.currency, bad.off USING ERRCODE = 'check_violation';
            END IF;
        END LOOP;
        PERFORM set_config('asolora.unchecked_seqs', '', true);
        DELETE FROM ledger_unchecked WHERE xid = NEW.xid;
        RETURN NULL;
    END
    $$
"""

#: The schema step that keeps the ``seq`` values noted for the COMMIT-time balance check
#: (``BALANCE_ONCE_MIGRATION``) where plain DML can neither drop nor forge them.
#: Steps 9 and 10 kept them in the transaction-local setting ``asolora.unchecked_seqs``,
#: which any SQL can overwrite: ``SELECT set_config('asolora.unchecked_seqs', '', true)``
#: after inserting an unbalanced journal transaction emptied the list and the COMMIT let it
#: through. Now:
#:
#: * the statement triggers ``ledger_txns_noted`` / ``ledger_entries_noted`` insert one row
#:   per statement into ``ledger_unchecked_seqs``: ``xid``, the writing transaction's 64-bit
#:   id, and ``seqs``, the array of the ``seq`` values the statement inserted; and the marker
#:   row into ``ledger_unchecked`` as before;
#: * the marker's deferred check reads and deletes the noted rows of ``NEW.xid`` in one
#:   statement, then checks each ``seq`` by its key as step 10 did (same refusals, same
#:   SQLSTATE codes and messages, same order; a refusal rolls the delete back with the rest);
#: * both tables refuse ``UPDATE`` and ``TRUNCATE``, and an ``INSERT`` or ``DELETE`` that
#:   does not come from inside a trigger (``pg_trigger_depth() > 1``: the note's ``INSERT``
#:   and the check's ``DELETE`` run at depth 2, a statement at a prompt or in a ``DO`` block
#:   at depth 1; no other trigger writes these tables), with ``restrict_violation`` as the
#:   append-only journal. A planted marker for a future transaction would have made that
#:   transaction's marker insert a no-op and its check never queued; a planted or removed
#:   noted row would have added or dropped a check;
#: * the note and the check read and write the journal's own tables whatever the session's
#:   ``search_path``: they run with ``search_path`` set to the schema they were migrated in,
#:   then ``pg_temp`` (PostgreSQL otherwise looks a table name up in the session's temporary
#:   schema first, and any role may create temporary tables by default: a temporary
#:   ``ledger_unchecked_seqs`` emptied before COMMIT, or a temporary ``ledger_entries``
#:   holding balanced rows, would have stood in for the real ones). Renaming the schema
#:   afterwards makes every journal write fail until the functions' ``search_path`` follows.
#:
#: PostgreSQL fires a queued deferred trigger even if its row was deleted or updated since
#: (with the row as inserted), so the check runs whatever happens to the marker; the guards
#: keep the marker and the noted rows exactly as the triggers wrote them. The noted rows live
#: only within their transaction, so ``ledger_unchecked_seqs`` is ``UNLOGGED`` (no WAL for
#: the rows a sweep batch notes and deletes; after a crash it is empty, as it should be).
#: Server CPU on this machine (the project's commit-check benchmark): the same as step 10
#: within the rounds' spread, per raw 200-transaction batch and per sweep batch.
BALANCE_NOTES_MIGRATION = """
    CREATE UNLOGGED TABLE ledger_unchecked_seqs (
        xid bigint NOT NULL,
        seqs bigint[] NOT NULL
    );
    CREATE INDEX ledger_unchecked_seqs_xid ON ledger_unchecked_seqs (xid);
    CREATE OR REPLACE FUNCTION asolora_journal_note() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        me bigint := pg_current_xact_id()::text::bigint;
    BEGIN
        INSERT INTO ledger_unchecked_seqs (xid, seqs)
            SELECT me, array_agg(DISTINCT seq) FROM added HAVING count(*) > 0;
        IF FOUND THEN
            INSERT INTO ledger_unchecked (xid) VALUES (me) ON CONFLICT (xid) DO NOTHING;
        END IF;
        RETURN NULL;
    END
    $$;
    CREATE OR REPLACE FUNCTION asolora_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        s bigint;
        noted bigint[];
        bad record;
    BEGIN
        WITH gone AS (
            DELETE FROM ledger_unchecked_seqs u WHERE u.xid = NEW.xid RETURNING u.seqs AS list
        )
        SELECT coalesce(array_agg(DISTINCT x.seq ORDER BY x.seq), '{}') INTO noted
            FROM gone, unnest(gone.list) AS x(seq);
        FOREACH s IN ARRAY noted LOOP
            IF NOT EXISTS (SELECT 1 FROM ledger_txns t WHERE t.seq = s) THEN
                RAISE EXCEPTION 'journal entries of transaction % have no journal transaction',
                    s USING ERRCODE = 'foreign_key_violation';
            END IF;
        END LOOP;
        FOREACH s IN ARRAY noted LOOP
            SELECT e.currency, sum(e.amount_minor) AS off INTO bad
                FROM ledger_entries e WHERE e.seq = s
                GROUP BY e.currency ORDER BY sum(e.amount_minor) = 0, e.currency LIMIT 1;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'journal transaction % has no entries', s
                    USING ERRCODE = 'check_violation';
            END IF;
            IF bad.off <> 0 THEN
                RAISE EXCEPTION 'journal transaction % does not balance in % (off by %)',
                    s, bad.currency, bad.off USING ERRCODE = 'check_violation';
            END IF;
        END LOOP;
        DELETE FROM ledger_unchecked WHERE xid = NEW.xid;
        RETURN NULL;
    END
    $$;
    CREATE FUNCTION asolora_unchecked_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'DELETE') AND pg_trigger_depth() > 1 THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is written by the journal''s triggers only: % refused',
            TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
    END
    $$;
    CREATE TRIGGER ledger_unchecked_kept BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON ledger_unchecked FOR EACH STATEMENT EXECUTE FUNCTION asolora_unchecked_kept();
    CREATE TRIGGER ledger_unchecked_seqs_kept BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON ledger_unchecked_seqs FOR EACH STATEMENT EXECUTE FUNCTION asolora_unchecked_kept();
    DO $$
    BEGIN
        EXECUTE format('ALTER FUNCTION asolora_journal_note() SET search_path = %I, pg_temp',
            current_schema());
        EXECUTE format('ALTER FUNCTION asolora_journal_balanced() SET search_path = %I, pg_temp',
            current_schema());
    END
    $$
"""

#: The schema step that checks a database transaction's noted journal transactions with ONE
#: statement at ``COMMIT`` instead of two per ``seq`` (step 10's loop ran 400 queries, each
#: an executor start-up from PL/pgSQL, for a sweep batch of 200 releases: about 3.7 ms of
#: the server's time per batch, its commit's largest part). The refusals are those of
#: steps 10 and 11, with the same SQLSTATE codes and messages, in the same order (entries
#: without their journal transaction first, the lowest ``seq``; then the lowest ``seq``
#: without entries or not balancing, its first unbalanced currency by name). Each noted
#: ``seq`` is still looked up by its key, whatever the tables' statistics: the two lookups
#: are ``LATERAL`` subqueries with ``OFFSET 0`` (never flattened into a join: a nested loop
#: over the noted ``seq`` values) and the function runs with ``enable_seqscan`` off, so a
#: journal never analyzed is not read whole at each commit.
#: The noted rows, the marker, the guards and the function's ``search_path`` are step 11's.
BALANCE_SET_MIGRATION = """
    CREATE OR REPLACE FUNCTION asolora_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        noted bigint[];
        bad record;
    BEGIN
        WITH gone AS (
            DELETE FROM ledger_unchecked_seqs u WHERE u.xid = NEW.xid RETURNING u.seqs AS list
        )
        SELECT coalesce(array_agg(DISTINCT x.seq ORDER BY x.seq), '{}') INTO noted
            FROM gone, unnest(gone.list) AS x(seq);
        SELECT s.seq, t.seq IS NULL AS orphan, e.currency, sum(e.amount_minor) AS off
            INTO bad
            FROM unnest(noted) AS s(seq)
            LEFT JOIN LATERAL (
                SELECT t.seq FROM ledger_txns t WHERE t.seq = s.seq OFFSET 0
            ) AS t ON true
            LEFT JOIN LATERAL (
                SELECT e.currency, e.amount_minor FROM ledger_entries e
                    WHERE e.seq = s.seq OFFSET 0
            ) AS e ON true
            GROUP BY s.seq, t.seq, e.currency
            HAVING t.seq IS NULL OR e.currency IS NULL OR sum(e.amount_minor) <> 0
            ORDER BY t.seq IS NOT NULL, s.seq, sum(e.amount_minor) = 0, e.currency
            LIMIT 1;
        IF FOUND THEN
            IF bad.orphan THEN
                RAISE EXCEPTION 'journal entries of transaction % have no journal transaction',
                    bad.seq USING ERRCODE = 'foreign_key_violation';
            END IF;
            IF bad.currency IS NULL THEN
                RAISE EXCEPTION 'journal transaction % has no entries', bad.seq
                    USING ERRCODE = 'check_violation';
            END IF;
            RAISE EXCEPTION 'journal transaction % does not balance in % (off by %)',
                bad.seq, bad.currency, bad.off USING ERRCODE = 'check_violation';
        END IF;
        DELETE FROM ledger_unchecked WHERE xid = NEW.xid;
        RETURN NULL;
    END
    $$;
    DO $$
    BEGIN
        EXECUTE format('ALTER FUNCTION asolora_journal_balanced() SET search_path = %I, pg_temp',
            current_schema());
        ALTER FUNCTION asolora_journal_balanced() SET enable_seqscan = off;
    END
    $$
"""

_enc_hold = _codec.encoder(Hold)
_dec_hold_body = _codec.decoder(Hold)
_dec_hold = readable(_dec_hold_body, "hold")
_enc_payout = _codec.encoder(Payout)
_dec_payout = readable(_codec.decoder(Payout), "payout")
_enc_vendor = _codec.encoder(VendorAccount)
_dec_vendor_body = _codec.decoder(VendorAccount)
_dec_vendor = readable(_dec_vendor_body, "vendor account")

#: JSON text as psycopg's ``Jsonb`` writes it (compact), for memos sent in a text array.
_json_text = json.JSONEncoder(separators=(",", ":")).encode
#: A text array in a batched statement: sent as ONE text parameter (``texts``), the values
#: each after a separator, split by the server. psycopg dumps a list element by element in
#: Python (struct packing per element); joining is one call in C. A batch's text columns
#: (keys, ids, accounts, hashes, JSON bodies) are most of what a sweep batch sends, and the
#: journal's are dumped while the head is locked. ``[2:]`` drops the empty text before the
#: first separator (so that a single empty text is one element, not none).
TEXTS = "(string_to_array(%s, %s, %s))[2:]"
#: (separator, null mark) pairs tried in turn: the first whose characters no value holds (the
#: library's values never hold these control characters: JSON text escapes them, ids and
#: keys are printable)
_MARKS = (("\x1f", "\x1e"), ("\x1d", "\x1c"), ("\x1b", "\x1a"), ("\x19", "\x18"))


def texts(values: Sequence[str | None]) -> tuple[str, str, str | None]:
    """``values`` as the three parameters of :data:`TEXTS` (the text, the separator, the
    null mark: None when no value is None)."""
    if not values:
        return "", _MARKS[0][0], None
    nulls = values.count(None)
    for sep, null in _MARKS:
        if nulls:
            text = sep + sep.join([null if v is None else v for v in values])
            if text.count(sep) == len(values) and text.count(null) == nulls:
                return text, sep, null
        else:
            text = sep + sep.join(cast("Sequence[str]", values))
            if text.count(sep) == len(values):
                return text, sep, None
    raise InvalidInputError(
        "a text of the batch holds the control characters U+0018 to U+001F; remove them",
        field="texts",
    )


def ints(values: Iterable[int]) -> str:
    """Integers as ONE text parameter, the literal of their array (``{1,-2,3}``), for
    ``%s::bigint[]`` (or ``int[]``): built in one C call, where psycopg dumps a list of ``int``
    element by element in Python when the statement is sent. The batched statements' arrays
    are built before the journal head is locked, and sent under it."""
    return "{" + ",".join(map(str, values)) + "}"


#: the array literal element of each instant seen (a sweep's are all one instant), bounded
_STAMP_TEXTS: dict[_dt.datetime, str] = {}


def stamps(values: Sequence[_dt.datetime | None]) -> str:
    """Aware instants (or None) as ONE text parameter, the literal of their array, for
    ``%s::timestamptz[]`` (see :func:`ints`): ISO 8601 with the offset, which the server
    reads back to the same instant."""
    known = _STAMP_TEXTS
    out = []
    for at in values:
        if at is None:
            out.append("NULL")
            continue
        text = known.get(at)
        if text is None:
            if at.tzinfo is None:
                raise InvalidInputError("an instant of the batch has no time zone", field="at")
            if len(known) >= 1024:
                known.clear()
            text = known[at] = at.isoformat()
        out.append(text)
    return "{" + ",".join(out) + "}"


#: Running totals added up, ``(account, currency)`` rows as arrays (``_total_columns``), in
#: the order given (one order of row locks for every writer); ``{}`` is where a condition on
#: the rows may go (``post_many`` puts its journal rows' count there).
_TOTALS_UPSERT_FROM = (
    "INSERT INTO ledger_totals AS x (account, currency, vendor_id, kind, total_minor, "
    f"debits_minor, credits_minor) SELECT v.* FROM unnest({TEXTS}, {TEXTS}, {TEXTS}, {TEXTS}, "
    "%s::bigint[], %s::bigint[], %s::bigint[]) AS v{} "
    "ON CONFLICT (account, currency) DO UPDATE SET "
    "total_minor = x.total_minor + excluded.total_minor, "
    "debits_minor = x.debits_minor + excluded.debits_minor, "
    "credits_minor = x.credits_minor + excluded.credits_minor"
)
_TOTALS_UPSERT = _TOTALS_UPSERT_FROM.format("")


#: ``post_many``'s one statement: the batch's journal transactions, their entries, the running
#: totals left for under the head (``_TOTALS_UPSERT_FROM``), the head; all or nothing.
_POST_MANY_SQL = (
    "WITH t AS (INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, "
    "memo, prev_hash, hash) SELECT %s::bigint + v.i, v.key, v.kind, v.at, v.vendor_id, "
    f"v.order_id, v.ref, v.memo::jsonb, v.prev_hash, v.hash FROM unnest({TEXTS}, "
    f"{TEXTS}, %s::timestamptz[], {TEXTS}, {TEXTS}, {TEXTS}, {TEXTS}, "
    f"{TEXTS}, {TEXTS}) WITH ORDINALITY AS v(key, kind, at, vendor_id, order_id, "
    "ref, memo, prev_hash, hash, i) ON CONFLICT (key) DO NOTHING RETURNING seq), "
    "n AS (SELECT count(*) AS c FROM t), "
    "e AS (INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
    "amount_minor) SELECT %s::bigint + v.i, v.n, v.account, v.vendor_id, v.kind, "
    f"v.currency, v.amount FROM unnest(%s::bigint[], %s::int[], {TEXTS}, "
    f"{TEXTS}, {TEXTS}, {TEXTS}, %s::bigint[]) "
    "AS v(i, n, account, vendor_id, kind, currency, amount), n WHERE n.c = %s), "
    f"s AS ({_TOTALS_UPSERT_FROM.format(', n WHERE n.c = %s')}), "
    "h AS (UPDATE ledger_head SET seq = %s, hash = %s "
    "FROM n WHERE id = 1 AND n.c = %s) "
    "SELECT c FROM n"
)


def _total_columns(rows: Sequence[tuple[tuple[str, str], list[Any]]]) -> tuple[Any, ...]:
    """``(account, currency), [vendor_id, kind, total, debits, credits]`` rows as the
    parameters of ``_TOTALS_UPSERT`` (four :func:`texts`, three :func:`ints`)."""
    return (
        *texts([a for (a, _), _ in rows]),
        *texts([c for (_, c), _ in rows]),
        *texts([row[0] for _, row in rows]),
        *texts([row[1] for _, row in rows]),
        *(ints([row[i] for _, row in rows]) for i in range(2, 5)),
    )


#: The batched reads fetch bodies as text (``body::text``) and parse them with one decoder
#: built once: psycopg's ``jsonb`` loader hands ``json.loads`` bytes, whose encoding it
#: detects on every row.
_json_parse = json.JSONDecoder().decode
_hold_of_text = readable(lambda text: _dec_hold_body(_json_parse(text)), "hold")
_vendor_of_text = readable(lambda text: _dec_vendor_body(_json_parse(text)), "vendor account")

_TXN_COLUMNS = (
    "t.seq, t.key, t.kind, t.at, t.vendor_id, t.order_id, t.ref, t.memo, t.prev_hash, t.hash"
)
_UTC = _dt.UTC
#: The first key of every vendor lock (``pg_advisory_xact_lock(int, int)``: a key space of
#: its own, apart from the one-``bigint`` locks of idempotency keys and migrations): the
#: object id of this schema's ``ledger_totals`` (the table the locked balances live in), so
#: the marketplaces of two schemas of one database never wait for each other's vendors,
#: while every connection that reaches the same tables (whatever its ``search_path``) takes
#: the same locks.
_VENDOR_LOCK_CLASS = "(('ledger_totals'::regclass)::oid::bigint & 2147483647)::int"


#: A sweep claims the release timers of vendors another transaction holds the lock of last
#: (see ``_Timers.claim_due``): ``HELD_VENDORS_SQL`` is the keys of those locks, read once
#: from ``pg_locks`` (an advisory lock of two ``int`` keys shows them as ``classid`` and
#: ``objid``, unsigned, with ``objsubid`` 2); ``HELD_VENDOR_TIMER_SQL`` is true for ``t``, a
#: row of ``timers``, when it is a release whose vendor's key (:func:`_vendor_lock_key`: the
#: first 32 bits of the id's SHA-256) is in ``held.keys``.
HELD_VENDORS_SQL = (
    "SELECT coalesce(array_agg(objid::bigint), '{}') AS keys FROM pg_locks "
    f"WHERE locktype = 'advisory' AND objsubid = 2 AND classid = ({_VENDOR_LOCK_CLASS})::oid "
    "AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_VENDOR_KEY_BITS_SQL = "('x' || left(encode(sha256(convert_to(h.vendor_id, 'UTF8')), 'hex'), 8))"
HELD_VENDOR_TIMER_SQL = (
    "(cardinality(held.keys) > 0 AND EXISTS (SELECT 1 FROM ledger_holds h "
    "WHERE t.kind = 'release' AND h.order_id = t.body->>'aggregate_id' "
    f"AND {_VENDOR_KEY_BITS_SQL}::bit(32)::bigint = ANY(held.keys)))"
)
#: For ``c``, a claimed row of ``timers``: when it is a release, try the lock of its hold's
#: vendor (never waits) the moment it is claimed, so the sweeps that claim next see the
#: vendor held (``HELD_VENDOR_TIMER_SQL``) before this one reaches ``claim_vendors``. Its
#: value is the lock's key when the lock was taken (NULL otherwise): the claim hands those
#: keys to the ledger (:meth:`PostgresLedger.adopt_vendor_locks`), so that ``claim_vendors``
#: needs no round trip for them.
CLAIMED_VENDOR_LOCK_SQL = (
    f"(SELECT max(CASE WHEN pg_try_advisory_xact_lock({_VENDOR_LOCK_CLASS}, k.k) THEN k.k END) "
    f"FROM (SELECT {_VENDOR_KEY_BITS_SQL}::bit(32)::int AS k FROM ledger_holds h "
    "WHERE c.kind = 'release' AND h.order_id = c.body->>'aggregate_id') AS k)"
)


_LOCK_HEAD_SQL = "SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE"


def _vendor_lock_key(vendor_id: str) -> int:
    """The second key of the vendor's lock: 32 bits of its SHA-256 (two vendors that share
    one only wait for each other more often)."""
    return int.from_bytes(hashlib.sha256(vendor_id.encode()).digest()[:4], "big", signed=True)


def _utc(at: _dt.datetime) -> _dt.datetime:
    return at.astimezone(_UTC)


class PostgresLedger:
    def __init__(self, uow: PgTransaction) -> None:
        self._uow = uow
        self._head: tuple[int, str] | None = None  # (seq, hash) once this transaction locked it
        self._locked: set[int] = set()  # vendor lock keys this transaction holds
        # a statement (and its parameters) to run just before the head is locked, in the same
        # round trip (``post_many``'s running totals of vendors' balances)
        self._before_head: tuple[str, Sequence[Any]] | None = None
        # run after the next ``post_many`` with the sequence number before its first
        # transaction (see ``after_post_many``)
        self._after_post: list[Callable[[int], None]] = []
        # vendor accounts this transaction read or wrote (a sweep batch reads them for the
        # releases, then again for the reports' rollups while the head is locked: once)
        self._vendors: dict[str, VendorAccount | None] = {}

    # journal ------------------------------------------------------------------------------

    def _lock_head(self) -> tuple[int, str]:
        # once locked, only this transaction moves the head: keep it instead of reading again
        if self._head is None:
            before, self._before_head = self._before_head, None
            if before is None:
                row = self._uow.fetchone(_LOCK_HEAD_SQL)
            else:  # a write due just before the lock: sent with it, one round trip
                row = self._uow.fetchone_after(*before, _LOCK_HEAD_SQL)
            assert row is not None, "ledger_head has no row: run migrate()"
            self._head = (int(row[0]), str(row[1]))
        return self._head

    def _lock_balances_of(self, txns: Sequence[JournalTransaction]) -> None:
        """The vendor locks of every vendor balance ``txns`` post to (before the head)."""
        vendors = {
            e.vendor_id
            for t in txns
            for e in t.entries
            if e.vendor_id is not None and e.kind == BALANCE
        }
        if vendors:
            self.lock_vendors(sorted(vendors))

    def lock_vendors(self, vendor_ids: Sequence[str]) -> None:
        if self._uow.read_only:
            return
        keys = sorted({_vendor_lock_key(v) for v in vendor_ids} - self._locked)
        if not keys:
            return
        if self._head is None:
            # one fixed order (the keys sorted), and always before the head: no deadlock
            self._uow.fetchall(
                f"SELECT pg_advisory_xact_lock({_VENDOR_LOCK_CLASS}, k) "
                "FROM unnest(%s::int[]) AS k",
                (keys,),
            )
        else:
            # the head is held: waiting now for a vendor another worker holds (who may be
            # waiting for the head) could deadlock; try, and give up as a conflict instead
            got = self._uow.fetchone(
                f"SELECT bool_and(pg_try_advisory_xact_lock({_VENDOR_LOCK_CLASS}, k)) "
                "FROM unnest(%s::int[]) AS k",
                (keys,),
            )
            if got is None or not got[0]:
                raise ConcurrencyConflictError(
                    "another worker is posting to this vendor's balance; retry",
                    vendor_ids=sorted(set(vendor_ids))[:20],
                )
        self._locked.update(keys)

    def adopt_vendor_locks(self, keys: Iterable[int]) -> None:
        """Vendor locks this transaction took by their keys (:data:`CLAIMED_VENDOR_LOCK_SQL`,
        when its timers were claimed): ``lock_vendors`` and ``claim_vendors`` take them as
        held, without asking the server again."""
        self._locked.update(keys)

    def claim_vendors(self, vendor_ids: Sequence[str]) -> tuple[str, ...]:
        wanted = list(dict.fromkeys(vendor_ids))
        if self._uow.read_only or not wanted:
            return tuple(wanted)
        keys = {v: _vendor_lock_key(v) for v in wanted}
        todo = sorted(set(keys.values()) - self._locked)
        if todo:
            rows = self._uow.fetchall(
                f"SELECT k FROM unnest(%s::int[]) AS k "
                f"WHERE pg_try_advisory_xact_lock({_VENDOR_LOCK_CLASS}, k)",
                (todo,),
            )
            self._locked.update(int(r[0]) for r in rows)
        return tuple(v for v in wanted if keys[v] in self._locked)

    @_head_checked
    def post(self, txn: JournalTransaction, *, key: bytes | None = None) -> JournalTransaction:
        self._lock_balances_of((txn,))
        seq, prev = self._lock_head()
        sealed = seal(txn, seq + 1, prev, key)
        entries = [
            (n, e.account, e.vendor_id, e.kind, e.currency, e.amount_minor)
            for n, e in enumerate(sealed.entries)
        ]
        # running totals, one row per (account, currency): balances are O(1) (R22, R23)
        totals: dict[tuple[str, str], list[Any]] = {}
        for _, account, vendor_id, kind, currency, amount in entries:
            t = totals.setdefault((account, currency), [vendor_id, kind, 0, 0, 0])
            t[2] += amount
            t[3 if amount > 0 else 4] += amount
        entry_values = ", ".join(
            ["(%s::int, %s::text, %s::text, %s::text, %s::text, %s::bigint)"] * len(entries)
        )
        total_values = ", ".join(
            ["(%s::text, %s::text, %s::text, %s::text, %s::bigint, %s::bigint, %s::bigint)"]
            * len(totals)
        )
        # one statement, one round trip: the transaction, its entries, the totals, the head
        inserted = self._uow.fetchone(
            "WITH t AS (INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, "
            "memo, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (key) DO NOTHING RETURNING seq), "
            "e AS (INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
            f"amount_minor) SELECT t.seq, v.* FROM t, (VALUES {entry_values}) AS v), "
            "s AS (INSERT INTO ledger_totals AS x (account, currency, vendor_id, kind, "
            "total_minor, debits_minor, credits_minor) "
            f"SELECT v.* FROM t, (VALUES {total_values}) AS v "
            "ON CONFLICT (account, currency) DO UPDATE SET "
            "total_minor = x.total_minor + excluded.total_minor, "
            "debits_minor = x.debits_minor + excluded.debits_minor, "
            "credits_minor = x.credits_minor + excluded.credits_minor), "
            "h AS (UPDATE ledger_head SET seq = %s, hash = %s "
            "WHERE id = 1 AND EXISTS (SELECT 1 FROM t)) "
            "SELECT count(*) FROM t",
            (
                sealed.seq,
                sealed.key,
                sealed.kind,
                sealed.at,
                sealed.vendor_id,
                sealed.order_id,
                sealed.ref,
                Jsonb(sealed.memo),
                sealed.prev_hash,
                sealed.hash,
                *(v for row in entries for v in row),
                *(v for (a, c), t in sorted(totals.items()) for v in (a, c, *t)),
                sealed.seq,
                sealed.hash,
            ),
        )
        if inserted is None or inserted[0] != 1:
            raise ConcurrencyConflictError(
                f"journal transaction {txn.key!r} is already posted", key=txn.key
            )
        self._head = (sealed.seq, sealed.hash)
        return sealed

    def _load(self, where: str, params: tuple[Any, ...]) -> tuple[JournalTransaction, ...]:
        # one row per transaction, its entries as three arrays (in entry order): each
        # transaction's columns and memo are sent and decoded once, not once per entry
        rows = self._uow.fetchall(
            f"SELECT {_TXN_COLUMNS}, array_agg(e.account ORDER BY e.n), "
            "array_agg(e.currency ORDER BY e.n), array_agg(e.amount_minor ORDER BY e.n) "
            f"FROM ledger_txns t JOIN ledger_entries e ON e.seq = t.seq WHERE {where} "
            "GROUP BY t.seq ORDER BY t.seq",
            params,
        )
        out: list[JournalTransaction] = []
        for row in rows:
            entries = [
                Entry(account=a, currency=c, amount_minor=int(m))
                for a, c, m in zip(row[10], row[11], row[12], strict=True)
            ]
            try:
                out.append(_txn(row, entries, checked=True))
            except InvalidInputError:  # an unbalanced (tampered) row set: keep it for verify
                out.append(_txn(row, entries, checked=False))
        return tuple(out)

    def by_key(self, key: str) -> JournalTransaction | None:
        found = self._load("t.key = %s", (key,))
        return found[0] if found else None

    def journal(self, *, after_seq: int = 0) -> tuple[JournalTransaction, ...]:
        return self._load("t.seq > %s", (after_seq,))

    def head(self) -> tuple[int, str]:
        if self._head is not None:
            return self._head
        row = self._uow.fetchone("SELECT seq, hash FROM ledger_head WHERE id = 1")
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def fold(self, account: str, currency: str) -> int:
        row = self._uow.fetchone(
            "SELECT total_minor FROM ledger_totals WHERE account = %s AND currency = %s",
            (account, currency),
        )
        return 0 if row is None else int(row[0])

    def journal_fold(self, account: str, currency: str) -> int:
        # the entries themselves (index ledger_entries_account), not the running totals
        row = self._uow.fetchone(
            "SELECT sum(amount_minor) FROM ledger_entries WHERE account = %s AND currency = %s",
            (account, currency),
        )
        return 0 if row is None or row[0] is None else int(row[0])

    # The vendor reads follow the hashed ``account`` column (R42) (the running totals are
    # keyed by it), never the denormalised ``vendor_id`` / ``kind``.

    def vendor_fold(self, vendor_id: str, currency: str, kind: str, *, sign: int = 0) -> int:
        if sign == 0 and kind == BALANCE and not self._uow.read_only:
            self.lock_vendors((vendor_id,))  # a balance about to be acted on: see the docstring
        column = {0: "total_minor", 1: "debits_minor", -1: "credits_minor"}[sign]
        row = self._uow.fetchone(
            f"SELECT {column} FROM ledger_totals WHERE account = %s AND currency = %s",
            (vendor_account(vendor_id, kind), currency),
        )
        return 0 if row is None else int(row[0])

    def vendor_transactions(
        self, vendor_id: str, currency: str, kind: str, *, after_seq: int = 0
    ) -> tuple[JournalTransaction, ...]:
        return self._load(
            "t.seq IN (SELECT seq FROM ledger_entries WHERE account = %s AND currency = %s "
            "AND seq > %s)",
            (vendor_account(vendor_id, kind), currency, after_seq),
        )

    def vendor_currencies(self, vendor_id: str) -> tuple[str, ...]:
        rows = self._uow.fetchall(
            "SELECT currency FROM ledger_totals WHERE account = %s ORDER BY currency",
            (vendor_account(vendor_id, BALANCE),),
        )
        return tuple(r[0] for r in rows)

    def balance_accounts(self) -> tuple[tuple[str, str], ...]:
        rows = self._uow.fetchall(
            "SELECT account, currency FROM ledger_totals WHERE account LIKE 'vendor:%%:balance'"
        )
        found = {(Entry(account=a, currency=c, amount_minor=1).vendor_id, c) for a, c in rows}
        return tuple(sorted((str(v), c) for v, c in found))

    def for_order(self, order_id: str) -> tuple[JournalTransaction, ...]:
        return self._load("t.order_id = %s", (order_id,))

    # holds --------------------------------------------------------------------------------

    @staticmethod
    def _hold_row(hold: Hold) -> tuple[Any, ...]:
        return (
            hold.version,
            hold.vendor_id,
            hold.currency,
            hold.paid_minor,
            hold.refunded_minor,
            hold.released_at is not None,
            hold.release_at,
            Jsonb(_enc_hold(hold)),
            hold.order_id,
        )

    def get_hold(self, order_id: str) -> Hold | None:
        row = self._uow.fetchone("SELECT body FROM ledger_holds WHERE order_id = %s", (order_id,))
        return None if row is None else _dec_hold(row[0])

    def add_hold(self, hold: Hold) -> None:
        inserted = self._uow.run(
            "INSERT INTO ledger_holds (version, vendor_id, currency, paid_minor, refunded_minor, "
            "released, release_at, body, order_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (order_id) DO NOTHING",
            self._hold_row(hold),
        )
        if inserted != 1:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} already exists", order_id=hold.order_id
            )

    def save_hold(self, hold: Hold) -> None:
        changed = self._uow.run(
            "UPDATE ledger_holds SET version = %s, vendor_id = %s, currency = %s, "
            "paid_minor = %s, refunded_minor = %s, released = %s, release_at = %s, body = %s "
            "WHERE order_id = %s AND version = %s",
            (*self._hold_row(hold), hold.version - 1),
        )
        if changed != 1:
            raise ConcurrencyConflictError(
                f"hold of order {hold.order_id} changed since it was read; reload and retry",
                order_id=hold.order_id,
            )

    def holds_for_vendor(self, vendor_id: str) -> tuple[Hold, ...]:
        rows = self._uow.fetchall(
            "SELECT body FROM ledger_holds WHERE vendor_id = %s ORDER BY seq", (vendor_id,)
        )
        return tuple(_dec_hold(r[0]) for r in rows)

    # payouts and vendors ------------------------------------------------------------------

    def add_payout(self, payout: Payout) -> None:
        self._uow.run(
            "INSERT INTO ledger_payouts (payout_id, vendor_id, currency, seq, amount_minor, body) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                payout.payout_id,
                payout.vendor_id,
                payout.currency,
                payout.seq,
                payout.amount_minor,
                Jsonb(_enc_payout(payout)),
            ),
        )

    def payouts(self, vendor_id: str) -> tuple[Payout, ...]:
        rows = self._uow.fetchall(
            "SELECT body FROM ledger_payouts WHERE vendor_id = %s ORDER BY seq", (vendor_id,)
        )
        return tuple(_dec_payout(r[0]) for r in rows)

    def last_payout_seq(self, vendor_id: str, currency: str) -> int:
        # from the journal's payout postings (hashed), not from the payout rows (R42)
        row = self._uow.fetchone(
            "SELECT max(seq) FROM ledger_entries WHERE account = %s AND currency = %s",
            (vendor_account(vendor_id, PAID_OUT), currency),
        )
        return int(row[0] or 0) if row is not None else 0

    def get_vendor(self, vendor_id: str) -> VendorAccount | None:
        if vendor_id in self._vendors:
            return self._vendors[vendor_id]
        row = self._uow.fetchone(
            "SELECT body FROM ledger_vendors WHERE vendor_id = %s", (vendor_id,)
        )
        found = None if row is None else _dec_vendor(row[0])
        self._vendors[vendor_id] = found
        return found

    def put_vendor(self, account: VendorAccount) -> None:
        body = Jsonb(_enc_vendor(account))
        if account.version == 1:
            changed = self._uow.run(
                "INSERT INTO ledger_vendors (vendor_id, version, payout_currency, body) "
                "VALUES (%s, 1, %s, %s) ON CONFLICT (vendor_id) DO NOTHING",
                (account.vendor_id, account.payout_currency, body),
            )
        else:
            changed = self._uow.run(
                "UPDATE ledger_vendors SET version = %s, payout_currency = %s, body = %s "
                "WHERE vendor_id = %s AND version = %s",
                (
                    account.version,
                    account.payout_currency,
                    body,
                    account.vendor_id,
                    account.version - 1,
                ),
            )
        if changed != 1:
            self._vendors.pop(account.vendor_id, None)
            raise ConcurrencyConflictError(
                f"vendor {account.vendor_id} changed since it was read; reload and retry",
                vendor_id=account.vendor_id,
            )
        self._vendors[account.vendor_id] = account

    # batched forms (the release sweep): one statement each, arrays through unnest ---------

    def after_post_many(self, then: Callable[[int], None]) -> None:
        """Call ``then`` once the next :meth:`post_many` of this transaction has appended its
        transactions, with the sequence number before the first of them (theirs follow it, in
        the order given), before it returns (``_Events.append_posting``)."""
        self._after_post.append(then)

    def post_many(
        self, txns: Sequence[JournalTransaction], *, key: bytes | None = None
    ) -> tuple[JournalTransaction, ...]:
        posted = self._post_many(txns, key=key)
        then, self._after_post = self._after_post, []
        if then:
            base = posted[0].seq - 1 if posted else 0  # no position then
            for call in then:
                call(base)
        return posted

    @_head_checked
    def _post_many(
        self, txns: Sequence[JournalTransaction], *, key: bytes | None = None
    ) -> tuple[JournalTransaction, ...]:
        if len(txns) <= 1:
            return tuple(self.post(t, key=key) for t in txns)
        self._lock_balances_of(txns)
        # everything that does not depend on the head is built before it is locked: the
        # head is held from here to the commit, and every other sweep waits for it
        totals: dict[tuple[str, str], list[Any]] = {}
        e_txn: list[int] = []
        e_n: list[int] = []
        e_account: list[str] = []
        e_vendor: list[str | None] = []
        e_kind: list[str] = []
        e_currency: list[str] = []
        e_amount: list[int] = []
        parts: dict[str, tuple[str | None, str]] = {}  # account: (vendor_id, kind), once each
        for i, t in enumerate(txns, start=1):
            for n, e in enumerate(t.entries):
                a = e.amount_minor
                account = e.account
                part = parts.get(account)
                if part is None:
                    part = parts[account] = (e.vendor_id, e.kind)
                e_txn.append(i)
                e_n.append(n)
                e_account.append(account)
                e_vendor.append(part[0])
                e_kind.append(part[1])
                e_currency.append(e.currency)
                e_amount.append(a)
                row = totals.get((account, e.currency))
                if row is None:
                    row = totals[(account, e.currency)] = [part[0], part[1], 0, 0, 0]
                row[2] += a
                row[3 if a > 0 else 4] += a
        # one order of row locks for every writer. The running totals of vendors' balances
        # are written now, before the head: every writer to a vendor's balance holds the
        # vendor's lock first (this batch holds them all), so their rows are written in the
        # order every writer takes them (vendor, then rows, then head) and nobody waits for
        # them under the head; the other totals (held and paid-out accounts, which a capture
        # or a refund writes under the head alone, and the platform's, which every posting
        # shares) are written with the journal rows under the head. Should the append fail,
        # the unit of work is rolled back with these rows, as with every other failure.
        ordered: list[tuple[tuple[str, str], list[Any]]] = []
        early: list[tuple[tuple[str, str], list[Any]]] = []
        for item in sorted(totals.items()):
            (early if item[1][1] == BALANCE and item[1][0] is not None else ordered).append(item)
        columns = (
            *texts([t.key for t in txns]),
            *texts([t.kind for t in txns]),
            stamps([t.at for t in txns]),
            *texts([t.vendor_id for t in txns]),
            *texts([t.order_id for t in txns]),
            *texts([t.ref for t in txns]),
            *texts([_json_text(t.memo) for t in txns]),
        )
        entries = (
            ints(e_txn),
            ints(e_n),
            *texts(e_account),
            *texts(e_vendor),
            *texts(e_kind),
            *texts(e_currency),
            ints(e_amount),
        )
        total_columns = _total_columns(ordered)
        middles = [digest_middle(t) for t in txns]  # the digests' text, but seq and prev_hash
        if early:  # every parameter is built by now: a text refused has written nothing
            if self._head is None:  # run first, in the round trip that locks the head
                self._before_head = (_TOTALS_UPSERT, _total_columns(early))
            else:
                self._uow.run(_TOTALS_UPSERT, _total_columns(early))
        seq, prev = self._lock_head()
        out = seal_chain(txns, seq, prev, key, middles=middles)
        inserted = self._uow.fetchone(
            _POST_MANY_SQL,
            (
                seq,
                *columns,
                *texts([t.prev_hash for t in out]),
                *texts([t.hash for t in out]),
                seq,
                *entries,
                len(out),
                *total_columns,
                len(out),
                out[-1].seq,
                out[-1].hash,
                len(out),
            ),
        )
        if inserted is None or inserted[0] != len(out):
            raise ConcurrencyConflictError(
                "a journal transaction of the batch is already posted",
                keys=[t.key for t in txns][:20],
            )
        self._head = (out[-1].seq, out[-1].hash)
        return tuple(out)

    def vendor_balances(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        unique = list(dict.fromkeys(pairs))
        if not unique:
            return {}
        self.lock_vendors(sorted({v for v, _ in unique}))
        accounts = {vendor_account(v, BALANCE): v for v, _ in unique}
        rows = self._uow.fetchall(
            "SELECT t.account, t.currency, t.total_minor FROM ledger_totals t "
            f"JOIN unnest({TEXTS}, {TEXTS}) AS p(account, currency) "
            "ON t.account = p.account AND t.currency = p.currency",
            (
                *texts([vendor_account(v, BALANCE) for v, _ in unique]),
                *texts([c for _, c in unique]),
            ),
        )
        found = {(accounts[r[0]], r[1]): int(r[2]) for r in rows}
        return {p: found.get(p, 0) for p in unique}

    def get_holds(self, order_ids: Sequence[str]) -> dict[str, Hold]:
        lock = "" if self._uow.read_only else " FOR UPDATE"
        rows = self._uow.fetchall(
            f"SELECT order_id, body::text FROM ledger_holds WHERE order_id = ANY({TEXTS}) "
            f"ORDER BY order_id{lock}",
            texts(list(order_ids)),
        )
        return {r[0]: _hold_of_text(r[1]) for r in rows}

    def save_holds(self, holds: Sequence[Hold]) -> None:
        if not holds:
            return
        # the bodies as JSON text (the compact C encoder, one text array), the other columns
        # as arrays built column by column
        changed = self._uow.run(
            "UPDATE ledger_holds AS h SET version = v.version, vendor_id = v.vendor_id, "
            "currency = v.currency, paid_minor = v.paid_minor, "
            "refunded_minor = v.refunded_minor, released = v.released, "
            "release_at = v.release_at, body = v.body::jsonb "
            f"FROM unnest(%s::int[], {TEXTS}, {TEXTS}, %s::bigint[], %s::bigint[], "
            f"%s::bool[], %s::timestamptz[], {TEXTS}, {TEXTS}) AS v(version, vendor_id, "
            "currency, paid_minor, refunded_minor, released, release_at, body, order_id) "
            "WHERE h.order_id = v.order_id AND h.version = v.version - 1",
            (
                ints([h.version for h in holds]),
                *texts([h.vendor_id for h in holds]),
                *texts([h.currency for h in holds]),
                ints([h.paid_minor for h in holds]),
                ints([h.refunded_minor for h in holds]),
                "{" + ",".join(["f" if h.released_at is None else "t" for h in holds]) + "}",
                stamps([h.release_at for h in holds]),
                *texts([_json_text(_enc_hold(h)) for h in holds]),
                *texts([h.order_id for h in holds]),
            ),
        )
        if changed != len(holds):
            raise ConcurrencyConflictError(
                "a hold of the batch changed since it was read; reload and retry",
                order_ids=[h.order_id for h in holds][:20],
            )

    def get_vendors(self, vendor_ids: Sequence[str]) -> dict[str, VendorAccount]:
        known = self._vendors
        missing = sorted({v for v in vendor_ids if v not in known})
        if missing:
            rows = self._uow.fetchall(
                f"SELECT vendor_id, body::text FROM ledger_vendors WHERE vendor_id = ANY({TEXTS})",
                texts(missing),
            )
            known.update(dict.fromkeys(missing))
            known.update((r[0], _vendor_of_text(r[1])) for r in rows)
        return {v: a for v in vendor_ids if (a := known[v]) is not None}

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, tuple[JournalTransaction, ...]]:
        found: dict[str, list[JournalTransaction]] = {o: [] for o in order_ids}
        for txn in self._load("t.order_id = ANY(%s)", (list(found),)):
            assert txn.order_id is not None
            found[txn.order_id].append(txn)
        return {o: tuple(t) for o, t in found.items()}

    def journal_facts(self, order_ids: Sequence[str]) -> dict[str, Sequence[JournalFacts]]:
        # one row per transaction and entry on a held account (usually one), not every column
        # of every entry: the cross-check reads nothing else (and no memo but the capture's),
        # so neither the server nor the client builds whole journal transactions. Each order's
        # transactions and each transaction's entries are looked up by index (the LATERAL
        # subqueries with OFFSET 0 are never flattened into a join): on a small or freshly
        # loaded journal the planner would otherwise hash-join the whole of ledger_entries,
        # and a batch would cost in proportion to the journal, not to the batch
        found: dict[str, list[JournalFacts]] = {o: [] for o in order_ids}
        rows = self._uow.fetchall(
            "SELECT t.order_id, t.seq, t.vendor_id, t.kind, "
            "CASE WHEN t.kind = 'capture' THEN t.memo END, e.account, e.currency, "
            f"e.amount_minor FROM unnest({TEXTS}) AS o(id) "
            "CROSS JOIN LATERAL (SELECT t.order_id, t.seq, t.vendor_id, t.kind, t.memo "
            "FROM ledger_txns t WHERE t.order_id = o.id OFFSET 0) AS t "
            "LEFT JOIN LATERAL (SELECT e.n, e.account, e.currency, e.amount_minor "
            "FROM ledger_entries e WHERE e.seq = t.seq AND e.account LIKE '%%:held' "
            "OFFSET 0) AS e ON true ORDER BY t.seq, e.n",
            texts(list(found)),
        )
        seq = None
        held: list[tuple[str, str, int]] = []
        for order_id, txn_seq, vendor_id, kind, memo, account, currency, amount in rows:
            if txn_seq != seq:
                seq = txn_seq
                held = []
                found[order_id].append((int(seq), vendor_id, kind, memo, held))
            if account is not None:
                held.append((account, currency, int(amount)))
        return dict(found)


def _txn(row: tuple[Any, ...], entries: list[Entry], *, checked: bool) -> JournalTransaction:
    values = {
        "seq": int(row[0]),
        "key": row[1],
        "kind": row[2],
        "at": _utc(row[3]),
        "vendor_id": row[4],
        "order_id": row[5],
        "ref": row[6],
        "memo": row[7],
        "prev_hash": row[8],
        "hash": row[9],
        "entries": tuple(entries),
    }
    if checked:
        return JournalTransaction(**values)
    # a stored transaction whose entries no longer balance: built without the balance check
    # so that verification can report it
    txn = object.__new__(JournalTransaction)
    for name, value in values.items():
        object.__setattr__(txn, name, value)
    return txn
