"""README.md and docs/ stand on their own: every link resolves, every script a command names
exists, and nothing points to the project's internal notes or issue tracker.

A reader has the package and its docs, not the tracker: a docstring, comment or page that says
"issue 10" instead of what the code does and why tells them nothing. (mkdocs --strict checks
the links between the pages of the site; README.md is not one of them, hence this test.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+ (.+)$", re.M)
SCRIPT = re.compile(r"\bpython3? ((?:examples|benchmarks)/[\w/]+\.py)\b")
TRACKER = re.compile(r"\b[Ii]ssues? #?\d+\b|\(#\d+\)|house\s+style", re.S)


def _anchors(page: Path) -> set[str]:
    slugify = pytest.importorskip("markdown.extensions.toc").slugify
    return {slugify(heading.strip(), "-") for heading in HEADING.findall(page.read_text())}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        missing = not file.exists() or ROOT not in file.parents
        if missing or (anchor and file.suffix == ".md" and anchor not in _anchors(file)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_script_a_command_names_exists(page: Path) -> None:
    assert [s for s in SCRIPT.findall(page.read_text()) if not (ROOT / s).is_file()] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_points_to_internal_notes(page: Path) -> None:
    text = page.read_text()
    assert "shared/" not in text
    assert "/work/" not in text
    assert TRACKER.findall(text) == []


def test_the_shipped_code_names_no_tracker_issue() -> None:
    """Docstrings and comments of the package say what the code does and why."""
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for match in TRACKER.finditer(path.read_text())
    ]
    assert found == []


#: A file or folder of the source tree that the installed package does not have: the docs
#: pages (``docs/x.md``, ``x.md``), the examples, the benchmarks, the tests.
SOURCE_TREE = re.compile(r"(?<![\w./-])(?:docs|examples|benchmarks|tests)/|\b[\w-]+\.md\b")


def test_the_package_description_has_no_relative_link() -> None:
    """The long description (``readme`` in pyproject.toml) is shown where the package is,
    not the source tree: on an index page, by ``pip show -v``. A link relative to the
    source tree (``docs/postgres.md``) is broken there, so it has none; it names the pages
    by title and says where they are."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    readme = ROOT / project["readme"]
    relative = [t for t in LINK.findall(readme.read_text()) if not re.match(r"[a-z]+:", t)]
    assert relative == []


def test_the_shipped_code_points_at_no_file_the_package_does_not_ship() -> None:
    """A docstring, message or comment of the installed package that sends the reader to
    ``docs/ledger-integrity.md`` or ``tests/...`` sends them nowhere: the wheel ships
    neither. It says the thing itself, or names the docs page by its title.
    ``_docgen`` is exempt: it is the tool that rewrites the source tree's ``docs/`` pages,
    run only from that tree."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "src" / "asolora_core").rglob("*.py"))
        if path.name != "_docgen.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SOURCE_TREE.search(line)
    ]
    assert found == []
