"""``mosaic --style``: palette matching end to end on real NAIP sheets, ``--style auto``, plain images."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from geocolor.cli import cli
from geocolor.color import lightness_to_gray, rgb_to_lab
from geocolor.errors import InputError
from geocolor.mosaic.batch import colorize_many
from geocolor.mosaic.engine import colorize
from geocolor.style.palette import ab_moments, palette_distance
from geocolor.style.reference import read_reference
from tests.conftest import shared


def _naip_window(date: str, win: Window):
    with rasterio.open(shared(f"naip/m_4709963_se_14_1_{date}.tif")) as src:
        return src.read([1, 2, 3], window=win), src.crs, window_transform(win, src.transform)


def _gray_sheet(tmp_path, name, date, win):
    """A real NAIP window reduced to gray, with its real EPSG:26914 georeferencing."""
    rgb, crs, transform = _naip_window(date, win)
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1).astype(np.float32) / 255)[..., 0]
    gray = np.round(lightness_to_gray(lum) * 255).astype(np.uint8)[None]
    path = tmp_path / name
    with rasterio.open(path, "w", driver="GTiff", width=win.width, height=win.height, count=1, dtype="uint8", crs=crs, transform=transform) as d:
        d.write(gray)
    return path


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """Two overlapping sheets from different NAIP years (2010, 2017; columns 200-300 of the scene are on
    both), a third one elsewhere (2017), and a modern colour reference (2020)."""
    tmp = tmp_path_factory.mktemp("sheets")
    a = _gray_sheet(tmp, "sheet_a.tif", "20100629", Window(0, 0, 300, 256))
    b = _gray_sheet(tmp, "sheet_b.tif", "20170827", Window(200, 0, 300, 256))
    c = _gray_sheet(tmp, "sheet_c.tif", "20170827", Window(560, 400, 300, 256))
    rgb, crs, transform = _naip_window("20200831", Window(500, 300, 400, 400))
    ref = tmp / "reference_2020.tif"
    with rasterio.open(ref, "w", driver="GTiff", width=400, height=400, count=3, dtype="uint8", crs=crs, transform=transform) as d:
        d.write(rgb)
    return a, b, c, ref


@pytest.fixture(scope="module")
def plain_outputs(sheets, default_model, tmp_path_factory):
    """All three sheets colorized independently by the shipped model, without a style."""
    paths = sheets[:3]
    return [r.path for r in colorize_many(paths, tmp_path_factory.mktemp("plain"), model=default_model, show_progress=False)]


def palette(path, cols=slice(None)):
    with rasterio.open(path) as ds:
        rgb = np.moveaxis(ds.read(), 0, -1)[:, cols]
    return ab_moments(rgb_to_lab(rgb.reshape(-1, 3).astype(np.float32) / 255)[:, 1:])


def test_style_reference_moves_colours_toward_it_and_keeps_georeferencing(sheets, tmp_path):
    """No --model: with --style the shipped stylecolor model colours in the reference's style (tone matching,
    style code, palette matching) toward a modern orthophoto."""
    a, _, _, ref = sheets
    plain, styled = tmp_path / "plain.tif", tmp_path / "styled.tif"
    colorize(a, plain, show_progress=False)
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(a), str(styled), "--style", str(ref)])
    assert r.exit_code == 0, r.output
    target = read_reference(ref).moments()
    before, after = palette_distance(palette(plain), target), palette_distance(palette(styled), target)
    assert after < 0.5 * before and after < 3.0, (before, after)
    with rasterio.open(a) as src, rasterio.open(styled) as out:
        assert out.crs == src.crs and out.transform == src.transform and out.shape == src.shape
        assert out.tags()["GEOCOLOR_STYLE"].startswith("tone + style code + palette matching")
        assert out.tags()["GEOCOLOR_MODEL"] == "stylecolor"
        # L* is the input's: the styled output has the gray sheet's lightness
        lum_out = rgb_to_lab(np.moveaxis(out.read(), 0, -1).astype(np.float32) / 255)[..., 0]
        lum_in = rgb_to_lab(np.repeat(src.read(1)[..., None], 3, -1).astype(np.float32) / 255)[..., 0]
        assert np.abs(lum_out - lum_in).mean() < 1.0


def test_same_reference_gives_two_different_inputs_the_same_palette(sheets, plain_outputs, default_model, tmp_path):
    """Sheets A (2010) and C (2017, other ground) share no ground: their whole palettes are matched."""
    a, _, c, ref = sheets
    styled = colorize_many([a, c], tmp_path / "styled", model=default_model, style=str(ref), show_progress=False)
    d_plain = palette_distance(palette(plain_outputs[0]), palette(plain_outputs[2]))
    d_styled = palette_distance(palette(styled[0].path), palette(styled[1].path))
    assert d_styled < 0.5 * d_plain, (d_plain, d_styled)
    assert d_styled < 2.0


def test_style_auto_with_two_inputs_end_to_end(sheets, plain_outputs, tmp_path):
    """Overlapping sheets: auto makes their shared ground (scene columns 200-300) alike."""
    a, b, _, _ = sheets
    out_dir = tmp_path / "auto"
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(a), str(b), "--out-dir", str(out_dir), "--style", "auto"])
    assert r.exit_code == 0, r.output
    on_a, on_b = slice(200, 300), slice(0, 100)
    d_plain = palette_distance(palette(plain_outputs[0], on_a), palette(plain_outputs[1], on_b))
    d_auto = palette_distance(palette(out_dir / "sheet_a.tif", on_a), palette(out_dir / "sheet_b.tif", on_b))
    assert d_auto < 0.5 * d_plain, (d_plain, d_auto)
    for src in (a, b):
        with rasterio.open(src) as s, rasterio.open(out_dir / src.name) as o:
            assert (o.crs, o.transform, o.shape) == (s.crs, s.transform, s.shape)
            assert "auto (2 inputs) (measured where it overlaps" in o.tags()["GEOCOLOR_STYLE"]


def test_style_errors_are_one_line(sheets, tiny_model, tmp_path):
    a = sheets[0]
    with pytest.raises(InputError, match="several inputs"):
        colorize(a, tmp_path / "x.tif", model=tiny_model, style="auto", show_progress=False)
    with pytest.raises(InputError, match="no named styles"):
        colorize(a, tmp_path / "x.tif", model=tiny_model, style="sepia", show_progress=False)
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(a), "--model", str(tiny_model)])
    assert r.exit_code == 2 and "--out-dir" in r.output
    with pytest.raises(InputError, match="colour"):
        colorize(a, tmp_path / "y.tif", model=tiny_model, style=str(a), show_progress=False)  # a gray reference
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "y.tif").exists()


def test_plain_png_input_works_without_crs(tiny_model, tmp_path, caplog):
    """A non-georeferenced image (a real NEON PNG, as a scan or painting would be) colorizes fine."""
    png = shared("neon/SOAP_031.png")
    out = tmp_path / "soap.tif"
    with caplog.at_level("WARNING"):
        colorize(png, out, model=tiny_model, show_progress=False)
    assert any("not georeferenced" in rec.message for rec in caplog.records)
    with rasterio.open(out) as ds:
        assert ds.crs is None and ds.shape == (400, 400) and ds.count == 3


def _same_ground_delta_e(out_a, out_b, rows_a, rows_b):
    """Mean CIEDE2000 of two outputs over their shared rows, with B given A's L* (colour alone)."""
    from geocolor.color import lab_to_rgb_keep_lightness
    from geocolor.metrics.pixel import delta_e2000

    a, b = (np.moveaxis(rasterio.open(p).read(), 0, -1) for p in (out_a, out_b))
    a, b = a[rows_a], b[rows_b]
    lab_b = rgb_to_lab(b.astype(np.float32) / 255)
    lab_b[..., 0] = rgb_to_lab(a.astype(np.float32) / 255)[..., 0]
    return delta_e2000(a, np.round(lab_to_rgb_keep_lightness(lab_b) * 255).astype(np.uint8))


def test_tone_matching_colours_a_darker_flatter_print_like_its_neighbour(default_model, tmp_path):
    """Two overlapping frames of the same flight (NAIP 2016), B printed darker and flatter: with --style
    auto the model sees both at one tonal range, so their shared ground gets the same colours; without
    tone matching the global palette map cannot undo what the darker print did to the colours."""
    a = _gray_sheet(tmp_path, "frame_a.tif", "20160816", Window(654, 0, 256, 300))
    b = _gray_sheet(tmp_path, "frame_b.tif", "20160816", Window(654, 120, 256, 300))
    with rasterio.open(b, "r+") as ds:
        g = ds.read(1).astype(np.float32) / 255
        ds.write((np.clip((g**1.5 - 0.5) * 0.7 + 0.42, 0, 1) * 255).round().astype(np.uint8)[None])
    runs = {}
    for tone in (False, True):
        out = tmp_path / f"tone_{tone}"
        args = ["-q", "mosaic", str(a), str(b), "--out-dir", str(out), "--style", "auto", "--model", str(default_model)]
        r = CliRunner().invoke(cli, args + ([] if tone else ["--no-tone-match"]))
        assert r.exit_code == 0, r.output
        runs[tone] = _same_ground_delta_e(out / a.name, out / b.name, slice(120, 300), slice(0, 180))
        with rasterio.open(out / b.name) as o, rasterio.open(b) as src:
            assert ("tone + " in o.tags()["GEOCOLOR_STYLE"]) == tone
            lum_out = rgb_to_lab(np.moveaxis(o.read(), 0, -1).astype(np.float32) / 255)[..., 0]
            lum_in = rgb_to_lab(np.repeat(src.read(1)[..., None], 3, -1).astype(np.float32) / 255)[..., 0]
            assert np.abs(lum_out - lum_in).mean() < 1.0  # the darker print stays darker: only colours change
    assert runs[True] < 0.5 * runs[False], runs


def test_a_plain_image_works_as_the_style_reference(sheets, tmp_path):
    """A non-georeferenced colour image (a real NEON PNG, as a scan or a painting would be) as --style: the
    output palette moves toward it and nothing about the georeferencing of the input changes."""
    a = sheets[0]
    ref = shared("neon/SOAP_031.png")
    plain, styled = tmp_path / "plain.tif", tmp_path / "styled.tif"
    colorize(a, plain, show_progress=False)
    colorize(a, styled, style=str(ref), show_progress=False)
    target = read_reference(ref).moments()
    assert palette_distance(palette(styled), target) < 0.5 * palette_distance(palette(plain), target)
    with rasterio.open(a) as src, rasterio.open(styled) as out:
        assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
        assert "SOAP_031.png" in out.tags()["GEOCOLOR_STYLE"]
