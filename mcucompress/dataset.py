"""Fit samples (read by datafiles.py) to a model's input: layout, dtype, values, normalization, labels.

Layouts: an ONNX model takes its data in the layout its file declares (NCHW for a PyTorch export); the
importer records the permutation to our NHWC IR on the Graph (Graph.input_layouts), and the transpose
happens here, on the host. Data already in the IR layout (NHWC) is accepted too, since its shape says so;
when both shapes are equal (C == H == W) the file's declared layout wins. Image folders are NHWC by nature.
Flat samples are never reshaped: only the input's own shape is accepted (a message says the exact reshape).
Raw unsigned data (uint8 pixels) needs --normalize (normalize.py): 0..255 are not the model's input values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcucompress.errors import DataError
from mcucompress.ir import Graph, Tensor
from mcucompress.normalize import Normalize, parse

RANDOM_FLOAT_RANGE = (-1.0, 1.0)  # random inputs of a float model (run without --data)


@dataclass
class Samples:
    x: np.ndarray  # [N, *input_shape[1:]] in the model input's dtype, IR (NHWC) layout
    y: np.ndarray | None
    info: dict = field(default_factory=dict)  # where the samples came from, for run reports


def quantize_input(x: np.ndarray, t: Tensor, source: str | Path = "input data") -> np.ndarray:
    """float -> int8 with the input's scale (round half away from zero, as TFLite), int8 passes through;
    `source` (the data file) names the data in errors."""
    if t.dtype == "float32":
        return x.astype(np.float32)
    if t.dtype == "int16":  # a 16x8 model's int16 input (reference executor only)
        return _quantize_int16(x, t, source)
    if x.dtype == np.int8:
        return x
    if x.dtype.kind in "iu":
        if x.min() < -128 or x.max() > 127:
            raise DataError(f"{source}: integer input values outside the int8 range ([{x.min()}, {x.max()}]); give "
                            "int8 values, float values (quantized with the input's scale), or --normalize")
        return x.astype(np.int8)
    # As TFLite's QUANTIZE: float32 quotient, then std::round exactly (in float64: 0.49999997 rounds down).
    scaled = (x.astype(np.float32) / np.float32(t.quant.s)).astype(np.float64)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + t.quant.zp
    return np.clip(q, -128, 127).astype(np.int8)


def _quantize_int16(x: np.ndarray, t: Tensor, source) -> np.ndarray:
    """float -> int16 with the input's scale as TFLite's QUANTIZE; integers pass through when they fit int16."""
    if x.dtype.kind in "iu":
        if x.size and (x.min() < -32768 or x.max() > 32767):
            raise DataError(f"{source}: integer input values outside the int16 range ([{x.min()}, {x.max()}])")
        return x.astype(np.int16)
    scaled = (x.astype(np.float32) / np.float32(t.quant.s)).astype(np.float64)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + t.quant.zp
    return np.clip(q, -32768, 32767).astype(np.int16)


def layout_names(perm: tuple[int, ...]) -> tuple[str, str]:
    """(declared, IR) layout names of a 4D image input ('NCHW', 'NHWC'), or ('', '') for other ranks."""
    if len(perm) != 4:
        return "", ""
    return {(0, 2, 3, 1): "NCHW", (0, 1, 2, 3): "NHWC"}.get(tuple(perm), f"permuted {perm}"), "NHWC"


def _dims(shape) -> str:
    return ", ".join(map(str, shape))


def _fit_shape(path, x: np.ndarray, t: Tensor, perm: tuple[int, ...], channels_last: bool) -> tuple[np.ndarray, str]:
    """`x` batched in the IR layout, and how it was read ('NCHW (declared) -> NHWC', 'NHWC', ...)."""
    shape = tuple(t.shape)
    identity = tuple(range(len(shape)))
    declared, ir = layout_names(perm)
    forms = []  # (per-sample shape, full shape with batch 1, transpose to the IR or None, description)
    if perm != identity and perm[0] == 0 and not channels_last:
        full = tuple(shape[perm.index(a)] for a in range(len(shape)))
        forms.append((full[1:], full, perm, f"{declared} as the model file declares, transposed to {ir} on the host"))
    forms.append((shape[1:], shape, None, ir or "as the model input"))
    fitted = None
    for per, full, transpose, how in forms:  # N samples first: the declared layout wins when shapes coincide
        if x.ndim >= 1 and x.shape[1:] in (per, full):
            fitted = (x.reshape((x.shape[0],) + per), transpose, how)
            break
    else:
        for per, full, transpose, how in forms:
            if x.shape == per:  # one sample without the batch axis
                fitted = (x[None], transpose, how)
                break
    if fitted is not None:
        xb, transpose, how = fitted
        return (np.ascontiguousarray(xb.transpose(transpose)) if transpose else xb), how
    want = " or ".join(f"(N, {_dims(per)}){f' ({how.split()[0]})' if declared else ''}" for per, _, _, how in forms)
    target = forms[0][0]
    if x.ndim == 2 and x.shape[1] == int(np.prod(target, dtype=np.int64)) and len(target) > 1:
        order = f" in {forms[0][3].split()[0]} element order" if declared else ""
        raise DataError(f"{path}: 'x' holds flat samples {x.shape}; model input '{t.name}' needs {want}; flat data "
                        f"is not reshaped silently: if each row is one sample{order}, save "
                        f"x.reshape({x.shape[0]}, {_dims(target)})")
    raise DataError(f"{path}: 'x' has shape {x.shape}; model input '{t.name}' needs {want}, or one sample "
                    f"{forms[-1][0]}")


def fit_inputs(path, x: np.ndarray, t: Tensor, perm: tuple[int, ...] | None = None,
               normalize: str | Normalize | None = None, channels_last: bool = False) -> tuple[np.ndarray, str]:
    """`x` checked, batched, in the IR layout and normalized (not yet quantized), and how its layout was read.

    perm: Graph.input_perm() (the file's declared layout); channels_last: `x` is NHWC whatever the file declares."""
    normalize = parse(normalize)
    check_values(path, x, t, normalize)
    x, how = _fit_shape(path, x, t, tuple(perm) if perm else tuple(range(len(t.shape))), channels_last)
    if normalize is not None:
        x = normalize.apply(x, str(path))
    return x, how


def fit_samples(path: str | Path, x: np.ndarray, y: np.ndarray | None, t: Tensor,
                perm: tuple[int, ...] | None = None, normalize: str | Normalize | None = None,
                channels_last: bool = False) -> Samples:
    """Check `x` against the input tensor `t` and return it batched, in the IR layout and the input dtype."""
    x, how = fit_inputs(path, x, t, perm, normalize, channels_last)
    if y is not None and (np.ndim(y) == 0 or len(y) != len(x)):
        raise DataError(f"{path}: {np.size(y)} labels in 'y' for {len(x)} samples in 'x'")
    info = {"layout": how, "normalize": parse(normalize).spec if normalize is not None else None}
    return Samples(quantize_input(x, t, path), None if y is None else _labels(path, np.asarray(y), len(x)), info)


def check_values(path: str | Path, x: np.ndarray, t: Tensor, normalize: Normalize | None = None) -> None:
    """Dtype, emptiness and finiteness of `x` for input `t`, each failure a one-line DataError."""
    if x.dtype.kind not in "iuf":
        raise DataError(f"{path}: 'x' has dtype {x.dtype}; expected numbers (float32, or int8 for an int8 model)")
    if normalize is None and x.dtype.kind == "u":
        # Raw pixels: 0..255 are neither the float values the model was trained on nor its int8 values.
        quant = f" (int8, scale {t.quant.s:g}, zero point {t.quant.zp})" if t.quant is not None else ""
        raise DataError(f"{path}: 'x' holds raw {x.dtype} values (pixels?), not the values model input "
                        f"'{t.name}'{quant} takes; give --normalize: 1/255 for inputs in [0, 1], 1 for raw 0..255 "
                        f"floats, or mean=M,..:std=S,.. (torchvision, of pixels scaled to [0, 1])")
    if normalize is None and t.dtype == "float32" and x.dtype.kind != "f":
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


def load_samples(path: str | Path, t: Tensor, perm: tuple[int, ...] | None = None,
                 normalize: str | Normalize | None = None) -> Samples:
    """The samples of `path` (.npz, .npy or image folder, datafiles.py) fitted to input `t`."""
    from mcucompress.datafiles import read_data

    raw = read_data(path, tuple(t.shape[1:]) if len(t.shape) == 4 else None)
    samples = fit_samples(path, raw.x, raw.y, t, perm, normalize, raw.channels_last)
    samples.info = {"path": str(path), "format": raw.format, **samples.info}
    return samples


def input_samples(path: str | Path, graph: Graph, normalize: str | Normalize | None = None) -> Samples:
    """The samples of `path` for `graph`'s first input, in the layout its model file declared (or NHWC)."""
    return load_samples(path, graph.t(graph.inputs[0]), graph.input_perm(), normalize)


def prune_inputs(path: str | Path, graph: Graph, normalize: str | Normalize | None = None) -> np.ndarray:
    """Calibration inputs for pruning: checked, in the IR layout and normalized, but not quantized."""
    from mcucompress.datafiles import read_data

    t = graph.t(graph.inputs[0])
    raw = read_data(path, tuple(t.shape[1:]) if len(t.shape) == 4 else None)
    return fit_inputs(path, raw.x, t, graph.input_perm(), normalize, raw.channels_last)[0]


def random_samples(t: Tensor, n: int, seed: int = 0) -> Samples:
    """`n` seeded random inputs (benchmarking without data): uniform over the int8 range, or over
    RANDOM_FLOAT_RANGE for a float input."""
    if n < 1:
        raise DataError(f"--samples {n}: give at least 1 random input")
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(t.shape[1:])
    if t.dtype == "float32":
        lo, hi = RANDOM_FLOAT_RANGE
        x, what = rng.uniform(lo, hi, shape).astype(np.float32), f"uniform float32 in [{lo:g}, {hi:g})"
    else:
        info = np.iinfo(np.dtype(t.dtype))
        x, what = rng.integers(info.min, info.max, shape, dtype=np.dtype(t.dtype), endpoint=True), \
            f"uniform {t.dtype} in [{info.min}, {info.max}]"
    return Samples(x, None, {"source": "random", "distribution": what, "seed": seed})
