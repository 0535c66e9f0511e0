"""The folders are the dependency boundaries, checked on the source itself (every import statement,
at the top of a module or inside a function) and on what really loads.

    core/      config, errors, events, formatting  imports none of ours but core
    runs/      run folders without torch           core
    training/  torch: trainer, models, data, ...   core, runs
    sweeps/    optuna: space, study (no torch), trials (the trainer), packs (the pack's trainer)
    system/    the machine: GPUs (NVML), CPU, RAM  core (psutil and nvidia-ml-py lazily)
    cli/       one module per command              anything but ui at the top of a module
    ui/        textual                             core, runs; training and sweeps lazily, off the UI thread

A rule kept by memory erodes: this test fails CI on a torch import outside training/,
sweeps/trials and sweeps/packs, textual outside ui/, optuna outside sweeps/, textual-serve outside cli/.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dae_tui"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> list[tuple[str, str]]:
    """(module imported, "top" / "lazy" / "typing") for every import statement in `path`: at the
    module's top level, inside a function, or under `if TYPE_CHECKING:` (for the type checker only)."""
    tree = ast.parse(path.read_text(), str(path))
    kinds: dict[int, str] = {}
    for node in tree.body:
        typing_only = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node):
            kinds.setdefault(id(inner), "typing" if typing_only else "top")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for deeper in ast.walk(inner):
                        kinds[id(deeper)] = "lazy"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, kinds.get(id(node), "lazy")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (write dae_tui.... in full, so the boundary shows)"
            found.append((node.module or "", kinds.get(id(node), "lazy")))
    return found


def where(module: str) -> str:
    """The boundary a module of ours sits in: core, runs, training, sweeps.study, ..., or the root."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "sweeps" and len(parts) > 2:
        return f"sweeps.{parts[2]}"
    return parts[1] if len(parts) > 1 else "dae_tui"


THIRD_PARTY = {
    # package: the boundaries that may import it
    "torch": {"training", "sweeps.trials", "sweeps.packs"},
    "torchvision": {"training"},
    "PIL": {"training", "ui"},  # ui: the true-pixel pictures (ui.pixels), lazily
    "textual_image": {"ui"},
    "textual": {"ui"},
    "textual_plotext": {"ui"},
    "plotext": {"ui"},
    "rich": {"ui", "cli"},  # cli: `train`'s progress bars, `serve`'s log
    "textual_serve": {"cli"},  # `serve` alone, inside the command: no other command loads it
    "aiohttp": {"cli"},
    "optuna": {"sweeps.study", "sweeps.trials", "sweeps.packs"},
    "sqlalchemy": {"sweeps.study"},
    "psycopg": {"sweeps.study"},
    "psutil": {"system"},  # the machine's figures are read in one place (the dashboard, the sweep parent)
    "pynvml": {"system"},
}

OURS = {
    # boundary: the boundaries of ours it may import (anything, lazily, for "cli" and "dae_tui")
    "core": {"core"},
    "runs": {"core", "runs"},
    "training": {"core", "runs", "training"},
    "sweeps.space": {"core", "runs", "sweeps.space"},
    "sweeps.study": {"core", "runs", "sweeps.space", "sweeps.study"},
    "sweeps.trials": {"core", "runs", "sweeps.space", "sweeps.study", "sweeps.trials", "sweeps.packs", "training"},
    "sweeps.packs": {"core", "runs", "sweeps.space", "sweeps.study", "sweeps.trials", "sweeps.packs", "training"},
    "sweeps": set(),
    "system": {"core", "system"},
}
UI_AT_TOP = {"core", "runs", "system", "ui", "cli"}  # training and sweeps load torch / optuna: only in workers


def test_every_module_is_in_a_boundary():
    assert {where(m) for m in modules()} <= {
        "dae_tui",
        "__main__",
        "core",
        "runs",
        "training",
        "sweeps.space",
        "sweeps.study",
        "sweeps.trials",
        "sweeps.packs",
        "sweeps",
        "system",
        "cli",
        "ui",
    }


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_keep_to_the_boundaries(module):
    boundary = where(module)
    for imported, kind in imports(modules()[module]):
        first = imported.split(".")[0]
        if first in THIRD_PARTY:  # even for the type checker: a UI that names torch types needs torch
            assert boundary in THIRD_PARTY[first], f"{module} imports {imported}: only {THIRD_PARTY[first]} may"
        if first != "dae_tui" or imported == "dae_tui" or kind == "typing":
            continue
        target = where(imported)
        if boundary in OURS:
            assert target in OURS[boundary], f"{module} imports {imported}: {boundary} may import only {OURS[boundary]}"
        elif boundary == "ui" and kind == "top":
            assert target in UI_AT_TOP, f"{module} imports {imported} at the top: the UI loads it lazily"
        elif boundary == "cli" and kind == "top":
            assert target != "ui", f"{module} imports the UI at the top: only the dashboard command needs it"


def test_the_rules_catch_a_breach(tmp_path):
    # The walk itself: a lazy torch import deep in a function is found, and named as not at the top.
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import optuna\n\n"
        "class C:\n    def f(self):\n        if True:\n            from torch import nn\n"
    )
    assert sorted(imports(bad)) == [("optuna", "typing"), ("os", "top"), ("torch", "lazy"), ("typing", "top")]


@pytest.mark.slow
def test_reading_a_study_and_listing_runs_load_no_torch(tmp_path):
    # What the sweep parent, `--status`, the Sweep tab's poller and `dae-tui runs` import.
    code = (
        "import sys; from dae_tui.cli import main;"
        f"main(['sweep', '--status', '--runs-dir', {str(tmp_path)!r}]);"
        f"main(['runs', '--runs-dir', {str(tmp_path)!r}]);"
        "import dae_tui.sweeps.study, dae_tui.ui.panes.sweep, dae_tui.cli.sweep;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_the_error_base_imports_nothing():
    # Every part of the package derives its errors from core.errors: it can import none of them.
    assert [name for name, _ in imports(modules()["dae_tui.core.errors"])] == ["__future__"]
