"""PatchNCE (Park et al. 2020, CUT): contrastive loss between patches of an input and its translation.

A patch of the output should be recognisable as coming from the same place of the input among the
other patches of that input. The pieces:

- ``encoder_features(G, x, layers)``: feature maps of the generator's own encoder at chosen layers.
  ResNet generators: ``layers`` index the generator's layer list (``G.model``) up to the last
  residual block, as in CUT (``0, 4, 8, 12, 16`` for ``resnet_9blocks``); U-Nets: 0 is the input,
  k the output of the k-th down-sampling block. Features are what the forward pass leaves (a
  following in-place activation applies), as in CUT.
- ``PatchProjector``: samples the same ``num_patches`` positions from matching feature maps and
  projects each layer's patches with its own 2-layer MLP (Linear, ReLU, Linear) to unit vectors.
- ``patch_nce_loss(q, k, t)``: InfoNCE with temperature ``t``; query i's positive is key i, its
  negatives are the other keys of the same image; the keys are not differentiated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.generators import ResnetGenerator, UnetGenerator


def encoder_depth(G: nn.Module) -> int:
    """The largest layer index ``encoder_features`` accepts for this generator."""
    if isinstance(G, ResnetGenerator):
        n_blocks = sum(1 for m in G.model if type(m).__name__ == "ResnetBlock")
        return 9 + n_blocks  # pad, conv, norm, relu, 2 x (conv, norm, relu), the residual blocks
    if isinstance(G, UnetGenerator):
        return len(G.down)
    raise ConfigError(f"PatchNCE needs a resnet or unet generator, not {type(G).__name__}")


def _encoder_steps(G: nn.Module) -> list[nn.Module]:
    if isinstance(G, ResnetGenerator):
        return list(G.model)[: encoder_depth(G) + 1]
    if isinstance(G, UnetGenerator):
        return [nn.Identity(), *G.down]
    raise ConfigError(f"PatchNCE needs a resnet or unet generator, not {type(G).__name__}")


def encoder_features(G: nn.Module, x: torch.Tensor, layers: list[int]) -> list[torch.Tensor]:
    """Feature maps of ``G``'s encoder at ``layers`` (in the order given), running only as deep as needed."""
    steps = _encoder_steps(G)
    wanted = set(layers)
    found: dict[int, torch.Tensor] = {}
    for i, step in enumerate(steps[: max(layers) + 1]):
        x = step(x)
        if i in wanted:
            found[i] = x
    return [found[i] for i in layers]


def patch_nce_loss(q: torch.Tensor, k: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Mean InfoNCE over patches: ``q`` and ``k`` (B, P, C), unit vectors; positives on the diagonal."""
    k = k.detach()
    n_patches = q.shape[1]
    positive = (q * k).sum(-1, keepdim=True)  # (B, P, 1)
    similarity = torch.bmm(q, k.transpose(1, 2))  # (B, P, P): every query against every key
    self_pair = torch.eye(n_patches, dtype=torch.bool, device=q.device)[None]
    negatives = similarity.masked_fill(self_pair, -10.0)  # the positive is not its own negative
    logits = torch.cat([positive, negatives], -1).flatten(0, 1) / temperature
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=q.device))


class PatchProjector(nn.Module):
    """One 2-layer MLP head per NCE layer; samples patch positions and projects them to unit vectors."""

    def __init__(self, channels: list[int], dim: int = 256) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)

    def forward(
        self, feats: list[torch.Tensor], num_patches: int, ids: list[torch.Tensor] | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Project ``num_patches`` positions per layer ((B, P, dim) each); ``ids`` reuses earlier positions."""
        out, used = [], []
        for i, (feat, head) in enumerate(zip(feats, self.heads)):
            flat = feat.flatten(2).transpose(1, 2)  # (B, H*W, C)
            pick = ids[i] if ids is not None else torch.randperm(flat.shape[1], device=feat.device)[:num_patches]
            out.append(F.normalize(head(flat[:, pick]), dim=-1))
            used.append(pick)
        return out, used
