"""The parts of docs/ generated from the code, so they cannot drift from it.

Each generated block sits in a page between ``<!-- generated:NAME:begin -->`` and
``<!-- generated:NAME:end -->``; ``python -m asolora_core._docgen [docs dir]`` rewrites them,
and tests/test_docgen.py fails when a page is out of date.

* ``errors``: every error class with its code, HTTP status, whether a retry can succeed, and
  when it is raised (from :func:`asolora_core.errors.error_classes`);
* ``notification-kinds``: every notification kind, who receives it and what it is about;
* ``lifecycle``: state diagrams (static SVG) of the order, its shipments, its issues and its
  return requests, from the transitions table.
"""

from __future__ import annotations

import enum
import html
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asolora_core.errors import NotPermitted, error_classes
from asolora_core.notification_kinds import NOTIFICATION_KINDS
from asolora_core.orders.model import IssueStatus, OrderStatus, ReturnStatus, ShipmentStatus
from asolora_core.orders.transitions import TRANSITIONS

__all__ = [
    "BLOCKS",
    "errors_table",
    "lifecycle_diagrams",
    "notification_kinds_table",
    "state_diagram_svg",
    "sync",
]


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


#: The diagrams' geometry, in SVG user units (pixels at 100 %). Text is monospace, so a
#: line's width is its length times ``_CHAR``: the layout needs no font metrics.
_CHAR = 7.3
_LINE = 16
_FONT = 12
_BOX_H = 32
_PAD = 12
_GAP = 28
_LOOP = "\u21bb"  # ↻: the actions that keep the state


def _machine_edges(states: type[enum.Enum]) -> dict[tuple[str, str], dict[str, list[str]]]:
    """``(from, to) -> {action: [actor kinds]}`` for the states of one enum, in table order."""
    edges: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (state, action, kind), nxt in TRANSITIONS.items():
        if isinstance(state, states):
            by_action = edges.setdefault((state.value, nxt.value), {})
            by_action.setdefault(action.value, []).append(kind.value)
    return edges


def _labels(actions: dict[str, list[str]], prefix: str = "") -> list[str]:
    return [f"{prefix}{action} ({', '.join(kinds)})" for action, kinds in actions.items()]


def _width(lines: list[str]) -> float:
    return max((len(line) for line in lines), default=0) * _CHAR


def _text(x: float, y: float, lines: list[str], anchor: str = "start") -> list[str]:
    return [
        f'<text x="{x:g}" y="{y + i * _LINE:g}" text-anchor="{anchor}">{html.escape(line)}</text>'
        for i, line in enumerate(lines)
    ]


def state_diagram_svg(
    title: str,
    states: type[enum.Enum],
    edges: dict[tuple[str, str], dict[str, list[str]]] | None = None,
) -> str:
    """A static SVG state diagram of one enum's rows of the transitions table.

    States stand in columns by their distance from the first state (the initial one, marked
    by a dot); an arrow between columns is labelled with its actions and, in brackets, the
    kinds of actor that may take them; the actions that keep a state are listed under it,
    marked ``↻``. Any other arrow (back, past the next column, or within one) runs above the
    diagram on a lane of its own. No script draws anything: the page shows the SVG as it is,
    with no network. ``edges`` (``(from, to) -> {action: [actor kinds]}``) defaults to the
    enum's rows of the table.
    """
    if edges is None:
        edges = _machine_edges(states)
    arrow = "arrow-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")  # unique per page
    names = [s.value for s in states]
    layer = {names[0]: 0}
    frontier = [names[0]]
    while frontier:
        nxt_frontier = []
        for src in frontier:
            for a, b in edges:
                if a == src and b not in layer:
                    layer[b] = layer[src] + 1
                    nxt_frontier.append(b)
        frontier = nxt_frontier
    for name in names:  # unreachable states stand after the others
        layer.setdefault(name, max(layer.values()) + 1)
    columns = [[n for n in names if layer[n] == i] for i in range(max(layer.values()) + 1)]
    loops = {n: _labels(edges.get((n, n), {}), f"{_LOOP} ") for n in names}
    forward = {(a, b): acts for (a, b), acts in edges.items() if layer[b] == layer[a] + 1}
    around = {(a, b): acts for (a, b), acts in edges.items() if a != b and (a, b) not in forward}
    box_w = {n: len(n) * _CHAR + 2 * _PAD for n in names}
    col_w = [max(max(box_w[n], _width(loops[n])) for n in col) for col in columns]
    gaps = [
        max([_width(_labels(acts)) for (a, _), acts in forward.items() if layer[a] == i] or [0])
        + 2 * _GAP
        for i in range(len(columns))
    ]
    top: float = _GAP + sum(len(acts) * _LINE + _GAP for acts in around.values())
    x = _GAP + 24.0  # the initial dot and its arrow
    pos: dict[str, tuple[float, float]] = {}  # each box's top-left corner
    height: float = top

    def room(n: str) -> float:  # above the box, for the labels of the arrows into it
        incoming = [len(acts) for (a, b), acts in forward.items() if b == n]
        return max(0.0, max(incoming, default=0) * _LINE - _BOX_H / 2 + 4)

    top += max(room(col[0]) for col in columns)  # the first row of boxes stands level
    for i, col in enumerate(columns):
        y: float = top
        for k, n in enumerate(col):
            y += room(n) if k else 0
            pos[n] = (x, y)
            y += _BOX_H + len(loops[n]) * _LINE + _GAP
        height = max(height, y)
        x += col_w[i] + (gaps[i] if i + 1 < len(columns) else _GAP)
    width = x
    first_x, first_y = pos[names[0]]
    mid = first_y + _BOX_H / 2
    lines: list[str] = [
        f'<line x1="{_GAP + 6:g}" y1="{mid:g}" x2="{first_x:g}" y2="{mid:g}" '
        f'marker-end="url(#{arrow})"/>'
    ]
    texts: list[str] = []
    for (a, b), acts in forward.items():
        (ax, ay), (bx, by) = pos[a], pos[b]
        x1, y1, y2 = ax + box_w[a], ay + _BOX_H / 2, by + _BOX_H / 2
        bus = ax + col_w[layer[a]] + _GAP / 2 if y1 != y2 else x1
        lines.append(
            f'<polyline points="{x1:g},{y1:g} {bus:g},{y1:g} {bus:g},{y2:g} {bx:g},{y2:g}" '
            f'marker-end="url(#{arrow})"/>'
        )
        label = _labels(acts)
        texts += _text(bx - 8, y2 - 5 - (len(label) - 1) * _LINE, label, "end")
    lane = _GAP
    for (a, b), acts in around.items():
        label = _labels(acts)
        lane += len(label) * _LINE
        (ax, ay), (bx, by) = pos[a], pos[b]
        x1, x2 = ax + box_w[a] / 2, bx + box_w[b] / 2
        lines.append(
            f'<polyline points="{x1:g},{ay:g} {x1:g},{lane:g} {x2:g},{lane:g} {x2:g},{by:g}" '
            f'marker-end="url(#{arrow})"/>'
        )
        texts += _text(min(x1, x2) + 8, lane - 5 - (len(label) - 1) * _LINE, label)
        width = max(width, min(x1, x2) + 8 + _width(label) + _GAP)
        lane += _GAP
    boxes = [f'<circle cx="{_GAP:g}" cy="{mid:g}" r="6" fill="#333" stroke="none"/>']
    for n in names:
        bx, by = pos[n]
        boxes.append(
            f'<rect x="{bx:g}" y="{by:g}" width="{box_w[n]:g}" height="{_BOX_H}" rx="10" '
            'fill="#eef3fb" stroke="#335"/>'
        )
        texts += _text(bx + box_w[n] / 2, by + _BOX_H / 2 + 4, [n], "middle")
        texts += _text(bx, by + _BOX_H + _LINE, loops[n])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" style="max-width: 100%; height: auto" '
        'role="img" class="state-diagram" '
        f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{_FONT}">',
        f"<title>{html.escape(title)}: the transitions table as a state diagram</title>",
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#333"/></marker></defs>',
        '<g fill="none" stroke="#333" stroke-width="1.3">',
    ]
    out += [*lines, *boxes, "</g>", '<g fill="#222">', *texts, "</g>", "</svg>"]
    return "\n".join(out)


def lifecycle_diagrams() -> str:
    """SVG state diagrams of the order, shipment, issue and return rows of the table."""
    out: list[str] = []
    for title, states in (
        ("The order", OrderStatus),
        ("A shipment", ShipmentStatus),
        ("An issue", IssueStatus),
        ("A return request", ReturnStatus),
    ):
        out += [f"**{title}**", "", "<figure>", state_diagram_svg(title, states), "</figure>", ""]
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


def _regenerate(text: str, name: str, make: Callable[[], str]) -> str:
    match = _pattern(name).search(text)
    if match is None:
        return text
    return text[: match.start(2)] + make() + "\n" + text[match.end(2) :]


def sync(docs: Path) -> list[str]:
    """Rewrite every generated block under ``docs``; returns the pages changed."""
    changed = []
    for name, (page, make) in BLOCKS.items():
        path = docs / page
        text = path.read_text()
        new = _regenerate(text, name, make)
        if new != text:
            path.write_text(new)
            changed.append(page)
    return changed


#: A Sphinx role in a docstring as the reference renders it (``:class:`X``` in Markdown).
_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _role_link(match: re.Match[str]) -> str:
    tilde, target, call = match.group(1), match.group(2), match.group(3) or ""
    shown = (target.rsplit(".", 1)[-1] if tilde else target) + call
    identifier = target if target.startswith("asolora_core") else f"asolora_core.{target}"
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """The mkdocs hook that turns the Sphinx roles of the docstrings (``:class:`~a.b.C```)
    into the plain name, linked to its entry when the reference has one (mkdocs-autorefs
    resolves the link, or leaves the name unlinked)."""
    return _ROLE.sub(_role_link, html)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """The mkdocs hook (``hooks`` in mkdocs.yml): the site is built with every generated block
    made afresh from the code, so the built pages match the code even before ``sync`` has
    rewritten the files (tests/test_docgen.py fails until it has)."""
    for name, (page_name, make) in BLOCKS.items():
        if page.file.src_uri == page_name:
            markdown = _regenerate(markdown, name, make)
    return markdown


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    print(sync(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
