"""`dae-tui denoise RUN INPUT` (issue 12): pictures the test draws (light and dark backgrounds,
colour, transparency, odd sizes) fitted as the training images are, a PNG written, and one line
for a file that is not a picture."""

from __future__ import annotations

import pytest
import torch
from PIL import Image, ImageDraw

from dae_tui.cli import main
from dae_tui.engine.pictures import fit_picture


def ring(size: tuple[int, int], background, ink, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, background)
    w, h = size
    ImageDraw.Draw(image).ellipse((w // 3, h // 4, 2 * w // 3, 3 * h // 4), outline=ink, width=max(1, w // 15))
    return image


@pytest.mark.parametrize("image", [
    ring((300, 200), "white", "black"),                       # dark ink on paper: inverted
    ring((90, 90), "black", "white"),                         # already light on dark
    ring((123, 457), (250, 240, 200), (20, 40, 160)),          # colour, odd size, tall
    ring((64, 64), (0, 0, 0, 0), (0, 0, 0, 255), "RGBA"),      # dark ink on a transparent page
    ring((2000, 37), "white", "black"),                       # very wide
], ids=["paper", "dark", "colour-tall", "transparent", "wide"])
def test_any_picture_is_fitted_like_the_training_images(image):
    fitted = fit_picture(image)
    assert fitted.shape == (1, 1, 28, 28) and fitted.min() >= 0 and fitted.max() <= 1
    frame = fitted[0, 0]
    assert frame.max() > 0.5  # the figure is light ...
    assert frame[:3].max() == 0 and frame[-3:].max() == 0  # ... on black, inside the 20x20 box:
    assert frame[:, :3].max() == 0 and frame[:, -3:].max() == 0  # 4-pixel margins, as in MNIST


def test_a_blank_picture_is_a_blank_frame():
    assert torch.equal(fit_picture(Image.new("L", (5, 7), 255)), torch.zeros(1, 1, 28, 28))


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
        assert main(["denoise", str(trained_run), str(source), "-o", str(output), "--side-by-side",
                     "--noise-factor", "0.5", "--scale", "2"]) == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    with Image.open(outputs[0]) as image:
        assert image.size == ((3 * 28 + 2 * 2) * 2, 56)
        left, middle = image.crop((0, 0, 56, 56)), image.crop((60, 0, 116, 56))
        assert left.tobytes() != middle.tobytes()  # the noisy one differs from the clean input


@pytest.mark.parametrize("make, argv, says", [
    (lambda p: p.write_text("not a picture"), [], "not a picture Pillow can read"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), [], "not a picture Pillow can read"),
    (lambda p: ring((20, 20), "white", "black").save(p, format="PNG"), ["--noise-factor", "9"],
     "--noise-factor must be from 0 to 5 for gaussian noise"),
    (lambda p: ring((20, 20), "white", "black").save(p, format="PNG"), ["--scale", "0"],
     "--scale must be a whole number from 1 to 32 (got '0')"),
], ids=["text", "broken-png", "factor", "scale"])
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
