"""The C int8 kernels in firmware/kernels are bit-exact with the numpy reference kernels.

All kernels are compiled once per session with the host gcc into two shared libraries: the portable C
paths ("c") and the Cortex-M DSP paths with the SIMD instructions emulated in C ("dsp", built with
-DMCC_EMULATE_DSP). Each kernel test builds random seeded calls (shapes, strides, paddings, dilations,
depth multipliers, realistic per-channel multipliers, zero points, fused activations, broadcasting) as
`Call` records, runs them through ctypes and compares with the reference executor's kernels.
Further tests compare the fixed-point primitives of mcc_fixedpoint.h with mcucompress.fixedpoint on
many values, compile every kernel with arm-none-eabi-gcc -Werror for Cortex-M3/M4/M7/M33, and run a
subset of the calls, emitted as C, on QEMU's Cortex-M4 (real SXTB16/SMLAD/SEL instructions).
"""

from __future__ import annotations

import ctypes
import math
import re
import shutil
import subprocess
from ctypes import POINTER, c_int8, c_int32, c_void_p
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mcucompress.codegen import dual_rows
from mcucompress.codegen.lower import depthwise_band_bytes, depthwise_scratch_bytes
from mcucompress.fixedpoint import arith, gemmlowp
from mcucompress.fixedpoint import params as fp
from mcucompress.fixedpoint.scaling import quantize_multiplier
from mcucompress.ir import Graph, Op, QuantParams, Tensor, registry
from mcucompress.ir import ops as irops
from mcucompress.reference import activations as ref_act
from mcucompress.reference import conv as ref_conv
from mcucompress.reference import elementwise as ref_elementwise
from mcucompress.reference import pool as ref_pool
from mcucompress.reference import reduce as ref_reduce
from mcucompress.reference import softmax as ref_softmax

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
INCLUDE = FIRMWARE / "include"
KERNEL_SOURCES = sorted((FIRMWARE / "kernels").glob("*/*.c"))
TEST_C = Path(__file__).resolve().parent / "c"
SHIM = TEST_C / "fixedpoint_shim.c"  # exposes mcc_fixedpoint.h to ctypes
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion"]
CASES = 40  # random calls per kernel test and build
QEMU_CASES = 6  # of those, run on the emulated Cortex-M4 (per kernel test)
VARIANTS = ["c", "dsp"]

# ----------------------------------------------------------------------------- ctypes mirror of mcc_types.h


def _struct(name: str, fields: list[str]):
    return type(name, (ctypes.Structure,), {"_fields_": [(f, c_int32) for f in fields], "c_name": name})


Dims = _struct("mcc_dims", ["n", "h", "w", "c"])
ConvParams = _struct(
    "mcc_conv_params",
    ["input_offset", "output_offset", "stride_h", "stride_w", "pad_h", "pad_w", "dilation_h", "dilation_w",
     "depth_multiplier", "act_min", "act_max", "dual_rows", "small_acc"],
)
FcParams = _struct("mcc_fc_params", ["input_offset", "filter_offset", "output_offset", "per_channel", "act_min", "act_max",
                                     "dual_rows"])
PoolParams = _struct("mcc_pool_params", ["filter_h", "filter_w", "stride_h", "stride_w", "pad_h", "pad_w", "act_min", "act_max"])
AddParams = _struct(
    "mcc_add_params",
    ["left_shift", "input1_offset", "input1_multiplier", "input1_shift", "input2_offset", "input2_multiplier",
     "input2_shift", "output_offset", "output_multiplier", "output_shift", "act_min", "act_max"],
)
MulParams = _struct(
    "mcc_mul_params", ["input1_offset", "input2_offset", "output_offset", "output_multiplier", "output_shift", "act_min", "act_max"]
)
SoftmaxParams = _struct("mcc_softmax_params", ["input_multiplier", "input_left_shift", "diff_min"])
LogisticParams = _struct("mcc_logistic_params", ["input_zero_point", "input_range_radius", "input_multiplier",
                                                 "input_left_shift"])
HardSwishParams = _struct(
    "mcc_hard_swish_params",
    ["input_zero_point", "output_zero_point", "reluish_multiplier_fixedpoint_int16", "reluish_multiplier_exponent",
     "output_multiplier_fixedpoint_int16", "output_multiplier_exponent"],
)
LeakyReluParams = _struct(
    "mcc_leaky_relu_params",
    ["input_zero_point", "output_zero_point", "output_multiplier_alpha", "output_shift_alpha",
     "output_multiplier_identity", "output_shift_identity"],
)
RequantParams = _struct("mcc_requant_params", ["input_zero_point", "output_zero_point", "multiplier", "shift", "act_min",
                                               "act_max"])
Relu6Params = _struct("mcc_relu6_params", ["zero", "six"])
MeanParams = _struct("mcc_mean_params", ["input_zero_point", "output_zero_point", "num_elements", "multiplier", "shift"])


class BroadcastDims(ctypes.Structure):
    _fields_ = [("in1", Dims), ("in2", Dims), ("out", Dims)]
    c_name = "mcc_broadcast_dims"


class Context(ctypes.Structure):
    _fields_ = [("buf", c_void_p), ("size", c_int32)]


class PerChannelQuant(ctypes.Structure):
    _fields_ = [("multiplier", POINTER(c_int32)), ("shift", POINTER(c_int32))]


def dims(shape) -> Dims:
    shape = tuple(int(s) for s in shape)
    return Dims(*((1,) * (4 - len(shape)) + shape))


# ----------------------------------------------------------------------------- kernel calls as data


@dataclass
class In:
    """A const input array passed by pointer (int8 or int32)."""

    values: np.ndarray


@dataclass
class Quant:
    """An mcc_per_channel_quant."""

    multipliers: np.ndarray
    shifts: np.ndarray


@dataclass
class Ctx:
    """An mcc_context with a scratch buffer of `size` bytes."""

    size: int


@dataclass
class Out:
    """The output array (its shape is the expected output's)."""


@dataclass
class I8:
    """An int8_t argument by value."""

    value: int


@dataclass
class Ptrs:
    """An array of const int8_t pointers (CONCATENATION inputs)."""

    arrays: list


@dataclass
class Call:
    fn: str
    args: list  # ctypes.Structure (by pointer), In, Quant, Ctx, Out, I8, Ptrs, int (int32 by value) or None
    want: np.ndarray
    label: str = ""


C_TYPES = {np.dtype(np.int8): (c_int8, "int8_t"), np.dtype(np.int32): (c_int32, "int32_t"),
           np.dtype(np.float32): (ctypes.c_float, "float")}


def _pointer(a: np.ndarray, keep: list):
    a = np.ascontiguousarray(a)
    keep.append(a)
    return a.ctypes.data_as(POINTER(C_TYPES[a.dtype][0]))


def as_c_array(values) -> np.ndarray:
    """int8 and float32 arrays as they are, any other integers as int32."""
    v = np.asarray(values)
    return v if v.dtype in (np.int8, np.float32) else v.astype(np.int32)


def run_host(lib: ctypes.CDLL, call: Call, out: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Call the kernel through ctypes; returns (status, output)."""
    keep: list = []
    out = np.full(call.want.shape, 99, call.want.dtype) if out is None else out
    args = []
    for a in call.args:
        if a is None or isinstance(a, int):
            args.append(a)
        elif isinstance(a, ctypes.Structure):
            args.append(ctypes.byref(a))
        elif isinstance(a, In):
            args.append(_pointer(as_c_array(a.values), keep))
        elif isinstance(a, Quant):
            q = PerChannelQuant(_pointer(a.multipliers.astype(np.int32), keep), _pointer(a.shifts.astype(np.int32), keep))
            keep.append(q)
            args.append(ctypes.byref(q))
        elif isinstance(a, Ctx):
            buf = (c_int32 * max(1, (a.size + 3) // 4))()
            ctx = Context(ctypes.cast(buf, c_void_p), a.size)
            keep += [buf, ctx]
            args.append(ctypes.byref(ctx))
        elif isinstance(a, Out):
            args.append(out.ctypes.data_as(POINTER(C_TYPES[out.dtype][0])))
        elif isinstance(a, I8):
            args.append(c_int8(a.value))
        elif isinstance(a, Ptrs):
            ptrs = (POINTER(c_int8) * max(1, len(a.arrays)))(*[_pointer(x.astype(np.int8), keep) for x in a.arrays])
            keep.append(ptrs)
            args.append(ptrs)
        else:
            raise TypeError(a)
    status = getattr(lib, call.fn)(*args)
    return status, out


def check_host(lib: ctypes.CDLL, calls: list[Call]) -> None:
    for call in calls:
        status, got = run_host(lib, call)
        assert status == 0, call.label
        assert got.tobytes() == call.want.tobytes(), call.label  # bit for bit, floats included


# ----------------------------------------------------------------------------- build


def _compile_shared(out: Path, defines: list[str]) -> subprocess.Popen:
    cmd = ["gcc", *WARNINGS, "-O2", "-fPIC", "-shared", f"-I{INCLUDE}", *defines, *map(str, KERNEL_SOURCES), str(SHIM),
           "-o", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="session")
def libs(tmp_path_factory) -> dict[str, ctypes.CDLL]:
    if shutil.which("gcc") is None:
        pytest.skip("host gcc is absent")
    tmp = tmp_path_factory.mktemp("mcc_kernels")
    builds = {"c": (tmp / "libmcc_c.so", []), "dsp": (tmp / "libmcc_dsp.so", ["-DMCC_EMULATE_DSP"])}
    procs = {name: _compile_shared(path, defines) for name, (path, defines) in builds.items()}  # 2 cores: in parallel
    for name, proc in procs.items():
        log, _ = proc.communicate()
        assert proc.returncode == 0, f"gcc failed for the {name} build:\n{log}"
    return {name: ctypes.CDLL(str(path)) for name, (path, _) in builds.items()}


@pytest.fixture(params=VARIANTS)
def lib(request, libs) -> ctypes.CDLL:
    return libs[request.param]


# ----------------------------------------------------------------------------- random parameters


def rng_for(kernel: str, case: int) -> np.random.Generator:
    return np.random.default_rng([sum(map(ord, kernel)), case])


def random_multipliers(rng, n: int, typical: float, large: float = 0.07, tiny: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Realistic per-channel (multiplier, shift): scales around `typical`, a few exactly 0, a fraction `large`
    of them > 1 (left shifts) and a fraction `tiny` below 2^-23 (right shifts of 23 to 31, as on dead channels)."""
    pairs = []
    for _ in range(n):
        r = rng.random()
        if r < 0.03:
            real = 0.0
        elif r < 0.03 + large:
            real = float(rng.uniform(1.0, 300.0))
        elif r < 0.03 + large + tiny:
            real = float(2.0 ** rng.uniform(-31.0, -23.0))
        else:
            real = typical * math.exp(rng.uniform(-2.0, 2.0))
        pairs.append(quantize_multiplier(real))
    return np.array([m for m, _ in pairs], np.int64), np.array([s for _, s in pairs], np.int64)


def random_act(rng) -> tuple[int, int]:
    if rng.random() < 0.4:
        return -128, 127
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
    return lo, hi


def random_zp(rng) -> int:
    return int(rng.integers(-128, 128))


def log_uniform(rng, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


# ----------------------------------------------------------------------------- fixed-point primitives

INT32_EDGES = np.array([-(1 << 31), -(1 << 31) + 1, -(1 << 30), -(1 << 30) - 1, -65536, -3, -2, -1, 0, 1, 2, 3,
                        1 << 29, (1 << 30) - 1, 1 << 30, (1 << 31) - 2, (1 << 31) - 1], np.int64)


def random_int32(rng, n: int, lo: int = -(1 << 31), hi: int = (1 << 31) - 1) -> np.ndarray:
    """Uniform values mixed with values of every magnitude (uniform exponents) and the edges, in [lo, hi]."""
    uniform = rng.integers(lo, hi, n // 2, endpoint=True)
    mags = np.floor(2.0 ** rng.uniform(0, 31, n - n // 2)).astype(np.int64) * rng.choice([-1, 1], n - n // 2)
    edges = INT32_EDGES[(INT32_EDGES >= lo) & (INT32_EDGES <= hi)]
    return np.clip(np.concatenate([uniform, mags, edges]), lo, hi)


def call_vec(fn, *arrays, extra=(), outputs: int = 1):
    """Call shim fn(in arrays..., extra ints..., out arrays..., n); returns the outputs as int64."""
    keep: list = []
    ins = [_pointer(np.asarray(a, np.int32), keep) for a in arrays]
    n = len(arrays[0])
    outs = [np.zeros(n, np.int32) for _ in range(outputs)]
    fn(*ins, *extra, *[_pointer(o, keep) for o in outs], n)
    res = [o.astype(np.int64) for o in outs]
    return res[0] if outputs == 1 else res


def test_fixedpoint_primitives(libs):
    lib = libs["c"]
    rng = np.random.default_rng(2024)
    n = 60000
    a, b = random_int32(rng, n), random_int32(rng, n)
    b[: n // 8] = a[: n // 8]  # squares, including INT32_MIN * INT32_MIN
    a[n // 8: n // 4] = (rng.integers(-(1 << 15), 1 << 15, n // 8) * 2 + 1) << 14  # times 2^16: exact halves
    b[n // 8: n // 4] = 1 << 16
    assert np.array_equal(call_vec(lib.shim_srdhm, a, b), arith.saturating_rounding_doubling_high_mul(a, b))

    e = rng.integers(0, 32, a.size)
    assert np.array_equal(call_vec(lib.shim_rounding_divide_by_pot, a, e), arith.rounding_divide_by_pot(a, e))

    m = np.where(rng.random(a.size) < 0.02, 0, rng.integers(1 << 30, 1 << 31, a.size))
    s = rng.integers(-31, 31, a.size)
    assert np.array_equal(call_vec(lib.shim_mbqm, a, m, s), arith.multiply_by_quantized_multiplier(a, m, s))
    s = rng.integers(-31, 1, a.size)
    assert np.array_equal(call_vec(lib.shim_mbqm_small, a, m, s),
                          arith.multiply_by_quantized_multiplier_smaller_than_one_exp(a, m, s))

    # the one-multiply-accumulate requantization of mcc_requant.h (offset folded or added), every shift
    m = np.where(rng.random(a.size) < 0.02, 0, rng.integers(1 << 30, 1 << 31, a.size))
    m[: n // 16] = rng.integers(0, 1 << 31, n // 16)  # multipliers below 2^30 too
    s = rng.integers(-31, 31, a.size)
    off = rng.integers(-128, 128, a.size)
    want = arith.multiply_by_quantized_multiplier(a, m, s) + off
    for fold in (0, 1):
        assert np.array_equal(call_vec(lib.shim_rq, a, m, s, off, extra=(fold,)), want), fold

    neg = random_int32(rng, n, hi=0)
    for int_bits in (1, 2, 3, 4, 5, 6, 8, 12):
        want = gemmlowp.exp_on_negative_values(neg, int_bits)
        assert np.array_equal(call_vec(lib.shim_exp_on_negative_values, neg, extra=(int_bits,)), want), int_bits

    unit = random_int32(rng, n, lo=0)
    assert np.array_equal(call_vec(lib.shim_one_over_one_plus_x, unit), gemmlowp.one_over_one_plus_x_for_x_in_0_1(unit))

    pos = random_int32(rng, n, lo=1)
    got, bits = call_vec(lib.shim_get_reciprocal, pos, extra=(12,), outputs=2)
    want, want_bits = gemmlowp.get_reciprocal(pos, 12)
    assert np.array_equal(got, want) and np.array_equal(bits, want_bits)

    for name in ("logistic", "tanh"):  # the numpy versions come with the LOGISTIC/TANH reference kernels
        ref = getattr(gemmlowp, name, None)
        if ref is None:
            continue
        for int_bits in (3, 4, 5):
            assert np.array_equal(call_vec(getattr(lib, f"shim_{name}"), a, extra=(int_bits,)), ref(a, int_bits)), name


# ----------------------------------------------------------------------------- convolutions and fully connected


def conv_call(rng, kind: str, fn: str) -> Call:
    """A random CONV_2D ("conv"), 1x1 CONV_2D ("1x1") or DEPTHWISE_CONV_2D call of `fn`.

    Depthwise kinds: "dw" any filter with the scratch buffer (int16 band path for depth multiplier 1),
    "dw3" 3x3 filters with depth multiplier 1 (the unrolled path; dilation 1 mostly), "dw-noscratch"
    any filter without scratch (the per-pixel path). "conv-cols" gives mcc_convolve_s8 only its two
    im2col columns (no requantization table); "1x1-noscratch" runs mcc_convolve_1x1_s8 without scratch.
    "conv-rgb" is a 3x3 filter over 3 input channels (K = 27, a specialised matrix-product path);
    "1x1-lean" a 1x1 filter over 8 or 16 channels with a bias, the full clamp range and no left shift
    (the specialised lean paths for K = 8 and K = 16). A "+dual" suffix writes the filter in the dual-row layout
    (mcc_matmul.h; codegen/dual_rows.py), which every CONV_2D case allows (weights in [-127, 127]).
    """
    dual = kind.endswith("+dual")
    kind = kind.removesuffix("+dual")
    n = int(rng.integers(1, 3))
    if kind.startswith("1x1"):
        kh = kw = dh = dw = 1
    elif kind in ("dw3", "conv-rgb"):
        kh = kw = 3
        dh, dw = (int(v) for v in rng.choice([1, 1, 1, 1, 2], 2))
    elif kind == "dw3p":
        kh = kw = 3
        dh = dw = 1
    else:
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        dh, dw = (int(v) for v in rng.choice([1, 1, 1, 2, 3], 2))
    sh, sw = (int(v) for v in rng.choice([1, 1, 2, 3], 2))
    if kind == "dw3p":  # the planar path: stride_h 1 or 2 (any stride_w), pad_left <= 2
        sh = int(rng.choice([1, 1, 2]))
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if kind.startswith("1x1") or rng.random() < 0.3:
        pt = pb = pl = pr = 0
    else:
        pt, pb = (int(v) for v in rng.integers(0, eh, 2))
        pl, pr = (int(v) for v in rng.integers(0, ew, 2))
    h = int(rng.integers(max(1, eh - pt - pb), max(2, eh - pt - pb) + 12))
    w = int(rng.integers(max(1, ew - pl - pr), max(2, ew - pl - pr) + 12))
    oh, ow = (h + pt + pb - eh) // sh + 1, (w + pl + pr - ew) // sw + 1
    depthwise = kind.startswith("dw")
    if kind == "dw3":
        c_in = int(rng.choice([4, 8, 12, 16, 32, 5, 7, 9, 19]))
    elif kind == "dw3p":
        c_in = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 19]))
    elif kind == "conv-rgb":
        c_in = 3
    elif kind == "1x1-lean":
        c_in = int(rng.choice([8, 16]))
    else:
        c_in = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 16, 19, 32]))
    mult = int(rng.choice([1, 1, 1, 2, 3])) if depthwise and kind not in ("dw3", "dw3p") else 1
    c_out = c_in * mult if depthwise else int(rng.integers(1, 24))
    attrs = irops.DepthwiseConv2DAttrs(stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw, pad_top=pt,
                                       pad_bottom=pb, pad_left=pl, pad_right=pr, depth_multiplier=mult)
    out_shape = (n, oh, ow, c_out)
    x = rng.integers(-128, 128, (n, h, w, c_in)).astype(np.int8)
    taps = kh * kw * (1 if depthwise else c_in)
    wshape = (1, kh, kw, c_out) if depthwise else (c_out, kh, kw, c_in)
    wt = rng.integers(-127, 128, wshape).astype(np.int8)
    # Left shifts (scales > 1) send a whole call to the generic requantization, so most calls have none;
    # some have tiny scales (too large a right shift to fold the output offset) with a huge bias and zero
    # filter, like the dead channels of real models.
    large = 0.07 if rng.random() < 0.3 and kind != "1x1-lean" else 0.0
    tiny = 0.15 if rng.random() < 0.3 else 0.0
    mults, shifts = random_multipliers(rng, c_out, 40.0 / (math.sqrt(taps) * 74.0 * 74.0), large, tiny)
    has_bias = rng.random() < 0.8 or kind == "1x1-lean"
    bias = rng.integers(-30000, 30000, c_out) if has_bias else np.zeros(c_out, np.int64)
    dead = (shifts < -22) & (mults > 0) & (rng.random(c_out) < 0.5)
    if has_bias and dead.any():
        bias[dead] = rng.choice([-(1 << 30), 1 << 30, (1 << 30) + 128, -(1 << 30) - 64], int(dead.sum()))
        if depthwise:
            wt[..., dead] = 0
        else:
            wt[dead] = 0
    lo, hi = random_act(rng) if kind != "1x1-lean" else (-128, 127)
    if kind == "dw3p" and rng.random() < 0.7:
        lo, hi = -128, 127  # the planar path's clamp (a narrower one takes the band path)
    p = fp.ConvParams(-random_zp(rng), 0, random_zp(rng), mults, shifts, lo, hi, bias.astype(np.int64))
    if depthwise:
        want = ref_conv.depthwise_conv2d_s8(x, wt, p, attrs, out_shape)
    else:
        want = ref_conv.conv2d_s8(x, wt, p, attrs, out_shape)
    cp = ConvParams(p.input_offset, p.output_offset, sh, sw, pt, pl, dh, dw, mult, lo, hi)
    k_cols = kh * kw * c_in  # values of an im2col column
    if dual:
        rows = wt.reshape(c_out, -1)
        padded = dual_rows.kernel_rows(fn, rows)  # mcc_convolve_s8, K % 4 != 0: zero weights to whole groups
        pad = padded.shape[1] != rows.shape[1] and rng.random() < 0.6  # else the scalar tail (dual_rows = 1)
        packed = dual_rows.dual_rows(padded if pad else rows)
        if packed is not None:  # None for a single channel or K < 4: the plain layout
            # bounded accumulators take the SMMLAR requantization (mcc_rq2), except dead channels' huge biases
            cp.small_acc = int(dual_rows.small_accumulators(rows, bias) and rng.random() < 0.7)
            wt, cp.dual_rows = packed, 2 if pad else 1
            k_cols = padded.shape[1] if pad else k_cols
    scratch = 0
    if fn == "mcc_convolve_s8":  # the columns alone ("conv-cols") or with the table, the size get_buffer_size gives
        scratch = 2 * k_cols * 2 if kind == "conv-cols" else 2 * ((kh * kw * c_in + 3) & ~3) * 2 + 16 * c_out
    elif fn == "mcc_convolve_1x1_s8" and kind != "1x1-noscratch":
        scratch = 2 * c_in * 2 + 16 * c_out
    elif depthwise and kind != "dw-noscratch":
        scratch = depthwise_scratch_bytes((h, w), (oh, ow), kh, kw, (sh, sw), (pt, pl), (dh, dw), mult)
        if kind == "dw3p" and rng.random() < 0.25:  # the band alone, smaller than the planar columns: the band path
            scratch = depthwise_band_bytes(w, ow, kh, kw, sw, pl, dh, dw, mult)
    args = [Ctx(scratch) if scratch else None, cp, Quant(mults, shifts), dims(x.shape), In(x), dims(wshape), In(wt),
            In(bias) if has_bias else None, dims(out_shape), Out()]
    return Call(fn, args, want,
                f"{fn} x{x.shape} w{wt.shape} {attrs} -> {out_shape} dual_rows={cp.dual_rows} small_acc={cp.small_acc}")


def fc_call(rng, with_scratch: bool = True, dual: bool = False, lean: bool = False) -> Call:
    """A random FULLY_CONNECTED call, with the scratch buffer (widened input row) or without; `dual`: symmetric
    weights in the dual-row layout (mcc_matmul.h) where it applies (at least two outputs and four inputs); `lean`:
    the lean loop's layout (dual_rows = 3, pairs in blocks of three) where its conditions hold (a bias, one
    requantization whose fast form folds the output offset, the full clamp range, the generator's bounds), else the
    dual-row layout: shapes around its special cases (K = 8, K % 32 in every residue, N % 6 and odd N, N = 8), biases
    up to the bound (B's accumulator 256 * (sum + bias) then wraps in int32)."""
    if lean:
        dual = True
        batches = int(rng.integers(1, 3))
        k = int(rng.choice([8, 8, int(rng.integers(4, 80)), int(rng.integers(4, 200))]))
        n_out = int(rng.choice([8, int(rng.integers(2, 30))]))
    else:
        batches, k, n_out = int(rng.integers(1, 4)), int(rng.integers(1, 90)), int(rng.integers(1, 24))
    per_channel = bool(rng.random() < 0.5) and not (lean and rng.random() < 0.85)
    f_off = 0 if dual or rng.random() < 0.6 else -random_zp(rng)
    x = rng.integers(-128, 128, (batches, k)).astype(np.int8)
    wt = rng.integers(-128 if f_off else -127, 128, (n_out, k)).astype(np.int8)
    large = 0.07 if rng.random() < 0.3 else 0.0
    tiny = 0.3 if rng.random() < 0.3 else 0.0
    mults, shifts = random_multipliers(rng, n_out if per_channel else 1, 40.0 / (math.sqrt(k) * 90.0 * 90.0), large,
                                       tiny)
    has_bias = rng.random() < 0.8 or (lean and rng.random() < 0.85)
    bias = rng.integers(-30000, 30000, n_out) if has_bias else np.zeros(n_out, np.int64)
    if lean and has_bias and rng.random() < 0.3:  # B's sum plus bias close to 2^23
        room = (1 << 23) - 1 - 255 * int(np.abs(wt.astype(np.int64)).sum(axis=1).max())
        bias = rng.integers(-room, room + 1, n_out)
        mults, shifts = random_multipliers(rng, n_out if per_channel else 1, 2.0 ** -17, 0.0, 0.0)
    lo, hi = random_act(rng)
    if lean and rng.random() < 0.8:
        lo, hi = -128, 127
    p = fp.ConvParams(-random_zp(rng), f_off, random_zp(rng), mults, shifts, lo, hi, bias.astype(np.int64))
    want = ref_conv.fully_connected_s8(x, wt, p, (batches, n_out))
    fcp = FcParams(p.input_offset, p.filter_offset, p.output_offset, int(per_channel), lo, hi)
    packed = dual_rows.dual_rows(wt) if dual else None
    if packed is not None:
        m, sh = int(mults[0]), int(shifts[0])
        takes_lean = (lean and has_bias and not per_channel and (lo, hi) == (-128, 127)
                      and (m == 0 or (m > 0 and -dual_rows.MAX_FOLD_SHIFT <= sh <= -1))
                      and dual_rows.fc_small_accumulators(wt, bias))
        wt, fcp.dual_rows = packed, 1
        if takes_lean:
            wt, fcp.dual_rows = dual_rows.interleave_pairs(packed, n_out, k), 3
    scratch = Ctx(((k + 3) & ~3) * 2) if with_scratch else None
    args = [scratch, fcp, Quant(mults, shifts), Dims(batches, 1, 1, k), In(x), Dims(n_out, 1, 1, k), In(wt),
            In(bias) if has_bias else None, Dims(batches, 1, 1, n_out), Out()]
    return Call("mcc_fully_connected_s8", args, want,
                f"fc {batches}x{k} -> {n_out} per_channel={per_channel} f_off={f_off} dual_rows={fcp.dual_rows} "
                f"act=[{lo}, {hi}] bias={has_bias}")


CONV_KINDS = [("conv", "mcc_convolve_s8"), ("conv-cols", "mcc_convolve_s8"), ("conv-rgb", "mcc_convolve_s8"),
              ("1x1", "mcc_convolve_1x1_s8"), ("1x1-lean", "mcc_convolve_1x1_s8"), ("1x1-noscratch", "mcc_convolve_1x1_s8"),
              ("1x1", "mcc_convolve_s8"), ("conv+dual", "mcc_convolve_s8"), ("conv-rgb+dual", "mcc_convolve_s8"),
              ("1x1+dual", "mcc_convolve_1x1_s8"), ("1x1-lean+dual", "mcc_convolve_1x1_s8"),
              ("dw", "mcc_depthwise_conv_s8"), ("dw3", "mcc_depthwise_conv_s8"), ("dw3p", "mcc_depthwise_conv_s8"),
              ("dw-noscratch", "mcc_depthwise_conv_s8")]


@pytest.mark.parametrize("kind,fn", CONV_KINDS)
def test_convolutions(lib, kind, fn):
    check_host(lib, [conv_call(rng_for(fn + kind, case), kind, fn) for case in range(CASES)])


def test_fully_connected(lib):
    check_host(lib, [fc_call(rng_for("fc", case)) for case in range(CASES)])
    check_host(lib, [fc_call(rng_for("fc-noscratch", case), with_scratch=False) for case in range(CASES)])
    duals = [fc_call(rng_for("fc-dual", case), dual=True) for case in range(CASES)]
    assert sum(c.args[1].dual_rows for c in duals) >= CASES // 2  # most random shapes take the layout
    check_host(lib, duals)
    leans = [fc_call(rng_for("fc-lean", case), lean=True) for case in range(2 * CASES)]
    assert sum(c.args[1].dual_rows == 3 for c in leans) >= CASES  # most take the lean layout, the others dual rows
    check_host(lib, leans)
    call = fc_call(rng_for("fc", 0))
    lean = next(c for c in leans if c.args[1].dual_rows == 3)
    for field, value in [("act_min", -127), ("act_max", 126), ("per_channel", 1), ("dual_rows", 2)]:
        fcp = FcParams(*(getattr(lean.args[1], f) for f, _ in FcParams._fields_))
        setattr(fcp, field, value)  # the lean layout with parameters its loop does not take: refused
        assert run_host(lib, Call(lean.fn, [lean.args[0], fcp, *lean.args[2:]], lean.want))[0] == -1, field
    assert run_host(lib, Call(lean.fn, [*lean.args[:7], None, *lean.args[8:]], lean.want))[0] == -1  # no bias
    assert lib.mcc_fully_connected_s8_get_buffer_size(ctypes.byref(call.args[3])) == call.args[0].size


def test_convolve_status_codes(lib):
    call = conv_call(rng_for("status", 0), "conv", "mcc_convolve_s8")
    in_d, f_d = call.args[3], call.args[5]
    need = lib.mcc_convolve_s8_get_buffer_size(ctypes.byref(in_d), ctypes.byref(f_d))
    assert need == call.args[0].size
    cols = 2 * f_d.h * f_d.w * in_d.c * 2  # the columns alone are enough (generic requantization)
    for case in range(16):  # the depthwise band or planar columns: the C size agrees with the planner's (lower.py)
        dwc = conv_call(rng_for("status-dw", case), "dw3p" if case % 2 else "dw", "mcc_depthwise_conv_s8")
        cp, dw_in, dw_f, dw_out = dwc.args[1], dwc.args[3], dwc.args[5], dwc.args[8]
        want = depthwise_scratch_bytes((dw_in.h, dw_in.w), (dw_out.h, dw_out.w), dw_f.h, dw_f.w,
                                       (cp.stride_h, cp.stride_w), (cp.pad_h, cp.pad_w), (cp.dilation_h, cp.dilation_w),
                                       cp.depth_multiplier)
        got = lib.mcc_depthwise_conv_s8_get_buffer_size(ctypes.byref(cp), ctypes.byref(dw_in), ctypes.byref(dw_f),
                                                        ctypes.byref(dw_out))
        assert got == want, dwc.label
    for ctx in (Ctx(cols - 2), None):
        assert run_host(lib, Call(call.fn, [ctx, *call.args[1:]], call.want))[0] == -2  # MCC_NO_BUFFER
    for size in (cols, need - 4):
        status, got = run_host(lib, Call(call.fn, [Ctx(size), *call.args[1:]], call.want))
        assert status == 0 and got.tobytes() == call.want.tobytes()
    one = conv_call(rng_for("status-1x1", 0), "1x1", "mcc_convolve_1x1_s8")
    assert lib.mcc_convolve_1x1_s8_get_buffer_size(ctypes.byref(one.args[3]), ctypes.byref(one.args[5])) == \
        one.args[0].size
    bad_out = Dims(call.args[8].n, call.args[8].h, call.args[8].w, call.args[8].c + 1)
    assert run_host(lib, Call(call.fn, [*call.args[:8], bad_out, Out()], call.want))[0] == -1  # MCC_ARG_ERROR
    one_by_one = f_d.h * f_d.w == 1 and call.args[1].pad_h == call.args[1].pad_w == 0
    status = run_host(lib, Call("mcc_convolve_1x1_s8", [None, *call.args[1:]], call.want))[0]
    assert status == (0 if one_by_one and call.args[1].dilation_h == call.args[1].dilation_w == 1 else -1)
    # mcc_convolve_s8_channels: the same outputs at a wider pixel stride (packed filters in parts write a slice of the
    # channels so), the bytes between untouched; a stride below the channel count is refused
    c = call.args[8].c
    pixels = call.want.size // c
    wide = np.full((pixels, c + 3), 99, np.int8)
    status, got = run_host(lib, Call("mcc_convolve_s8_channels", [*call.args[:9], Out(), c + 3], wide), wide)
    assert status == 0 and np.array_equal(got[:, :c], call.want.reshape(pixels, c)) and np.all(got[:, c:] == 99)
    assert run_host(lib, Call("mcc_convolve_s8_channels", [*call.args[:9], Out(), c - 1], wide), wide)[0] == -1


# ----------------------------------------------------------------------------- pooling


def pool_call(rng, case: int, kind: str) -> Call:
    n, c = int(rng.integers(1, 3)), int(rng.choice([1, 2, 3, 4, 5, 8, 11, 16, 24]))
    if case < 2 or rng.random() < 0.2:  # global pooling, sometimes over more than 256 taps
        h, w = (17, 19) if case < 2 else (int(v) for v in rng.integers(1, 21, 2))
        fh, fw, sh, sw, pt, pb, pl, pr = h, w, 1, 1, 0, 0, 0, 0
    else:
        fh, fw = (int(v) for v in rng.integers(1, 6, 2))
        sh, sw = (int(v) for v in rng.integers(1, 4, 2))
        pt, pb = (int(v) for v in rng.integers(0, fh, 2))
        pl, pr = (int(v) for v in rng.integers(0, fw, 2))
        h = int(rng.integers(max(1, fh - pt - pb), 14))
        w = int(rng.integers(max(1, fw - pl - pr), 14))
    attrs = irops.Pool2DAttrs(filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw, pad_top=pt, pad_bottom=pb,
                              pad_left=pl, pad_right=pr)
    out_shape = (n, (h + pt + pb - fh) // sh + 1, (w + pl + pr - fw) // sw + 1, c)
    values = case + 1 if case < 2 else int(rng.choice(3, p=[0.6, 0.2, 0.2]))
    vlo, vhi = [(-128, 128), (100, 128), (-128, -100)][values]  # large window sums too
    x = rng.integers(vlo, vhi, (n, h, w, c)).astype(np.int8)
    lo, hi = random_act(rng)
    ref = ref_pool.average_pool_s8 if kind == "avg" else ref_pool.max_pool_s8
    want = ref(x, attrs, out_shape, lo, hi)
    pp = PoolParams(fh, fw, sh, sw, pt, pl, lo, hi)
    return Call(f"mcc_{kind}pool_s8", [pp, dims(x.shape), In(x), dims(out_shape), Out()], want,
                f"{kind}pool x{x.shape} {attrs} -> {out_shape}")


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pooling(lib, kind):
    check_host(lib, [pool_call(rng_for("pool" + kind, case), case, kind) for case in range(CASES)])


# ----------------------------------------------------------------------------- ADD, SUB, MUL


def binary_graph(kind: str, shapes, scales, zps, activation: str) -> tuple[Graph, Op]:
    g = Graph(name="binary")
    for name, shape, s, z in zip(("a", "b", "y"), shapes, scales, zps):
        g.add_tensor(Tensor(name, tuple(shape), "int8", QuantParams(np.array([s], np.float32), np.array([z]))))
    op = Op(kind, ["a", "b"], ["y"], irops.ElementwiseAttrs(activation=activation), kind.lower())
    g.ops, g.inputs, g.outputs = [op], ["a", "b"], ["y"]
    return g, op


def broadcast_shapes(rng) -> tuple[tuple, tuple, tuple]:
    out = tuple(int(v) for v in rng.integers(1, 7, 4))
    if rng.random() < 0.25:
        return out, out, out
    if rng.random() < 0.3:  # one input has the output's shape, the other is broadcast
        other = tuple(d if rng.random() < 0.4 else 1 for d in out)
        return ((out, other) if rng.random() < 0.5 else (other, out)) + (out,)
    full1 = rng.random(4) < 0.5  # per dimension, which input has it in full (at least one of them)
    full2 = ~full1 | (rng.random(4) < 0.3)
    s1 = tuple(d if f else 1 for d, f in zip(out, full1))
    s2 = tuple(d if f else 1 for d, f in zip(out, full2))
    return s1, s2, out


def binary_call(rng, kind: str) -> Call:
    s1, s2, so = broadcast_shapes(rng)
    sa, sb = log_uniform(rng, 0.004, 0.5), log_uniform(rng, 0.004, 0.5)
    if kind == "MUL":
        sy = sa * sb * 128.0 * float(np.exp(rng.uniform(-1.5, 1.5)))
    else:
        sy = max(sa, sb) * float(np.exp(rng.uniform(-0.5, 1.5)))
    activation = str(rng.choice(["NONE", "NONE", "RELU", "RELU6", "RELU_N1_TO_1"]))
    g, op = binary_graph(kind, (s1, s2, so), (sa, sb, sy), [random_zp(rng) for _ in range(3)], activation)
    a = rng.integers(-128, 128, s1).astype(np.int8)
    b = rng.integers(-128, 128, s2).astype(np.int8)
    if kind == "MUL":
        mp = fp.mul_params(g, op)
        want = ref_elementwise.mul_s8(a, b, mp)
        cp = MulParams(mp.input1_offset, mp.input2_offset, mp.output_offset, mp.output_multiplier, mp.output_shift,
                       mp.act_min, mp.act_max)
    else:
        ap = fp.add_sub_params(g, op)
        want = ref_elementwise.add_sub_s8(a, b, ap, subtract=kind == "SUB")
        cp = AddParams(ap.left_shift, ap.input1_offset, ap.input1_multiplier, ap.input1_shift, ap.input2_offset,
                       ap.input2_multiplier, ap.input2_shift, ap.output_offset, ap.output_multiplier, ap.output_shift,
                       ap.act_min, ap.act_max)
    bd = BroadcastDims(dims(s1), dims(s2), dims(so))
    if kind == "MUL":
        return Call("mcc_mul_s8", [cp, bd, In(a), In(b), Out()], want, f"{s1} {kind} {s2} -> {so} {activation}")
    # ADD/SUB: half the cases with the scratch of the table path (mcc_addsub.h), half without
    tables = bool(rng.random() < 0.5)
    ctx = Ctx(2 * 256 * 4) if tables else None
    return Call(f"mcc_{kind.lower()}_s8", [ctx, cp, bd, In(a), In(b), Out()], want,
                f"{s1} {kind} {s2} -> {so} {activation}{' (tables)' if tables else ''}")


@pytest.mark.parametrize("kind", ["ADD", "SUB", "MUL"])
def test_binary_elementwise(lib, kind):
    calls = [binary_call(rng_for("binary" + kind, case), kind) for case in range(CASES)]
    check_host(lib, calls)
    for call in calls:  # in place: out aliases in1 where shapes allow
        k = len(call.args) - 3  # operand 1's position (after the ctx of ADD/SUB)
        a = call.args[k].values
        if a.shape == call.want.shape:
            buf = a.copy()
            status, got = run_host(lib, Call(call.fn, [*call.args[:k], In(buf), call.args[k + 1], Out()], call.want),
                                   out=buf)
            assert status == 0 and np.array_equal(got, call.want), "in place: " + call.label


def test_broadcast_shape_errors(lib):
    cp = AddParams(20, 0, 1 << 30, 0, 0, 1 << 30, 0, 0, 1 << 30, 0, -128, 127)
    x = np.zeros((1, 2, 3, 4), np.int8)
    for d2 in [(1, 2, 2, 4), (1, 2, 3, 0)]:
        bd = BroadcastDims(Dims(1, 2, 3, 4), Dims(*d2), Dims(1, 2, 3, 4))
        assert run_host(lib, Call("mcc_add_s8", [None, cp, bd, In(x), In(x), Out()], x))[0] == -1


# ----------------------------------------------------------------------------- SOFTMAX


def softmax_call(rng, case: int) -> Call:
    if case == 0:  # exponential sum >= 2^30: the final shift exceeds 31
        x = np.full((1, 3000), int(rng.integers(-128, 128)), np.int8)
    else:
        rows = int(rng.integers(1, 5))
        depth = int(rng.choice([1, 2, 3, 5, 10, 12, 37, 100, 1001])) if rng.random() < 0.7 else int(rng.integers(1, 400))
        x = rng.integers(-128, 128, (rows, depth)).astype(np.int8)
        if rng.random() < 0.3:  # narrow range: many values near the maximum
            x = (x // 16).astype(np.int8)
    g = Graph(name="softmax")
    g.add_tensor(Tensor("x", x.shape, "int8", QuantParams(np.array([log_uniform(rng, 0.01, 0.5)], np.float32),
                                                          np.array([random_zp(rng)]))))
    g.add_tensor(Tensor("y", x.shape, "int8", QuantParams(np.array([1 / 256], np.float32), np.array([-128]))))
    beta = 1.0 if rng.random() < 0.6 else float(rng.uniform(0.3, 3.0))
    op = Op("SOFTMAX", ["x"], ["y"], irops.SoftmaxAttrs(beta=beta), "softmax")
    g.ops, g.inputs, g.outputs = [op], ["x"], ["y"]
    p = fp.softmax_params(g, op)
    want = ref_softmax.softmax_s8(x, p)
    sp = SoftmaxParams(p.input_multiplier, p.input_left_shift, p.diff_min)
    return Call("mcc_softmax_s8", [sp, x.shape[0], x.shape[1], In(x), Out()], want, f"softmax {x.shape} {p}")


def test_softmax(lib):
    check_host(lib, [softmax_call(rng_for("softmax", case), case) for case in range(CASES)])


# ----------------------------------------------------------------------------- PAD, CONCATENATION


def pad_call(rng) -> Call:
    shape = tuple(int(v) for v in rng.integers(1, 6, 4))
    before = [int(v) if rng.random() < 0.6 else 0 for v in rng.integers(0, 4, 4)]
    after = [int(v) if rng.random() < 0.6 else 0 for v in rng.integers(0, 4, 4)]
    zp = random_zp(rng)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    want = np.pad(x, list(zip(before, after)), constant_values=zp)
    args = [dims(shape), In(x), In(np.array(before)), In(np.array(after)), I8(zp), dims(want.shape), Out()]
    return Call("mcc_pad_s8", args, want, f"pad {shape} {before} {after}")


def concat_call(rng) -> Call:
    base = [int(v) for v in rng.integers(1, 6, 4)]
    axis = int(rng.integers(0, 4))
    sizes = [int(v) for v in rng.integers(0 if rng.random() < 0.2 else 1, 5, int(rng.integers(1, 5)))]
    if sum(sizes) == 0:
        sizes[0] = 1
    xs = [rng.integers(-128, 128, base[:axis] + [s] + base[axis + 1:]).astype(np.int8) for s in sizes]
    lo, hi = random_act(rng)
    want = np.clip(np.concatenate(xs, axis=axis), lo, hi).astype(np.int8)
    outer, inner = int(np.prod(base[:axis])), int(np.prod(base[axis + 1:]))
    args = [len(xs), Ptrs(xs), In(np.array(sizes)), outer, inner, lo, hi, Out()]
    return Call("mcc_concat_s8", args, want, f"concat axis {axis} sizes {sizes} base {base}")


def test_pad(lib):
    check_host(lib, [pad_call(rng_for("pad", case)) for case in range(CASES)])


def test_concat(lib):
    check_host(lib, [concat_call(rng_for("concat", case)) for case in range(CASES)])


# ----------------------------------------------------------------------------- activations, requantization, MEAN


def unary_graph(kind: str, shape, qin: QuantParams | None, qout: QuantParams | None, attrs=None) -> tuple[Graph, Op]:
    g = Graph(name=kind.lower())
    g.add_tensor(Tensor("x", tuple(shape), "float32" if qin is None else "int8", qin))
    g.add_tensor(Tensor("y", tuple(shape), "float32" if qout is None else "int8", qout))
    op = Op(kind, ["x"], ["y"], attrs if attrs is not None else registry.spec(kind).attrs(), kind.lower())
    g.ops, g.inputs, g.outputs = [op], ["x"], ["y"]
    return g, op


def rand_q(rng, lo: float = 1e-3, hi: float = 1.0) -> QuantParams:
    return QuantParams(np.array([log_uniform(rng, lo, hi)], np.float32), np.array([random_zp(rng)]))


def fixed_q(scale: float, zp: int) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([zp]))


def activation_input(rng, case: int) -> np.ndarray:
    """Short tensors (value by value) and long ones (through the 256-entry table), all 256 values included."""
    size = int(rng.integers(1, 200)) if case % 2 else int(rng.integers(300, 3000))
    x = rng.integers(-128, 128, size).astype(np.int8)
    if size >= 256:
        x[:256] = rng.permutation(256) - 128
    return x


def activation_call(rng, case: int, kind: str) -> Call:
    x = activation_input(rng, case)
    if kind in ("LOGISTIC", "TANH"):
        qout = fixed_q(1 / 256, -128) if kind == "LOGISTIC" else fixed_q(1 / 128, 0)
        g, op = unary_graph(kind, x.shape, rand_q(rng, 1e-3, 0.5), qout)
        p = (fp.logistic_params if kind == "LOGISTIC" else fp.tanh_params)(g, op)
        want = ref_act.sigmoid_tanh_s8(x, p, kind == "TANH")
        cp = LogisticParams(p.input_zero_point, p.input_range_radius, p.input_multiplier, p.input_left_shift)
    elif kind == "HARD_SWISH":
        qin = rand_q(rng)
        ratio = log_uniform(rng, 1 / 120, 2000)  # from just above TFLM's limit to int16 shifts >= 16
        g, op = unary_graph(kind, x.shape, qin, fixed_q(qin.s * ratio, random_zp(rng)))
        p = fp.hard_swish_params(g, op)
        want = ref_act.hard_swish_s8(x, p)
        cp = HardSwishParams(*vars(p).values())
    elif kind == "LEAKY_RELU":
        alpha = [0.0, 0.2, -0.7][case] if case < 3 else float(rng.uniform(-2, 2))
        g, op = unary_graph(kind, x.shape, rand_q(rng), rand_q(rng), irops.LeakyReluAttrs(float(np.float32(alpha))))
        p = fp.leaky_relu_params(g, op)
        want = ref_act.leaky_relu_s8(x, p)
        cp = LeakyReluParams(*vars(p).values())
    elif kind in ("RELU", "QUANTIZE"):
        g, op = unary_graph(kind, x.shape, rand_q(rng), rand_q(rng))
        p = (fp.relu_params if kind == "RELU" else fp.requantize_params)(g, op)
        want = ref_act.requantize_s8(x, p)
        cp = RequantParams(*vars(p).values())
        kind = "REQUANTIZE"
    elif kind == "RELU6":
        qq = rand_q(rng, 1e-3, 0.1)
        g, op = unary_graph(kind, x.shape, qq, qq)
        p = fp.relu6_params(g, op)
        want = np.clip(x, p.zero, p.six).astype(np.int8)
        cp = Relu6Params(p.zero, p.six)
    else:
        raise ValueError(kind)
    return Call(f"mcc_{kind.lower()}_s8", [cp, int(x.size), In(x), Out()], want, f"{kind} size {x.size} {p}")


ACTIVATIONS = ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6", "QUANTIZE"]


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activations(lib, kind):
    calls = [activation_call(rng_for("act" + kind, case), case, kind) for case in range(CASES)]
    check_host(lib, calls)
    call = calls[0]  # in place
    buf = call.args[2].values.copy()
    status, got = run_host(lib, Call(call.fn, [*call.args[:2], In(buf), Out()], call.want), out=buf)
    assert status == 0 and np.array_equal(got, call.want)


MEAN_AXES = [(1, 2), (1, 2), (1,), (2,), (3,), (0,), (1, 3), (2, 3), (0, 1), (1, 2, 3), (0, 1, 2, 3), (0, 2)]


def mean_call(rng, case: int) -> Call:
    axes = MEAN_AXES[case % len(MEAN_AXES)]
    shape = tuple(int(v) for v in rng.integers(1, 9, 4))
    if case == 0:  # global average pooling of a large feature map
        shape = (1, 24, 20, 8)
    qin = rand_q(rng)
    qout = qin if rng.random() < 0.3 else rand_q(rng)
    g = Graph(name="mean")
    g.add_tensor(Tensor("x", shape, "int8", qin))
    g.add_tensor(Tensor("y", tuple(d for i, d in enumerate(shape) if i not in axes), "int8", qout))
    op = Op("MEAN", ["x"], ["y"], irops.MeanAttrs(axes, False), "mean")
    g.ops, g.inputs, g.outputs = [op], ["x"], ["y"]
    p = fp.mean_params(g, op)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    want = ref_reduce.mean_s8(x, axes, p).reshape(-1)
    mask = sum(1 << a for a in axes)
    mp = MeanParams(p.input_zero_point, p.output_zero_point, p.num_elements, p.multiplier, p.shift)
    return Call("mcc_mean_s8", [mp, dims(shape), mask, In(x), Out()], want, f"mean {shape} axes {axes} {p}")


def test_mean(lib):
    check_host(lib, [mean_call(rng_for("mean", case), case) for case in range(CASES)])
    call = mean_call(rng_for("mean", 1), 1)
    bad = MeanParams(call.args[0].input_zero_point, 0, call.args[0].num_elements + 1, 1 << 30, 0)
    assert run_host(lib, Call(call.fn, [bad, *call.args[1:]], call.want))[0] == -1


# ----------------------------------------------------------------------------- Cortex-M builds

ARM_TARGETS = {
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mthumb"],
}


def arm_gcc() -> str:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc is absent")
    return gcc


def test_kernels_compile_for_cortex_m(tmp_path):
    gcc = arm_gcc()
    names = list(ARM_TARGETS)
    for pair in (names[:2], names[2:]):  # two cores: two compilers at a time
        procs = {}
        for name in pair:
            (tmp_path / name).mkdir()
            cmd = [gcc, *WARNINGS, "-O2", *ARM_TARGETS[name], f"-I{INCLUDE}", "-c", *map(str, KERNEL_SOURCES)]
            procs[name] = subprocess.Popen(cmd, cwd=tmp_path / name, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
        for name, proc in procs.items():
            log, _ = proc.communicate()
            assert proc.returncode == 0, f"{name}:\n{log}"
            assert len(list((tmp_path / name).glob("*.o"))) == len(KERNEL_SOURCES)


def _c_values(values: np.ndarray) -> str:
    v = np.asarray(values)
    if v.dtype == np.float32:  # exact hexadecimal float literals (C99)
        flat = [float(x).hex() + "f" for x in v.ravel()]
    else:
        flat = [str(int(x)) for x in v.ravel()]
    return "{" + ", ".join(flat or ["0"]) + "}"


def _c_struct(s: ctypes.Structure) -> str:
    parts = []
    for name, ctype in s._fields_:
        v = getattr(s, name)
        if isinstance(v, ctypes.Structure):
            parts.append(_c_struct(v))
        elif isinstance(v, float):
            parts.append(float(np.float32(v)).hex() + "f")
        else:
            parts.append(str(int(v)))
    return "{" + ", ".join(parts) + "}"


def emit_case(call: Call, idx: int) -> str:
    """C source of `static int case_<idx>(void)`: runs the call, returns 1 when the output is as expected."""
    decls, args = [], []
    n_out = int(call.want.nbytes)
    out_type = C_TYPES[call.want.dtype][1]
    for j, a in enumerate(call.args):
        v = f"a{j}"
        if a is None:
            args.append("NULL")
        elif isinstance(a, int):
            args.append(f"(int32_t){a}")
        elif isinstance(a, ctypes.Structure):
            decls.append(f"static const {type(a).c_name} {v} = {_c_struct(a)};")
            args.append(f"&{v}")
        elif isinstance(a, In):
            arr = as_c_array(a.values)
            decls.append(f"static const {C_TYPES[arr.dtype][1]} {v}[] = {_c_values(arr)};")
            args.append(v)
        elif isinstance(a, Quant):
            decls.append(f"static const int32_t {v}m[] = {_c_values(a.multipliers)};")
            decls.append(f"static const int32_t {v}s[] = {_c_values(a.shifts)};")
            decls.append(f"static const mcc_per_channel_quant {v} = {{{v}m, {v}s}};")
            args.append(f"&{v}")
        elif isinstance(a, Ctx):
            decls.append(f"static int32_t {v}buf[{max(1, (a.size + 3) // 4)}];")
            decls.append(f"mcc_context {v} = {{{v}buf, {a.size}}};")
            args.append(f"&{v}")
        elif isinstance(a, Out):
            args.append("out")
        elif isinstance(a, I8):
            args.append(f"(int8_t){a.value}")
        elif isinstance(a, Ptrs):
            names = []
            for k, x in enumerate(a.arrays):
                decls.append(f"static const int8_t {v}_{k}[] = {_c_values(x)};")
                names.append(f"{v}_{k}")
            decls.append(f"static const int8_t *const {v}[] = {{{', '.join(names)}}};")
            args.append(v)
    decls.append(f"static const {out_type} want[] = {_c_values(call.want)};")
    decls.append(f"static {out_type} out[{max(1, call.want.size)}];")
    body = "\n    ".join(decls)
    return (f"/* {call.label} */\nstatic int case_{idx}(void)\n{{\n    {body}\n"
            f"    memset(out, 99, sizeof(out));\n"
            f"    return {call.fn}({', '.join(args)}) == MCC_OK && memcmp(out, want, {n_out}) == 0;\n}}\n")


def qemu_calls() -> list[Call]:
    calls = []
    for case in range(QEMU_CASES):
        calls += [conv_call(rng_for(fn + kind, case), kind, fn) for kind, fn in CONV_KINDS]
        calls += [fc_call(rng_for("fc", case)), fc_call(rng_for("fc-noscratch", case), with_scratch=False),
                  fc_call(rng_for("fc-dual", case), dual=True), fc_call(rng_for("fc-lean", case), lean=True)]
        calls += [pool_call(rng_for("pool" + kind, case), case, kind) for kind in ("avg", "max")]
        calls += [binary_call(rng_for("binary" + kind, case), kind) for kind in ("ADD", "SUB", "MUL")]
        calls += [softmax_call(rng_for("softmax", case), case), pad_call(rng_for("pad", case)),
                  concat_call(rng_for("concat", case))]
        calls += [activation_call(rng_for("act" + kind, case), case, kind) for kind in ACTIVATIONS]
        calls += [mean_call(rng_for("mean", case), case)]
    return calls


def test_kernels_on_qemu_cortex_m4(tmp_path):
    """The Cortex-M4 build (DSP paths with the real SXTB16, SMLAD, SSUB8/SEL...) gives the reference outputs."""
    gcc = arm_gcc()
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        pytest.skip("qemu-system-arm is absent")
    calls = qemu_calls()
    src = ['#include <string.h>', '#include "mcc_nn.h"', "void qemu_print(const char *s);", ""]
    src += [emit_case(call, i) for i, call in enumerate(calls)]
    src.append("static int (*const cases[])(void) = {" + ", ".join(f"case_{i}" for i in range(len(calls))) + "};")
    src.append("""
int main(void)
{
    static char line[48];
    unsigned i, fails = 0;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!cases[i]()) {
            unsigned k = i, n = 0;
            char digits[12];
            fails++;
            do { digits[n++] = (char)('0' + k % 10); k /= 10; } while (k);
            memcpy(line, "MCC_QEMU_FAIL ", 14);
            for (k = 0; k < n; k++) line[14 + k] = digits[n - 1 - k];
            line[14 + n] = '\\n';
            line[15 + n] = 0;
            qemu_print(line);
        }
    }
    qemu_print(fails ? "MCC_QEMU_DONE failures\\n" : "MCC_QEMU_DONE ok\\n");
    return fails != 0;
}
""")
    (tmp_path / "cases.c").write_text("\n".join(src))
    elf = tmp_path / "cases.elf"
    cmd = [gcc, "-std=c99", "-O2", "-Wall", "-Werror", *ARM_TARGETS["cortex-m4"], f"-I{INCLUDE}", "-nostartfiles",
           "-T", str(TEST_C / "qemu.ld"), str(tmp_path / "cases.c"), str(TEST_C / "qemu_startup.c"),
           *map(str, KERNEL_SOURCES), "-o", str(elf), "-lc", "-lgcc"]
    build = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([qemu, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                          "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                         check=False, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    failed = [calls[int(i)].label for i in re.findall(r"MCC_QEMU_FAIL (\d+)", out)]
    assert "MCC_QEMU_DONE ok" in out and run.returncode == 0 and not failed, (failed, out[-2000:])
