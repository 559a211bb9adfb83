"""Every ```python snippet in README.md and docs/*.md runs as written (house style 11).

Each file's snippets run in order in one namespace, so a later snippet may use an earlier
one's names, the way a reader would type them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pg_support import dsn, new_schema, postgres

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
#: docs/postgres.md runs against PostgreSQL (it skips without ASOLORA_TEST_POSTGRES_DSN)
PAGES = [pytest.param(p, marks=postgres) if p.name == "postgres.md" else p for p in DOCS]
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_docs_have_snippets() -> None:
    """The README carries the guide's order flow in code."""
    assert SNIPPET.findall((ROOT / "README.md").read_text())


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_snippets_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    if path.name == "postgres.md":  # the test database, in a schema of this run
        monkeypatch.setenv("ASOLORA_DSN", dsn())
        monkeypatch.setenv("ASOLORA_SCHEMA", new_schema())
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for index, code in enumerate(SNIPPET.findall(path.read_text())):
        exec(compile(code, f"{path.name}[snippet {index}]", "exec"), namespace)
