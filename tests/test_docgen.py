"""The generated parts of docs/ match the code: the errors table (with HTTP statuses, R2), the
notification kinds (R29) and the lifecycle diagrams (R4-R14), so none of them can drift."""

from __future__ import annotations

import enum
from pathlib import Path
from xml.etree import ElementTree

import pytest

from asolora_core import _docgen
from asolora_core.errors import AsoloraError, error_classes
from asolora_core.orders.model import IssueStatus, OrderStatus, ReturnStatus, ShipmentStatus
from asolora_core.orders.transitions import TRANSITIONS

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


MACHINES = {
    "The order": OrderStatus,
    "A shipment": ShipmentStatus,
    "An issue": IssueStatus,
    "A return request": ReturnStatus,
}


def _svg_lines(title: str) -> list[str]:
    """The text lines of one lifecycle diagram, read back from its SVG (well-formed XML)."""
    svg = ElementTree.fromstring(_docgen.state_diagram_svg(title, MACHINES[title]))
    return [el.text or "" for el in svg.iter("{http://www.w3.org/2000/svg}text")]


def test_the_lifecycle_diagram_shows_no_manual_completion() -> None:
    """R8: no arrow named ``complete``; R9: only ``auto_complete`` reaches completed."""
    lines = _svg_lines("The order")
    assert not [line for line in lines if line.lstrip("\u21bb ").startswith("complete (")]
    into_completed = {
        (src, dst): actions
        for (src, dst), actions in _docgen._machine_edges(OrderStatus).items()
        if dst == "completed" and src != dst
    }
    assert into_completed == {("processing", "completed"): {"auto_complete": ["system"]}}
    assert "auto_complete (system)" in lines


@pytest.mark.parametrize("title", sorted(MACHINES))
def test_the_lifecycle_diagrams_show_every_row_of_the_table(title: str) -> None:
    """Each diagram names every state of its enum and, for every entry of the transitions
    table from one of those states, the action with the kind of actor that may take it."""
    states = MACHINES[title]
    lines = _svg_lines(title)
    assert {s.value for s in states} <= set(lines)
    for (state, action, kind), _ in TRANSITIONS.items():
        if isinstance(state, states):
            labels = [
                line for line in lines if line.lstrip("\u21bb ").startswith(f"{action.value} (")
            ]
            assert any(kind.value in label for label in labels), (state, action, kind)


def test_an_arrow_back_or_across_a_column_is_drawn_and_labelled() -> None:
    """Arrows that do not go to the next column (none in today's table) still make a
    well-formed diagram with every label."""
    states = enum.Enum("states", {"A": "a", "B": "b", "C": "c"})
    edges = {
        ("a", "b"): {"go": ["buyer"]},
        ("b", "c"): {"on": ["vendor"]},
        ("c", "a"): {"back": ["staff"]},
        ("a", "c"): {"skip": ["system"]},
    }
    svg = ElementTree.fromstring(_docgen.state_diagram_svg("test", states, edges))
    lines = {el.text for el in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"a", "b", "c", "go (buyer)", "on (vendor)", "back (staff)", "skip (system)"} <= lines
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}polyline"))) == 4


def test_every_docs_page_is_in_the_site_navigation() -> None:
    """The site (mkdocs.yml) shows every page of docs/, and no page points outside the
    package's own docs (the rules are written out in docs/rules.md)."""
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert [p for p in pages if f": {p}" not in nav] == []
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        assert "domain-rules" not in page.read_text(), page.name
