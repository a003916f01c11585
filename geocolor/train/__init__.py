"""Training: typed config, chip sampling, models (pix2pix), the loop, checkpoints and reports."""
