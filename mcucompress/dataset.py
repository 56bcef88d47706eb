"""Load DATA.npz sample files (`x`: N inputs, optional `y`: N labels) and fit them to a model's input."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcucompress.errors import DataError
from mcucompress.ir import Tensor


@dataclass
class Samples:
    x: np.ndarray  # [N, *input_shape[1:]] in the model input's dtype
    y: np.ndarray | None


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such data file; give an .npz with an array 'x' (and optional labels 'y')")
    if path.is_dir() or not zipfile.is_zipfile(path):
        # np.load would try a pickle here and answer with advice about allow_pickle.
        raise DataError(f"{path}: not an .npz file; save the samples with numpy.savez(path, x=..., y=...)")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files:
                raise DataError(f"{path}: no array 'x' in the file (found: {', '.join(f.files) or 'nothing'})")
            return _read(path, f, "x"), (_read(path, f, "y") if "y" in f.files else None)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); save with numpy.savez(path, x=..., y=...)") from None


def _read(path: Path, f, key: str) -> np.ndarray:
    try:
        return f[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        # An object array: numpy refuses it without unpickling, with advice we must not follow.
        raise DataError(f"{path}: '{key}' holds Python objects (dtype object); expected numbers "
                        f"({'float32, or int8 for an int8 model' if key == 'x' else 'integer labels'})") from None


def quantize_input(x: np.ndarray, t: Tensor) -> np.ndarray:
    """float -> int8 with the input's scale (round half away from zero, as TFLite), int8 passes through."""
    if t.dtype == "float32":
        return x.astype(np.float32)
    if x.dtype == np.int8:
        return x
    if x.dtype.kind in "iu":
        if x.min() < -128 or x.max() > 127:
            raise DataError(f"integer input values outside int8 range [{x.min()}, {x.max()}]; pass float or int8 data")
        return x.astype(np.int8)
    # As TFLite's QUANTIZE: float32 quotient, then std::round exactly (in float64: 0.49999997 rounds down).
    scaled = (x.astype(np.float32) / np.float32(t.quant.s)).astype(np.float64)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + t.quant.zp
    return np.clip(q, -128, 127).astype(np.int8)


def fit_samples(path: str | Path, x: np.ndarray, y: np.ndarray | None, t: Tensor) -> Samples:
    """Check `x` against the input tensor `t` and return it batched and in the input dtype."""
    per_sample = tuple(t.shape[1:])
    check_values(path, x, t)
    size = int(np.prod(per_sample, dtype=np.int64))
    if x.shape[1:] == per_sample or x.shape[1:] == tuple(t.shape):
        x = x.reshape((x.shape[0],) + per_sample)
    elif x.shape == per_sample:
        x = x[None]
    elif x.ndim >= 1 and x[0].size == size and x.ndim == 2:
        x = x.reshape((x.shape[0],) + per_sample)
    else:
        raise DataError(
            f"{path}: 'x' has shape {x.shape}; model input '{t.name}' needs (N, {', '.join(map(str, per_sample))})"
            f" or one sample {per_sample}"
        )
    if y is not None and (np.ndim(y) == 0 or len(y) != len(x)):
        raise DataError(f"{path}: {np.size(y)} labels in 'y' for {len(x)} samples in 'x'")
    return Samples(quantize_input(x, t), None if y is None else _labels(path, np.asarray(y), len(x)))


def check_values(path: str | Path, x: np.ndarray, t: Tensor) -> None:
    """Dtype, emptiness and finiteness of `x` for input `t`, each failure a one-line DataError."""
    if x.dtype.kind not in "iuf":
        raise DataError(f"{path}: 'x' has dtype {x.dtype}; expected numbers (float32, or int8 for an int8 model)")
    if t.dtype == "float32" and x.dtype.kind != "f":
        # A float model (calibration) needs the raw float inputs; int8 data would be read as huge floats.
        raise DataError(f"{path}: 'x' has dtype {x.dtype}; the float32 model input '{t.name}' needs float inputs "
                        f"(the values before quantization)")
    if x.ndim == 0 or x.size == 0:
        raise DataError(f"{path}: 'x' holds no samples (shape {x.shape}); give at least one")
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        count = int(bad.sum())
        if count:
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"{path}: 'x' contains {count} NaN or infinite value{'s' if count > 1 else ''} "
                            f"(first at x[{', '.join(map(str, first))}]); expected finite numbers")
        big = float(np.abs(x).max())
        if big > float(np.finfo(np.float32).max):
            raise DataError(f"{path}: 'x' holds {big:g}, beyond the float32 range; expected float32 inputs")


def _labels(path, y: np.ndarray, n: int) -> np.ndarray:
    """Class indices from integer labels (or integral floats) or from one-hot rows; DataError otherwise."""
    if y.dtype.kind not in "iufb":
        raise DataError(f"{path}: 'y' has dtype {y.dtype}; expected integer class labels (or one-hot rows)")
    if y.size % n or y.size == 0:
        raise DataError(f"{path}: 'y' has shape {y.shape}; expected {n} labels (one per sample) or {n} one-hot rows")
    y = y.reshape(n, -1)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{path}: 'y' contains NaN or infinite values; expected integer class labels")
    if y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.dtype.kind == "f" and (y != np.round(y)).any():
        raise DataError(f"{path}: 'y' holds fractional values; expected integer class labels")
    if (y < 0).any():
        raise DataError(f"{path}: 'y' holds negative labels ({int(y.min())}); expected class indices from 0")
    return y[:, 0].astype(np.int64)


def check_labels(path, y: np.ndarray | None, classes: int) -> None:
    """Every label indexes one of the model's `classes` outputs."""
    if y is not None and y.size and int(y.max()) >= classes:
        raise DataError(f"{path}: 'y' holds label {int(y.max())}, but the model has {classes} outputs per sample; "
                        f"give labels from 0 to {classes - 1}")


def load_samples(path: str | Path, t: Tensor) -> Samples:
    x, y = load_npz(path)
    return fit_samples(path, x, y, t)
