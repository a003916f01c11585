"""Fit the film degradation to the scans themselves, so training grays look like the photos to colour.

The default film model (``geocolor.dataset.film``) draws every effect from wide ranges: good for a
model that must meet any photo, loose for one photo set. Here three properties are measured on the
scans and on the modern imagery, and the degradation is fitted to carry the second onto the first:

- **tone**: the distribution of L*; fitted as a monotone quantile curve (``geocolor.style.tone``)
  from the modern gray's L* to the scans' L* (this replaces the generic ``fade``);
- **noise** (grain): the robust standard deviation (1.4826 x MAD) of the high-pass residual
  (image minus its Gaussian blur, sigma 1) on the flattest 30 % of pixels;
- **sharpness**: gradient energy at sigma 0.7 over that at sigma 1.5 (square-rooted), less what
  grain of the measured noise level adds at each scale (so grain does not read as sharpness).

Blur and grain are fitted by simulation: the modern sample is tone-mapped, blurred with each
candidate sigma and given grain of the amount that matches the scans' noise (bisection), and the
sigma whose sharpness is nearest the scans' wins. The result is a ``FittedFilm``: the tone curve plus
a ``FilmConfig`` whose blur and grain ranges sit around the fitted values (+-20 %), with the fade
effect off and the handling effects (dust, scratches, vignetting, drift, scanning) kept at their
defaults. All functions are pure (numpy in, numpy out; seeded).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from geocolor.dataset.config import FilmConfig
from geocolor.style.tone import apply_curve, quantiles, tone_curve

FLAT_SHARE = 0.3  # the flattest share of pixels the noise is measured on
BLUR_CANDIDATES = (0.0, 0.4, 0.7, 1.0, 1.4, 1.9, 2.5)  # Gaussian sigmas tried (px)
GRAIN_SIZE = 0.6  # grain sigma (px) of the fitted grain
MAX_SIDE = 1024  # samples are measured on at most this many pixels a side


@dataclass
class ScanStats:
    """What the fit matches: L* percentiles 0..100, noise sigma (gray 0..1), sharpness ratio."""

    lightness: list[float]
    noise: float
    sharpness: float


@dataclass
class FittedFilm:
    """A tone curve (L* 0..100 tabulated, ``geocolor.style.tone``) and the fitted film config."""

    curve: list[float]
    film: FilmConfig
    scans: ScanStats
    modern: ScanStats
    blur_sigma: float
    grain_amount: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedFilm:
        from geocolor.configs import build

        return cls(
            curve=[float(v) for v in data["curve"]],
            film=build(FilmConfig, data["film"], "film"),
            scans=ScanStats(**data["scans"]),
            modern=ScanStats(**data["modern"]),
            blur_sigma=float(data["blur_sigma"]),
            grain_amount=float(data["grain_amount"]),
            notes=list(data.get("notes", [])),
        )


def _to_lightness(gray01: np.ndarray) -> np.ndarray:
    from geocolor.color import gray_to_lightness

    return np.asarray(gray_to_lightness(np.asarray(gray01, dtype=np.float32)))


def _to_gray(lightness: np.ndarray) -> np.ndarray:
    from geocolor.color import lightness_to_gray

    return np.asarray(lightness_to_gray(np.asarray(lightness, dtype=np.float32)))


def noise_sigma(gray01: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Robust noise of a gray image in [0, 1]: 1.4826 x MAD of its high-pass residual on the flattest pixels."""
    img = gray01.astype(np.float32)
    residual = img - ndimage.gaussian_filter(img, 1.0)
    grad = ndimage.gaussian_gradient_magnitude(img, 2.0)
    ok = np.ones(img.shape, bool) if valid is None else ndimage.binary_erosion(valid, iterations=3)
    ok[:3], ok[-3:], ok[:, :3], ok[:, -3:] = False, False, False, False
    if ok.sum() < 64:
        return 0.0
    flat = ok & (grad <= np.quantile(grad[ok], FLAT_SHARE))
    r = residual[flat]
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def _gradient_energy(img: np.ndarray, ok: np.ndarray) -> tuple[float, float]:
    fine = ndimage.gaussian_gradient_magnitude(img, 0.7)
    coarse = ndimage.gaussian_gradient_magnitude(img, 1.5)
    return float((fine[ok] ** 2).mean()), float((coarse[ok] ** 2).mean())


def _noise_field(shape: tuple[int, int], noise: float, seed: int = 1) -> np.ndarray:
    """Grain on a flat mid-gray field whose measured noise is ``noise``: what grain alone adds to gradients."""
    flat = np.full(shape, 0.5, np.float32)
    return _grain(flat, _grain_for(flat, noise, seed, high=0.3), seed)


def sharpness(gray01: np.ndarray, valid: np.ndarray | None = None, noise: float | None = None) -> float:
    """Gradient energy at sigma 0.7 over that at sigma 1.5, square-rooted (about 1 for a soft image,
    larger for a crisp one), after subtracting what grain of the image's own noise level adds at
    each scale (``noise``: measured when not given), so grain does not read as sharpness."""
    img = gray01.astype(np.float32)
    ok = np.ones(img.shape, bool) if valid is None else ndimage.binary_erosion(valid, iterations=5)
    ok[:5], ok[-5:], ok[:, :5], ok[:, -5:] = False, False, False, False
    if ok.sum() < 64:
        return 1.0
    fine, coarse = _gradient_energy(img, ok)
    level = noise_sigma(gray01, valid) if noise is None else noise
    if level > 0:
        side = min(256, *img.shape)
        nf, nc = _gradient_energy(_noise_field((side, side), level), np.ones((side, side), bool))
        fine, coarse = max(fine - nf, 1e-12), max(coarse - nc, 1e-12)
    return float(np.sqrt(fine / coarse))


def measure(gray01: np.ndarray, valid: np.ndarray | None = None) -> ScanStats:
    """The statistics the fit matches, of one gray image in [0, 1] (``valid``: pixels to use)."""
    lum = _to_lightness(gray01)
    values = lum[valid] if valid is not None else lum
    return ScanStats([round(float(v), 3) for v in quantiles(values)], noise_sigma(gray01, valid), sharpness(gray01, valid))


def pooled(stats: list[ScanStats]) -> ScanStats:
    """One set of statistics for several images (each counts the same)."""
    from geocolor.style.tone import pool_quantiles

    q = pool_quantiles([np.asarray(s.lightness) for s in stats])
    return ScanStats([round(float(v), 3) for v in q], float(np.median([s.noise for s in stats])),
                     float(np.median([s.sharpness for s in stats])))


def apply_tone(gray01: np.ndarray, curve: np.ndarray | list[float]) -> np.ndarray:
    """A gray image in [0, 1] through an L* tone curve."""
    return np.clip(_to_gray(apply_curve(_to_lightness(gray01), np.asarray(curve, dtype=np.float32))), 0.0, 1.0)


def _grain(img: np.ndarray, amount: float, seed: int) -> np.ndarray:
    from geocolor.dataset.config import GrainConfig
    from geocolor.dataset.film import grain

    if amount <= 0:
        return img
    return grain(img, np.random.default_rng(seed), GrainConfig(amount=(amount, amount), size=(GRAIN_SIZE, GRAIN_SIZE)))


def _grain_for(img: np.ndarray, target_noise: float, seed: int, high: float = 0.2) -> float:
    """The grain amount that brings ``img``'s measured noise to ``target_noise`` (0 if it is already there),
    by bisection on [0, ``high``]."""
    if target_noise <= 0 or noise_sigma(img) >= target_noise:
        return 0.0
    lo, hi = 0.0, high
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        if noise_sigma(_grain(img, mid, seed)) < target_noise:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _sample(gray01: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = gray01.shape
    r0, c0 = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    return gray01[r0 : r0 + max_side, c0 : c0 + max_side]


def fit_film(scans: ScanStats, modern_gray01: np.ndarray, seed: int = 0) -> FittedFilm:
    """Fit tone, blur and grain that carry ``modern_gray01`` (a modern gray sample in [0, 1]) onto ``scans``."""
    modern = measure(modern_gray01)
    curve = tone_curve(np.asarray(modern.lightness), np.asarray(scans.lightness))
    toned = apply_tone(_sample(modern_gray01), curve)
    best: tuple[float, float, float] | None = None  # (error, sigma, amount)
    for sigma in BLUR_CANDIDATES:
        blurred = ndimage.gaussian_filter(toned, sigma) if sigma > 0 else toned
        amount = _grain_for(blurred, scans.noise, seed)
        simulated = _grain(blurred, amount, seed)
        err = abs(np.log(sharpness(simulated) / max(scans.sharpness, 1e-6)))
        if best is None or err < best[0]:
            best = (err, sigma, amount)
    assert best is not None
    _, sigma, amount = best
    film = FilmConfig()
    film.fade.p = 0.0  # the tone curve does this job, fitted
    film.blur.p = 1.0 if sigma > 0 else 0.0
    film.blur.sigma = (round(0.8 * sigma, 3), round(1.2 * sigma, 3))
    film.blur.defocus_p = 0.0
    film.grain.p = 1.0 if amount > 0 else 0.0
    film.grain.amount = (round(0.8 * amount, 4), round(1.2 * amount, 4))
    film.grain.size = (GRAIN_SIZE, GRAIN_SIZE)
    notes = [f"tone: modern median L* {modern.lightness[50]:.1f} -> scans {scans.lightness[50]:.1f}",
             f"blur sigma {sigma:.2f} px (sharpness {modern.sharpness:.2f} -> {scans.sharpness:.2f})",
             f"grain amount {amount:.4f} (noise {modern.noise:.4f} -> {scans.noise:.4f})"]
    return FittedFilm([float(v) for v in curve], film, scans, modern, float(sigma), float(amount), notes)


def degrade_fitted(gray_u8: np.ndarray, fitted: FittedFilm, seed: int, key: str) -> np.ndarray:
    """A uint8 gray chip made to look like the scans: the fitted tone curve, then the fitted film effects."""
    from geocolor.dataset.film import degrade

    toned = apply_tone(gray_u8.astype(np.float32) / 255.0, fitted.curve)
    return degrade(np.clip(np.rint(toned * 255.0), 0, 255).astype(np.uint8), fitted.film, seed, key)
