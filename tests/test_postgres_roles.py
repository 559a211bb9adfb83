"""The least-privilege deployment: the tables' owner migrates and grants
(``migrate(dsn, grant_to=ROLE)``), the application runs as a login role that neither owns
the tables nor is a superuser. Everything the library does works under that role; nothing
it may do switches the database's invariants off (R17, R20, R24, R35, R42). The role is
this run's (``pg_support.app_role``), dropped at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from asolora_core import (
    Actor,
    FakeClock,
    Marketplace,
    RecordingNotifier,
    SequentialIds,
    migrate,
)
from asolora_core.__main__ import main
from asolora_core.adapters import postgres as pg
from asolora_core.fx import FixedRateProvider
from pg_support import app_dsn, app_role, dsn, make_store, new_schema, postgres
from test_ledger_support import BUYER, STAFF, START, money_market, place, sell
from test_postgres import (
    _ENTRY,
    _NEXT_XID,
    _TAMPERS,
    _TXN,
    _UNBALANCED,
    _commit_refusal,
    _nothing_left_unchecked,
    _one,
    _refused,
    _schema_at,
)

pytestmark = postgres

#: Refused for want of a privilege (42501 insufficient_privilege; 42P01 when the role may
#: not even look into the object), or by the database's own guards (23001, 23514, 23503).
PRIVILEGE = "42501"


@pytest.fixture
def granted() -> Iterator[str]:
    """An empty schema of this run, migrated and granted to this run's application role by
    the owner, then written by the role: one order of v-1, completed and released (journal:
    capture, release)."""
    owner = make_store()
    schema: str = owner.schema
    try:
        migrate(dsn(), schema=schema, grant_to=app_role())
        store = pg.PostgresStore(app_dsn(), schema=schema)
        try:
            clock = FakeClock(START)
            market = Marketplace(store, clock=clock, ids=SequentialIds())
            sell(market, "v-1", Money("9.00", "EUR"))
            clock.advance(hours=168)
            market.run_due()
            assert [t.kind for t in market.journal(by=STAFF)] == ["capture", "release"]
        finally:
            store.close()
        yield schema
    finally:
        owner.close()


def _app_connect(schema: str, **kwargs: Any) -> Any:
    import psycopg

    return psycopg.connect(app_dsn(), options=f"-c search_path={schema} -c timezone=UTC", **kwargs)


def _refused_as_app(schema: str, *statements: str) -> str:
    """Run ``statements`` as the application role in one transaction; the SQLSTATE of the
    refusal (at a statement or at COMMIT)."""
    return _refused(schema, *statements, connect=_app_connect)


def _privileges(schema: str, role: str) -> dict[str, set[str]]:
    """What ``role`` may do to each table of ``schema``, as the server sees it."""
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    import psycopg

    with psycopg.connect(dsn(), autocommit=True) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        ]
        out: dict[str, set[str]] = {}
        for table in tables:
            qualified = f'"{schema}"."{table}"'
            out[table] = {
                kind
                for kind in kinds
                if conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (role, qualified, kind)
                ).fetchone()
                == (True,)
            }
    return out


def test_the_role_gets_exactly_what_the_library_needs(granted: str) -> None:
    """Every table of a migrated schema is listed in ``APP_PRIVILEGES`` (a schema step that
    adds a table must say what the application may do to it), and the role may do that and
    nothing more: the journal and the payouts are never updated nor deleted, no table is
    truncated, no trigger or foreign key made; the role creates nothing in the schema.
    Granting twice is the same as granting once, and revokes what was granted by hand."""
    role = app_role()
    expected = {
        table: {p.strip() for p in privileges.split(",")}
        for table, privileges in pg.APP_PRIVILEGES.items()
    }
    assert _privileges(granted, role) == expected
    for table in ("ledger_txns", "ledger_entries", "ledger_payouts"):
        assert expected[table] == {"SELECT", "INSERT"}
    import psycopg

    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f'GRANT ALL ON "{granted}".ledger_entries TO "{role}"')
        assert conn.execute(
            "SELECT has_schema_privilege(%s, %s, 'CREATE')", (role, granted)
        ).fetchone() == (False,)
    migrate(dsn(), schema=granted, grant_to=role)
    assert _privileges(granted, role) == expected


def test_a_marketplace_runs_under_the_application_role(granted: str) -> None:
    """R33 under least privilege: a store opened as the application role (its migrate on
    open finds the schema current and does nothing) places, ships, delivers and confirms
    orders, refunds, answers with an idempotency key, sweeps (releases, the outbox relay,
    retention), pays out, reads reports and verifies the journal."""
    store = pg.PostgresStore(app_dsn(), schema=granted)
    try:
        clock = FakeClock(START)
        notifier = RecordingNotifier()
        market = money_market(
            store,
            clock,
            FixedRateProvider(as_of=START),
            notifier=notifier,
            ids=SequentialIds(start=1000),
        )
        market.register_vendor("v-2", payout_currency="EUR", by=STAFF)
        first = sell(market, "v-2", Money("100.00", "EUR"))
        second = place(market, "v-2", Money("40.00", "EUR"))
        vendor = Actor.vendor("v-2")
        for _ in range(2):  # the second call replays the stored outcome
            market.refund(
                second.order_id, by=vendor, amount=Money("40.00", "EUR"), idempotency_key="r-1"
            )
        clock.advance(hours=168)
        report = market.run_due()
        assert report.timers.get("release") == 1
        assert market.get_hold(first.order_id, by=vendor).released
        payouts = market.run_payouts()
        assert "v-2" in {p.vendor_id for p in payouts}
        assert market.balance("v-2", by=vendor).balance_minor == 0
        assert market.run_payouts() == ()
        clock.advance(days=60)
        market.run_due()  # retention: purges old idempotency records and delivered rows
        assert market.verify_journal(by=STAFF).ok
        assert notifier.sent
        assert market.get_order(second.order_id, by=BUYER).refunded_minor == 4000
    finally:
        store.close()


def test_an_application_role_cannot_migrate_and_says_who_must(
    granted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store opened by the application role on a schema that is behind fails (the role
    may not create tables) with a note naming the owner's command; the owner's
    ``migrate(grant_to=...)`` brings the schema up to date and grants the tables a new step
    added (here step 11's ``ledger_unchecked_seqs``, which every journal write needs)."""
    import psycopg

    schema, clock, _ = _schema_at(10)
    saved = pg.MIGRATIONS[:]
    try:
        del pg.MIGRATIONS[10:]
        migrate(dsn(), schema=schema, grant_to=app_role())  # the deploy of step 10
    finally:
        pg.MIGRATIONS[:] = saved
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        pg.PostgresStore(app_dsn(), schema=schema)
    assert "--grant-to" in "".join(refused.value.__notes__)
    # from the shell: one line with the server's refusal and the note, exit status 2
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", "--dsn", app_dsn(), "--schema", schema])
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("python -m asolora_core migrate: error: permission denied")
    assert "as the tables' owner first" in line
    migrate(dsn(), schema=schema, grant_to=app_role())  # the deploy of step 11
    store = pg.PostgresStore(app_dsn(), schema=schema)
    try:
        market = money_market(
            store, clock, FixedRateProvider(as_of=START), ids=SequentialIds(start=1000)
        )
        sell(market, "v-3", Money("10.00", "EUR"))
        assert [t.kind for t in market.journal(by=STAFF)] == ["capture", "capture", "fees"]
        assert market.verify_journal(by=STAFF).ok
    finally:
        store.close()
    assert _one(schema, "SELECT count(*) FROM ledger_unchecked_seqs") == (0,)


#: What the owner or a superuser could do to switch an invariant off, tried by the
#: application role; each is refused for want of a privilege.
_SWITCH_OFFS = (
    "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
    "ALTER TABLE ledger_txns DISABLE TRIGGER ledger_txns_noted",
    "ALTER TABLE ledger_unchecked DISABLE TRIGGER ledger_journal_balanced",
    "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
    "DROP FUNCTION asolora_journal_balanced() CASCADE",
    "DROP FUNCTION asolora_unchecked_kept() CASCADE",
    "CREATE OR REPLACE FUNCTION asolora_journal_balanced() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "ALTER FUNCTION asolora_journal_note() SET search_path = pg_temp",
    "ALTER FUNCTION asolora_journal_balanced() RENAME TO gone",
    "ALTER TABLE ledger_txns DROP CONSTRAINT ledger_txns_kind_check",
    "ALTER TABLE ledger_holds DROP CONSTRAINT refunds_within_paid",
    "ALTER TABLE orders DROP CONSTRAINT order_refunds_within_paid",
    "DROP INDEX ledger_one_release_per_order",
    "ALTER TABLE idempotency DROP CONSTRAINT idempotency_key_per_actor",
    "ALTER TABLE ledger_unchecked_seqs SET LOGGED",
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role = replica",
    "CREATE TABLE ledger_shadow (seq bigint)",
    "UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE seq = 1 AND n = 0",
    "DELETE FROM ledger_entries WHERE seq = 1",
    "UPDATE ledger_txns SET memo = '{}' WHERE seq = 1",
    "DELETE FROM ledger_txns WHERE seq = 2",
    "DELETE FROM ledger_payouts",
    "TRUNCATE ledger_entries CASCADE",
    "TRUNCATE ledger_unchecked_seqs, ledger_unchecked",
    "UPDATE ledger_unchecked_seqs SET seqs = '{1}'",
    "DELETE FROM ledger_head",
)


@pytest.mark.parametrize("statement", _SWITCH_OFFS)
def test_the_application_role_cannot_switch_an_invariant_off(granted: str, statement: str) -> None:
    """R24, R42: no DDL, no trigger switch, no update or delete of the journal for the
    application role: refused for want of a privilege."""
    assert _refused_as_app(granted, statement) == PRIVILEGE, statement
    _nothing_left_unchecked(granted)


def test_the_application_role_is_held_to_the_database_invariants(granted: str) -> None:
    """R17, R20, R24, R35 as the application role: an unbalanced transaction, one without
    entries, entries without their transaction, a second release, refunds above the paid
    amount and a stored idempotency key written twice are refused; so is an unbalanced
    transaction whose noted rows were dropped, or that a temporary table stood in for."""
    assert _refused_as_app(granted, *_UNBALANCED) == "23514"  # check_violation
    assert _refused_as_app(granted, _UNBALANCED[0]) == "23514"  # no entries
    orphan = _ENTRY.format(seq=300, n=0, account="platform:a", amount=5)
    assert _refused_as_app(granted, orphan) == "23503"
    (order_id,) = _one(granted, "SELECT order_id FROM ledger_txns WHERE kind = 'release'")
    again = _TXN.format(seq=100, key="release:again", kind="release", order=order_id)
    assert _refused_as_app(granted, again) == "23505"  # unique_violation
    for sql in (
        "UPDATE ledger_holds SET refunded_minor = paid_minor + 1",
        "UPDATE orders SET refunded_minor = paid_minor + 1",
    ):
        assert _refused_as_app(granted, sql) == "23514", sql
    key = "INSERT INTO idempotency VALUES ('vendor:v-1', 'k-1', 'ship', now(), '{}')"
    assert _refused_as_app(granted, key, key) == "23505"
    clear = "SELECT set_config('asolora.unchecked_seqs', '', true)"
    assert _refused_as_app(granted, *_UNBALANCED, clear) == "23514"
    for tamper in ("DELETE FROM ledger_unchecked_seqs", "DELETE FROM ledger_unchecked"):
        assert _refused_as_app(granted, *_UNBALANCED, clear, tamper) == "23001", tamper
    assert _refused_as_app(granted, f"INSERT INTO ledger_unchecked VALUES ({_NEXT_XID})") == (
        "23001"
    )
    real = [sql.replace("INTO ledger_", f'INTO "{granted}".ledger_') for sql in _UNBALANCED]
    assert (
        _refused_as_app(
            granted,
            "CREATE TEMP TABLE ledger_unchecked_seqs (xid bigint, seqs bigint[]) ON COMMIT DROP",
            *real,
            "DELETE FROM pg_temp.ledger_unchecked_seqs",
        )
        == "23514"
    )
    _nothing_left_unchecked(granted)


@settings(
    max_examples=25,
    deadline=None,
    # every example leaves the schema as it found it (asserted at its end)
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.sampled_from(_UNBALANCED + _TAMPERS + _SWITCH_OFFS), min_size=1, max_size=8
    ).map(lambda steps: [*_UNBALANCED, *steps])
)
def test_no_mix_of_dml_and_ddl_lets_the_application_role_commit_an_unbalanced_journal(
    granted: str, steps: list[str]
) -> None:
    """R24, property, as the application role: an unbalanced journal transaction followed
    by any mix of the DML tampers and of the owner's and the superuser's switches (each in a
    savepoint, rolled back when refused) never commits: the COMMIT is refused, or the rows
    were rolled back with their savepoint; the journal is as it was, nothing stays noted."""
    with _app_connect(granted, autocommit=True) as conn:
        refusal = _commit_refusal(conn, steps)
    assert refusal in (None, "23514", "23503")
    _nothing_left_unchecked(granted)


def test_an_owner_that_is_no_superuser_migrates_and_grants_from_the_shell(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The documented deploy: an owner role that may create schemas in the database but is
    no superuser runs ``python -m asolora_core migrate --dsn ... --schema ... --grant-to
    ROLE``; the application role then runs the store. SQLite has no roles: refused."""
    import uuid

    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from asolora_core.__main__ import main

    owner = f"asolora_owner_{uuid.uuid4().hex[:12]}"
    schema = new_schema()
    database = conninfo_to_dict(dsn())["dbname"]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN NOSUPERUSER')
        conn.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{owner}"')
    try:
        owner_dsn = make_conninfo(dsn(), user=owner)
        argv = ["migrate", "--dsn", owner_dsn, "--schema", schema, "--grant-to", app_role()]
        assert main(argv) == 0
        assert capsys.readouterr().out.strip() == (
            f"schema at version {len(pg.MIGRATIONS)}; {app_role()} granted"
        )
        store = pg.PostgresStore(app_dsn(), schema=schema)
        try:
            clock = FakeClock(START)
            market = Marketplace(store, clock=clock, ids=SequentialIds())
            sell(market, "v-1", Money("9.00", "EUR"))
            clock.advance(hours=168)
            assert market.run_due().timers.get("release") == 1
            assert market.verify_journal(by=STAFF).ok
        finally:
            store.close()
    finally:
        with psycopg.connect(dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'DROP OWNED BY "{owner}"')
            conn.execute(f'DROP ROLE "{owner}"')
    with pytest.raises(ValueError, match="PostgreSQL only"):
        migrate(":memory:", grant_to="app")
