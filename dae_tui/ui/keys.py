"""The dashboard's keys, declared once: each `Key` is the binding Textual uses (footer, dispatch)
and carries the help screen's row and the command palette's entry beside it, so the three can
never disagree. `help_sections()` and `palette_keys()` walk the bindings of the App and of each
pane; only what no binding of ours declares (Tab, Ctrl+P, a checkbox's space, the mouse) is
written here by hand, in `NOTES`.

Each tab's keys live on its pane. The Images and Inspect panes' keys work whatever has focus on
their tab (the tab strip's ← → among it): the dashboard's screen (`DashboardScreen`) puts the
shown `TabKeys` pane at the end of every key's chain, and its keys are priority bindings, so they
are looked up before the tab strip's own and are gone under a dialog (another screen).

Imports only textual: the owners (the App and the panes) are imported when the help is built,
so the Runs and Sweep tabs' modules still load on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from textual.actions import parse as parse_action
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen

__all__ = [
    "NOTES",
    "SECTIONS",
    "DashboardScreen",
    "Key",
    "TabKeys",
    "help_sections",
    "key_label",
    "key_section",
    "owners",
    "palette_keys",
    "tab_limits",
]

SECTIONS = ("Everywhere", "Train", "Images", "Inspect", "Runs", "Sweep")
"""The help's sections, in its order: one per tab, after the keys that work on every tab."""

Row = tuple[str, str]
"""One help row: (the keys as shown, what they do)."""


@dataclass(frozen=True)
class Key(Binding):
    """A binding with its help row and palette entry. Textual copies only a Binding's own fields
    (`make_bindings`), so these live on the class's BINDINGS list, where the help and palette read
    them."""

    help: str = ""
    """The help screen's row for it; "" when another row's keys already name it (the second
    binding of `p`, the `]` of a `[  ]` row)."""
    help_keys: str = ""
    """The help's key column, when the row names more keys than this binding's own (`[  ]`)."""
    tabs: tuple[str, ...] = ()
    """The tabs (ids) where it works, the footer shows it and the palette offers it; () on every
    tab. A priority key is off under a dialog too, which it would otherwise reach past."""
    section: str = ""
    """The help section; "" for that of its first tab, else the owner's own."""
    palette: str = ""
    """The command palette's title; "" keeps it out of the palette."""
    palette_help: str = ""
    """The palette's line under the title (the key is added in brackets)."""
    palette_always: bool = False
    """Offered in the palette even where the key itself is off (it works from any tab)."""


NOTES: dict[str, tuple[Row, ...]] = {
    "Everywhere": (("Ctrl+P", "command palette: the actions above, themes, a screenshot"),),
    "Train": (
        ("Tab Shift+Tab", "move through the form; a bad field turns red and says what is allowed"),
        ("Enter  ← →", "on a choice field: open its list / step to the previous or next option"),
        ("space", "toggle Clamp"),
    ),
    "Inspect": (("mouse", "on the canvas: the left button paints, the right button erases"),),
}
"""Help rows for keys no binding of ours declares: Textual's focus keys and palette, the form's
own widgets and the mouse."""

NAMES = {
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "f1": "F1",
    "escape": "Esc",
    "ctrl+c": "Ctrl+C",
    "space": "space",
    "enter": "Enter",
    "slash": "/",
    "minus": "-",
    "plus": "+",
    "equals_sign": "+",
}
"""How the help writes the keys Textual names by word."""


def key_label(binding: Binding) -> str:
    """The binding's key as the footer shows it (its first key where it has several)."""
    if binding.key_display:
        return binding.key_display
    key = binding.key.split(",")[0].strip()
    return NAMES.get(key, key)


class TabKeys:
    """A tab's pane whose keys work whatever has focus on its tab (see the module's notes)."""


class DashboardScreen(Screen[None]):
    """The dashboard's screen: the shown tab's `TabKeys` pane (`keys_owner`, set by the App when
    a tab is shown) takes part in every key press and in the footer, focused or not."""

    keys_owner: DOMNode | None = None

    @property
    def _binding_chain(self) -> list[tuple[DOMNode, BindingsMap]]:
        chain = super()._binding_chain
        owner = self.keys_owner
        if owner is not None and owner.is_attached and all(node is not owner for node, _ in chain):
            # Last: its priority keys are looked up first (the chain is walked backwards for
            # them), and the footer lists them after the App's, as it did when the App held them.
            chain.append((owner, owner._bindings.copy()))
        return chain


def owners() -> list[tuple[str, type[DOMNode]]]:
    """(section, class) for every class whose BINDINGS are the dashboard's keys."""
    from dae_tui.ui.app import DaeApp
    from dae_tui.ui.panes.images import ImageBrowser
    from dae_tui.ui.panes.inspect import InspectView
    from dae_tui.ui.panes.runs import RunsView
    from dae_tui.ui.panes.sweep import SweepView

    return [
        ("Everywhere", DaeApp),
        ("Images", ImageBrowser),
        ("Inspect", InspectView),
        ("Runs", RunsView),
        ("Sweep", SweepView),
    ]


def keys() -> Iterator[tuple[str, Binding]]:
    """(section, binding) for every binding of every owner, in declaration order."""
    for section, owner in owners():
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding):
                yield (key_section(binding) or section) if isinstance(binding, Key) else section, binding


def key_section(key: Key) -> str:
    """The help section `key` names, or that of its first tab ("" for neither)."""
    return key.section or (key.tabs[0].title() if key.tabs else "")


@cache
def tab_limits(owner: type[DOMNode]) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Action name -> (the tabs where it works, whether it is a priority key), for the keys of
    `owner` that work on some tabs only: what its `check_action` asks of every binding."""
    return {
        parse_action(key.action)[1]: (key.tabs, key.priority)
        for key in owner.BINDINGS
        if isinstance(key, Key) and key.tabs
    }


def help_sections() -> tuple[tuple[str, tuple[Row, ...]], ...]:
    """The help screen's sections, in `SECTIONS` order: each binding's row, then the notes."""
    rows: dict[str, list[Row]] = {section: [] for section in SECTIONS}
    for section, binding in keys():
        if isinstance(binding, Key) and binding.help:
            rows[section].append((binding.help_keys or key_label(binding), binding.help))
    for section, notes in NOTES.items():
        rows[section].extend(notes)
    return tuple((section, tuple(rows[section])) for section in SECTIONS)


def palette_keys(owner: type[DOMNode]) -> list[Key]:
    """The bindings of `owner` that the command palette offers, in declaration order."""
    return [b for b in owner.BINDINGS if isinstance(b, Key) and b.palette]
