"""geocolor: colorize historical grayscale aerial photographs, keeping them georeferenced.

The package is a library first (``geocolor.mosaic.colorize``, ``geocolor.models.load``) with a thin
command line (``geocolor``) and QGIS plugin on top. Importing ``geocolor`` is cheap: heavy
dependencies (torch, rasterio) are imported by the submodules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
