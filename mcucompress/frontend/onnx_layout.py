"""How an ONNX tensor (NCHW world) sits in an IR tensor (NHWC world), without ever moving data at run time.

Every ONNX activation maps to an IR tensor plus an axis permutation `perm`: IR axis i holds ONNX axis
perm[i]. A 4D NCHW activation has perm (0, 2, 3, 1); a Transpose node only changes the permutation.
A flattened NCHW tensor [1, K] additionally carries `order`: IR column j holds ONNX column order[j];
the Gemm/MatMul that consumes it permutes its weight columns instead of transposing activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NHWC = (0, 2, 3, 1)  # the IR layout of an ONNX NCHW tensor


@dataclass
class Value:
    """An ONNX activation as the IR holds it."""

    name: str  # the IR tensor
    perm: tuple[int, ...]
    order: np.ndarray | None = None  # rank-2 [1, K] tensors only

    @property
    def plain(self) -> bool:
        """True when the IR tensor has exactly the ONNX element order and shape."""
        return self.perm == identity(len(self.perm)) and self.order is None


def identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def ir_shape(onnx_shape, perm) -> tuple[int, ...]:
    return tuple(int(onnx_shape[p]) for p in perm)


def ir_axis(perm, onnx_axis: int) -> int:
    return perm.index(onnx_axis % len(perm))


def after_transpose(perm, t) -> tuple[int, ...]:
    """The permutation of Transpose(perm=t)'s output when the IR tensor stays as it is."""
    inverse = np.argsort(t)
    return tuple(int(inverse[p]) for p in perm)


def flat_order(onnx_shape, perm, order=None) -> np.ndarray:
    """The ONNX row-major index of the element at each row-major position of the IR tensor."""
    idx = np.arange(int(np.prod(onnx_shape, dtype=np.int64))).reshape(onnx_shape)
    if order is not None:
        idx = idx[..., order]
    return idx.transpose(perm).reshape(-1)


def is_identity_order(idx: np.ndarray) -> bool:
    return bool(np.array_equal(idx, np.arange(idx.size)))


def const_to_layout(c: np.ndarray, rank: int, perm, order=None) -> np.ndarray:
    """A constant that broadcasts against an ONNX tensor, rearranged to broadcast against its IR tensor."""
    c = np.asarray(c)
    if c.ndim > rank:
        raise ValueError(f"constant of rank {c.ndim} broadcasts beyond the activation's rank {rank}")
    c = c.reshape((1,) * (rank - c.ndim) + c.shape)
    if order is not None and c.shape[-1] > 1:
        c = c[..., order]
    return np.ascontiguousarray(c.transpose(perm))
