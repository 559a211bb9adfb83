"""Every ```python snippet in README.md and docs/*.md runs as written (house style 11).

Each file's snippets run in order in one namespace, so a later snippet may use an earlier
one's names, the way a reader would type them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_docs_have_snippets() -> None:
    """The README carries the guide's order flow in code."""
    assert SNIPPET.findall((ROOT / "README.md").read_text())


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_snippets_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for index, code in enumerate(SNIPPET.findall(path.read_text())):
        exec(compile(code, f"{path.name}[snippet {index}]", "exec"), namespace)
