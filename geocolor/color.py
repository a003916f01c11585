"""Colour conversion between sRGB and CIE L*a*b* (D65), for numpy arrays and torch tensors.

geocolor keeps the photo's own luminance and predicts only chroma, so the conversions here are the
contract between training and inference: a gray pixel of value ``g`` has the L* of the sRGB colour
``(g, g, g)``, and Lab ``(L*, 0, 0)`` maps back to exactly that gray. The same formulas run on numpy
(mosaic, metrics) and torch (training batches); they agree with scikit-image's ``rgb2lab`` and
``lab2rgb`` to within 0.01 (tests check it); unlike them, sRGB grays get a* = b* = 0 exactly.

All functions are pure. RGB values are floats in [0, 1]; L* is in [0, 100]; a*, b* roughly in
[-110, 110]. ``axis`` names the channel axis (``-1`` for HWC numpy, ``1`` for NCHW tensors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")  # a function taking one returns the same kind

# sRGB primaries with D65 white (IEC 61966-2-1), as used by scikit-image.
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_XYZ_TO_RGB = tuple(map(tuple, np.linalg.inv(np.array(_RGB_TO_XYZ)).tolist()))
# White = the matrix's row sums (0.950456, 1, 1.088754), within 2e-5 of the D65 white point used by
# scikit-image; it makes sRGB grays land exactly on a* = b* = 0 and back.
WHITE_D65 = tuple(float(sum(row)) for row in _RGB_TO_XYZ)
_DELTA = 6.0 / 29.0
AB_SCALE = 110.0  # a*, b* are divided by this for networks (tanh range)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _split(x: Any, axis: int) -> tuple[Any, Any, Any]:
    if _is_torch(x):
        return x.select(axis, 0), x.select(axis, 1), x.select(axis, 2)
    return np.take(x, 0, axis=axis), np.take(x, 1, axis=axis), np.take(x, 2, axis=axis)


def _stack(parts: list[Any], axis: int) -> Any:
    if _is_torch(parts[0]):
        import torch

        return torch.stack(parts, dim=axis)
    return np.stack(parts, axis=axis)


def _where(cond: Any, a: Any, b: Any) -> Any:
    if _is_torch(cond):
        import torch

        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def _clip(x: Any, lo: float, hi: float | None) -> Any:
    return x.clamp(lo, hi) if _is_torch(x) else np.clip(x, lo, hi)


def srgb_to_linear(c: ArrayT) -> ArrayT:
    """sRGB gamma-encoded [0, 1] -> linear light."""
    return _where(c <= 0.04045, c / 12.92, ((_clip(c, 0.04045, None) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: ArrayT) -> ArrayT:
    """Linear light -> sRGB gamma-encoded (not clipped)."""
    return _where(c <= 0.0031308, c * 12.92, 1.055 * _clip(c, 0.0031308, None) ** (1 / 2.4) - 0.055)


def _f(t: Any) -> Any:
    return _where(t > _DELTA**3, _clip(t, _DELTA**3, None) ** (1.0 / 3.0), t / (3 * _DELTA**2) + 4.0 / 29.0)


def _finv(t: Any) -> Any:
    return _where(t > _DELTA, t**3, 3 * _DELTA**2 * (t - 4.0 / 29.0))


def rgb_to_lab(rgb: ArrayT, axis: int = -1) -> ArrayT:
    """sRGB in [0, 1] -> CIE L*a*b* (D65)."""
    r, g, b = (srgb_to_linear(c) for c in _split(rgb, axis))
    m = _RGB_TO_XYZ
    x = (m[0][0] * r + m[0][1] * g + m[0][2] * b) / WHITE_D65[0]
    y = m[1][0] * r + m[1][1] * g + m[1][2] * b
    z = (m[2][0] * r + m[2][1] * g + m[2][2] * b) / WHITE_D65[2]
    fx, fy, fz = _f(x), _f(y), _f(z)
    return _stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis)


def lab_to_linear_rgb(lab: ArrayT, axis: int = -1) -> ArrayT:
    """CIE L*a*b* -> linear-light RGB (unclipped; outside [0, 1] means out of gamut)."""
    lum, a, b = _split(lab, axis)
    fy = (lum + 16.0) / 116.0
    x = _finv(fy + a / 500.0) * WHITE_D65[0]
    y = _finv(fy)
    z = _finv(fy - b / 200.0) * WHITE_D65[2]
    m = _XYZ_TO_RGB
    return _stack([m[i][0] * x + m[i][1] * y + m[i][2] * z for i in range(3)], axis)


def lab_to_rgb(lab: ArrayT, axis: int = -1) -> ArrayT:
    """CIE L*a*b* -> sRGB in [0, 1], clipped per channel (what scikit-image does)."""
    return _clip(linear_to_srgb(_clip(lab_to_linear_rgb(lab, axis), 0.0, 1.0)), 0.0, 1.0)


def gray_to_lightness(gray: ArrayT) -> ArrayT:
    """Gray values in [0, 1] (an sRGB gray image) -> L* in [0, 100]."""
    return 116.0 * _f(srgb_to_linear(gray)) - 16.0


def lightness_to_gray(lum: ArrayT) -> ArrayT:
    """L* in [0, 100] -> sRGB gray value in [0, 1] (inverse of ``gray_to_lightness``)."""
    return linear_to_srgb(_finv((lum + 16.0) / 116.0))


def uint8_lightness_lut() -> np.ndarray:
    """L* of each uint8 gray level, as a 256-entry float32 lookup table."""
    return gray_to_lightness(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)


def _concat(parts: list[Any], axis: int) -> Any:
    if _is_torch(parts[0]):
        import torch

        return torch.cat(parts, dim=axis)
    return np.concatenate(parts, axis=axis)


def lab_to_rgb_keep_lightness(lab: ArrayT, iterations: int = 8) -> ArrayT:
    """Lab (..., 3) -> sRGB [0, 1], reducing chroma of out-of-gamut pixels instead of clipping.

    Clipping RGB per channel changes a pixel's lightness; geocolor promises the output keeps the input's
    luminance, so out-of-gamut pixels have their (a*, b*) scaled toward 0 (bisection on the scale)
    until they fit. L* is untouched up to the final 8-bit rounding. Works on numpy and torch.
    """
    lab = _finite_chroma(lab)
    lin = lab_to_linear_rgb(lab)
    bad = ((lin < 0.0) | (lin > 1.0)).any(-1)
    if bad.any():
        lin[bad] = lab_to_linear_rgb(_reduce_chroma(lab[bad], iterations))
    return _clip(linear_to_srgb(_clip(lin, 0.0, 1.0)), 0.0, 1.0)


def _finite_chroma(lab: Any) -> Any:
    """Lab with non-finite a*/b* set to 0 (gray at the pixel's own L*), so no NaN reaches an 8-bit cast."""
    if _is_torch(lab):
        import torch

        if bool(torch.isfinite(lab[..., 1:]).all()):
            return lab
        lab = lab.clone()
        lab[..., 1:] = torch.nan_to_num(lab[..., 1:], nan=0.0, posinf=0.0, neginf=0.0)
        return lab
    if np.isfinite(lab[..., 1:]).all():
        return lab
    lab = lab.copy()
    lab[..., 1:] = np.nan_to_num(lab[..., 1:], nan=0.0, posinf=0.0, neginf=0.0)
    return lab


_SRGB8_LUT_SIZE = 65536


def _srgb8_lut() -> np.ndarray:
    lin = np.arange(_SRGB8_LUT_SIZE, dtype=np.float64) / (_SRGB8_LUT_SIZE - 1)
    return np.round(np.clip(linear_to_srgb(lin), 0, 1) * 255).astype(np.uint8)


_SRGB8 = _srgb8_lut()


def lab_to_srgb8(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) float32 numpy -> 8-bit sRGB (..., 3), keeping lightness (see ``lab_to_rgb_keep_lightness``).

    The fast path of mosaic: gamut mapping only for the out-of-gamut pixels, and the sRGB gamma
    curve through a 65536-entry lookup table (error below 0.05 of one 8-bit level).
    """
    lab = _finite_chroma(lab)
    lin = lab_to_linear_rgb(lab)
    bad = ((lin < 0.0) | (lin > 1.0)).any(-1)
    if bad.any():
        lin[bad] = lab_to_linear_rgb(_reduce_chroma(lab[bad]))
    idx = (np.clip(lin, 0.0, 1.0) * (_SRGB8_LUT_SIZE - 1) + 0.5).astype(np.uint16)
    return _SRGB8[idx]


def lab_planes_to_srgb8(lum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L*, a*, b* planes (H, W) float32 -> 8-bit sRGB planes (3, H, W): ``lab_to_srgb8`` for planar data.

    The same result as ``lab_to_srgb8`` on the stacked pixels (lightness-keeping gamut mapping, the
    65536-entry gamma table), computed plane by plane in float32 with few temporaries: the mosaic's
    colour conversion, about three times faster than the pixel-interleaved form.
    """
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        b = np.nan_to_num(b, nan=0.0, posinf=0.0, neginf=0.0)
    fy = (lum.astype(np.float32) + np.float32(16.0)) * np.float32(1.0 / 116.0)
    x = _finv_planar(fy + a * np.float32(1.0 / 500.0))
    x *= np.float32(WHITE_D65[0])
    y = _finv_planar(fy)
    z = _finv_planar(fy - b * np.float32(1.0 / 200.0))
    z *= np.float32(WHITE_D65[2])
    lin = np.empty((3, *lum.shape), dtype=np.float32)
    for i, row in enumerate(_XYZ_TO_RGB):
        np.multiply(x, np.float32(row[0]), out=lin[i])
        lin[i] += y * np.float32(row[1])
        lin[i] += z * np.float32(row[2])
    low, high = lin.min(axis=0), lin.max(axis=0)
    bad = (low < 0.0) | (high > 1.0)
    if bad.any():
        sub = np.stack([lum[bad], a[bad], b[bad]], axis=-1).astype(np.float32)
        lin[:, bad] = lab_to_linear_rgb(_reduce_chroma(sub)).T
    np.clip(lin, 0.0, 1.0, out=lin)
    lin *= np.float32(_SRGB8_LUT_SIZE - 1)
    lin += np.float32(0.5)
    return _SRGB8[lin.astype(np.uint16)]


def _finv_planar(t: np.ndarray) -> np.ndarray:
    """``_finv`` for a float32 plane, in place where it can be: t**3 above delta, the linear segment below."""
    low = t <= np.float32(_DELTA)
    linear = (t[low] - np.float32(4.0 / 29.0)) * np.float32(3 * _DELTA**2)
    cube = t * t
    cube *= t
    cube[low] = linear
    return cube


def _reduce_chroma(sub: Any, iterations: int = 8) -> Any:
    """Scale (a*, b*) of each Lab row toward 0 (bisection) until its linear RGB fits in [0, 1]."""
    lo = sub[:, 0] * 0.0
    hi = lo + 1.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        t = lab_to_linear_rgb(_concat([sub[:, :1], sub[:, 1:] * mid[:, None]], 1))
        ok = ((t >= -1e-5) & (t <= 1.0 + 1e-5)).all(-1)
        lo = _where(ok, mid, lo)
        hi = _where(ok, hi, mid)
    return _concat([sub[:, :1], sub[:, 1:] * lo[:, None]], 1)


# ------------------------------------------------------------------ uint8 chips (evaluation, training)


def lab_to_uint8(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) numpy -> 8-bit sRGB (..., 3) through ``lab_to_rgb_keep_lightness`` (exact; ``lab_to_srgb8`` is the fast path)."""
    return np.round(lab_to_rgb_keep_lightness(lab) * 255.0).astype(np.uint8)


def input_lab(chips: list[np.ndarray], grays: list[np.ndarray] | None) -> np.ndarray:
    """Lab (N, H, W, 3) of the uint8 sRGB chips, with L* replaced by the uint8 gray inputs' L* when they are given."""
    lab = rgb_to_lab(np.stack(chips).astype(np.float32) / 255.0)
    if grays is not None:
        lab[..., 0] = gray_to_lightness(np.stack(grays).astype(np.float32) / 255.0)
    return lab


def mean_chroma(images: list[np.ndarray], step: int = 4) -> tuple[float, float]:
    """Mean a*, b* over the non-nodata (not all-zero) pixels of uint8 RGB images (every ``step``-th pixel)."""
    sums = np.zeros(2)
    count = 0
    for img in images:
        px = img[::step, ::step].reshape(-1, 3)
        px = px[px.max(axis=1) > 0].astype(np.float32) / 255.0
        if len(px):
            lab = rgb_to_lab(px)
            sums += lab[:, 1:].sum(axis=0)
            count += len(px)
    return (float(sums[0] / count), float(sums[1] / count)) if count else (0.0, 0.0)
