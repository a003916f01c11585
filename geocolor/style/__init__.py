"""Colour style for mosaics: one palette for many sheets.

- ``palette``: pure functions on a*b* statistics (moments, pooling, the affine map that moves one
  Gaussian palette onto another, applying it with L* untouched);
- ``reference``: colour statistics of a reference raster of any size (decimated read);
- ``apply``: turning ``--style reference.tif | NAME | auto`` into a translator that gives every tile
  the same palette: a style code for a style-conditioned (stylecolor) model, palette matching of
  the predictions for any other model.
"""
