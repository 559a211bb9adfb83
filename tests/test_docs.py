"""Every ```python snippet in README.md and docs/*.md runs as written (R2: what the docs show
a user is what the library does).

Each page's snippets run in order in one namespace, so a later snippet may use an earlier
one's names, the way a reader would type them. An HTML comment on the line just before a
block's opening fence marks it otherwise (the convention docs/contributing.md describes):

* ``<!-- snippet: postgres -->``: needs PostgreSQL; the page runs without it (and without
  its names), and runs again whole, with it, when ``ASOLORA_TEST_POSTGRES_DSN`` is set;
* ``<!-- snippet: fragment -->``: a piece of a larger program; only compiled, never run;
* ``<!-- snippet: new-namespace -->``: starts a namespace of its own (later blocks share it).
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from pg_support import dsn, new_schema, postgres

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"(?:^<!-- snippet: ([\w-]+) -->\n)?^```python\n(.*?)^```", re.S | re.M)
MARKS = frozenset({"postgres", "fragment", "new-namespace"})


@attrs.frozen
class Snippet:
    page: Path
    index: int
    mark: str | None
    code: str

    def compiled(self) -> object:
        return compile(self.code, f"{self.page.name}[snippet {self.index}]", "exec")


def snippets(page: Path) -> list[Snippet]:
    return [
        Snippet(page, index, mark or None, code)
        for index, (mark, code) in enumerate(BLOCK.findall(page.read_text()))
    ]


PG_PAGES = [p for p in DOCS if any(s.mark == "postgres" for s in snippets(p))]


def _run(page: Path, *, with_postgres: bool) -> int:
    """Run the page's snippets in order; the number run."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for snippet in snippets(page):
        code = snippet.compiled()
        if snippet.mark == "fragment" or (snippet.mark == "postgres" and not with_postgres):
            continue
        if snippet.mark == "new-namespace":
            namespace = {"__name__": f"docs_{page.stem}_{snippet.index}"}
        exec(code, namespace)
        ran += 1
    return ran


def test_docs_have_snippets() -> None:
    """The README carries the guide's order flow in code."""
    assert snippets(ROOT / "README.md")


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_every_mark_is_one_the_test_knows(page: Path) -> None:
    """A misspelt mark would silently run (or skip) a block: only the documented ones."""
    assert {s.mark for s in snippets(page)} - {None} <= MARKS
    marked = re.findall(r"<!-- snippet: ([\w-]+) -->\n(?!```python\n)", page.read_text())
    assert marked == [], "a snippet mark must be on the line just before its ```python fence"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block but PostgreSQL's and fragments, on a machine with no database server."""
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    _run(page, with_postgres=False)


@postgres
@pytest.mark.parametrize("page", PG_PAGES, ids=lambda p: p.name)
def test_postgres_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page whole, its PostgreSQL blocks included, on the test database in a schema of
    this run (the snippets read ``ASOLORA_DSN`` and ``ASOLORA_SCHEMA``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASOLORA_DSN", dsn())
    monkeypatch.setenv("ASOLORA_SCHEMA", new_schema())
    assert _run(page, with_postgres=True) > 0
