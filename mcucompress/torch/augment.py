"""Image augmentation for training and distillation: a random horizontal flip and a random shift per
sample (zero fill), on NHWC float batches. Each sample gets its own flip and shift: one shift for the whole
batch (what we had) moves every image the same way and augments far less. CutMix boxes (Yun et al. 2019) for
distillation, where the teacher labels whatever image results (Beyer et al. 2022, "a good teacher is patient and
consistent"): from a few hundred calibration images they make many more distinct inputs."""

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


def cutmix(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """x [N, H, W, C]: each sample gets a box of another sample of the batch pasted in, the box's area a uniform
    fraction of the image's and its centre uniform (clipped at the borders); other ranks are returned unchanged."""
    return cutmix_with_partners(x, gen)[0]


def cutmix_with_partners(x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """cutmix, also returning each sample's partner index [N] and the fraction of its own image it keeps [N] (the
    label weights of CutMix's training loss; 1 everywhere for other ranks)."""
    n = x.shape[0]
    if x.dim() != 4:
        return x, torch.arange(n), torch.ones(n)
    _, h, w, _ = x.shape
    partner = torch.randperm(n, generator=gen)
    side = torch.rand(n, generator=gen).sqrt()  # box side / image side: area fraction uniform in [0, 1)
    bh, bw = (side * h).long(), (side * w).long()
    cy, cx = torch.randint(0, h, (n,), generator=gen), torch.randint(0, w, (n,), generator=gen)
    y0, y1 = (cy - bh // 2).clamp(min=0), (cy + bh // 2).clamp(max=h)
    x0, x1 = (cx - bw // 2).clamp(min=0), (cx + bw // 2).clamp(max=w)
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside = (((ys >= y0[:, None]) & (ys < y1[:, None]))[:, :, None] &
              ((xs >= x0[:, None]) & (xs < x1[:, None]))[:, None, :])
    keep = 1 - ((y1 - y0).clamp(min=0) * (x1 - x0).clamp(min=0)).float() / (h * w)
    return torch.where(inside[..., None], x[partner], x), partner, keep
