"""Before/after pictures for the README, made the way a user makes them: `geocolor mosaic` on a gray GeoTIFF.

    .venv/bin/python pipelines/quality/pictures.py --model v1=OLD.pt --model new=geocolor/weights/default.pt \\
        --out pipelines/reports/quality/pictures

For each scene (a window of a held-out test source, made gray from its own L*), every model colours
the whole window through the mosaic engine (256 px tiles, 32 px overlap, seams would show), and one
JPEG shows gray | each model | truth. The real 1950s CENIA orthophoto (no truth) is coloured too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from geocolor.dataset.gray import lstar_gray  # noqa: E402
from geocolor.quality.catalog import load_catalog  # noqa: E402

# (scene name, catalogue source, file name, row, col, side): windows of held-out test sources
SCENES = [
    ("portugal_village", "ortho_portugal", "portugal_village_z20.tif", 900, 1000, 768),
    ("togo_farm_road", "ortho_togo", "togo_farm_z20.tif", 2300, 1400, 768),
    ("pennsylvania_creek", "ortho_yellow_breeches_pa", "yellow_breeches_z19eq.tif", 700, 900, 768),
    ("teak_conifers_granite", "neon_teak", "TEAK_045.tif", 0, 0, 400),
    ("mexico_city", "xbd_mexico", "mexico-earthquake_00000002_pre_disaster.jpg", 0, 0, 512),
    ("netherlands_river", "netherlands", "netherlands_test_tiled.tif", 200, 200, 768),
]
HISTORICAL = "cz_pl_ortho_previews/background_CZE_CENIA_historic_orthophoto_50s_EPSG3857.jpg"


def read_window(path: str, row: int, col: int, side: int) -> np.ndarray:
    import warnings

    import rasterio
    from rasterio.windows import Window

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.read([1, 2, 3], window=Window(col, row, side, side)).transpose(1, 2, 0)


def write_gray(path: Path, gray: np.ndarray) -> None:
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=gray.shape[1], height=gray.shape[0], count=1, dtype="uint8") as dst:
        dst.write(gray, 1)


def colour(gray_tif: Path, model: str, out: Path) -> np.ndarray:
    import rasterio

    from geocolor.mosaic import colorize

    colorize(gray_tif, out, model=model, overwrite=True, show_progress=False, cog=False)
    with rasterio.open(out) as ds:
        return ds.read().transpose(1, 2, 0)


def strip(images: list[np.ndarray], side: int = 384) -> np.ndarray:
    from PIL import Image

    cells = []
    for img in images:
        rgb = np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img
        h, w = rgb.shape[:2]
        size = (side, round(h * side / w))
        cells += [np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)), None]
    h = max(c.shape[0] for c in cells if c is not None)
    gap = np.full((h, 8, 3), 255, np.uint8)
    return np.concatenate([c if c is not None else gap for c in cells[:-1]], axis=1)


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default=str(HERE / "catalog.yaml"))
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    models = [spec.partition("=")[::2] for spec in args.model]
    cat = load_catalog(args.catalog)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, source, file, row, col, side in SCENES:
            path = next(f for f in cat.source(source).files if f.endswith("/" + file))
            truth = read_window(path, row, col, side)
            gray = lstar_gray(truth)
            gray_tif = Path(tmp) / f"{name}_gray.tif"
            write_gray(gray_tif, gray)
            outs = [colour(gray_tif, p, Path(tmp) / f"{name}_{m}.tif") for m, p in models]
            Image.fromarray(strip([gray, *outs, truth])).save(out / f"{name}.jpg", quality=90)
            print(f"{name}: gray | {' | '.join(m for m, _ in models)} | truth", flush=True)
        hist = cat.root / HISTORICAL
        if hist.exists():
            gray = np.asarray(Image.open(hist).convert("L"))
            gray_tif = Path(tmp) / "cenia_1950s.tif"
            write_gray(gray_tif, gray)
            outs = [colour(gray_tif, p, Path(tmp) / f"cenia_{m}.tif") for m, p in models]
            Image.fromarray(strip([gray, *outs], side=400)).save(out / "cenia_1950s.jpg", quality=90)
            print(f"cenia_1950s: gray | {' | '.join(m for m, _ in models)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
