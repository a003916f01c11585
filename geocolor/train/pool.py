"""A history of generated images for the discriminator updates (Shrivastava et al. 2017).

CycleGAN's discriminators are trained not only on the newest fakes but on a buffer of earlier ones,
which damps the oscillation between generator and discriminator. ``ImagePool.query`` takes a batch
of fresh fakes and returns a batch of the same size: while the pool is filling, each fake is stored
and returned as is; once full, each fake is, with probability ``swap_probability`` (1/2 in the
paper), swapped for a randomly chosen stored one (the stored one is returned, the fresh one takes
its place), else returned as is. A pool of size 0 returns its input unchanged.
"""

from __future__ import annotations

import torch


class ImagePool:
    """A fixed-size buffer of past fakes; draws come from ``generator`` (the global torch RNG if None)."""

    def __init__(self, size: int = 50, swap_probability: float = 0.5, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.swap_probability = swap_probability
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch (N, C, H, W) of fakes for the discriminator, mixed with the history (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < self.swap_probability:
                k = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[k])
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored images as one tensor (empty while the pool is empty), for checkpoints."""
        return {"images": torch.stack(self.images) if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        images = state["images"]
        self.images = [] if images.numel() == 0 else [im.clone() for im in images[: self.size]]
