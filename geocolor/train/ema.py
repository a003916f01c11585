"""An exponential moving average of the exported generator's weights (``ema`` in a training config).

Successive checkpoints of a short fine-tuning differ by the noise of their last few hundred batches, and the
held-out set that picks one is small; the average of the weights over the last ~1/(1-decay) steps is a smoother
model (Polyak averaging). The average is what is evaluated, kept as ``best.pt`` and exported; training itself
goes on with the raw weights. Early on the decay is ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so
the average follows the first steps instead of staying at the starting weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def effective_decay(decay: float, updates: int) -> float:
    """The decay of update number ``updates`` (0-based): ``decay``, lower during the first steps."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class WeightAverage:
    """The moving average of ``net``'s floating-point parameters and buffers (integer buffers are copied)."""

    def __init__(self, net: torch.nn.Module, decay: float) -> None:
        self.net, self.decay, self.updates = net, decay, 0
        self.average = {k: v.detach().clone() for k, v in net.state_dict().items()}

    @torch.no_grad()
    def update(self) -> None:
        d = effective_decay(self.decay, self.updates)
        for k, v in self.net.state_dict().items():
            avg = self.average[k]
            if avg.is_floating_point():  # in float64: a float32 kernel's rounding may depend on memory alignment
                avg.copy_(avg.double().mul_(d).add_(v.detach().double(), alpha=1.0 - d))
            else:
                avg.copy_(v)
        self.updates += 1

    @contextmanager
    def applied(self) -> Iterator[None]:
        """``net`` holds the averaged weights inside the block, its own weights again after it."""
        own = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        self.net.load_state_dict(self.average)
        try:
            yield
        finally:
            self.net.load_state_dict(own)

    def state_dict(self) -> dict[str, object]:
        return {"average": self.average, "updates": self.updates}

    def load_state_dict(self, state: dict[str, object]) -> None:
        average, updates = state["average"], state["updates"]
        assert isinstance(average, dict) and isinstance(updates, int)
        if average.keys() != self.average.keys():
            raise KeyError("the checkpoint's weight average does not fit this generator")
        self.average = {k: v.to(self.average[k].device) for k, v in average.items()}
        self.updates = updates
