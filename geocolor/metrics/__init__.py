"""Image quality metrics: pixel metrics now, feature metrics (FID, IS, LPIPS) later."""
