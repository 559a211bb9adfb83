"""The parts of docs/ generated from the code, so they cannot drift (issue 11).

Each generated block sits in a page between ``<!-- generated:NAME:begin -->`` and
``<!-- generated:NAME:end -->``; ``python -m asolora_core._docgen [docs dir]`` rewrites them,
and tests/test_docgen.py fails when a page is out of date.

* ``errors``: every error class with its code, HTTP status, whether a retry can succeed, and
  when it is raised (from :func:`asolora_core.errors.error_classes`);
* ``notification-kinds``: every notification kind, who receives it and what it is about;
* ``lifecycle``: state diagrams of the order, its shipments and its issues, from the
  transitions table.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from asolora_core.errors import NotPermitted, error_classes
from asolora_core.notification_kinds import NOTIFICATION_KINDS
from asolora_core.orders.model import IssueStatus, OrderStatus, ShipmentStatus
from asolora_core.orders.transitions import TRANSITIONS

__all__ = ["BLOCKS", "errors_table", "lifecycle_diagrams", "notification_kinds_table", "sync"]


def _when(doc: str | None) -> str:
    first = " ".join((doc or "").strip().split("\n\n")[0].split())
    first = re.sub(r":(class|func|meth|attr):`~?([^`]+)`", r"`\2`", first)
    first = first.replace("``", "`")
    return re.sub(r"^Raised (when|for|on) ", "", first).rstrip(".").replace("|", "\\|")


def errors_table() -> str:
    """The errors table: class, code, HTTP status, retryable, when raised."""
    rows = [
        "| class | code | HTTP status | retry can succeed | raised when |",
        "|---|---|---|---|---|",
    ]
    for cls in error_classes():
        name = f"`{cls.__name__}`"
        if cls is NotPermitted:
            name += " (alias `NotPermitted`)"
        rows.append(
            f"| {name} | `{cls.code}` | {cls.http_status} | {'yes' if cls.retryable else 'no'} "
            f"| {_when(cls.__doc__)} |"
        )
    return "\n".join(rows)


def notification_kinds_table() -> str:
    """The notification kinds table: kind, constant, recipient, subject, when, rule."""
    rows = [
        "| kind | constant | sent to | `subject_id` is the | when | rule |",
        "|---|---|---|---|---|---|",
    ]
    for kind, info in NOTIFICATION_KINDS.items():
        rows.append(
            f"| `{kind.value}` | `NotificationKind.{kind.name}` | {info.recipient} | "
            f"{info.subject} | {info.when} | {info.rule} |"
        )
    return "\n".join(rows)


def lifecycle_diagrams() -> str:
    """Mermaid state diagrams of the order, shipment and issue rows of the transitions table."""
    out: list[str] = []
    for title, states in (
        ("The order", OrderStatus),
        ("A shipment", ShipmentStatus),
        ("An issue", IssueStatus),
    ):
        edges: dict[tuple[str, str], dict[str, list[str]]] = {}
        for (state, action, kind), nxt in TRANSITIONS.items():
            if not isinstance(state, states):
                continue
            by_action = edges.setdefault((state.value, nxt.value), {})
            by_action.setdefault(action.value, []).append(kind.value)
        first = next(iter(states)).value
        out += [f"**{title}**", "", "```mermaid", "stateDiagram-v2", f"    [*] --> {first}"]
        for (src, dst), actions in edges.items():
            label = "<br/>".join(f"{a} ({', '.join(k)})" for a, k in actions.items())
            out.append(f"    {src} --> {dst}: {label}")
        out += ["```", ""]
    return "\n".join(out).rstrip()


BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "errors": ("errors.md", errors_table),
    "notification-kinds": ("notifications.md", notification_kinds_table),
    "lifecycle": ("lifecycle.md", lifecycle_diagrams),
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated:{name}:begin -->\n)(.*?)(<!-- generated:{name}:end -->)", re.S
    )


def generated(text: str, name: str) -> str | None:
    """The block ``name`` as it stands in ``text`` (None when the markers are missing)."""
    match = _pattern(name).search(text)
    return None if match is None else match.group(2).rstrip("\n")


def sync(docs: Path) -> list[str]:
    """Rewrite every generated block under ``docs``; returns the pages changed."""
    changed = []
    for name, (page, make) in BLOCKS.items():
        path = docs / page
        text = path.read_text()
        match = _pattern(name).search(text)
        if match is None:
            continue
        new = text[: match.start(2)] + make() + "\n" + text[match.end(2) :]
        if new != text:
            path.write_text(new)
            changed.append(page)
    return changed


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    print(sync(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
