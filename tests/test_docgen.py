"""The generated parts of docs/ match the code (issue 11): the errors table (with HTTP
statuses, R2), the notification kinds (R29) and the lifecycle diagrams (R4-R14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asolora_core import _docgen
from asolora_core.errors import AsoloraError, error_classes

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(_docgen.BLOCKS))
def test_generated_block_is_up_to_date(name: str) -> None:
    """Run ``python -m asolora_core._docgen docs`` when this fails."""
    page, make = _docgen.BLOCKS[name]
    assert _docgen.generated((DOCS / page).read_text(), name) == make()


def test_every_error_class_is_in_the_table() -> None:
    """R2: every code a program may meet is documented with its HTTP status."""
    table = _docgen.errors_table()
    for cls in error_classes():
        assert f"`{cls.code}` | {cls.http_status} |" in table


def test_every_error_has_an_http_status_and_a_retry_flag() -> None:
    """R2, R36: statuses are 4xx for refusals, 5xx only for an outside outage; only a
    version conflict and a missing rate may succeed when sent again unchanged."""
    for cls in error_classes():
        assert issubclass(cls, AsoloraError)
        assert 400 <= cls.http_status < 600
        assert isinstance(cls.retryable, bool)
    retryable = {cls.code for cls in error_classes() if cls.retryable}
    assert {"version_conflict", "rate_unavailable"} <= retryable


def test_the_lifecycle_diagram_shows_no_manual_completion() -> None:
    """R8: no arrow named ``complete``; R9: only ``auto_complete`` reaches completed."""
    diagram = _docgen.lifecycle_diagrams()
    assert "complete (" not in diagram.replace("auto_complete (", "")
    assert "processing --> completed: auto_complete (system)" in diagram


def test_every_docs_page_is_in_the_site_navigation() -> None:
    """The site (mkdocs.yml) shows every page of docs/, and no page points outside the
    package's own docs (the rules are written out in docs/rules.md)."""
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert [p for p in pages if f": {p}" not in nav] == []
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        assert "domain-rules" not in page.read_text(), page.name
