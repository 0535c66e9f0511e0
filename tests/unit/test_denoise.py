"""`dae-tui denoise RUN INPUT` (issue 12): pictures the test draws (light and dark backgrounds,
colour, transparency, odd sizes) fitted as the training images are, a PNG written, and one line
for a file that is not a picture."""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from dae_tui.cli import main
from dae_tui.training.pictures import fit_picture


def ring(size: tuple[int, int], background, ink, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, background)
    w, h = size
    ImageDraw.Draw(image).ellipse((w // 3, h // 4, 2 * w // 3, 3 * h // 4), outline=ink, width=max(1, w // 15))
    return image


@pytest.mark.parametrize(
    "image",
    [
        ring((300, 200), "white", "black"),  # dark ink on paper: inverted
        ring((90, 90), "black", "white"),  # already light on dark
        ring((123, 457), (250, 240, 200), (20, 40, 160)),  # colour, odd size, tall
        ring((64, 64), (0, 0, 0, 0), (0, 0, 0, 255), "RGBA"),  # dark ink on a transparent page
        ring((2000, 37), "white", "black"),  # very wide
    ],
    ids=["paper", "dark", "colour-tall", "transparent", "wide"],
)
def test_any_picture_is_fitted_like_the_training_images(image):
    fitted = fit_picture(image)
    assert fitted.shape == (1, 1, 28, 28) and fitted.min() >= 0 and fitted.max() <= 1
    frame = fitted[0, 0]
    assert frame.max() > 0.5  # the figure is light ...
    assert frame[:3].max() == 0 and frame[-3:].max() == 0  # ... on black, inside the 20x20 box:
    assert frame[:, :3].max() == 0 and frame[:, -3:].max() == 0  # 4-pixel margins, as in MNIST


def test_a_blank_picture_is_a_blank_frame():
    assert torch.equal(fit_picture(Image.new("L", (5, 7), 255)), torch.zeros(1, 1, 28, 28))


@pytest.mark.slow
def test_denoise_writes_the_png_next_to_the_input(trained_run, tmp_path, capsys):
    source = tmp_path / "digit.png"
    ring((300, 200), "white", "black").save(source)
    assert main(["denoise", str(trained_run), str(source)]) == 0
    written = tmp_path / "digit-denoised.png"
    with Image.open(written) as image:
        assert image.size == (112, 112) and image.mode == "L"
    assert capsys.readouterr().err.startswith(f"wrote {written} (denoised; model seed")


def test_side_by_side_with_noise_is_repeatable(trained_run, tmp_path):
    source = tmp_path / "digit.jpg"
    ring((77, 51), "black", "white").save(source)
    outputs = [tmp_path / "a.png", tmp_path / "b.png"]
    for output in outputs:
        assert (
            main(
                [
                    "denoise",
                    str(trained_run),
                    str(source),
                    "-o",
                    str(output),
                    "--side-by-side",
                    "--noise-factor",
                    "0.5",
                    "--scale",
                    "2",
                ]
            )
            == 0
        )
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    with Image.open(outputs[0]) as image:
        assert image.size == ((3 * 28 + 2 * 2) * 2, 56)
        left, middle = image.crop((0, 0, 56, 56)), image.crop((60, 0, 116, 56))
        assert left.tobytes() != middle.tobytes()  # the noisy one differs from the clean input


@pytest.mark.parametrize(
    "make, argv, says",
    [
        (lambda p: p.write_text("not a picture"), [], "not a picture Pillow can read"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), [], "not a picture Pillow can read"),
        (
            lambda p: ring((20, 20), "white", "black").save(p, format="PNG"),
            ["--noise-factor", "9"],
            "--noise-factor must be from 0 to 5 for gaussian noise",
        ),
        (
            lambda p: ring((20, 20), "white", "black").save(p, format="PNG"),
            ["--scale", "0"],
            "--scale must be a whole number from 1 to 32 (got '0')",
        ),
    ],
    ids=["text", "broken-png", "factor", "scale"],
)
def test_what_cannot_be_denoised_is_one_line_and_exit_2(trained_run, tmp_path, capsys, make, argv, says):
    source = tmp_path / "input.png"
    make(source)
    assert main(["denoise", str(trained_run), str(source), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and says in captured.err
    assert not (tmp_path / "input-denoised.png").exists()


def test_a_missing_picture_or_run_is_one_line(trained_run, tmp_path, capsys):
    assert main(["denoise", str(trained_run), str(tmp_path / "nope.png")]) == 2
    assert "nope.png: not a picture Pillow can read" in capsys.readouterr().err
    picture = tmp_path / "p.png"
    ring((20, 20), "white", "black").save(picture)
    assert main(["denoise", str(tmp_path), str(picture)]) == 2
    assert "no checkpoint there" in capsys.readouterr().err


# --- issue 17: pictures of every pixel format, and an output that never destroys anything ------


def wide_picture(mode: str) -> Image.Image:
    """A ring in a 16-bit, 32-bit or float picture whose levels all lie above 255, as a scanner's
    or a microscope's do: clipped to 8 bits (Pillow's convert('L')) it is one flat white."""
    base = ring((60, 40), "black", "white", "L").tobytes()
    levels = [20000 + 120 * v for v in base]
    order = ">" if mode == "I;16B" else "<"
    code = {"I;16": "H", "I;16B": "H", "I": "i", "F": "f"}[mode]
    return Image.frombytes(mode, (60, 40), struct.pack(f"{order}{len(levels)}{code}", *levels))


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I", "F"])
def test_wide_pixels_are_scaled_by_their_own_range_not_clipped(mode):
    image = wide_picture(mode)
    assert set(image.convert("L").tobytes()) == {255}  # what the old code saw: nothing
    fitted = fit_picture(image)[0, 0]
    assert fitted.max() > 0.9 and (fitted > 0.5).sum() > 20  # the ring, light on black
    assert fitted[:3].max() == 0 and fitted[:, :3].max() == 0


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: im.convert("1"),
        lambda im: im.convert("P"),
        lambda im: im.convert("LA"),
        lambda im: im.convert("LA").convert("PA"),
    ],
    ids=["1-bit", "palette", "LA", "PA"],
)
def test_one_bit_palette_and_grey_alpha_pictures_are_fitted(convert):
    fitted = fit_picture(convert(ring((60, 40), "white", "black", "L")))[0, 0]
    assert fitted.max() > 0.9 and fitted[:3].max() == 0


def test_a_16_bit_png_file_is_denoised_not_blank(trained_run, tmp_path, capsys):
    source = tmp_path / "scan.png"
    wide_picture("I;16").save(source)
    with Image.open(source) as reopened:
        assert reopened.mode.startswith("I")  # really 16-bit on disk
    output = tmp_path / "scan-out.png"
    assert main(["denoise", str(trained_run), str(source), "-o", str(output), "--side-by-side"]) == 0
    assert "no figure" not in capsys.readouterr().err
    with Image.open(output) as image:
        fitted = image.crop((0, 0, 28 * 4, 28 * 4))
        assert max(fitted.tobytes()) > 200  # the input's third of the row shows the ring


def test_a_blank_picture_is_said_on_a_note_line(trained_run, tmp_path, capsys):
    source = tmp_path / "blank.png"
    Image.new("I;16", (30, 30), 30000).save(source)
    assert main(["denoise", str(trained_run), str(source)]) == 0
    assert "blank.png shows no figure" in capsys.readouterr().err


@pytest.fixture
def picture(tmp_path) -> Path:
    source = tmp_path / "in" / "digit.png"
    source.parent.mkdir()
    ring((60, 60), "white", "black").save(source)
    return source


@pytest.mark.parametrize("name", ["same", "symlink", "hardlink", "dotted"])
def test_the_input_itself_is_never_the_output_even_with_force(trained_run, picture, capsys, name):
    before = picture.read_bytes()
    output = {
        "same": picture,
        "dotted": picture.parent / "." / ".." / "in" / picture.name,
        "symlink": picture.parent / "link.png",
        "hardlink": picture.parent / "hard.png",
    }[name]
    if name == "symlink":
        output.symlink_to(picture)
    elif name == "hardlink":
        os.link(picture, output)
    for force in ([], ["--force"]):
        assert main(["denoise", str(trained_run), str(picture), "-o", str(output), *force]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is the input picture" in err
    assert picture.read_bytes() == before


@pytest.mark.parametrize("where", ["checkpoint", "samples", "deep", "run", "runs-dir", "half-made-run"])
def test_nothing_is_written_inside_a_run_or_runs_folder(trained_run, picture, capsys, where):
    runs = trained_run.parent
    half = runs / "half-made"
    (half / "sub").mkdir(parents=True, exist_ok=True)
    (half / "metrics.jsonl").write_text("")
    (trained_run / "samples" / "deeper").mkdir(exist_ok=True)
    output = {
        "checkpoint": trained_run / "checkpoint.pt",
        "samples": trained_run / "samples" / "x.png",
        "deep": trained_run / "samples" / "deeper" / "x.png",
        "run": trained_run / "new.png",
        "runs-dir": runs / "x.png",
        "half-made-run": half / "sub" / "x.png",
    }[where]
    before = {path: path.read_bytes() for path in trained_run.rglob("*") if path.is_file()}
    assert main(["denoise", str(trained_run), str(picture), "-o", str(output), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("inside the run folder" in err or "in the runs folder" in err)
    assert {path: path.read_bytes() for path in trained_run.rglob("*") if path.is_file()} == before
    assert not (runs / "x.png").exists() and not (half / "sub" / "x.png").exists()


def test_an_existing_file_is_replaced_only_with_force_and_keeps_its_mode(trained_run, picture, capsys):
    output = picture.parent / "out.png"
    output.write_bytes(b"my other picture")
    output.chmod(0o640)
    assert main(["denoise", str(trained_run), str(picture), "-o", str(output)]) == 2
    assert "out.png exists; --force replaces it" in capsys.readouterr().err
    assert output.read_bytes() == b"my other picture"
    assert main(["denoise", str(trained_run), str(picture), "-o", str(output), "--force"]) == 0
    with Image.open(output) as image:
        assert image.size == (112, 112)
    assert output.stat().st_mode & 0o777 == 0o640
    fresh = picture.parent / "fresh.png"
    assert main(["denoise", str(trained_run), str(picture), "-o", str(fresh)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's private 0600
    assert sorted(p.name for p in picture.parent.iterdir()) == ["digit.png", "fresh.png", "out.png"]


def test_a_folder_as_output_or_a_missing_folder_is_one_line(trained_run, picture, capsys):
    assert main(["denoise", str(trained_run), str(picture), "-o", str(picture.parent)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["denoise", str(trained_run), str(picture), "-o", str(picture.parent / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_a_full_disk_keeps_the_old_output_whole_and_leaves_no_file(trained_run, picture, existing):
    """A real write failure: the file-size limit (RLIMIT_FSIZE, set in the child only) is below
    the PNG's size, so its write gets EFBIG as on a full disk."""
    output = picture.parent / "out.png"
    if existing:
        output.write_bytes(b"x" * 50)
    limit = 200

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dae_tui",
            "denoise",
            str(trained_run),
            str(picture),
            "-o",
            str(output),
            "--force",
            "--scale",
            "8",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "disk full while saving out.png" in proc.stderr
    assert ("the previous one is kept" if existing else "nothing was saved") in proc.stderr
    assert sorted(p.name for p in picture.parent.iterdir()) == (["digit.png", "out.png"] if existing else ["digit.png"])
    if existing:
        assert output.read_bytes() == b"x" * 50
