"""The PostgreSQL store's own promises: the three ways in (DSN, pool, your connection), joining
the caller's transaction, migrations, and what the database itself refuses (R24, R33, R35,
R36, R42). Skips (one line for the whole run) without ``ASOLORA_TEST_POSTGRES_DSN``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import Actor, FakeClock, Item, Marketplace, SequentialIds
from asolora_core.orders.listing import OrderQuery
from asolora_core.testing.contract import T0
from pg_support import dsn, make_store, new_schema, postgres

pytestmark = postgres

BUYER = Actor.buyer("b-1")
STAFF = Actor.staff("s-1")


def _place(market: Marketplace, product: str = "p-1") -> str:
    (order,) = market.place_checkout(
        buyer=BUYER,
        customer_name="Ada",
        items=[
            Item(vendor_id="v-1", product_id=product, quantity=1, unit_price=Money("9.00", "EUR"))
        ],
        paid=Money("9.00", "EUR"),
    )
    return order.order_id


@pytest.fixture
def schema() -> Iterator[str]:
    """An empty, migrated schema of this run."""
    store = make_store()
    assert store.schema is not None
    name: str = store.schema
    yield name
    store.close()


def _connect(schema: str, **kwargs: Any) -> Any:
    import psycopg

    return psycopg.connect(dsn(), options=f"-c search_path={schema} -c timezone=UTC", **kwargs)


def test_a_pool_hands_each_unit_of_work_a_connection(schema: str) -> None:
    """R33: a store on a psycopg_pool pool runs the facade like one on a DSN."""
    from psycopg_pool import ConnectionPool

    from asolora_core.adapters.postgres import PostgresStore

    pool = ConnectionPool(
        dsn(),
        min_size=1,
        max_size=2,
        kwargs={"options": f"-c search_path={schema} -c timezone=UTC"},
        open=True,
    )
    try:
        market = Marketplace(PostgresStore(pool=pool), clock=FakeClock(T0), ids=SequentialIds())
        order_id = _place(market)
        assert market.get_order(order_id, by=STAFF).paid_minor == 900
    finally:
        pool.close()


def _settings(conn: Any) -> tuple[str, ...]:
    return tuple(
        str(conn.execute(f"SHOW {name}").fetchone()[0])
        for name in ("statement_timeout", "application_name", "timezone", "search_path")
    )


def test_the_dsns_own_options_are_kept_and_the_stores_settings_win(schema: str) -> None:
    """R33: ``options`` written in the DSN (a statement timeout, an application name) reach
    the store's connections, next to the store's own; where both set a parameter (the time
    zone, the search path under ``schema=``) the store's wins, as the instants it reads are
    UTC and its tables are in that schema."""
    from psycopg.conninfo import make_conninfo

    from asolora_core.adapters.postgres import PostgresStore

    mine = "-c statement_timeout=5000 -c application_name=shop -c timezone=Asia/Tokyo"
    theirs = make_conninfo(dsn(), options=f"{mine} -c search_path=elsewhere")
    store = PostgresStore(theirs, schema=schema, migrate=False)
    try:
        with store.connection() as conn:
            assert _settings(conn) == ("5s", "shop", "UTC", schema)
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        assert market.get_order(_place(market), by=STAFF).paid_minor == 900
    finally:
        store.close()
    # without schema=, the DSN's search_path stands (the time zone is still the store's)
    unscoped = PostgresStore(make_conninfo(dsn(), options=f"{mine} -c search_path={schema}"))
    try:
        with unscoped.connection() as conn:
            assert _settings(conn) == ("5s", "shop", "UTC", schema)
    finally:
        unscoped.close()


@pytest.mark.parametrize("name", ["Shop Two", "eu,us", 'say"hi', "back\\slash", "Upper"])
def test_any_schema_name_is_the_stores_search_path(name: str) -> None:
    """R33: a schema name with a space, a comma, a double quote, a backslash or an upper-case
    letter is created as typed and is the whole search path of the store's connections
    (libpq splits ``options`` at spaces, and ``search_path`` reads a comma as a second schema
    and folds an unquoted name to lower case): orders are written and read in it."""
    import psycopg
    from psycopg import sql

    from asolora_core.adapters.postgres import PostgresStore

    store = PostgresStore(dsn(), schema=name)
    try:
        with store.connection() as conn:
            row = conn.execute("SELECT current_schemas(false)").fetchone()
            assert row is not None
            assert row[0] == [name]
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        assert market.get_order(_place(market), by=STAFF).paid_minor == 900
    finally:
        store.close()
        with psycopg.connect(dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_pgoptions_is_kept_when_the_dsn_has_no_options(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R33: libpq reads ``PGOPTIONS`` only when no ``options`` is given, so the store, which
    gives its own, adds its settings to it instead of dropping it."""
    from asolora_core.adapters.postgres import PostgresStore

    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=7000 -c application_name=env")
    store = PostgresStore(dsn(), schema=schema, migrate=False)
    try:
        with store.connection() as conn:
            assert _settings(conn) == ("7s", "env", "UTC", schema)
    finally:
        store.close()


def test_a_pool_set_up_with_the_stores_options_keeps_the_dsns(schema: str) -> None:
    """R33: ``PostgresStore.connection_options`` gives a pool of yours the options the
    store's own connections get: the DSN's statement timeout and the store's schema and UTC."""
    from psycopg.conninfo import make_conninfo
    from psycopg_pool import ConnectionPool

    from asolora_core.adapters.postgres import PostgresStore

    theirs = make_conninfo(dsn(), options="-c statement_timeout=5000 -c application_name=pool")
    options = PostgresStore.connection_options(theirs, schema=schema)
    assert options == (
        f"-c statement_timeout=5000 -c application_name=pool -c timezone=UTC "
        f"-c search_path={schema}"
    )
    pool = ConnectionPool(theirs, min_size=1, max_size=1, kwargs={"options": options}, open=True)
    try:
        store = PostgresStore(pool=pool)
        with store.connection() as conn:
            assert _settings(conn) == ("5s", "pool", "UTC", schema)
    finally:
        pool.close()


def test_commands_join_the_callers_transaction_and_its_rollback(schema: str) -> None:
    """R2, R33: on the caller's connection, a command's writes join the caller's open
    transaction: the caller's rollback undoes them, the caller's commit keeps them."""
    from asolora_core.adapters.postgres import PostgresStore

    with _connect(schema) as conn:  # not autocommit: the caller's transaction
        market = Marketplace(
            PostgresStore(connection=conn, migrate=False), clock=FakeClock(T0), ids=SequentialIds()
        )
        conn.execute("SELECT 1")  # the caller's transaction is open
        undone = _place(market, "p-undone")
        conn.rollback()
        kept = _place(market, "p-kept")
        conn.commit()
    other = make_store(schema)
    try:
        with other.unit_of_work() as uow:
            found = uow.orders.page(OrderQuery(vendor_id="v-1"), after=None, limit=10)
            assert [o.order_id for o in found] == [kept]
            assert undone != kept
    finally:
        other.close()


def test_migrate_is_recorded_and_idempotent(schema: str) -> None:
    """A second migrate (another process at deploy time) finds nothing to do."""
    from asolora_core.adapters.postgres import MIGRATIONS

    store = make_store(schema)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert store.migrate() == len(MIGRATIONS)
        with store.unit_of_work() as uow:
            rows = uow.fetchall("SELECT version FROM asolora_schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        store.close()


def test_a_new_schema_starts_at_version_zero() -> None:
    from asolora_core.adapters.postgres import MIGRATIONS, PostgresStore

    name = new_schema()
    store = PostgresStore(dsn(), schema=name, migrate=False)
    try:
        with store.unit_of_work() as uow:
            uow.run(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
            uow.commit()
        assert store.schema_version() == 0
        store.migrate()
        assert store.schema_version() == len(MIGRATIONS)
    finally:
        store.close()


# --- what the database itself refuses (raw SQL, bypassing the library) -----------------------


@pytest.fixture
def sold(schema: str) -> str:
    """``schema`` holding one order of v-1, completed and released (journal: capture,
    release)."""
    store = make_store(schema)
    try:
        clock = FakeClock(T0)
        market = Marketplace(store, clock=clock, ids=SequentialIds())
        order_id = _place(market)
        vendor = Actor.vendor("v-1")
        order = market.get_order(order_id, by=vendor)
        order = market.ship(
            order_id,
            by=vendor,
            items={order.lines[0].line_id: 1},
            carrier="DHL",
            tracking_number="T",
        )
        shipment = order.shipments[0].shipment_id
        market.mark_delivered(order_id, shipment, by=vendor)
        market.confirm_receipt(order_id, shipment, by=BUYER)
        clock.advance(hours=168)
        market.run_due()
        assert [t.kind for t in market.journal(by=STAFF)] == ["capture", "release"]
    finally:
        store.close()
    return schema


def _refused(schema: str, *statements: str, connect: Callable[..., Any] = _connect) -> str:
    """Run ``statements`` in one transaction on a plain connection (``connect``: as whom);
    the SQLSTATE of the refusal (at the statement or at COMMIT)."""
    import psycopg

    with connect(schema, autocommit=True) as conn:
        try:
            with conn.transaction():
                for sql in statements:
                    conn.execute(sql)
        except psycopg.Error as exc:
            return str(exc.sqlstate)
    raise AssertionError(f"the database accepted {statements}")


def _commit_refusal(conn: Any, steps: list[str]) -> str | None:
    """Run ``steps`` in one transaction on ``conn`` (autocommit), each in a savepoint rolled
    back when refused; the SQLSTATE that refused the COMMIT, or None if it committed."""
    import psycopg

    try:
        with conn.transaction():
            for sql in steps:
                try:
                    with conn.transaction():  # a savepoint
                        conn.execute(sql)
                except psycopg.Error:
                    pass
    except psycopg.Error as exc:
        return str(exc.sqlstate)
    return None


_TXN = (
    "INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, prev_hash, "
    "hash) VALUES ({seq}, '{key}', '{kind}', now(), 'v-1', '{order}', NULL, '{{}}', 'x', "
    "'h{seq}')"
)
_ENTRY = (
    "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
    "VALUES ({seq}, {n}, '{account}', NULL, 'k', 'EUR', {amount})"
)


_UNBALANCED = (
    _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x"),
    _ENTRY.format(seq=100, n=0, account="platform:a", amount=500),
    _ENTRY.format(seq=100, n=1, account="platform:b", amount=-499),
)
_NEXT_XID = "pg_current_xact_id()::text::bigint + 1"


def _nothing_left_unchecked(schema: str) -> None:
    """The journal is the fixture's two balanced transactions, and nothing stays noted."""
    assert _one(schema, "SELECT count(*) FROM ledger_txns") == (2,)
    assert _one(schema, "SELECT count(*) FROM ledger_entries WHERE seq NOT IN (1, 2)") == (0,)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked_seqs") == (0,)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked") == (0,)


def test_an_unbalanced_journal_transaction_is_refused_at_commit(sold: str) -> None:
    """R24: entries that do not sum to zero per currency are refused when the transaction
    commits (a deferred constraint trigger); so is a transaction without entries."""
    txn = _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x")
    assert (
        _refused(
            sold,
            txn,
            _ENTRY.format(seq=100, n=0, account="platform:a", amount=500),
            _ENTRY.format(seq=100, n=1, account="platform:b", amount=-499),
        )
        == "23514"  # check_violation
    )
    assert _refused(sold, txn) == "23514"


def test_the_balance_is_checked_once_for_everything_the_transaction_wrote(sold: str) -> None:
    """R24 with the check run once per database transaction (schema step 9): an unbalanced
    transaction among balanced ones in one statement, or entries added later to a stored
    transaction, are refused at COMMIT; rows of a savepoint rolled back are not checked (they
    are gone); entries without their journal transaction are refused; ``SET CONSTRAINTS
    ... IMMEDIATE`` refuses at the statement; a balanced
    transaction written with raw SQL, in two statements, commits."""
    balanced = [
        _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x"),
        _ENTRY.format(seq=100, n=0, account="platform:a", amount=500),
        _ENTRY.format(seq=100, n=1, account="platform:b", amount=-500),
    ]
    both = (
        "WITH t AS (INSERT INTO ledger_txns (seq, key, kind, at, vendor_id, order_id, ref, memo, "
        "prev_hash, hash) VALUES (100, 'raw:1', 'capture', now(), 'v-1', 'o-x', NULL, '{}', "
        "'x', 'h100'), (101, 'raw:2', 'capture', now(), 'v-1', 'o-y', NULL, '{}', 'x', 'h101') "
        "RETURNING seq) INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, "
        "amount_minor) SELECT seq, n, 'platform:a', NULL, 'k', 'EUR', "
        "CASE WHEN seq = 101 AND n = 1 THEN -499 WHEN n = 0 THEN 500 ELSE -500 END "
        "FROM t, generate_series(0, 1) AS n"
    )
    assert _refused(sold, both) == "23514"
    assert _refused(sold, _ENTRY.format(seq=1, n=9, account="platform:a", amount=7)) == "23514"
    orphans = [
        _ENTRY.format(seq=300, n=0, account="platform:a", amount=5),
        _ENTRY.format(seq=300, n=1, account="platform:b", amount=-5),
    ]
    assert _refused(sold, *orphans) == "23503"  # foreign_key_violation: no transaction 300
    assert (
        _refused(
            sold,
            "SET CONSTRAINTS ledger_journal_balanced IMMEDIATE",
            _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x"),
        )
        == "23514"
    )
    with _connect(sold, autocommit=True) as conn, conn.transaction():
        conn.execute("SAVEPOINT s")
        conn.execute(_TXN.format(seq=200, key="raw:gone", kind="fees", order="o-z"))
        conn.execute("ROLLBACK TO SAVEPOINT s")
        for sql in balanced:
            conn.execute(sql)
    assert _one(sold, "SELECT count(*) FROM ledger_txns WHERE seq IN (100, 200)") == (1,)
    assert _one(sold, "SELECT count(*) FROM ledger_unchecked") == (0,)


def _check_upgraded(schema: str, clock: FakeClock, first: str) -> None:
    """A store opened on ``schema`` (left at an older step with an order ``first`` placed)
    brings it to the latest step; the facade then posts to its journal, which verifies."""
    from asolora_core.adapters import postgres as pg

    store = make_store(schema)
    try:
        assert store.schema_version() == len(pg.MIGRATIONS)
        market = Marketplace(store, clock=clock, ids=SequentialIds(start=1000))
        second = _place(market, "p-new")
        journal = market.journal(by=STAFF)
        assert [(t.kind, t.order_id) for t in journal] == [
            ("capture", first),
            ("capture", second),
        ]
        assert market.verify_journal(by=STAFF).ok
    finally:
        store.close()


def _schema_at(version: int) -> tuple[str, FakeClock, str]:
    """A new schema migrated to ``version`` only, holding one paid order placed through the
    facade on it (its journal: a capture); the schema, the clock and the order's id."""
    from asolora_core.adapters import postgres as pg

    schema = new_schema()
    old = pg.PostgresStore(dsn(), schema=schema, migrate=False)
    try:
        with old.unit_of_work() as uow:
            uow.run(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            uow.run(
                "CREATE TABLE asolora_schema_version (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for step, script in enumerate(pg.MIGRATIONS[:version], start=1):
                for statement in pg._statements(script):
                    uow.run(statement)
                uow.run("INSERT INTO asolora_schema_version VALUES (%s)", (step,))
            uow.commit()
        clock = FakeClock(T0)
        market = Marketplace(old, clock=clock, ids=SequentialIds())
        order_id = _place(market, "p-old")
        assert old.schema_version() == version
    finally:
        old.close()
    return schema, clock, order_id


def test_a_schema_at_step_9_upgrades_and_its_journal_is_still_checked_at_commit() -> None:
    """R24 across schema step 10 (the COMMIT-time balance check looks each journal
    transaction up by its key): a schema at version 9 holding a released order upgrades in
    one call; its journal verifies, the facade posts to it, and the database still refuses
    an unbalanced transaction, a transaction without entries and entries without their
    transaction, with raw SQL, on tables that have no statistics (never analyzed)."""

    schema, clock, first = _schema_at(9)
    _check_upgraded(schema, clock, first)
    unbalanced = [
        _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x"),
        _ENTRY.format(seq=100, n=0, account="platform:a", amount=500),
        _ENTRY.format(seq=100, n=1, account="platform:b", amount=-499),
    ]
    assert _refused(schema, *unbalanced) == "23514"  # check_violation
    assert _refused(schema, unbalanced[0]) == "23514"  # no entries
    orphan = _ENTRY.format(seq=300, n=0, account="platform:a", amount=5)
    assert _refused(schema, orphan) == "23503"  # foreign_key_violation


def test_the_noted_journal_transactions_cannot_be_dropped_or_forged(sold: str) -> None:
    """R24 against a tamperer with plain DML (schema step 11): emptying the setting that
    steps 9 and 10 kept the noted ``seq`` values in no longer lets an unbalanced transaction
    through; deleting, updating or truncating the noted rows or the marker is refused, at a
    prompt or in a ``DO`` block, and so is inserting them by hand (a marker planted for a
    future transaction would have kept that transaction's check from being queued)."""
    clear = "SELECT set_config('asolora.unchecked_seqs', '', true)"
    assert _refused(sold, *_UNBALANCED, clear) == "23514"  # check_violation, at COMMIT
    for tamper in (
        "DELETE FROM ledger_unchecked_seqs",
        "DO $$ BEGIN DELETE FROM ledger_unchecked_seqs; END $$",
        "WITH gone AS (DELETE FROM ledger_unchecked_seqs RETURNING 1) SELECT count(*) FROM gone",
        "UPDATE ledger_unchecked_seqs SET seqs = '{1}'",
        "UPDATE ledger_unchecked_seqs SET xid = xid + 1",
        "TRUNCATE ledger_unchecked_seqs",
        "DELETE FROM ledger_unchecked",
        "DO $$ BEGIN DELETE FROM ledger_unchecked; END $$",
        "UPDATE ledger_unchecked SET xid = xid + 1",
    ):
        assert _refused(sold, *_UNBALANCED, clear, tamper) == "23001", tamper
    assert _refused(sold, "TRUNCATE ledger_unchecked") == "23001"  # restrict_violation
    assert _refused(sold, f"INSERT INTO ledger_unchecked VALUES ({_NEXT_XID})") == "23001"
    for planted in (
        f"INSERT INTO ledger_unchecked_seqs VALUES ({_NEXT_XID}, '{{1}}')",
        "INSERT INTO ledger_unchecked_seqs VALUES (pg_current_xact_id()::text::bigint, '{1}')",
        "INSERT INTO ledger_unchecked VALUES (pg_current_xact_id()::text::bigint)",
    ):
        assert _refused(sold, planted) == "23001", planted
    _nothing_left_unchecked(sold)


def test_temporary_tables_do_not_stand_in_for_the_journals_own(sold: str) -> None:
    """R24 (schema step 11): any role may create temporary tables, and PostgreSQL looks a
    table name up in the session's temporary schema first; the balance check's functions
    look in the journal's own schema only, so a temporary ``ledger_unchecked_seqs`` emptied
    before COMMIT, or a temporary ``ledger_entries`` holding balanced rows, changes nothing:
    the unbalanced transaction written to the real tables is refused."""
    real = [sql.replace("INTO ledger_", f'INTO "{sold}".ledger_') for sql in _UNBALANCED]
    assert (
        _refused(
            sold,
            "CREATE TEMP TABLE ledger_unchecked_seqs (xid bigint, seqs bigint[]) ON COMMIT DROP",
            *real,
            "DELETE FROM pg_temp.ledger_unchecked_seqs",
        )
        == "23514"
    )
    assert (
        _refused(
            sold,
            "CREATE TEMP TABLE ledger_entries ON COMMIT DROP AS "
            "SELECT 100::bigint AS seq, 'EUR' AS currency, 0::bigint AS amount_minor",
            "CREATE TEMP TABLE ledger_txns ON COMMIT DROP AS SELECT 100::bigint AS seq",
            *real,
        )
        == "23514"
    )
    _nothing_left_unchecked(sold)


_TAMPERS = (
    "SELECT set_config('asolora.unchecked_seqs', '', true)",
    "DELETE FROM ledger_unchecked_seqs",
    "DO $$ BEGIN DELETE FROM ledger_unchecked_seqs; DELETE FROM ledger_unchecked; END $$",
    "UPDATE ledger_unchecked_seqs SET seqs = '{1}'",
    "UPDATE ledger_unchecked SET xid = xid + 1",
    "TRUNCATE ledger_unchecked_seqs, ledger_unchecked",
    f"INSERT INTO ledger_unchecked VALUES ({_NEXT_XID})",
    "INSERT INTO ledger_unchecked_seqs VALUES (pg_current_xact_id()::text::bigint, '{1}')",
    "SET CONSTRAINTS ledger_journal_balanced IMMEDIATE",
    "SET CONSTRAINTS ledger_journal_balanced DEFERRED",
)


@settings(
    max_examples=25,
    deadline=None,
    # every example leaves the schema as it found it (asserted at its end)
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(st.sampled_from(_UNBALANCED + _TAMPERS), min_size=1, max_size=8).map(
        lambda steps: [*_UNBALANCED, *steps]
    )
    | st.permutations(_UNBALANCED + _TAMPERS)
)
def test_no_mix_of_plain_dml_commits_an_unbalanced_journal(sold: str, steps: list[str]) -> None:
    """R24, property: a tamperer who writes an unbalanced journal transaction and then runs
    any mix of DML against the balance check's bookkeeping, each statement in a savepoint
    rolled back when refused (so one refusal does not end the transaction), never commits
    an unbalanced or entry-less journal transaction: the COMMIT is refused, or the rows
    were rolled back with their savepoint; nothing stays noted."""
    with _connect(sold, autocommit=True) as conn:
        refusal = _commit_refusal(conn, steps)
    assert refusal in (None, "23514", "23503")  # None: every journal row was rolled back
    _nothing_left_unchecked(sold)


def test_a_schema_at_step_10_upgrades_and_its_noted_transactions_are_kept() -> None:
    """R24 across schema step 11 (the noted journal transactions kept in a guarded table,
    not in a setting): a schema at version 10 holding a paid order upgrades in one call; its
    journal verifies and the facade posts to it, leaving nothing noted; with raw SQL the
    database still refuses an unbalanced transaction, a transaction without entries and
    entries without their transaction, in the same order as before, and now also when the
    setting steps 9 and 10 kept the noted ``seq`` values in is emptied."""

    schema, clock, first = _schema_at(10)
    _check_upgraded(schema, clock, first)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked_seqs") == (0,)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked") == (0,)
    clear = "SELECT set_config('asolora.unchecked_seqs', '', true)"
    assert _refused(schema, *_UNBALANCED) == "23514"  # check_violation
    assert _refused(schema, *_UNBALANCED, clear) == "23514"
    assert _refused(schema, _UNBALANCED[0], clear) == "23514"  # no entries
    orphan = _ENTRY.format(seq=300, n=0, account="platform:a", amount=5)
    assert _refused(schema, orphan, _UNBALANCED[0], clear) == "23503"  # the orphan first
    assert _refused(schema, *_UNBALANCED, "DELETE FROM ledger_unchecked_seqs") == "23001"


def _refusal(schema: str, *statements: str) -> tuple[str, str]:
    """:func:`_refused`, with the refusal's message."""
    import psycopg

    with _connect(schema, autocommit=True) as conn:
        try:
            with conn.transaction():
                for sql in statements:
                    conn.execute(sql)
        except psycopg.Error as exc:
            return str(exc.sqlstate), str(exc.diag.message_primary)
    raise AssertionError(f"the database accepted {statements}")


def _entry_in(seq: int, n: int, currency: str, amount: int) -> str:
    return (
        "INSERT INTO ledger_entries (seq, n, account, vendor_id, kind, currency, amount_minor) "
        f"VALUES ({seq}, {n}, 'platform:{n}', NULL, 'k', '{currency}', {amount})"
    )


#: Journal rows written with raw SQL, each list refused at COMMIT: what step 12's one-statement
#: balance check must refuse exactly as step 11's loop did (code, message: which ``seq``,
#: which currency, by how much)
_REFUSALS: tuple[tuple[str, ...], ...] = (
    _UNBALANCED,
    _UNBALANCED[:1],  # no entries
    (*_UNBALANCED, _ENTRY.format(seq=300, n=0, account="platform:a", amount=5)),  # orphan
    (_ENTRY.format(seq=301, n=0, account="platform:a", amount=5), *_UNBALANCED[:1]),
    (  # the lowest seq first, whatever the order written
        _TXN.format(seq=102, key="raw:2", kind="capture", order="o-y"),
        _entry_in(102, 0, "EUR", 7),
        *_UNBALANCED,
        _TXN.format(seq=101, key="raw:3", kind="capture", order="o-z"),
        _entry_in(101, 0, "EUR", 5),
        _entry_in(101, 1, "EUR", -5),
    ),
    (  # balanced in EUR, not in GBP nor USD: the first of those by name
        _TXN.format(seq=100, key="raw:1", kind="capture", order="o-x"),
        _entry_in(100, 0, "USD", 3),
        _entry_in(100, 1, "EUR", 5),
        _entry_in(100, 2, "EUR", -5),
        _entry_in(100, 3, "GBP", -2),
    ),
    (  # two orphans and an unbalanced transaction below them: the lowest orphan first
        *_UNBALANCED,
        _ENTRY.format(seq=400, n=0, account="platform:a", amount=5),
        _ENTRY.format(seq=350, n=0, account="platform:a", amount=5),
    ),
)


def test_a_schema_at_step_11_upgrades_and_refuses_as_before() -> None:
    """R24 across schema step 12 (the COMMIT-time balance check is one statement for all the
    noted journal transactions, not two per transaction): a schema at version 11 holding a
    paid order upgrades in one call; its journal verifies and the facade posts to it,
    leaving nothing noted. With raw SQL, on tables never analyzed, the upgraded schema
    refuses every case a schema still at step 11 refuses, with the same code and message
    (entries without their transaction first, the lowest ``seq``; then the lowest ``seq``
    without entries or not balancing, its first unbalanced currency by name); its check
    still runs in the journal's own schema, with sequential scans off."""

    before, _, _ = _schema_at(11)
    schema, clock, first = _schema_at(11)
    _check_upgraded(schema, clock, first)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked_seqs") == (0,)
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked") == (0,)
    for statements in _REFUSALS:
        assert _refusal(schema, *statements) == _refusal(before, *statements), statements
    assert _refusal(schema, *_REFUSALS[-2]) == (
        "23514",
        "journal transaction 100 does not balance in GBP (off by -2)",
    )
    assert _refusal(schema, *_REFUSALS[-1])[0] == "23503"
    assert "transaction 350 " in _refusal(schema, *_REFUSALS[-1])[1]
    assert _refused(schema, *_UNBALANCED, "DELETE FROM ledger_unchecked_seqs") == "23001"
    (config,) = _one(
        schema,
        "SELECT proconfig FROM pg_proc WHERE proname = 'asolora_journal_balanced' "
        "AND pronamespace = current_schema()::regnamespace",
    )
    assert sorted(config) == ["enable_seqscan=off", f"search_path={schema}, pg_temp"]


def test_journal_rows_cannot_be_updated_or_deleted(sold: str) -> None:
    """R24, R42: the journal is append-only, whoever writes."""
    for sql in (
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE seq = 1 AND n = 0",
        "DELETE FROM ledger_entries WHERE seq = 1",
        "UPDATE ledger_txns SET memo = '{}' WHERE seq = 1",
        "DELETE FROM ledger_txns WHERE seq = 2",
        "TRUNCATE ledger_entries CASCADE",
    ):
        assert _refused(sold, sql) == "23001", sql  # restrict_violation


def test_an_order_is_released_once(sold: str) -> None:
    """R17: a second release transaction for one order is refused, even under a new key."""
    (order_id,) = _one(sold, "SELECT order_id FROM ledger_txns WHERE kind = 'release'")
    sql = _TXN.format(seq=100, key="release:again", kind="release", order=order_id)
    assert _refused(sold, sql) == "23505"  # unique_violation


def test_refunds_never_exceed_the_paid_amount(sold: str) -> None:
    """R20: neither the hold nor the order can record more refunded than paid."""
    assert _refused(sold, "UPDATE ledger_holds SET refunded_minor = paid_minor + 1") == "23514"
    assert _refused(sold, "UPDATE orders SET refunded_minor = paid_minor + 1") == "23514"


def test_an_idempotency_key_is_stored_once_per_actor(sold: str) -> None:
    """R35: one record per (actor scope, key); the same key under another actor is its own."""
    insert = (
        "INSERT INTO idempotency (scope, key, command, at, body) "
        "VALUES ('{scope}', 'k-1', 'ship', now(), '{{}}')"
    )
    assert (
        _refused(sold, insert.format(scope="vendor:v-1"), insert.format(scope="vendor:v-1"))
        == "23505"
    )
    with _connect(sold, autocommit=True) as conn:
        conn.execute(insert.format(scope="vendor:v-1"))
        conn.execute(insert.format(scope="vendor:v-2"))


def _one(schema: str, sql: str) -> tuple[Any, ...]:
    with _connect(schema, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def test_a_schema_of_the_first_postgres_release_upgrades_with_its_orders() -> None:
    """R33: a schema at version 4 (the first PostgreSQL schema: before the order facts, the
    reports' rollups, the endings' journal kinds and retention) holding a shipped and an
    unshipped order upgrades in one call: the fact columns are filled from the stored orders
    (the dashboard's lists find each where it belongs) and the journal takes the new kinds."""
    import psycopg
    from psycopg.types.json import Jsonb

    from asolora_core import InMemoryStore, _codec
    from asolora_core.adapters import postgres as pg
    from asolora_core.orders.model import Order

    memory = Marketplace(InMemoryStore(), clock=FakeClock(T0), ids=SequentialIds())
    waiting, shipped = _place(memory, "p-1"), _place(memory, "p-2")
    order = memory.get_order(shipped, by=STAFF)
    memory.ship(
        shipped,
        by=Actor.vendor("v-1"),
        items={order.lines[0].line_id: 1},
        carrier="DHL",
        tracking_number="TN-1",
    )
    encode = _codec.encoder(Order)
    schema = new_schema()
    with psycopg.connect(dsn(), autocommit=True, options="-c timezone=UTC") as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        with conn.transaction():
            conn.execute(
                "CREATE TABLE asolora_schema_version (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for version, script in enumerate(pg.MIGRATIONS[:4], start=1):
                for statement in pg._statements(script):
                    conn.execute(statement)
                conn.execute("INSERT INTO asolora_schema_version VALUES (%s)", (version,))
            for order_id in (waiting, shipped):
                o = memory.get_order(order_id, by=STAFF)
                conn.execute(
                    "INSERT INTO orders (order_id, version, checkout_id, vendor_id, buyer_id, "
                    "customer_key, status, currency, paid_minor, refunded_minor, placed_at, "
                    "completed_at, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s)",
                    (
                        o.order_id,
                        o.version,
                        o.checkout_id,
                        o.vendor_id,
                        o.buyer_id,
                        o.customer_name.casefold(),
                        o.status.value,
                        o.currency,
                        o.paid_minor,
                        o.refunded_minor,
                        o.placed_at,
                        o.completed_at,
                        Jsonb(encode(o)),
                    ),
                )
    store = make_store(schema)
    try:
        assert store.schema_version() == len(pg.MIGRATIONS)
        with store.reader() as uow:
            to_ship = uow.orders.page(
                OrderQuery(vendor_id="v-1", needs_shipping=True), after=None, limit=10
            )
            sent = uow.orders.page(
                OrderQuery(vendor_id="v-1", needs_shipping=False), after=None, limit=10
            )
            (check,) = uow.fetchone(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'ledger_txns_kind_check' AND connamespace = %s::regnamespace",
                (schema,),
            ) or ("",)
        assert [o.order_id for o in to_ship] == [waiting]
        assert [o.order_id for o in sent] == [shipped]
        assert "reserve_released" in check
        assert "chargeback_won" in check
    finally:
        store.close()


def test_a_reader_writes_nothing_and_locks_nothing(schema: str) -> None:
    """R33: ``store.reader()`` on PostgreSQL is a read-only snapshot: a write in it is
    refused by the server, and the facade's queries (a balance, a statement, the journal)
    run in it without taking the journal head's row lock."""
    import psycopg

    store = make_store(schema)
    try:
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        _place(market)
        with store.reader() as uow:
            assert uow.read_only
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                uow.run("DELETE FROM timers")
        with _connect(schema) as holder:  # another transaction holds the head row's lock
            holder.execute("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE")
            with store.reader() as uow:
                uow.run("SET LOCAL lock_timeout = '2s'")  # a wait would fail, not hang
                assert uow.ledger.vendor_fold("v-1", "EUR", "balance") == 0
            assert market.balance("v-1", by=STAFF).balance_minor == 0
            assert [t.kind for t in market.journal(by=STAFF)] == ["capture"]
            holder.rollback()
    finally:
        store.close()


def _released(order_id: str, seq: int, vendor_id: str = "v-1") -> Any:
    from asolora_core.ledger.events import ProceedsReleased

    return ProceedsReleased(
        aggregate_id=order_id,
        at=T0,
        actor=Actor.system(),
        vendor_id=vendor_id,
        currency="EUR",
        amount_minor=100,
        offset_minor=0,
        seq=seq,
    )


def test_a_batchs_history_is_written_with_its_commit_and_read_back_before_it(
    schema: str,
) -> None:
    """R33: a sweep batch's history goes to the server with its COMMIT (one round
    trip while the journal head is held); a read in the same unit of work still sees it, and
    a unit of work rolled back keeps none of it."""
    store = make_store(schema)
    try:
        with store.unit_of_work() as uow:
            uow.events.append([_released("o-1", 1), _released("o-2", 2)])
            assert [e.seq for e in uow.events.history("o-1")] == [1]  # read before the commit
            uow.events.append([_released("o-1", 3), _released("o-3", 4)])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.events.append([_released("o-9", 5), _released("o-9", 6)])
            # no commit: rolled back on leaving the block
        with store.reader() as uow:
            assert [e.seq for e in uow.events.history("o-1")] == [1, 3]
            assert [e.seq for e in uow.events.history("o-3")] == [4]
            assert uow.events.history("o-9") == ()
    finally:
        store.close()


def test_a_history_refused_at_the_commit_commits_nothing_and_the_store_goes_on(
    schema: str,
) -> None:
    """R2: when the history sent with the COMMIT is refused, the server skips the
    COMMIT: the error is raised, nothing of the unit of work stays, and the store's connection
    serves the next unit of work."""
    import psycopg

    store = make_store(schema)
    try:
        with store.unit_of_work() as uow:
            uow.events.append([_released("o-0", 1), _released("o-0", 2)])
            # a body the server refuses (jsonb holds no NUL): both go with the COMMIT
            uow.events.append([_released("o-1", 3), _released("o-2", 4, vendor_id="v\x00")])
            with pytest.raises(psycopg.errors.UntranslatableCharacter):
                uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.history("o-0") == uow.events.history("o-1") == ()
            uow.events.append([_released("o-2", 3), _released("o-3", 4)])
            uow.commit()
        with store.reader() as uow:
            assert [e.seq for e in uow.events.history("o-2")] == [3]
    finally:
        store.close()


@pytest.mark.parametrize("killed_before", ["a statement", "the commit"])
def test_a_lost_connection_is_store_unavailable_and_the_next_unit_of_work_reconnects(
    schema: str, killed_before: str
) -> None:
    """R2, R33: the server ending a store's connection mid-unit of work (a restart, a
    failover, an administrator) reaches the caller as the library's StoreUnavailableError,
    still a psycopg.OperationalError, with psycopg's error as its cause; nothing of the unit of
    work is stored; a store on a DSN works again on the next unit of work. A connection lost
    at the COMMIT says the outcome is unknown."""
    import psycopg

    from asolora_core.adapters.postgres import PgUnavailableError
    from asolora_core.errors import StoreUnavailableError
    from asolora_core.ports import Timer

    store = make_store(schema)
    try:
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        order_id = _place(market)
        with store.reader() as uow:
            before = uow.fetchone("SELECT (SELECT count(*) FROM timers), max(seq) FROM events")
        with _connect(schema, autocommit=True) as admin, store.unit_of_work() as uow:
            uow.timers.schedule(
                Timer(
                    timer_id="t-1", kind="autoconfirm", aggregate_id=order_id, ref="s-1", due_at=T0
                )
            )
            uow.events.append([_released(order_id, 99)])  # sent with the next statement
            row = uow.fetchone("SELECT pg_backend_pid()")
            assert row is not None
            # waits (up to 10 s) until the backend is gone: no race with the next statement
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (row[0],))
            step = uow.commit if killed_before == "the commit" else lambda: uow.fetchone("SELECT 1")
            with pytest.raises(StoreUnavailableError) as caught:
                step()
            uow.rollback()  # as the facade does after a refusal: the server already did
        error = caught.value
        assert isinstance(error, PgUnavailableError)
        assert isinstance(error, psycopg.OperationalError)  # code catching psycopg's still works
        assert isinstance(error.__cause__, psycopg.OperationalError)
        assert error.code == "store_unavailable"
        assert error.retryable
        at_commit = killed_before == "the commit"
        assert error.fields["outcome_unknown"] is at_commit
        assert ("outcome is unknown" in error.message) is at_commit
        assert ("nothing was stored" in error.message) is not at_commit
        with store.reader() as uow:  # a new connection: nothing of the unit of work stayed
            assert (
                uow.fetchone("SELECT (SELECT count(*) FROM timers), max(seq) FROM events") == before
            )
        second = _place(market, "p-2")
        assert market.get_order(second, by=STAFF).paid_minor == 900
    finally:
        store.close()


def test_a_server_that_cannot_be_reached_is_store_unavailable() -> None:
    """R2: a store that cannot open its connection raises StoreUnavailableError (still a
    psycopg.OperationalError), never psycopg's error alone."""
    import psycopg

    from asolora_core.adapters.postgres import PostgresStore
    from asolora_core.errors import StoreMisconfiguredError, StoreUnavailableError

    with pytest.raises(StoreUnavailableError) as caught:
        PostgresStore("postgresql://postgres@127.0.0.1:1/test?connect_timeout=5")
    assert isinstance(caught.value, psycopg.OperationalError)
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)
    assert caught.value.fields["outcome_unknown"] is False
    # nothing listens on that port: an outage (the server may come up), not a wrong setting
    assert not isinstance(caught.value, StoreMisconfiguredError)
    assert caught.value.retryable
    assert caught.value.to_problem()["status"] == 503


@pytest.fixture(scope="module")
def scratch() -> Iterator[dict[str, str]]:
    """A database of this run (from ``template0``) whose ``CONNECT`` is revoked from
    ``PUBLIC`` and whose ``public`` schema lets every role create (PostgreSQL 14's default);
    a login role that may not connect to it; a role without ``LOGIN``. All dropped after."""
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    tag = uuid.uuid4().hex[:10]
    names = {"db": f"asolora_t_{tag}", "user": f"asolora_u_{tag}", "nologin": f"asolora_n_{tag}"}
    with psycopg.connect(dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{names["user"]}" LOGIN')
        admin.execute(f'CREATE ROLE "{names["nologin"]}" NOLOGIN')
        admin.execute(f'CREATE DATABASE "{names["db"]}" TEMPLATE template0')
        try:
            admin.execute(f'REVOKE CONNECT ON DATABASE "{names["db"]}" FROM PUBLIC')
            with psycopg.connect(make_conninfo(dsn(), dbname=names["db"]), autocommit=True) as db:
                db.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
            yield names
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{names["db"]}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{names["user"]}"')
            admin.execute(f'DROP ROLE IF EXISTS "{names["nologin"]}"')


def _misconfigured(target: str, scratch: dict[str, str]) -> tuple[str, str, str]:
    """(DSN, reason, a word of what the message says to fix) for each wrong setting."""
    from psycopg.conninfo import make_conninfo

    cases = {
        "unknown database": (
            make_conninfo(dsn(), dbname="asolora_no_such_db"),
            "unknown_database",
            "database name",
        ),
        # the server trusts 127.0.0.1, yet a role that does not exist is still refused
        "unknown role": (
            make_conninfo(dsn(), user="asolora_no_such_role"),
            "unknown_role",
            "user",
        ),
        "role without LOGIN": (
            make_conninfo(dsn(), user=scratch["nologin"]),
            "role_cannot_login",
            "LOGIN",
        ),
        "no CONNECT on the database": (
            make_conninfo(dsn(), user=scratch["user"], dbname=scratch["db"]),
            "no_connect_privilege",
            "GRANT CONNECT",
        ),
        # the server authenticates by trust: a DSN that demands a password method is refused
        "refused authentication method": (
            make_conninfo(dsn(), require_auth="scram-sha-256"),
            "auth_method",
            "require_auth",
        ),
        "SSL required, the server has none": (
            make_conninfo(dsn(), sslmode="require"),
            "ssl",
            "sslmode",
        ),
        "malformed port": (
            "postgresql://postgres@127.0.0.1:port/test",
            "dsn",
            "fix the DSN",
        ),
        "malformed sslmode": (
            make_conninfo(dsn(), sslmode="sometimes"),
            "dsn",
            "fix the DSN",
        ),
    }
    return cases[target]


@pytest.mark.parametrize(
    "target",
    [
        "unknown database",
        "unknown role",
        "role without LOGIN",
        "no CONNECT on the database",
        "refused authentication method",
        "SSL required, the server has none",
        "malformed port",
        "malformed sslmode",
    ],
)
def test_a_connection_refused_for_its_settings_is_misconfigured_not_an_outage(
    target: str, scratch: dict[str, str]
) -> None:
    """R2: a store whose DSN the server (or libpq) refuses for its settings raises
    StoreMisconfiguredError (code store_misconfigured, HTTP 500, not retryable) saying what to
    fix, never a store_unavailable telling the caller to send the command again (a retry
    cannot help); still a psycopg.OperationalError, psycopg's error as its cause."""
    import psycopg

    from asolora_core.adapters.postgres import PgMisconfiguredError, PostgresStore
    from asolora_core.errors import StoreMisconfiguredError, StoreUnavailableError

    bad_dsn, reason, fix = _misconfigured(target, scratch)
    with pytest.raises(StoreMisconfiguredError) as caught:
        PostgresStore(bad_dsn, schema="asolora_never_created")
    error = caught.value
    assert isinstance(error, PgMisconfiguredError)
    assert isinstance(error, psycopg.OperationalError)  # old except clauses still catch it
    assert not isinstance(error, StoreUnavailableError)
    assert isinstance(error.__cause__, psycopg.OperationalError)
    assert (error.code, error.http_status, error.retryable) == ("store_misconfigured", 500, False)
    assert error.fields == {"reason": reason}
    assert fix in error.message
    assert "will not help" in error.message
    assert "send the same command again" not in error.message
    assert error.to_problem()["retryable"] is False


def test_a_dsn_psycopg_cannot_parse_is_misconfigured_and_still_a_programming_error() -> None:
    """R2: a DSN that is not a connection string at all was psycopg's ProgrammingError; it is
    now the library's store_misconfigured, and still that ProgrammingError; its message
    leaves the DSN's password out."""
    import psycopg

    from asolora_core.adapters.postgres import PgMisconfiguredError, PostgresStore

    for bad_dsn in (
        "host=127.0.0.1 colour=blue",
        "not a connection string",
        "postgresql://shop:open sesame@127.0.0.1/test",  # psycopg quotes the password
    ):
        with pytest.raises(psycopg.ProgrammingError) as caught:
            PostgresStore(bad_dsn)
        assert isinstance(caught.value, PgMisconfiguredError)
        assert isinstance(caught.value.__cause__, psycopg.ProgrammingError)
        assert caught.value.fields == {"reason": "dsn"}
        assert "fix the DSN" in caught.value.message
        # the message may reach a log or a problem body: never the password
        assert "sesame" not in caught.value.message
        assert "sesame" not in str(caught.value.to_problem())


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        # what psycopg raises for a wrong password: no SQLSTATE, the server's message
        (
            'connection failed: connection to server at "db.internal" (10.0.0.5), port 5432 '
            'failed: FATAL:  password authentication failed for user "shop_app"',
            "authentication",
        ),
        (
            'connection failed: connection to server at "db.internal" (10.0.0.5), port 5432 '
            "failed: fe_sendauth: no password supplied",
            "authentication",
        ),
        (
            'connection failed: connection to server at "db.internal" (10.0.0.5), port 5432 '
            'failed: FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "shop_app", '
            'database "shop", no encryption',
            "host_not_allowed",
        ),
        # a SQLSTATE, should psycopg give one, whatever the language of the message
        ("28P01", "authentication"),
        ("3D000", "unknown_database"),
    ],
)
def test_a_password_the_server_refuses_is_misconfigured(
    refusal: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R2: the test server trusts its clients, so the refusals of a server that asks for a
    password are raised here as psycopg raises them: the wrong password (or none) is a
    store_misconfigured that says to check the DSN's user and password."""
    import psycopg
    from psycopg import errors as pg_errors

    from asolora_core.adapters.postgres import PgMisconfiguredError, PostgresStore

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if len(refusal) == 5:
            raise pg_errors.lookup(refusal)("FATAL:  Passwort-Authentifizierung fehlgeschlagen")
        raise psycopg.OperationalError(refusal)

    monkeypatch.setattr(psycopg, "connect", refuse)
    with pytest.raises(PgMisconfiguredError) as caught:
        PostgresStore("postgresql://shop_app@db.internal/shop")
    assert caught.value.fields == {"reason": reason}
    if reason == "authentication":
        assert "check the user and password in the DSN" in caught.value.message
    assert not caught.value.retryable


def test_migrate_warns_when_the_app_role_may_create_in_public(scratch: dict[str, str]) -> None:
    """On a database whose ``public`` schema lets every role create (PostgreSQL 14 and older),
    ``migrate(grant_to=ROLE)`` grants what it grants and warns that the role may still
    create objects there, naming the REVOKE to run; where it may not, it says nothing."""
    import warnings

    import psycopg
    from psycopg.conninfo import make_conninfo

    from asolora_core.migrations import migrate

    target = make_conninfo(dsn(), dbname=scratch["db"])
    with pytest.warns(UserWarning, match="REVOKE CREATE ON SCHEMA public FROM PUBLIC") as seen:
        migrate(target, schema="shop", grant_to=scratch["user"])
    assert "may create objects in schema public" in str(seen[0].message)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # what the warning says
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        migrate(target, schema="shop", grant_to=scratch["user"])


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_pooled_connection_comes_back_clean_after_a_failed_command(
    schema: str, autocommit: bool
) -> None:
    """R2, R33, R35: on a pool, a command the library refuses (after taking its key's
    advisory lock), a unit of work whose statement the database refuses (an aborted
    transaction, holding an advisory lock) and a reader that fails inside its snapshot all
    hand the connection back idle: no transaction open or aborted, no lock held, no setting
    left from the unit of work (isolation, read only); the pool keeps the connection and the
    next command runs on it. With or without autocommit on the pool's connections."""
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg_pool import ConnectionPool

    from asolora_core import RefundExceedsPaidError
    from asolora_core.adapters.postgres import PostgresStore

    pool: ConnectionPool[Any] = ConnectionPool(
        dsn(),
        min_size=1,
        max_size=1,  # every unit of work on the one connection
        kwargs={"options": f"-c search_path={schema} -c timezone=UTC", "autocommit": autocommit},
        open=True,
    )

    def session() -> tuple[Any, ...]:
        """What the next unit of work inherits from the connection the pool hands out."""
        with pool.connection() as conn:
            assert conn.info.transaction_status == TransactionStatus.IDLE
            row = conn.execute(
                "SELECT pg_backend_pid(), current_setting('transaction_isolation'), "
                "current_setting('transaction_read_only'), current_setting('search_path'), "
                "current_setting('TimeZone'), (SELECT count(*) FROM pg_locks "
                "WHERE pid = pg_backend_pid() AND locktype = 'advisory')"
            ).fetchone()
            conn.rollback()  # what this check opened (without autocommit)
            assert row is not None
            return tuple(row)

    try:
        store = PostgresStore(pool=pool, migrate=False)
        market = Marketplace(store, clock=FakeClock(T0), ids=SequentialIds())
        order_id = _place(market)
        market.get_order(order_id, by=STAFF)  # a reader, committed
        clean = session()
        assert clean[1:] == ("read committed", "off", schema, "UTC", 0)
        with pytest.raises(RefundExceedsPaidError):
            market.refund(
                order_id, by=STAFF, amount=Money("50.00", "EUR"), reason="x", idempotency_key="k"
            )
        assert session() == clean
        with store.unit_of_work() as uow:
            uow.run("SELECT pg_advisory_xact_lock(42)")
            uow.run("SET CONSTRAINTS ALL IMMEDIATE")
            with pytest.raises(psycopg.errors.DivisionByZero):
                uow.fetchone("SELECT 1 / 0")  # the transaction is aborted; the block ends
        assert session() == clean
        with store.reader() as uow:
            uow.fetchone("SELECT count(*) FROM orders")
            with pytest.raises(psycopg.errors.DivisionByZero):
                uow.fetchone("SELECT 1 / 0")
        assert session() == clean  # the same backend: the pool kept the connection
        second = _place(market, "p-2")
        assert market.get_order(second, by=STAFF).paid_minor == 900
        assert market.get_order(order_id, by=STAFF).refunded_minor == 0  # refused: nothing
    finally:
        pool.close()


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.none()
        | st.text(
            # PostgreSQL's text holds neither U+0000 nor a lone surrogate (not UTF-8); the
            # separators and null marks are allowed
            alphabet=st.characters(codec="utf-8", exclude_characters="\x00")
            | st.sampled_from("\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"),
            max_size=6,
        ),
        max_size=6,
    )
)
def test_a_text_array_sent_as_one_text_arrives_whole(values: list[str | None]) -> None:
    """R24, R42: the batched statements (the journal's rows among them) send each text column
    as one text split by the server; every list arrives exactly as sent (empty texts, NULLs,
    a single empty text, an empty list), whatever control characters the texts hold: a
    separator and a null mark are chosen that no text holds, and a list holding every
    candidate is refused with ``InvalidInputError``, nothing sent, never split wrongly."""
    import psycopg

    from asolora_core.adapters.postgres_ledger import TEXTS, texts
    from asolora_core.errors import InvalidInputError

    try:
        params = texts(values)
    except InvalidInputError:
        joined = "".join(v for v in values if v is not None)
        marks = (("\x1f", "\x1e"), ("\x1d", "\x1c"), ("\x1b", "\x1a"), ("\x19", "\x18"))
        assert all(sep in joined or (None in values and null in joined) for sep, null in marks)
        return
    with psycopg.connect(dsn()) as conn:
        row = conn.execute(f"SELECT {TEXTS}", params).fetchone()
    assert row is not None
    assert row[0] == values


@settings(max_examples=100, deadline=None)
@given(
    numbers=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=8),
    instants=st.lists(
        st.none()
        | st.datetimes(
            min_value=dt.datetime(1900, 1, 1),
            max_value=dt.datetime(9998, 12, 31),
            timezones=st.sampled_from(
                [
                    dt.UTC,
                    dt.timezone(dt.timedelta(hours=5, minutes=30)),
                    dt.timezone(-dt.timedelta(hours=8)),
                ]
            ),
        ),
        max_size=8,
    ),
)
def test_number_and_instant_arrays_sent_as_literals_arrive_whole(
    numbers: list[int], instants: list[dt.datetime | None]
) -> None:
    """R24, R42: the batched statements (the journal's amounts and instants among them) send
    each column of numbers or instants as the literal of its array: every ``bigint`` arrives
    as sent, every instant as the same instant (whatever its offset), NULLs as NULLs."""
    import psycopg

    from asolora_core.adapters.postgres_ledger import ints, stamps

    with psycopg.connect(dsn()) as conn:
        row = conn.execute(
            "SELECT %s::bigint[], %s::timestamptz[]", (ints(numbers), stamps(instants))
        ).fetchone()
    assert row is not None
    assert row[0] == numbers
    assert row[1] == instants
