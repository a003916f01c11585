"""A seeded film-degradation model that makes modern gray look like 1950s-1980s aerial prints.

Only the gray input is degraded; the colour target stays clean. Effects are plain functions in
``EFFECTS`` (name -> ``effect(img, rng, cfg) -> img``, float gray in [0, 1]), applied in the order
``FilmConfig.order`` gives, which follows the physical chain: lens (vignette, blur), film (grain),
print ageing (fade), exposure between frames (drift), handling (dust, scratches), then scanning and
storage (scan: JPEG, scanner line noise).

Sizes (grain, blur, specks) are in chip pixels on purpose: the model meets grain at the pixel scale
of the scans it colorizes, whatever the ground resolution of the modern imagery it trains on.

Determinism: ``degrade(gray, cfg, seed, key)`` seeds one ``SeedSequence`` from ``(seed, crc32(key))``
and spawns one generator per effect, so a chip degrades the same way whatever order chips are
processed in, and switching one effect off does not change what the others draw.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from geocolor.dataset.config import (
    BlurConfig,
    DriftConfig,
    DustConfig,
    FadeConfig,
    FilmConfig,
    GrainConfig,
    Range,
    ScanConfig,
    ScratchConfig,
    VignetteConfig,
)

Effect = Callable[[np.ndarray, np.random.Generator, Any], np.ndarray]


def _draw(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def _draw_int(rng: np.random.Generator, r: Range) -> int:
    return int(rng.integers(int(r[0]), int(r[1]) + 1))


def vignette(img: np.ndarray, rng: np.random.Generator, cfg: VignetteConfig) -> np.ndarray:
    """Lens falloff, cos^4 law: a frame centre near the chip, focal length in chip widths."""
    h, w = img.shape
    side = max(h, w)
    cy = (0.5 + rng.uniform(-cfg.offset, cfg.offset)) * h
    cx = (0.5 + rng.uniform(-cfg.offset, cfg.offset)) * w
    focal = _draw(rng, cfg.focal) * side
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5  # pixel centres
    cos4 = 1.0 / (1.0 + ((yy - cy) ** 2 + (xx - cx) ** 2) / focal**2) ** 2
    return img * (1.0 - _draw(rng, cfg.strength) * (1.0 - cos4))


def _disk(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    k = np.clip(radius + 0.5 - np.hypot(yy, xx), 0.0, 1.0)
    return (k / k.sum()).astype(np.float32)


def blur(img: np.ndarray, rng: np.random.Generator, cfg: BlurConfig) -> np.ndarray:
    """Optical softness (Gaussian) and, sometimes, defocus (a disk kernel)."""
    out = ndimage.gaussian_filter(img, _draw(rng, cfg.sigma), mode="reflect")
    if rng.random() < cfg.defocus_p:
        out = ndimage.convolve(out, _disk(_draw(rng, cfg.defocus_radius)), mode="reflect")
    return out


def grain(img: np.ndarray, rng: np.random.Generator, cfg: GrainConfig) -> np.ndarray:
    """Film grain: white noise low-passed to grain size, scaled to ``amount``, strongest in mid-tones."""
    noise = ndimage.gaussian_filter(rng.standard_normal(img.shape).astype(np.float32), _draw(rng, cfg.size), mode="wrap")
    noise /= max(float(noise.std()), 1e-6)
    midtones = 0.3 + 2.8 * np.clip(img, 0.0, 1.0) * (1.0 - np.clip(img, 0.0, 1.0))
    return img + _draw(rng, cfg.amount) * midtones * noise


def fade(img: np.ndarray, rng: np.random.Generator, cfg: FadeConfig) -> np.ndarray:
    """Faded print: tone curve ``gamma``, then black raised and white dulled (less contrast)."""
    black, white = _draw(rng, cfg.black), _draw(rng, cfg.white)
    return black + (white - black) * np.clip(img, 0.0, 1.0) ** _draw(rng, cfg.gamma)


def drift(img: np.ndarray, rng: np.random.Generator, cfg: DriftConfig) -> np.ndarray:
    """Exposure/development drift between frames: gain, offset, and a gentle linear gradient."""
    h, w = img.shape
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = ((xx / max(w - 1, 1) - 0.5) * np.cos(angle) + (yy / max(h - 1, 1) - 0.5) * np.sin(angle))
    return img * _draw(rng, cfg.gain) + _draw(rng, cfg.brightness) + _draw(rng, cfg.gradient) * ramp


def dust(img: np.ndarray, rng: np.random.Generator, cfg: DustConfig) -> np.ndarray:
    """Dust specks: soft dots, white (dust on the negative) or black (dust on the print)."""
    out = img.copy()
    h, w = img.shape
    for _ in range(int(rng.poisson(_draw(rng, cfg.count) * h * w / 65536))):
        radius = _draw(rng, cfg.radius)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        value = 0.97 if rng.random() < 0.6 else 0.04
        r = int(np.ceil(radius + 1))
        y0, y1 = max(0, int(cy) - r), min(h, int(cy) + r + 1)
        x0, x1 = max(0, int(cx) - r), min(w, int(cx) + r + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        alpha = np.clip(radius + 0.5 - np.hypot(yy + 0.5 - cy, xx + 0.5 - cx), 0.0, 1.0)
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1 - alpha) + value * alpha
    return out


def scratch(img: np.ndarray, rng: np.random.Generator, cfg: ScratchConfig) -> np.ndarray:
    """Scratches: thin anti-aliased lines, mostly along the film (vertical), bright or dark."""
    from skimage.draw import line_aa

    out = img.copy()
    h, w = img.shape
    for _ in range(_draw_int(rng, cfg.count)):
        angle = np.pi / 2 + rng.normal(0, 0.08) if rng.random() < 0.75 else rng.uniform(0, np.pi)
        length = rng.uniform(0.3, 1.2) * max(h, w)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        dy, dx = np.sin(angle) * length / 2, np.cos(angle) * length / 2
        rr, cc, val = line_aa(int(cy - dy), int(cx - dx), int(cy + dy), int(cx + dx))
        keep = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        rr, cc, alpha = rr[keep], cc[keep], val[keep] * _draw(rng, cfg.opacity)
        value = 0.95 if rng.random() < 0.5 else 0.05
        out[rr, cc] = out[rr, cc] * (1 - alpha) + value * alpha
    return out


def scan(img: np.ndarray, rng: np.random.Generator, cfg: ScanConfig) -> np.ndarray:
    """Scanner line noise, 8-bit quantisation and a JPEG round trip at a random quality."""
    from PIL import Image

    rows = rng.normal(0.0, _draw(rng, cfg.line_noise), size=(img.shape[0], 1))
    q = np.clip(np.rint((img + rows) * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(q).save(buf, format="JPEG", quality=_draw_int(rng, cfg.jpeg_quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


EFFECTS: dict[str, Effect] = {
    "vignette": vignette,
    "blur": blur,
    "grain": grain,
    "fade": fade,
    "drift": drift,
    "dust": dust,
    "scratch": scratch,
    "scan": scan,
}


def chip_seed(seed: int, key: str) -> np.random.SeedSequence:
    """The seed sequence of one chip: the dataset seed and a stable hash of the chip id."""
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


def degrade(gray: np.ndarray, cfg: FilmConfig, seed: int, key: str) -> np.ndarray:
    """Degrade an H x W uint8 gray chip like an old aerial print; deterministic for (seed, key)."""
    img = gray.astype(np.float32) / 255.0
    children = chip_seed(seed, key).spawn(len(EFFECTS))
    rngs = {name: np.random.default_rng(s) for name, s in zip(EFFECTS, children, strict=True)}
    for name in cfg.order:
        rng = rngs[name]
        effect_cfg = getattr(cfg, name)
        if rng.random() < effect_cfg.p:
            img = EFFECTS[name](img, rng, effect_cfg)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def apply_effect(gray: np.ndarray, name: str, cfg: FilmConfig, seed: int = 0) -> np.ndarray:
    """One effect on a uint8 gray chip (always applied, whatever its ``p``); for tests and previews."""
    img = EFFECTS[name](gray.astype(np.float32) / 255.0, np.random.default_rng(seed), getattr(cfg, name))
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
