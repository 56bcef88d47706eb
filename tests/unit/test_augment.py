"""Image augmentation for training and distillation (mcucompress/torch/augment.py): per-sample flips and shifts,
and CutMix boxes that paste one rectangle of another sample of the batch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcucompress.torch.augment import cutmix, cutmix_with_partners, flip_shift  # noqa: E402


def _batch(n=64, h=8, w=8, c=3):
    # every pixel of every sample distinct, so each output pixel tells where it came from
    return torch.arange(n * h * w * c, dtype=torch.float32).reshape(n, h, w, c)


def test_flip_shift_moves_each_sample_on_its_own():
    x = _batch()
    y = flip_shift(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    moved = [not torch.equal(y[i], x[i]) for i in range(len(x))]
    assert 0 < sum(moved) < len(x)  # some samples keep flip 0 and shift 0, most do not
    inside = y[y != 0]
    assert torch.all(torch.isin(inside, x))  # only pixels of the batch, or the zero fill
    assert torch.equal(flip_shift(x[0, 0], torch.Generator()), x[0, 0])  # other ranks pass unchanged


def test_cutmix_pastes_one_box_of_another_sample():
    x = _batch()
    y = cutmix(x, torch.Generator().manual_seed(1))
    n, h, w, c = x.shape
    fractions = []
    for i in range(n):
        from_other = (y[i] != x[i]).any(dim=-1).numpy()  # pixels now taken from the partner
        fractions.append(from_other.mean())
        if not from_other.any():
            continue
        rows, cols = np.flatnonzero(from_other.any(1)), np.flatnonzero(from_other.any(0))
        box = np.zeros_like(from_other)
        box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
        np.testing.assert_array_equal(from_other, box)  # one rectangle
        src = y[i][torch.from_numpy(from_other)]
        partner = [j for j in range(n) if j != i and torch.isin(src[0, 0], x[j]).item()]
        assert len(partner) == 1 and torch.equal(src, x[partner[0]][torch.from_numpy(from_other)])
    assert 0.15 < float(np.mean(fractions)) < 0.6  # the boxes' area fractions spread over (0, 1)
    assert torch.equal(cutmix(x[0, 0], torch.Generator()), x[0, 0])
    assert torch.equal(cutmix(x, torch.Generator().manual_seed(1)), y)  # the generator decides it all


def test_cutmix_reports_partners_and_the_share_each_image_keeps():
    x = _batch()
    y, partner, keep = cutmix_with_partners(x, torch.Generator().manual_seed(1))
    assert torch.equal(y, cutmix(x, torch.Generator().manual_seed(1)))  # the same draws as cutmix
    for i in range(len(x)):
        if int(partner[i]) == i:
            continue  # pasted from itself: nothing visible changes
        from_other = (y[i] != x[i]).any(dim=-1)
        assert torch.equal(y[i][from_other], x[int(partner[i])][from_other])
        assert abs(float(keep[i]) - (1 - float(from_other.float().mean()))) < 1e-6
    assert float(keep.min()) >= 0 and float(keep.max()) <= 1
