"""The Helium (MVE) kernel paths on the emulated Cortex-M55 (mps3-an547): bit-exact with TFLM.

Host gcc cannot run MVE, so random single-op CONV_2D (1x1 and general), DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD
and SUB (with broadcasting) models run in QEMU and are compared with the tflite_micro interpreter (and the
reference executor). The cases cover K = KH * KW * C_in not a multiple of 16 (and K <= 16), window rows of at most 16 values
(KH 1 or 3, C_out a multiple of 4, padding on any side, strides, dilation_h), odd channel counts
(a short last group of channels), padding, strides and dilation, 3x3 depthwise windows with stride 1 and 2,
per-tensor and per-channel weights, and requantization with left and right shifts in the same layer (the output
scale sits between the channels' effective scales). One small case per kind runs in the default suite; the sweep
(8 models per kind) is marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.codegen.project import compile_graph
from mcucompress.driver import reference_outputs
from mcucompress.ir import QuantParams
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import Builder, add_conv2d, add_depthwise_conv2d, add_fully_connected
from tests.unit.test_reference_ops import tflm

pytestmark = needs_arm_toolchain_and_qemu
BOARD = "mps3-an547"


def _straddle(g) -> None:
    """Spread the per-channel weight scales of the graph's one weighted op by factors of 4 (1/4, 1, 4, ...; bias
    scales follow) and put the output scale at the geometric mean of the channels' effective scales: some channels
    then requantize with a left shift, others with a right shift."""
    op = g.ops[0]
    wt = g.t(op.inputs[1])
    w = wt.quant
    if w.scale.size < 2:
        return
    spread = 4.0 ** (np.arange(w.scale.size) % 3 - 1)
    wt.quant = QuantParams((w.scale * spread).astype(np.float32), w.zero_point, w.axis)
    if len(op.inputs) > 2 and op.inputs[2]:
        bt = g.t(op.inputs[2])
        bt.quant = QuantParams((bt.quant.scale * spread).astype(np.float32), bt.quant.zero_point, bt.quant.axis)
    eff = g.t(op.inputs[0]).quant.s * wt.quant.scale.astype(np.float64)
    out = g.t(op.outputs[0])
    out.quant = QuantParams(np.array([np.sqrt(eff.min() * eff.max())], np.float32), np.array([out.quant.zp]))


def case(kind: str, seed: int):
    """A random single-op model of `kind`: conv (general), conv1x1, dw or fc."""
    rng = np.random.default_rng(1000 + seed)
    b = Builder(rng, f"mve_{kind}_{seed}")
    h, w = (int(v) for v in rng.integers(1, 9, 2))
    c = int(rng.choice([1, 3, 5, 8, 13, 16, 17, 24, 33]))
    if kind == "fc":
        x = b.input((1, int(rng.integers(1, 3)), int(rng.choice([1, 7, 16, 31, 40, 65]))))  # 1 or 2 rows
        y = add_fully_connected(b, x, units=int(rng.integers(1, 12)), keep_num_dims=True)  # rows = batches
    elif kind == "dw":
        x = b.input((1, h, w, c))
        y = add_depthwise_conv2d(b, x, multiplier=1)
    elif kind in ("add", "sub"):  # a constant operand, broadcast along some axes 60% of the time
        from tests.random_graphs import _broadcast_partner, add_binary, operand

        x = b.input((1, h, w, c))
        shape = _broadcast_partner(rng, (1, h, w, c)) if rng.random() < 0.6 else (1, h, w, c)
        y = add_binary(b, kind.upper(), x, operand(b, shape, const_prob=1.0))
    elif kind == "rows":  # the window rows: KW * C_in <= 16, KH 1 or 3, C_out a multiple of 4, any padding
        x = b.input((1, int(rng.integers(1, 10)), int(rng.integers(1, 10)), int(rng.choice([1, 3, 4, 5, 8, 16]))))
        y = _conv_rows(b, x, rng)
    elif kind == "dw3x3":  # the inline-asm windows: 3x3, stride 1 or 2, dilation 1, 4 to 13 channels
        x = b.input((1, int(rng.integers(2, 12)), int(rng.integers(2, 12)), int(rng.integers(4, 14))))
        y = _dw3x3(b, x, rng)
    else:
        x = b.input((1, h, w, c))
        y = add_conv2d(b, x, out_channels=int(rng.integers(1, 12)))
        if kind == "conv1x1":  # rebuild as 1x1, no padding, dilation 1 (the 1x1 kernel)
            b = Builder(np.random.default_rng(1000 + seed), f"mve_{kind}_{seed}")
            x = b.input((1, h, w, c))
            y = _conv1x1(b, x, rng)
    g = b.finish(y)
    if rng.random() < 0.6:
        _straddle(g)
    return g, rng


def _conv1x1(b: Builder, x: str, rng) -> str:
    from mcucompress.ir import ops as irops
    from tests.random_graphs import _weighted_op

    n, h, w, c = b.shape(x)
    s = int(rng.integers(1, 3))
    oc = int(rng.integers(1, 12))
    oh, ow = (h - 1) // s + 1, (w - 1) // s + 1
    inputs, y = _weighted_op(b, x, (oc, 1, 1, c), oc, c, 0, True, "NONE", (n, oh, ow, oc), None)
    return b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(s, s, 1, 1, 0, 0, 0, 0, "NONE"))


def _conv_rows(b: Builder, x: str, rng) -> str:
    from mcucompress.ir import ops as irops
    from tests.random_graphs import FUSED, _pick, _weighted_op, _window_attrs

    n, h, w, c = b.shape(x)
    kh = int(rng.choice([1, 3]))
    kw = int(rng.integers(1, 16 // c + 1)) if c <= 16 else 1
    s, dh = (int(v) for v in rng.integers(1, 3, 2))
    oc = 4 * int(rng.integers(1, 5))
    (oh, ow), pads = _window_attrs(rng, (h, w), (kh, kw), (s, s), (dh, 1))
    act = _pick(rng, FUSED)
    per_channel = rng.random() < 0.8
    inputs, y = _weighted_op(b, x, (oc, kh, kw, c), oc, kh * kw * c, 0 if per_channel else None, rng.random() < 0.8,
                             act, (n, oh, ow, oc), None)
    return b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(s, s, dh, 1, **pads, activation=act))


def _dw3x3(b: Builder, x: str, rng) -> str:
    from mcucompress.ir import ops as irops
    from tests.random_graphs import _weighted_op, _window_attrs

    n, h, w, c = b.shape(x)
    s = int(rng.integers(1, 3))
    (oh, ow), pads = _window_attrs(rng, (h, w), (3, 3), (s, s), (1, 1))
    inputs, y = _weighted_op(b, x, (1, 3, 3, c), c, 9, 3, True, "RELU6", (n, oh, ow, c), None)
    return b.op("DEPTHWISE_CONV_2D", inputs, y, irops.DepthwiseConv2DAttrs(s, s, 1, 1, **pads, activation="RELU6"))


def check_on_m55(graphs, tmp_path) -> int:
    """Every graph on mps3-an547 against TFLM and the reference executor; returns the number of samples."""
    from mcucompress.harness.target import run_on_board

    samples = 0
    for i, (g, rng) in enumerate(graphs):
        x_info = g.t(g.inputs[0])
        xs = rng.integers(-128, 128, (2, *x_info.shape[1:])).astype(np.int8)
        run = run_on_board(compile_graph(g, "m", mve=True), xs, g.t(g.outputs[0]).shape, BOARD, workdir=tmp_path / str(i))
        ref = reference_outputs(g, xs)
        interp = tflm(g)
        for j, xj in enumerate(xs):
            expect = interp(xj.reshape(x_info.shape))
            expect = expect.reshape(-1)
            np.testing.assert_array_equal(ref[j].reshape(-1), expect, err_msg=f"{g.name}: reference")
            np.testing.assert_array_equal(run.outputs[j].reshape(-1), expect, err_msg=f"{g.name}: M55")
            samples += 1
    return samples


def test_mve_paths_bit_exact_on_m55(tmp_path):
    """One model per MVE path (conv, conv 1x1, window rows, depthwise any and 3x3, FC, ADD) on the default suite."""
    kinds = ("conv", "conv1x1", "rows", "dw", "dw3x3", "fc", "add")
    assert check_on_m55([case(k, 0) for k in kinds], tmp_path) == 14


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["conv", "conv1x1", "rows", "dw", "dw3x3", "fc", "add", "sub"])
def test_mve_paths_bit_exact_on_m55_sweep(kind, tmp_path):
    assert check_on_m55([case(kind, s) for s in range(1, 9)], tmp_path) == 16


def test_helium_files_pull_in_no_other_kernel():
    """The *_mve.c files call only support code: shipping them adds no DSP kernel file to a model, and the general
    paths variants.py keeps for kernels called by other kernels stay off (M4 images stay byte for byte the same)."""
    from mcucompress.codegen.kernel_sources import file_dependencies

    deps = {f: d for f, d in file_dependencies().items() if f.endswith("_mve.c")}
    assert len(deps) == 4 and all(d <= {"support/mcc_broadcast.c"} for d in deps.values())
