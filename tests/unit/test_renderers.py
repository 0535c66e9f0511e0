"""The pictures' renderers: which one a terminal's environment gets, and what each draws."""

from __future__ import annotations

import pytest

from dae_tui.core.events import Picture
from dae_tui.ui import halfblock
from dae_tui.ui.halfblock import ASCII_RAMP, SHADE_RAMP, choose_renderer, picture_lines, use_renderer
from dae_tui.ui.widgets.image_strip import Fit, size_wordings

UTF8 = {"LANG": "en_US.UTF-8", "TERM": "xterm-256color"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (UTF8, "halfblock"),
        ({**UTF8, "COLORTERM": "truecolor", "TERM": "xterm"}, "halfblock"),
        ({"LANG": "C"}, "ascii"),
        ({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, "ascii"),  # Python's own PEP 538 coercion
        ({"LANG": "C", "LC_CTYPE": "en_GB.UTF-8"}, "halfblock"),
        ({**UTF8, "LC_ALL": "C"}, "ascii"),
        ({**UTF8, "TERM": "xterm"}, "shade"),
        ({**UTF8, "TERM": "screen"}, "shade"),
        ({**UTF8, "TEXTUAL_COLOR_SYSTEM": "standard"}, "shade"),
        ({**UTF8, "TERM": "xterm", "TEXTUAL_COLOR_SYSTEM": "truecolor"}, "halfblock"),
        ({"LANG": "C", "TERM": "xterm"}, "ascii"),
        ({"LANG": "C", "DAE_TUI_PICTURES": "halfblock"}, "halfblock"),
        ({**UTF8, "DAE_TUI_PICTURES": "nonsense"}, "halfblock"),
    ],
)
def test_the_environment_chooses_the_renderer(environ, expected):
    assert choose_renderer(environ) == expected


def gradient() -> Picture:
    """28x28, each pixel row two shades lighter than the one above: every level of the ramps."""
    return Picture(28, 28, bytes(min(255, y * 255 // 26) for y in range(28) for _ in range(28)))


@pytest.mark.parametrize(("name", "ramp"), [("shade", SHADE_RAMP), ("ascii", ASCII_RAMP)])
def test_a_ramp_keeps_the_half_blocks_cells_and_spans_its_levels(monkeypatch, name, ramp):
    monkeypatch.setattr(halfblock, "_renderer", name)
    lines = picture_lines(gradient(), 28)
    assert len(lines) == 14 and all(len(row) == 28 for row in lines)
    drawn = [row[0].text for row in lines]
    assert drawn[0] == ramp[0] and drawn[-1] == ramp[-1]
    assert set(drawn) == set(ramp) and drawn == sorted(drawn, key=ramp.index)
    if name == "ascii":
        assert all(seg.text.isascii() for row in lines for seg in row)


def test_half_blocks_stay_the_default_and_a_name_outside_the_list_is_refused(monkeypatch):
    assert halfblock.renderer() == "halfblock"
    assert {seg.text for row in picture_lines(gradient(), 14) for seg in row} == {"▀"}
    monkeypatch.setattr(halfblock, "_renderer", "halfblock")
    with pytest.raises(ValueError, match="unknown picture renderer"):
        use_renderer("kitty-ish")


def test_the_size_wording_names_a_fallback_renderer_only(monkeypatch):
    fit = Fit(14, 8)
    assert size_wordings("auto", fit)[0] == "z: auto size 14 px, the largest that fits"
    monkeypatch.setattr(halfblock, "_renderer", "ascii")
    assert size_wordings("auto", fit) == (
        "z: auto size 14 px, the largest that fits, in ASCII shades",
        "auto 14 px, ascii",
        "auto 14px ascii",
    )
