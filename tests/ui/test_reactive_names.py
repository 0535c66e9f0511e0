"""No reactive of ours reuses a name its Textual base class already has (issue 19).

`RunStatus.batch` once shadowed `Widget.batch()`, the context manager `recompose()` calls: a
reactive that takes a base class's name breaks whatever in Textual reaches for the original, and
only when that code path runs. This looks at the classes themselves, so no screen needs to open."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

from textual.dom import DOMNode
from textual.reactive import Reactive
from textual.widget import Widget

import dae_tui.ui
from dae_tui.ui.widgets.run_status import RunStatus


def _textual_base(cls: type) -> type:
    """The nearest class in `cls`'s MRO that Textual defines (Widget, Static, Screen, App...)."""
    return next(base for base in cls.__mro__ if base.__module__.startswith("textual."))


def _our_node_classes() -> list[type]:
    """Every DOM node class (widgets, screens, the app) defined in dae_tui.ui."""
    for module in pkgutil.walk_packages(dae_tui.ui.__path__, "dae_tui.ui."):
        importlib.import_module(module.name)
    found = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("dae_tui.ui"):
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == name:
                found.append(cls)
    return found


def test_run_status_reactives_do_not_shadow_widget_attributes() -> None:
    reactives = [name for name, value in vars(RunStatus).items() if isinstance(value, Reactive)]
    assert "batch_done" in reactives  # the bar's count, renamed from `batch`
    assert [name for name in reactives if name in dir(Widget)] == []


def test_no_reactive_of_ours_shadows_its_textual_base() -> None:
    classes = _our_node_classes()
    assert RunStatus in classes
    clashes = [
        f"{cls.__module__}.{cls.__qualname__}.{name} (in {_textual_base(cls).__name__})"
        for cls in classes
        for name, value in vars(cls).items()
        if isinstance(value, Reactive) and name in dir(_textual_base(cls))
    ]
    assert clashes == []
