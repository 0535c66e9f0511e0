"""`dae-tui eval RUN` (issue 12, the headless half of the robustness curve): a real run trained
here, its model at a range of noise factors, repeatable, and one line for what is wrong."""

from __future__ import annotations

import json

import pytest

from dae_tui.cli import main
from dae_tui.core.config import ConfigError
from dae_tui.training.robustness import default_factors, parse_factors


def eval_json(capsys, *argv: str) -> list[dict]:
    assert main(["eval", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.slow
def test_the_curve_falls_with_the_noise_and_the_model_beats_its_input_where_it_trained(capsys, trained_run):
    points = eval_json(capsys, str(trained_run))
    factors = [p["factor"] for p in points]
    assert factors == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    noisy = [p["noisy_psnr"] for p in points]
    assert all(a > b for a, b in zip(noisy, noisy[1:], strict=False))
    at_trained = points[1]
    assert at_trained["test_psnr"] > at_trained["noisy_psnr"] + 1
    # The trained factor's point is the run's own last test figure: same split, same noise.
    last = json.loads((trained_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert at_trained["test_psnr"] == pytest.approx(last["test_psnr"], abs=1e-6)
    assert at_trained["test_ssim"] == pytest.approx(last["test_ssim"], abs=1e-6)
    assert set(points[0]) == {"factor", "noisy_psnr", "test_psnr", "test_ssim", "test_mse", "noisy_ssim"}


def test_the_curve_repeats_exactly_and_takes_another_kind_and_factors(capsys, trained_run):
    again = eval_json(capsys, str(trained_run), "--factors", "0.5,0")
    assert again == eval_json(capsys, str(trained_run), "--factors", "0,0.5")
    assert [p["factor"] for p in again] == [0.0, 0.5]
    other = eval_json(capsys, str(trained_run), "--noise", "salt-pepper", "--factors", "0.1,0.3")
    assert [p["factor"] for p in other] == [0.1, 0.3] and other[0]["noisy_psnr"] > other[1]["noisy_psnr"]


def test_the_table_goes_to_stderr_and_marks_the_trained_factor(capsys, trained_run):
    assert main(["eval", str(trained_run), "--factors", "0,0.5,1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    rows = captured.err.splitlines()
    assert "gaussian noise; trained at gaussian 0.5" in rows[0] and rows[1].split()[0] == "factor"
    assert "∞" in rows[2] and rows[3].endswith("← trained") and len(rows) == 5


@pytest.mark.parametrize(
    "argv, says",
    [
        (
            ["--factors", "0,x"],
            "--factors must be numbers from 0 to 5 for gaussian noise, separated by commas (got 'x')",
        ),
        (["--noise", "mask", "--factors", "0.95"], "--factors must be numbers from 0 to 0.9 for mask noise"),
        (["--noise", "bogus"], "--noise must be one of gaussian, salt-pepper, speckle, poisson, mask"),
    ],
)
def test_a_bad_factor_list_or_kind_is_one_line_and_exit_2(capsys, trained_run, argv, says):
    assert main(["eval", str(trained_run), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and says in captured.err


def test_a_folder_without_a_run_is_one_line_and_exit_2(capsys, tmp_path):
    assert main(["eval", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"dae-tui eval: error: {tmp_path}: no checkpoint there (expected a run folder or a checkpoint.pt)\n"
    )


def test_default_factors_span_each_kind_and_include_the_trained_one():
    assert default_factors("gaussian", 0.7)[:3] == [0.0, 0.5, 0.7]
    poisson = default_factors("poisson")
    assert len(poisson) == 11 and 0 < poisson[0] < poisson[1] and poisson[-1] == 2.0
    assert default_factors("mask")[-1] == 0.9
    with pytest.raises(ConfigError, match="above 0 to 2 for poisson"):
        parse_factors("0", "poisson")


# --- issue 17: an empty or endless factor list, and a long curve's estimate ----------------------


@pytest.mark.parametrize("argv", [["--factors="], ["--factors", "  "]], ids=["empty", "blank"])
def test_an_empty_factor_list_is_an_error_not_the_default_curve(capsys, trained_run, argv):
    assert main(["eval", str(trained_run), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "--factors needs comma-separated numbers (got an empty string" in captured.err


def test_more_factors_than_the_cap_are_refused_before_torch_loads(capsys):
    from dae_tui.cli import parse_invocation
    from dae_tui.cli.eval import MAX_FACTORS

    most = ",".join(["0.1"] * MAX_FACTORS)
    assert parse_invocation(["eval", "RUN", "--factors", most]).factors == most
    assert main(["eval", "RUN", "--factors", ",".join(["0.1"] * 10_000)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"dae-tui eval: error: --factors takes at most {MAX_FACTORS} factors (got 10,000)\n"


def test_a_long_curve_says_how_long_after_its_first_point(capsys, trained_run, monkeypatch):
    from dae_tui.cli import eval as evaluation

    monkeypatch.setattr(evaluation, "ESTIMATE_AFTER_S", 0.0)  # every curve counts as long here
    assert main(["eval", str(trained_run), "--factors", "0,0.5,1"]) == 0
    rows = capsys.readouterr().err.splitlines()
    assert rows[3].startswith("  (3 factors at about ") and rows[3].endswith(" more)")
    assert len(rows) == 6  # heading, columns, three points and the estimate after the first
