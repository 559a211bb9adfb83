"""The API reference (docs/reference.md) documents every public name.

A user has the installed package and the docs: a name of ``asolora_core.__all__``, or of the
``__all__`` of a module the reference covers, that has no docstring or is missing from the
built reference page does not exist for them. Nor does a module the other pages tell them to
import from when the reference does not cover it.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from asolora_core import _docgen

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"
#: ``::: identifier`` with an optional ``members: [a, b]`` option under it
DIRECTIVE = re.compile(r"^::: (\S+)\n((?:[ \t]+\S.*\n)*)", re.M)
MEMBERS = re.compile(r"members:\s*\[([^\]]*)\]")
#: what a snippet of the docs imports from a submodule of the package
IMPORT = re.compile(r"^from (asolora_core\.[\w.]+) import (?:\(([^)]*)\)|([^\n]*))", re.M)


def _module(identifier: str) -> ModuleType | None:
    try:
        return importlib.import_module(identifier)
    except ImportError:
        return None


def covered() -> dict[str, list[str]]:
    """Each module the reference renders, with the names it must show (its ``members``
    option, else its ``__all__``)."""
    out: dict[str, list[str]] = {}
    for identifier, options in DIRECTIVE.findall(REFERENCE.read_text()):
        module = _module(identifier)
        if module is None:
            continue  # a single object, e.g. ``asolora_core.__version__``
        members = MEMBERS.search(options)
        if members is not None:
            out[identifier] = [m.strip() for m in members.group(1).split(",") if m.strip()]
        else:
            out[identifier] = list(getattr(module, "__all__", []))
    return out


def public_names() -> Iterator[str]:
    """Every ``module.name`` the reference must document."""
    for module, names in covered().items():
        for name in names:
            yield f"{module}.{name}"


def test_the_reference_covers_the_package_and_every_module_the_docs_import_from() -> None:
    """``asolora_core`` itself, and every submodule a snippet of README.md or docs/ imports a
    name from, unless that name is also exported from ``asolora_core`` itself."""
    modules = covered()
    assert "asolora_core" in modules
    import asolora_core

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = set()
    for page in pages:
        for module, grouped, line in IMPORT.findall(page.read_text()):
            names = (grouped or line.split("#")[0]).replace("\n", ",").split(",")
            for name in (n.strip() for n in names):
                if not name or module in modules or name in asolora_core.__all__:
                    continue
                if f"{module}.{name}" in modules:  # a module imported from its package
                    continue
                missing.add(f"{page.name}: from {module} import {name}")
    assert sorted(missing) == []


def test_every_public_name_has_a_docstring() -> None:
    """Read the way mkdocstrings reads it (griffe, from the source): a class, function or
    constant whose docstring is missing or blank is left out of the reference page."""
    griffe = pytest.importorskip("griffe")
    package = griffe.load("asolora_core", search_paths=[str(ROOT / "src")])
    undocumented = []
    for path in public_names():
        if _dunder(path):
            continue
        obj = package[path.removeprefix("asolora_core.")]
        docstring = obj.docstring
        if docstring is None or not docstring.value.strip():
            undocumented.append(path)
    assert undocumented == []


def _dunder(path: str) -> bool:
    return path.rsplit(".", 1)[1].startswith("__")


def _inventory(site: Path) -> set[str]:
    """The object names of the built site's ``objects.inv`` (Sphinx inventory, version 2)."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed body
        header_end = raw.index(b"\n", header_end) + 1
    body = zlib.decompress(raw[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as ``mkdocs build --strict`` makes it."""
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


def test_the_built_reference_shows_every_public_name(site: Path) -> None:
    """Every public name has its own entry (an anchor other pages and other projects' docs
    can link to), and no docstring shows a raw Sphinx role (``:class:`X```) to the reader."""
    inventory = _inventory(site)
    missing = [n for n in public_names() if n not in inventory and not _dunder(n)]
    assert missing == []
    page = (site / "reference" / "index.html").read_text()
    assert re.findall(r":(?:class|func|meth|attr|data|mod):<code>[^<]*", page) == []


#: a script, style sheet, image or font the browser would fetch from another host
REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""")


def test_the_built_site_needs_no_network(site: Path) -> None:
    """Every page renders from the site's own files: nothing is loaded from a CDN, and the
    lifecycle diagrams are in the page as SVG (no script draws them)."""
    remote = sorted(
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if REMOTE.search(page.read_text())
    )
    assert remote == []
    diagrams = _docgen.lifecycle_diagrams().count("<svg")
    assert diagrams >= 3
    assert (site / "lifecycle" / "index.html").read_text().count("<svg") == diagrams


def test_a_dunder_name_is_described_in_the_reference_text() -> None:
    """``__version__`` and the like are not rendered from docstrings (the reference leaves
    out names starting with ``_``), so the page says what they are in its own words."""
    text = REFERENCE.read_text()
    assert [n for n in public_names() if _dunder(n) and f"`{n}`" not in text] == []
