"""Image augmentation for training and distillation: a random horizontal flip and a random shift per
sample (zero fill), on NHWC float batches. Each sample gets its own flip and shift: one shift for the whole
batch (what we had) moves every image the same way and augments far less."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_shift(x: torch.Tensor, gen: torch.Generator, shift: int | None = None) -> torch.Tensor:
    """x [N, H, W, C]: each sample flipped left-right with probability 1/2 and shifted by up to `shift`
    pixels each way (default H/8, 4 pixels for 32x32); other ranks are returned unchanged."""
    if x.dim() != 4:
        return x
    n, h, w, _ = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(2), x)
    s = max(h // 8, 0) if shift is None else shift
    if s == 0:
        return x
    padded = F.pad(x, (0, 0, s, s, s, s))
    dy = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, :, None].expand(n, h, w)  # [N, H, W] source row
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, :].expand(n, h, w)
    batch = torch.arange(n)[:, None, None].expand(n, h, w)
    return padded[batch, rows, cols]
