"""Show the gray input with the contrast the engine used, so input and colour output compare pixel for pixel.

The engine maps the input's values ``low..high`` (its 0.5-99.5 percentiles; 0..255 for 8-bit data) to black..white
and keeps that lightness in the colour output, an 8-bit RGB file QGIS shows as it is. QGIS's default for a
gray layer is its own stretch (a 2-98 % cumulative cut of a sample), so a 16-bit scan looks harsher or flatter
than the output beside it. The output is the product and keeps its true values; the input's *view* is what
changes: a linear min/max stretch at the engine's ``low..high``, with the min/max origin set to user-defined
so QGIS does not recompute it on the next zoom. Only gray (single-band) and RGB-as-gray (multiband colour)
renderers are touched; a layer styled otherwise (pseudocolour, palette) keeps its style.
"""

from __future__ import annotations

from qgis.core import (
    QgsContrastEnhancement,
    QgsMultiBandColorRenderer,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsSingleBandGrayRenderer,
)


def _enhancement(layer: QgsRasterLayer, band: int, low: float, high: float) -> QgsContrastEnhancement:
    enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(band))
    enhancement.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
    enhancement.setMinimumValue(low)
    enhancement.setMaximumValue(high)
    return enhancement


def _user_defined() -> QgsRasterMinMaxOrigin:
    origin = QgsRasterMinMaxOrigin()
    origin.setLimits(QgsRasterMinMaxOrigin.None_)
    return origin


def show_like_engine(layer: QgsRasterLayer, low: float, high: float) -> bool:
    """Stretch ``layer``'s gray (or RGB) display linearly from ``low`` to ``high``; False when its renderer is another kind."""
    renderer = layer.renderer()
    if isinstance(renderer, QgsSingleBandGrayRenderer):
        renderer.setContrastEnhancement(_enhancement(layer, renderer.grayBand(), low, high))
    elif isinstance(renderer, QgsMultiBandColorRenderer):
        renderer.setRedContrastEnhancement(_enhancement(layer, renderer.redBand(), low, high))
        renderer.setGreenContrastEnhancement(_enhancement(layer, renderer.greenBand(), low, high))
        renderer.setBlueContrastEnhancement(_enhancement(layer, renderer.blueBand(), low, high))
    else:
        return False
    renderer.setMinMaxOrigin(_user_defined())
    layer.triggerRepaint()
    layer.emitStyleChanged()
    return True
