"""AVERAGE_POOL_2D and MAX_POOL_2D: windows clipped to the input (padding is never counted)."""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import trunc_div


def _windows(x: np.ndarray, attrs, out_h: int, out_w: int, fill) -> tuple[np.ndarray, np.ndarray]:
    """[N,oh,ow,fh,fw,C] windows plus a [oh,ow,fh,fw] mask of which taps fall inside the input."""
    _, in_h, in_w, _ = x.shape
    ys = (np.arange(out_h) * attrs.stride_h - attrs.pad_top)[:, None] + np.arange(attrs.filter_h)
    xs = (np.arange(out_w) * attrs.stride_w - attrs.pad_left)[:, None] + np.arange(attrs.filter_w)
    valid = ((ys >= 0) & (ys < in_h))[:, None, :, None] & ((xs >= 0) & (xs < in_w))[None, :, None, :]
    win = x[:, np.clip(ys, 0, in_h - 1)[:, None, :, None], np.clip(xs, 0, in_w - 1)[None, :, None, :], :]
    win = np.where(valid[None, ..., None], win, fill)
    return win, valid


def average_pool_s8(x, attrs, out_shape, act_min: int, act_max: int) -> np.ndarray:
    win, valid = _windows(x.astype(np.int64), attrs, out_shape[1], out_shape[2], 0)
    acc = win.sum(axis=(3, 4))
    count = valid.sum(axis=(2, 3))[None, :, :, None].astype(np.int64)
    half = count // 2
    avg = np.where(acc > 0, trunc_div(acc + half, count), trunc_div(acc - half, count))
    return np.clip(avg, act_min, act_max).astype(np.int8)


def max_pool_s8(x, attrs, out_shape, act_min: int, act_max: int) -> np.ndarray:
    win, _ = _windows(x.astype(np.int64), attrs, out_shape[1], out_shape[2], -(1 << 31))
    return np.clip(win.max(axis=(3, 4)), act_min, act_max).astype(np.int8)


def average_pool_f32(x, attrs, out_shape, lo: float, hi: float) -> np.ndarray:
    win, valid = _windows(x.astype(np.float32), attrs, out_shape[1], out_shape[2], 0.0)
    count = valid.sum(axis=(2, 3))[None, :, :, None].astype(np.float32)
    return np.clip(win.sum(axis=(3, 4)) / count, lo, hi).astype(np.float32)


def max_pool_f32(x, attrs, out_shape, lo: float, hi: float) -> np.ndarray:
    win, _ = _windows(x.astype(np.float32), attrs, out_shape[1], out_shape[2], -np.inf)
    return np.clip(win.max(axis=(3, 4)), lo, hi).astype(np.float32)
