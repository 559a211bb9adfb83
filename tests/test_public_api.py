"""The public API is what ``asolora_core.__all__`` lists, and all of it is there."""

from __future__ import annotations

import enum
import inspect
import logging
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest

import asolora_core


def test_all_names_exist_once() -> None:
    missing = [name for name in asolora_core.__all__ if not hasattr(asolora_core, name)]
    assert missing == []
    assert len(set(asolora_core.__all__)) == len(asolora_core.__all__)


def test_all_is_complete() -> None:
    """Every public class or function imported into the package is listed in __all__."""
    public = {
        name
        for name, value in vars(asolora_core).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("asolora_core")
    }
    assert sorted(public - set(asolora_core.__all__)) == []


def test_import_writes_nothing_and_loads_no_test_tools(tmp_path: Path) -> None:
    """No import-time side effects: no file appears, hypothesis and pytest are not loaded, and
    no web framework or docs tool either (those live in examples/ and docs/)."""
    code = (
        "import sys, asolora_core; "
        "print(sorted(m for m in ('hypothesis', 'pytest', 'fastapi', 'flask', 'starlette', "
        "'uvicorn', 'httpx', 'mkdocs') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []


def test_import_loads_no_sql_store_and_every_name_still_resolves() -> None:
    """``import asolora_core`` leaves the SQLite and PostgreSQL stores (and sqlite3, psycopg,
    migrations) unloaded until first use (PEP 562), and then every name of ``__all__``
    resolves in a fresh interpreter, ``dir()`` lists them, and the lazy names are the
    adapters' own objects."""
    code = (
        "import sys, asolora_core\n"
        "prefixes = ('asolora_core.adapters.sqlite', 'asolora_core.adapters.postgres',"
        " 'asolora_core.migrations', 'sqlite3', 'psycopg')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
        "missing = [n for n in asolora_core.__all__ if not hasattr(asolora_core, n)]\n"
        "print(missing, sorted(set(asolora_core.__all__) - set(dir(asolora_core))))\n"
        "from asolora_core import SqliteStore, PostgresStore\n"
        "from asolora_core.adapters import postgres, sqlite\n"
        "print(SqliteStore is sqlite.SqliteStore, PostgresStore is postgres.PostgresStore)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "[] []", "True True"]


def _reachable_types() -> dict[type[Any], str]:
    """Every attrs class or enum a public ``Marketplace`` method can return, walking return
    annotations, field annotations and subclasses (so new types are covered unchanged)."""
    seen: dict[type[Any], str] = {}

    def walk(tp: Any, source: str) -> None:
        if typing.get_origin(tp) is not None:
            for arg in typing.get_args(tp):
                walk(arg, source)
            return
        if not isinstance(tp, type) or tp in seen:
            return
        if not (attrs.has(tp) or issubclass(tp, enum.Enum)):
            return
        seen[tp] = source
        if attrs.has(tp):
            for name, hint in typing.get_type_hints(tp).items():
                walk(hint, f"{tp.__name__}.{name}")
        for sub in tp.__subclasses__():
            walk(sub, f"a subclass of {tp.__name__}")

    for name, method in inspect.getmembers(asolora_core.Marketplace, inspect.isfunction):
        if not name.startswith("_"):
            walk(typing.get_type_hints(method).get("return"), f"Marketplace.{name}")
    return seen


def test_every_returned_type_is_exported() -> None:
    """A type a public method returns (or that one carries) is public API."""
    missing = {
        f"{tp.__module__}.{tp.__name__} (from {source})"
        for tp, source in _reachable_types().items()
        if getattr(asolora_core, tp.__name__, None) is not tp
    }
    assert sorted(missing) == []


def test_every_returned_type_is_documented() -> None:
    """Every returned type has a docstring of its own, or is an event (whose
    class name and fields say what happened)."""
    undocumented = sorted(
        tp.__name__
        for tp in _reachable_types()
        if not (tp.__dict__.get("__doc__") or "").strip()
        and not issubclass(tp, asolora_core.DomainEvent)
    )
    assert undocumented == []


def test_amounts_are_money_beside_the_minor_units() -> None:
    """R25: every ``*_minor`` field of a returned value has a ``Money`` property beside it,
    so nobody has to divide by 100. Events are the history record and keep minor units (in
    the order currency); ``to_json`` writes them as amounts where the event names its
    currency."""
    lacking = []
    for tp in _reachable_types():
        if not attrs.has(tp):
            continue
        for field in attrs.fields(tp):
            if not field.name.endswith("_minor"):
                continue
            short = field.name.removesuffix("_minor")
            has_property = isinstance(getattr(tp, short, None), property)
            if not has_property and not issubclass(tp, asolora_core.DomainEvent):
                lacking.append(f"{tp.__name__}.{field.name}")
    assert lacking == []


def test_a_missing_notifier_is_a_logged_warning(caplog: pytest.LogCaptureFixture) -> None:
    """R29: without a notifier, notifications wait in the outbox; the marketplace says so at
    construction instead of staying silent."""
    with caplog.at_level(logging.WARNING, logger="asolora_core"):
        asolora_core.Marketplace(asolora_core.InMemoryStore())
    assert any("without a notifier" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="asolora_core"):
        asolora_core.Marketplace(
            asolora_core.InMemoryStore(), notifier=asolora_core.RecordingNotifier()
        )
    assert caplog.records == []
