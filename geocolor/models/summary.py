"""A short, human summary of a model file's metadata (``geocolor info``): what it is, what it saw, how good.

Pure function of the metadata dict; ``geocolor info --json`` prints everything instead.
"""

from __future__ import annotations

from typing import Any


def _figures(ev: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("model", "gray", "mean_color"):
        f = ev.get(name) or {}
        if "psnr" in f and "delta_e2000" in f:
            ssim = f" SSIM {f['ssim']:.3f}" if "ssim" in f else ""
            lines.append(f"  {name:<11} PSNR {f['psnr']:.2f} dB{ssim}  CIEDE2000 {f['delta_e2000']:.2f}")
    return lines


def summary_lines(path: str, size_bytes: int, meta: dict[str, Any]) -> list[str]:
    """Lines of the summary: model and architecture, training run, data, held-out figures, named styles."""
    arch = meta.get("architecture") or {}
    tr = meta.get("training") or {}
    out = [f"{path}  ({size_bytes / 1e6:.1f} MB)"]
    out.append(
        f"model: {meta.get('name', '?')} - {tr.get('model', '?')}, {arch.get('generator', '?')} ngf {arch.get('ngf', '?')}, "
        f"{meta.get('color_space', '?')} colour, tiles of {meta.get('tile_size', '?')} px (multiple of {meta.get('tile_multiple', '?')})"
    )
    if tr:
        seen = f", {tr['images_seen']} crops" if "images_seen" in tr else ""
        if tr.get("lambda_gan") == 0:
            loss = f", L1 {tr.get('lambda_l1', '?')} only (no GAN)"
        else:
            loss = f", {tr.get('gan_mode', '?')} GAN + L1 {tr.get('lambda_l1', '?')}" if "gan_mode" in tr else ""
        out.append(f"trained: {tr.get('steps', '?')} steps of {tr.get('batch_size', '?')}{seen}{loss}; {str(tr.get('date', ''))[:10]}"
                   f" geocolor {tr.get('geocolor', '?')}")
    catalog = tr.get("catalog")
    if catalog:
        trained = [c for c in catalog if c.get("role") == "train"]
        out.append(f"data: {len(trained)} sources (catalogue); held out for its evaluation: "
                   + (", ".join(c["source"] for c in catalog if c.get("role") == "val") or "none"))
        out += [f"  {c['source']:<26} {c.get('gsd_m', 0):g} m  {c.get('files', '?')} file(s)  licence: {c.get('licence', '?')}" for c in trained]
    elif tr.get("sources"):
        names = [str(s.get("source", "?")) for s in tr["sources"]]
        shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
        out.append(f"data: {shown}")
    ev = meta.get("evaluation") or {}
    if ev:
        where = f" ({ev['n_chips']} held-out chips)" if "n_chips" in ev else ""
        out.append(f"evaluation{where}:")
        out += _figures(ev)
    style = meta.get("style") or {}
    named = style.get("named") or {}
    if named:
        out.append(f"named styles (mosaic --style NAME): {', '.join(sorted(named))}")
    out.append("(geocolor info --json prints all metadata)")
    return out
