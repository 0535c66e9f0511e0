"""The keys people try first (issue 18): `?` help at 80x24 opens at the tab's keys, scrolls from
the keyboard and filters with `/`; a dialog's footer shows only its own keys; Ctrl+C quits."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until
from textual.containers import VerticalScroll
from textual.widgets import Input

from dae_tui.core.config import TrainConfig
from dae_tui.runs.files import pid_alive
from dae_tui.ui import DaeApp
from dae_tui.ui.dialogs.screens import ConfirmScreen, EpochsScreen, HelpScreen

SMALL = (80, 24)


def tiny() -> TrainConfig:
    return TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2, threads=1)


def dialog_text(app) -> str:
    """What the dialog box shows: inside its border, none of the screen behind it."""
    lines = screen_text(app).splitlines()
    top = next(i for i, line in enumerate(lines) if "╭" in line)
    bottom = next(i for i, line in enumerate(lines) if "╰" in line and i > top)
    return "\n".join(line[line.index("│") + 1 : line.rindex("│")] for line in lines[top + 1 : bottom])


def footer_line(app) -> str:
    return screen_text(app).splitlines()[-1]


async def open_help(pilot, tab_key: str | None = None) -> HelpScreen:
    app = pilot.app
    if tab_key:
        await pilot.press(tab_key)
        await pilot.pause()
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and "dae-tui keys" in screen_text(app))
    await pilot.pause()
    return app.screen


@pytest.mark.parametrize(
    "tab_key, section, row",
    [
        ("r", "Runs", "delete it, after asking"),
        ("n", "Inspect", "clear the canvas"),
        ("w", "Sweep", "the previous / next study in the storage"),
    ],
)
async def test_help_opens_at_the_tabs_own_keys(tmp_path, tab_key, section, row):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await open_help(pilot, tab_key)
        await wait_until(pilot, lambda: f"{section}" in screen_text(app) and "(this tab)" in screen_text(app))
        text = screen_text(app)
        assert row in text
        # At the top of the list (the title's first row under the heading), or the list at its end.
        lines = text.splitlines()
        title = next(i for i, line in enumerate(lines) if "dae-tui keys" in line)
        scroll = app.screen.query_one("#help-scroll", VerticalScroll)
        assert scroll.scroll_y > 0
        at_top = section in lines[title + 1] and "(this tab)" in lines[title + 1]
        assert at_top or scroll.scroll_y == scroll.max_scroll_y


async def test_help_scrolls_with_the_keys_people_try(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        help_ = await open_help(pilot, "l")  # the Log tab has no keys of its own: the top
        scroll = help_.query_one("#help-scroll", VerticalScroll)
        assert "Everywhere" in screen_text(app) and scroll.max_scroll_y > 0  # more than fits
        await pilot.press("down")
        await wait_until(pilot, lambda: scroll.scroll_y == 1)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: scroll.scroll_y > 1)
        paged = scroll.scroll_y
        await pilot.press("space")
        await wait_until(pilot, lambda: scroll.scroll_y > paged or scroll.scroll_y == scroll.max_scroll_y)
        await pilot.press("end")
        await wait_until(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y)
        assert "the previous / next study in the storage" in screen_text(app)  # the last row
        await pilot.press("pageup")
        await wait_until(pilot, lambda: scroll.scroll_y < scroll.max_scroll_y)
        await pilot.press("home")
        await wait_until(pilot, lambda: scroll.scroll_y == 0)
        await pilot.press("up")  # at the top: stays
        await pilot.pause()
        assert scroll.scroll_y == 0 and "Everywhere" in screen_text(app)
        # Only the help's own keys in the footer, none of the tab's it covers.
        footer = footer_line(app)
        assert "Close" in footer and "Filter" in footer and "Scroll" in footer
        assert "Start" not in footer and "Quit" not in footer


async def test_slash_filters_the_help_and_esc_closes_the_filter_then_the_help(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        help_ = await open_help(pilot, "l")
        await pilot.press("slash")
        field = help_.query_one("#help-filter", Input)
        await wait_until(pilot, lambda: app.focused is field)
        await pilot.press(*"del")
        await wait_until(pilot, lambda: "delete it, after asking" in dialog_text(app))
        text = dialog_text(app)
        assert "Runs" in text and "Everywhere" not in text and "Images" not in text
        assert "inspect its model" not in text  # `del` starts a word: delete, not model
        # Arrows still scroll the list while the filter has the focus; `/` is typed there.
        await pilot.press("slash")
        await wait_until(pilot, lambda: field.value == "del/")
        await wait_until(pilot, lambda: "no key matches 'del/'" in dialog_text(app))
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"ctrl")
        await wait_until(pilot, lambda: "Ctrl+C" in dialog_text(app) and "Ctrl+P" in dialog_text(app))
        assert "Runs" not in dialog_text(app) and "Train" not in dialog_text(app)
        await pilot.press("escape")  # the filter goes, every row comes back, the help stays
        await wait_until(pilot, lambda: not field.has_class("-shown") and "Everywhere" in dialog_text(app))
        assert isinstance(app.screen, HelpScreen) and field.value == ""
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_help_lists_every_section_at_80x24(tmp_path):
    """Each tab's keys are reachable: scrolled to, every section's title is shown in turn."""
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        help_ = await open_help(pilot, "l")
        seen = screen_text(app)
        scroll = help_.query_one("#help-scroll", VerticalScroll)
        while scroll.scroll_y < scroll.max_scroll_y:
            await pilot.press("pagedown")
            await pilot.pause()
            seen += screen_text(app)
        for section in ("Everywhere", "Train", "Images", "Inspect", "Runs", "Sweep"):
            assert section in seen


async def test_the_epochs_dialog_shows_only_its_keys_and_judges_as_typed(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    answers: list[int | None] = []
    async with app.run_test(size=SMALL) as pilot:
        app.push_screen(EpochsScreen("a-run", 3), answers.append)
        await wait_until(pilot, lambda: isinstance(app.screen, EpochsScreen) and "how many epochs" in screen_text(app))
        await pilot.pause()
        footer = footer_line(app)
        assert "Extend" in footer and "Cancel" in footer
        for theirs in ("Train", "Runs", "Images", "Quit", "Start"):
            assert theirs not in footer
        dialog = app.screen
        error = dialog.query_one("#epochs-error")
        await pilot.press("end", "backspace", "t")  # "6" -> "t": refused before Enter
        await wait_until(pilot, lambda: "must be a whole number from 1 to 10000 (got 't')" in str(error.render()))
        assert "Epochs must be" in screen_text(app)
        await pilot.press("backspace", "2")
        await wait_until(pilot, lambda: "from 4 to 10000: 3 are done (got 2)" in str(error.render()))
        await pilot.press("enter")  # refused: the dialog stays
        await pilot.pause()
        assert app.screen is dialog and answers == []
        await pilot.press("backspace", "5")
        await wait_until(pilot, lambda: str(error.render()) == "")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers == [5])
        app.push_screen(EpochsScreen("a-run", 3), answers.append)
        await wait_until(pilot, lambda: isinstance(app.screen, EpochsScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: answers == [5, None])


async def test_a_question_shows_only_its_answers_in_the_footer(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        app.push_screen(ConfirmScreen("Delete the run?"))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "Delete the run?" in screen_text(app))
        await pilot.pause()
        footer = footer_line(app)
        assert "Yes" in footer and "No" in footer and "Start" not in footer and "Quit" not in footer


async def test_ctrl_c_quits_when_nothing_runs(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert "ctrl+q" not in screen_text(app)
    assert app.return_code == 0


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_ctrl_c_in_a_real_terminal_asks_mid_run_and_a_second_one_quits(tmp_path):
    from helpers.tmux import TmuxSession

    command = shlex.join(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--train-limit",
            "4000",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    session = TmuxSession(command, tmp_path, width=80, height=24, hold=True)
    try:
        session.wait_for("Start", "● idle")
        session.press("s")
        session.wait_for("● training", timeout=120)
        session.press("C-c")
        session.wait_for("s: stop it")
        assert "ctrl+q" not in session.screen()
        session.press("C-c")  # asked already: a second Ctrl+C is the default answer, keep training
        assert session.wait_exit() == 0
        text = "".join(session.wait_until(lambda s: "dae-tui:" in s and "background" in s, timeout=10).split())
        assert "keepstraininginthebackground" in text and "dae-tui--attach" in text
        background = int(re.search(r"pid(\d+)on", text).group(1))
    finally:
        session.close()
    os.kill(background, signal.SIGTERM)  # the run handed over: stop it, keeping its checkpoint
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and pid_alive(background):
        time.sleep(0.1)
    assert not pid_alive(background)


def test_runs_help_and_the_readme_name_every_status_and_json_key(capsys, tmp_path):
    import re

    from helpers.runfolders import make_run

    from dae_tui.cli import main
    from dae_tui.runs.info import STATUSES, read_run

    with pytest.raises(SystemExit):
        main(["runs", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"status ({', '.join(STATUSES)})" in shown and "<statuses>" not in shown
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## `dae-tui runs`") : readme.index("## `dae-tui sweep`")]
    for status in STATUSES:
        assert f"`{status}`" in section, status
    keys = read_run(make_run(tmp_path, "20240101-120000-mnist-seed")).to_json()
    documented = set(
        re.findall(r"`(\w+)`", section[section.index("`--json` prints") : section.index("`--csv` prints")])
    )
    assert set(keys) <= documented, set(keys) - documented
