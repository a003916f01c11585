"""The pieces that need no server: retry timing, answer classification, atomic tiles, the journal."""

from __future__ import annotations

import email.utils
import io
import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geocolor.errors import OutputExistsError
from geocolor.harvest.fetcher import Response, RetryPolicy, parse_retry_after
from geocolor.harvest.grids import TileKey
from geocolor.harvest.store import JOURNAL, OutputStore, TileRecord, read_journal
from geocolor.harvest.tiles import TileStatus, classify, decode_image, sha256, write_geotiff


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def noisy_rgb(size: int = 256) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy, rng = RetryPolicy(backoff=0.5, max_backoff=4.0), random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        waits = {policy.delay(attempt, rng) for _ in range(20)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(waits) > 1  # jitter


def test_retry_after_wins_but_is_capped() -> None:
    policy, rng = RetryPolicy(backoff=0.01, max_retry_after=10.0), random.Random(0)
    assert policy.delay(1, rng, retry_after=3.0) == pytest.approx(3.0, abs=0.01)
    assert policy.delay(1, rng, retry_after=600.0) == pytest.approx(10.0, abs=0.01)


def test_parse_retry_after_seconds_and_dates() -> None:
    now = time.time()
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def answer(status: int = 200, content: bytes = b"", ctype: str = "image/png") -> Response:
    return Response("http://x/t", status, content, ctype)


@pytest.mark.parametrize(
    "resp,status",
    [
        (answer(404, b"{}", "application/json"), TileStatus.MISSING),
        (answer(204), TileStatus.MISSING),
        (answer(403, b"denied", "text/plain"), TileStatus.FAILED),
        (answer(200, b"<ExceptionReport/>", "application/xml"), TileStatus.ERROR),
        (answer(200, b"\x89PNG garbage"), TileStatus.ERROR),
        (answer(200, png(Image.new("RGBA", (256, 256), (0, 0, 0, 0)))), TileStatus.BLANK),
        (answer(200, png(Image.new("RGB", (256, 256), (255, 255, 255)))), TileStatus.BLANK),
        (answer(200, png(noisy_rgb(128))), TileStatus.ERROR),  # wrong size
        (answer(200, png(noisy_rgb())), TileStatus.OK),
    ],
)
def test_answers_are_classified(resp: Response, status: TileStatus) -> None:
    assert classify(resp, 256, 256).status is status


def test_known_error_image_checksum() -> None:
    body = png(noisy_rgb())
    assert classify(answer(200, body), 256, 256, frozenset({sha256(body)})).status is TileStatus.ERROR


def test_gray_and_palette_images_become_rgba() -> None:
    gray = np.arange(256 * 256, dtype=np.uint32).reshape(256, 256).astype(np.uint8)
    rgba = decode_image(png(Image.fromarray(gray, "L")))
    assert rgba.shape == (4, 256, 256) and (rgba[0] == gray).all() and (rgba[2] == gray).all() and (rgba[3] == 255).all()
    pal = Image.fromarray(gray % 4, "P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * 756)
    rgba = decode_image(png(pal))
    assert tuple(rgba[:3, 0, 1]) == (0, 255, 0) and tuple(rgba[:3, 0, 3]) == (9, 9, 9)


def test_failed_write_leaves_neither_tile_nor_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def boom(*_a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    rgba = decode_image(png(noisy_rgb()))
    with pytest.raises(OSError, match="disk full"):
        write_geotiff(tmp_path / "z" / "1.tif", rgba, "EPSG:3857", (0, 0, 256, 256), {})
    assert list((tmp_path / "z").iterdir()) == []


def rec(col: int, status: TileStatus = TileStatus.BLANK) -> TileRecord:
    return TileRecord(TileKey("15", col, 7), status, f"http://x/{col}", (0.0, 0.0, 1.0, 1.0))


def test_torn_journal_line_is_ignored_and_sealed(tmp_path: Path) -> None:
    ident = {"type": "xyz", "zoom": "15"}
    store = OutputStore(tmp_path, ident)
    store.open()
    store.append(rec(1))
    store.close()
    with open(tmp_path / JOURNAL, "a") as f:
        f.write('{"type": "tile", "matrix": "15", "col": 2, "ro')  # killed mid-line
    store = OutputStore(tmp_path, ident)
    known = store.open()
    assert set(known) == {TileKey("15", 1, 7)}
    store.append(rec(3))
    store.close()
    header, records = read_journal(tmp_path / JOURNAL)
    assert header == ident and set(records) == {TileKey("15", 1, 7), TileKey("15", 3, 7)}


def test_other_source_in_out_is_refused_unless_overwrite(tmp_path: Path) -> None:
    store = OutputStore(tmp_path, {"type": "xyz", "zoom": "15"})
    store.open()
    store.close()
    (tmp_path / "tiles").mkdir()
    with pytest.raises(OutputExistsError, match="another source"):
        OutputStore(tmp_path, {"type": "xyz", "zoom": "16"}).open()
    store = OutputStore(tmp_path, {"type": "xyz", "zoom": "16"}, overwrite=True)
    store.open()
    store.close()
    assert not (tmp_path / "tiles").exists()
    assert json.loads((tmp_path / JOURNAL).read_text().splitlines()[0])["identity"]["zoom"] == "16"


def test_foreign_manifest_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="manifest.json"):
        OutputStore(tmp_path, {"type": "xyz"}).open()
    assert (tmp_path / "manifest.json").read_text() == "{}"


def test_tiff_tiles_use_gdal_masks_and_never_take_nir_for_alpha() -> None:
    from rasterio.io import MemoryFile

    data = np.random.default_rng(1).integers(1, 255, (4, 256, 256), dtype=np.uint8)  # R, G, B, NIR as NAIP stores them
    data[:, :10, :] = 0
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=256, height=256, count=4, dtype="uint8", nodata=0, photometric="MINISBLACK") as ds:
            ds.write(data)
        rgba = decode_image(mem.read())
    assert (rgba[:3] == data[:3]).all()
    assert (rgba[3, :10] == 0).all() and (rgba[3, 10:] == 255).all()


def test_palette_transparency_becomes_alpha() -> None:
    pal = Image.fromarray((np.arange(256 * 256).reshape(256, 256) % 2).astype(np.uint8), "P")
    pal.putpalette([200, 10, 10, 0, 0, 0] + [0] * 762)
    pal.info["transparency"] = 1
    rgba = decode_image(png(pal))
    assert tuple(rgba[:, 0, 0]) == (200, 10, 10, 255) and rgba[3, 0, 1] == 0
