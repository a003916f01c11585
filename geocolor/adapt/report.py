"""``adapt_report.html``: each scan before (base model) and after (adapted model), the loss curve, the
held-out figures on modern chips kept out of the fine-tuning, and the fitted film model."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.files import atomic_path, write_text_atomic

PREVIEW_SIDE = 768


def preview(path: Path, dst: Path, max_side: int = PREVIEW_SIDE) -> Path:
    """A JPEG preview (at most ``max_side`` px a side) of a raster's first three bands (or its one band)."""
    import rasterio
    from PIL import Image
    from rasterio.enums import Resampling

    with rasterio.open(path) as ds:
        scale = max(1.0, max(ds.width, ds.height) / max_side)
        shape = (max(1, int(ds.height / scale)), max(1, int(ds.width / scale)))
        bands = [1, 2, 3] if ds.count >= 3 else [1]
        data = ds.read(bands, out_shape=(len(bands), *shape), resampling=Resampling.average).astype(np.float32)
    if data.dtype != np.uint8:
        lo, hi = np.percentile(data, (0.5, 99.5))
        data = np.clip((data - lo) / max(hi - lo, 1e-6) * 255.0, 0, 255)
    img = np.moveaxis(data.astype(np.uint8), 0, -1)
    with atomic_path(dst, suffix=".jpg") as tmp:
        Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img).save(tmp, format="JPEG", quality=88)
    return dst


def _row(label: str, figures: dict[str, float]) -> str:
    if not figures:
        return f"<tr><td>{label}</td><td colspan=4>not measured</td></tr>"
    fc = figures.get("false_colour")
    return (f"<tr><td>{label}</td><td>{figures['psnr']:.2f}</td><td>{figures['ssim']:.3f}</td>"
            f"<td>{figures['delta_e2000']:.2f}</td><td>{'n/a' if fc is None else f'{100 * fc:.1f} %'}</td></tr>")


def write_report(out_dir: Path, scans: list[Any], outputs: list[Path], run_dir: Path, base: dict[str, float],
                 adapted: dict[str, float], film: Path, minutes: float, steps: int) -> Path:
    folder = out_dir / "report"
    folder.mkdir(exist_ok=True)
    blocks = []
    for scan, out in zip(scans, outputs):
        stem = scan.path.stem
        cells = []
        for label, src in (("scan", scan.path), ("base model", out_dir / "base" / f"{stem}.tif"), ("adapted", out)):
            name = f"{stem}_{label.split()[0]}.jpg"
            preview(src, folder / name)
            cells.append(f"<figure><img src='report/{name}'><figcaption>{html.escape(label)}</figcaption></figure>")
        blocks.append(f"<h3>{html.escape(scan.path.name)}</h3><div class=row>{''.join(cells)}</div>")
    if (run_dir / "losses.png").exists():
        shutil.copyfile(run_dir / "losses.png", folder / "losses.png")
    fit = json.loads(film.read_text())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in fit.get("notes", []))
    page = f"""<!doctype html><html><head><meta charset=utf-8><title>geocolor adapt</title>
<style>body{{font-family:sans-serif;max-width:1500px;margin:auto}} .row{{display:flex;gap:8px}}
figure{{margin:0}} img{{max-width:480px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}}</style>
</head><body><h1>geocolor adapt</h1>
<p>Fine-tuned for {minutes:.1f} min of training ({steps} steps) on the modern imagery of the scans' ground.</p>
<h2>Held-out modern chips</h2><p>A strip of each modern raster (20 %, at least one tile), never trained on; the base model is
the starting point of the fine-tuning (scored before its first step). These are modern photos made gray,
not the scans: the scans have no colour truth.</p>
<table><tr><th></th><th>PSNR (dB)</th><th>SSIM</th><th>CIEDE2000</th><th>false colour</th></tr>{_row("base model", base)}{_row("adapted", adapted)}</table>
<h2>Film model fitted to the scans</h2><ul>{notes}</ul>
<h2>Loss curve</h2><img src='report/losses.png'>
<h2>Scans</h2>{''.join(blocks)}
</body></html>"""
    path = out_dir / "adapt_report.html"
    write_text_atomic(path, page)
    return path
