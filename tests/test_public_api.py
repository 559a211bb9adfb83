"""The public API is what ``asolora_core.__all__`` lists, and all of it is there."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import asolora_core


def test_all_names_exist_once() -> None:
    missing = [name for name in asolora_core.__all__ if not hasattr(asolora_core, name)]
    assert missing == []
    assert len(set(asolora_core.__all__)) == len(asolora_core.__all__)


def test_all_is_complete() -> None:
    """Every public class or function imported into the package is listed in __all__."""
    public = {
        name
        for name, value in vars(asolora_core).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("asolora_core")
    }
    assert sorted(public - set(asolora_core.__all__)) == []


def test_import_writes_nothing_and_loads_no_test_tools(tmp_path: Path) -> None:
    """No import-time side effects: no file appears, hypothesis and pytest are not loaded."""
    code = (
        "import sys, asolora_core; "
        "print(sorted(m for m in ('hypothesis', 'pytest') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []
