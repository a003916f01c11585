"""Training: typed config (``config``), the model seam (``base.TrainableModel`` + ``registry.MODELS``),
one file per model (pix2pix, cyclegan, stylecolor, cut / fastcut, bicyclegan, inpaint), chip sampling
(``data``), precision and DDP (``precision``, ``distributed``), the loop (``trainer``) and its reports."""
