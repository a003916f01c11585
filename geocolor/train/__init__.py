"""Training: typed config, chip sampling, models (pix2pix, cyclegan), the loop, checkpoints and reports."""
