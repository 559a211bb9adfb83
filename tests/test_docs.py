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
from types import CodeType

import attrs
import pytest

from pg_support import dsn, new_schema, postgres

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"(?:^<!-- snippet: ([\w-]+) -->\n)?^```python\n(.*?)^```", re.S | re.M)
MARKS = frozenset({"postgres", "fragment", "new-namespace"})
#: a block fenced with four backticks or more shows markdown (a snippet as a page writes it)
SHOWN = re.compile(r"^(````+)[^\n]*\n.*?^\1\s*$", re.S | re.M)


def _text(page: Path) -> str:
    return SHOWN.sub("", page.read_text())


@attrs.frozen
class Snippet:
    page: Path
    index: int
    mark: str | None
    code: str

    def compiled(self) -> CodeType:
        return compile(self.code, f"{self.page.name}[snippet {self.index}]", "exec")


def snippets(page: Path) -> list[Snippet]:
    return [
        Snippet(page, index, mark or None, code)
        for index, (mark, code) in enumerate(BLOCK.findall(_text(page)))
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
    marked = re.findall(r"<!-- snippet: ([\w-]+) -->\n(?!```python\n)", _text(page))
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


def test_the_marks_do_what_contributing_md_says(tmp_path: Path) -> None:
    """A fragment is compiled, not run; a postgres block runs only with PostgreSQL; a new
    namespace forgets the names before it; a block shown inside a four-backtick block is not
    a snippet."""
    page = tmp_path / "page.md"
    fence = "```"
    page.write_text(
        f"{fence}python\nseen = ['first']\n{fence}\n\n"
        f"<!-- snippet: fragment -->\n{fence}python\nraise SystemExit('run')\n{fence}\n\n"
        f"<!-- snippet: postgres -->\n{fence}python\nseen.append('postgres')\n{fence}\n\n"
        f"````text\n{fence}python\nraise SystemExit('shown')\n{fence}\n````\n\n"
        f"<!-- snippet: new-namespace -->\n{fence}python\nassert 'seen' not in dir()\n{fence}\n"
    )
    assert [s.mark for s in snippets(page)] == [None, "fragment", "postgres", "new-namespace"]
    assert _run(page, with_postgres=False) == 2
    assert _run(page, with_postgres=True) == 3
    page.write_text(f"<!-- snippet: fragment -->\n{fence}python\nnot python(\n{fence}\n")
    with pytest.raises(SyntaxError):
        _run(page, with_postgres=False)
