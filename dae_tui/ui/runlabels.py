"""How runs are named to people: the UI's name for `dae_tui.runs.compare`, where the one "what
differs" piece lives (torch- and textual-free, so `dae-tui runs` names runs as the dashboard does).
"""

from __future__ import annotations

from dae_tui.runs.compare import (
    SEP,
    SETTING_NAMES,
    differing,
    run_labels,
    setting_text,
    settings_key,
    settings_text,
    short_label,
)

__all__ = [
    "SEP",
    "SETTING_NAMES",
    "differing",
    "run_labels",
    "setting_text",
    "settings_key",
    "settings_text",
    "short_label",
]
