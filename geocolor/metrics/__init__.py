"""Image quality metrics and model evaluation.

``pixel`` (PSNR, SSIM, CIEDE2000; a*b* PSNR/SSIM), ``colourfulness`` (Hasler–Süsstrunk),
``frechet`` (Fréchet distance, Inception Score), ``features`` (FID/IS/LPIPS networks from explicit
weight paths, skipped when absent), ``inputs`` (dataset split, image folder, GeoTIFF pair),
``evaluate`` (models vs gray and mean-colour baselines, JSON) and ``report`` (offline HTML).
"""
