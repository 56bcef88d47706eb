"""Per-model kernel variants (codegen/variants.py, the project's mcc/include/mcc_variants.h): the switches
match firmware/include/mcc_variants.h, the layers that take a variant switch it on, and a model gives the
same bits whichever variants the build carries (a variant left out falls back to the general code)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mcucompress.assets import asset_dir
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.codegen.records import CStatic, KernelCall
from mcucompress.codegen.variants import GENERAL, SWITCHES, VARIANTS_HEADER, used_variants
from mcucompress.errors import McuError
from mcucompress.harness.host import build_runner, run_runner
from mcucompress.ir import ops as irops
from tests.random_graphs import Builder, _weighted_op, _window_attrs, add_binary, add_fully_connected, random_inputs
from tests.unit.test_codegen_host import reference_outputs

DEFINE = re.compile(r"^#define (MCC_\w+)\s+([01])\b", re.MULTILINE)


def _conv(b: Builder, x: str, oc: int, k: int, activation: str = "NONE", out_quant=None, dilation: int = 1) -> str:
    n, h, w, c = b.shape(x)
    (oh, ow), pads = _window_attrs(b.rng, (h, w), (k, k), (1, 1), (dilation, dilation), True)
    inputs, y = _weighted_op(b, x, (oc, k, k, c), oc, k * k * c, 0, True, activation, (n, oh, ow, oc), out_quant)
    return b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(1, 1, dilation, dilation, **pads, activation=activation))


def _depthwise(b: Builder, x: str, activation: str, multiplier: int = 1, stride_h: int = 1,
               dilation_h: int = 1) -> str:
    n, h, w, c = b.shape(x)
    m = c * multiplier
    (oh, ow), pads = _window_attrs(b.rng, (h, w), (3, 3), (stride_h, 1), (dilation_h, 1), True)
    inputs, y = _weighted_op(b, x, (1, 3, 3, m), m, 9, 3, True, activation, (n, oh, ow, m), None)
    attrs = irops.DepthwiseConv2DAttrs(stride_h, 1, dilation_h, 1, **pads, activation=activation,
                                       depth_multiplier=multiplier)
    return b.op("DEPTHWISE_CONV_2D", inputs, y, attrs)


def _fc(b: Builder, x: str, units: int) -> str:
    return add_fully_connected(b, x, units=units, keep_num_dims=False, bias=True, activation="NONE")


def variant_graph(seed: int, general: bool = False):
    """Layers taking every variant but the packed one: K = 27, 8, 16, 144 (simple) and 72 (any) products,
    the gathered and grouped im2col fills, depthwise 3x3 with the full and a narrower clamp, planar with stride_h
    1 and 2 (the full clamp). `general`: also
    a 7x7 convolution over 6 channels (the value-by-value im2col), a product with a narrower clamp (the
    general loop's channel pairs), a depthwise over 6 channels (the band loop for any filter), a depthwise
    with depth multiplier 2
    (the per-pixel path), a dilated 2x2 convolution and a fully connected layer with two outputs (its plain path)."""
    b = Builder(np.random.default_rng(seed), "variants")
    x = b.input((1, 7, 6, 3))
    x = _conv(b, x, 8, 3)  # K = 27, gathered im2col
    x = _conv(b, x, 16, 1)  # K = 8
    x = _depthwise(b, x, "NONE")
    x = _depthwise(b, x, "RELU6")
    x = _depthwise(b, x, "NONE", stride_h=2)  # the planar path with stride_h 2 (the first depthwise: stride 1)
    x = _depthwise(b, x, "NONE", dilation_h=2)  # full clamp, not planar: the band's unrolled 3x3
    x = _conv(b, x, 16, 1)  # K = 16
    x = _conv(b, x, 8, 3)  # K = 144, grouped im2col
    x = _conv(b, x, 6, 3)  # K = 72
    if general:
        x = add_binary(b, "ADD", x, x)  # ADD/SUB: one of the precomputed loops or the generic arithmetic
        x = _conv(b, x, 4, 7)  # K = 294 over 6 channels: the value-by-value im2col
        x = _conv(b, x, 8, 3, "RELU6", out_quant=(0.1, 0))  # clamp [0, 60]: not the lean loops
        x = _conv(b, x, 6, 1)
        x = _depthwise(b, x, "NONE")  # 6 channels: a group of two takes the band loop for any filter
        x = _depthwise(b, x, "NONE", multiplier=2)
        x = _conv(b, x, 4, 2, dilation=2)  # the dilated im2col (12 channels: grouped)
        x = _fc(b, x, 2)
    return b.finish(x)


def test_switches_are_those_of_the_default_header():
    text = (asset_dir("firmware") / "include" / "mcc_variants.h").read_text()
    defaults = dict(DEFINE.findall(text))
    assert list(defaults) == list(SWITCHES)
    assert set(defaults.values()) == {"1"}  # the kernels' own build carries every variant


DUAL = {n for n in SWITCHES if "_DUAL" in n}  # the loops over dual-row filters (DSP targets, codegen/dual_rows.py)


def test_layers_switch_on_the_variants_they_take():
    """Plain filters (a target without the DSP extension): the plain loops; with it, every product's filter is
    dual-row where K >= 16 and takes the dual loops (K = 16, 72 and 144: the loops for any K and for multiples of
    16, with the SMMLAR requantization; K = 27 padded to 28: its own loop)."""
    compiled = compile_graph(variant_graph(0), "v", dsp=False)
    general = {"MCC_MM_GENERAL_PAIRS", *GENERAL}
    unused = {"MCC_MM_LEAN_PACKED", "MCC_MM_LEAN_PACKED_SIMPLE", "MCC_US_CLAMPED", "MCC_AVGPOOL_WIDE",
              "MCC_FC_WIDENED", "MCC_NM_ROWS", "MCC_IM2COL_RGB", *DUAL}  # RGB words: the padded dual-row filter
    addsub = {n for n in SWITCHES if n.startswith("MCC_ADDSUB_")}
    assert used_variants(compiled.calls, compiled.sources) == set(SWITCHES) - unused - general - addsub
    header = dict(DEFINE.findall(compiled.files[VARIANTS_HEADER]))
    assert header["MCC_MM_LEAN_PACKED"] == "0" and header["MCC_MM_LEAN_K27"] == "1"
    assert header["MCC_DW_PER_PIXEL"] == "0" and header["MCC_1X1_NO_SCRATCH"] == "0"
    compiled = compile_graph(variant_graph(0, general=True), "v", dsp=False)
    used = used_variants(compiled.calls, compiled.sources)
    no_sparse = {"MCC_US_ANY", "MCC_NM_G8"}  # no sparse layer
    assert used - addsub == set(SWITCHES) - unused - {"MCC_1X1_NO_SCRATCH", *no_sparse} - addsub
    assert len(used & addsub) == 1
    dual = compile_graph(variant_graph(0), "v")
    products = {n for n in SWITCHES if n.startswith("MCC_MM_")}
    # their accumulators are bounded (codegen/dual_rows.py small_accumulators): the SMMLAR table's loops
    assert used_variants(dual.calls, dual.sources) & products == {"MCC_MM_LEAN_DUAL_RQ2_K28", "MCC_MM_LEAN_K8",
                                                                  "MCC_MM_LEAN_DUAL_RQ2_SIMPLE",
                                                                  "MCC_MM_LEAN_DUAL_RQ2_ANY"}
    assert "MCC_IM2COL_RGB" in used_variants(dual.calls, dual.sources)  # its 3x3 RGB layer, padded to K = 28


def _add_call(m1: int, s1: int, m2: int, s2: int, mo: int = 1 << 30, so: int = -20, scratch: int = 0) -> KernelCall:
    fields = {"left_shift": 20, "input1_offset": 1, "input1_multiplier": m1, "input1_shift": s1,
              "input2_offset": 2, "input2_multiplier": m2, "input2_shift": s2, "output_offset": 0,
              "output_multiplier": mo, "output_shift": so, "act_min": -128, "act_max": 127}
    params = CStatic("mcc_add_params", "m_op0_params", [(k, str(v)) for k, v in fields.items()])
    ctx = CStatic("mcc_context", "m_op0_ctx", [("buf", "m_arena + 0" if scratch else "0"), ("size", str(scratch))])
    return KernelCall(0, "add", "ADD", "mcc_add_s8", [], statics=[ctx, params])


@pytest.mark.parametrize("s1,s2,mo,switch", [(0, -2, 1 << 30, "MCC_ADDSUB_FAST_Z1"),
                                             (-2, 0, 1 << 30, "MCC_ADDSUB_FAST_Z2"),
                                             (0, 0, 1 << 30, "MCC_ADDSUB_FAST"),
                                             (-1, -3, 1 << 30, "MCC_ADDSUB_FAST"),
                                             (-1, -3, -5, "MCC_ADDSUB_GENERIC")])
def test_add_and_sub_take_the_loop_of_their_input_shifts(s1, s2, mo, switch):
    """mcc_addsub.h: a precomputed loop per zero input shift, the generic arithmetic for a rescale without a
    fast form (here a negative output multiplier)."""
    assert used_variants([_add_call(1 << 30, s1, 1 << 29, s2, mo)], []) == {switch}
    table = used_variants([_add_call(1 << 30, s1, 1 << 29, s2, mo, scratch=2048)], [])
    assert table == ({switch} if switch == "MCC_ADDSUB_GENERIC" else {"MCC_ADDSUB_TABLE"})  # the tables' scratch


@pytest.mark.parametrize("window,wide", [(16, False), (17, True)])
def test_average_pooling_windows_beyond_256_taps(window, wide):
    b = Builder(np.random.default_rng(2), "pool")
    x = b.input((1, window, window, 8))  # one window over the whole input
    y = b.op("AVERAGE_POOL_2D", [x], b.like(x, (1, 1, 1, 8)), irops.Pool2DAttrs(window, window, 1, 1))
    compiled = compile_graph(b.finish(y), "pool")
    assert ("MCC_AVGPOOL_WIDE" in used_variants(compiled.calls, compiled.sources)) == wide


def test_a_kernel_calling_another_keeps_its_general_path():
    """BATCH_MATMUL's kernel calls the fully connected one with its own context: the plain path stays."""
    calls = compile_graph(variant_graph(0), "v").calls
    assert "MCC_FC_PLAIN" not in used_variants(calls, ["conv/mcc_convolve_s8.c"])
    called = used_variants(calls, ["fc/mcc_batch_matmul_s8.c", "fc/mcc_fully_connected_s8.c"])
    assert {"MCC_FC_PLAIN", "MCC_FC_WIDENED"} <= called
    assert used_variants(calls) >= set(GENERAL)  # sources unknown: every general path


def test_a_fully_connected_layer_with_four_outputs_takes_the_widened_row():
    b = Builder(np.random.default_rng(1), "fc")
    x = b.input((1, 1, 1, 8))
    compiled = compile_graph(b.finish(_fc(b, x, 4)), "fc")
    assert used_variants(compiled.calls, compiled.sources) == {"MCC_FC_WIDENED"}


def _with(header: str, value: str, names) -> str:
    return DEFINE.sub(lambda m: f"#define {m.group(1)} {value if m.group(1) in names else m.group(2)}", header)


def _host(compiled, graph, xs, project, header):
    project = write_project(compiled, project)
    (project / VARIANTS_HEADER).write_text(header)
    return run_runner(build_runner(project, compiled.prefix), xs, graph.t(graph.outputs[0]).shape,
                      compiled.output_dtype)


@pytest.mark.parametrize("seed,general,dsp", [(0, False, False), (1, True, False), (0, False, True), (1, True, True)])
def test_same_bits_with_every_or_no_variant(seed, general, dsp, tmp_path):
    """The generated header, every variant, and none but the general paths: the host C gives the reference
    executor's bits, with plain filters and with dual-row ones (`dsp`)."""
    graph = variant_graph(seed, general)
    rng = np.random.default_rng(seed)
    xs = np.stack([random_inputs(graph, rng)[0] for _ in range(3)])
    expected = reference_outputs(graph, xs).reshape(len(xs), -1)
    compiled = compile_graph(graph, "v", dsp=dsp)
    generated = compiled.files[VARIANTS_HEADER]
    variants = set(SWITCHES) - set(GENERAL)
    packed_for_simple = _with(_with(generated, "0", {"MCC_MM_LEAN_SIMPLE"}), "1", {"MCC_MM_LEAN_PACKED_SIMPLE"})
    for name, header in [("generated", generated), ("every", _with(generated, "1", SWITCHES)),
                         ("packed loop for K % 16 = 0", packed_for_simple),
                         ("none", _with(_with(generated, "0", variants), "1", GENERAL))]:
        out = _host(compiled, graph, xs, tmp_path / name, header)
        np.testing.assert_array_equal(out.reshape(len(xs), -1), expected, err_msg=name)


@pytest.mark.parametrize("path", ["MCC_DW_PER_PIXEL", "MCC_DW_BAND_ANY", "MCC_MM_GENERAL", "MCC_IM2COL_DILATED"])
def test_a_general_path_left_out_is_refused_not_wrong(path, tmp_path):
    """A build without the path a call needs returns MCC_NOT_BUILT from invoke (never a wrong result)."""
    graph = variant_graph(1, general=True)
    xs = np.stack([random_inputs(graph, np.random.default_rng(1))[0]])
    compiled = compile_graph(graph, "v")
    header = _with(compiled.files[VARIANTS_HEADER], "0", {path})
    with pytest.raises(McuError, match="status -4"):
        _host(compiled, graph, xs, tmp_path / "p", header)


def test_records_not_understood_keep_every_switch():
    call = _add_call(1 << 30, 0, 1 << 29, -2)
    call.statics[1].fields[0] = ("left_shift", "MCC_SHIFT")  # not a plain integer
    assert used_variants([call], []) == set(SWITCHES)


def test_a_k_constant_loop_only_where_its_layers_carry_the_macs():
    """A K = 16 layer with under 2% of the MACs takes the loop for any multiple of 16 instead."""
    for big, k16 in ((128, False), (8, True)):
        b = Builder(np.random.default_rng(3), "pays")
        x = _conv(b, b.input((1, 7, 6, 16)), 16, 1)  # K = 16
        compiled = compile_graph(b.finish(_conv(b, x, big, 3)), "pays", dsp=False)  # K = 144
        used = used_variants(compiled.calls, compiled.sources)
        assert ("MCC_MM_LEAN_K16" in used) == k16 and "MCC_MM_LEAN_SIMPLE" in used


def test_the_gather_buffer_is_sized_to_the_largest_gathered_field():
    """mcc_convolve_s8's stack buffer holds the largest KH * KW * C_in gathered (C_in not a multiple of 4),
    rounded up to four: 27 -> 28; a 7x7 over 6 channels (294 > 256) is filled value by value instead."""
    from mcucompress.codegen.variants import GATHER_MAX, gather_max

    for general in (False, True):
        compiled = compile_graph(variant_graph(0, general), "v")
        assert gather_max(compiled.calls) == 28
        assert re.search(r"#define MCC_IM2COL_GATHER_MAX +28 ", compiled.files[VARIANTS_HEADER])
    b = Builder(np.random.default_rng(2), "g6")
    compiled = compile_graph(b.finish(_conv(b, _conv(b, b.input((1, 7, 6, 3)), 6, 3), 8, 3)), "g6")  # 27, 54
    assert gather_max(compiled.calls) == 56
    call = compiled.calls[0]
    call.statics = [s for s in call.statics if not s.name.endswith("filter_dims")]  # records not understood
    assert gather_max(compiled.calls) == GATHER_MAX
def test_packed_loop_by_k_form():
    """A channel whose shift cannot fold the output offset takes the packed loop of its K's form."""
    from mcucompress.codegen.variants import _mm_variant

    mult, shift = [1 << 30, 1 << 30], [-5, -25]
    assert _mm_variant(64, mult, shift) == "MCC_MM_LEAN_PACKED_SIMPLE"
    assert _mm_variant(27, mult, shift) == "MCC_MM_LEAN_PACKED"
    assert _mm_variant(64, mult, [-5, -5]) == "MCC_MM_LEAN_SIMPLE"
    assert _mm_variant(64, mult, shift, dual=True) == "MCC_MM_LEAN_DUAL_PACKED_SIMPLE"
    assert _mm_variant(27, mult, shift, dual=True) == "MCC_MM_LEAN_DUAL_PACKED"
    assert _mm_variant(40, mult, [-5, -5], dual=True) == "MCC_MM_LEAN_DUAL_ANY"


def _us_call(lo=-128, hi=127, pixels=(1, 3, 3), shift=-8, bias=True) -> KernelCall:
    """A mcc_convolve_us_s8 call's records: clamp, output pixels, one channel's requantization, bias or not."""
    from mcucompress.codegen.records import CArray

    params = CStatic("mcc_conv_params", "m_op0_params", [("act_min", str(lo)), ("act_max", str(hi))])
    dims = CStatic("mcc_dims", "m_op0_out_dims", [(k, str(v)) for k, v in zip("nhwc", (*pixels, 1))])
    arrays = [CArray("m_op0_multiplier", "int32_t", np.array([1 << 30])), CArray("m_op0_shift", "int32_t", np.array([shift]))]
    arrays += [CArray("m_op0_bias", "int32_t", np.array([0]))] if bias else []
    return KernelCall(0, "conv", "CONV_2D", "mcc_convolve_us_s8", [], statics=[params, dims], arrays=arrays)


@pytest.mark.parametrize("lo,hi,switch", [(-128, 127, False), (0, 127, True), (-128, 100, True)])
def test_unstructured_clamped_loop_only_for_a_narrower_clamp(lo, hi, switch):
    used = used_variants([_us_call(lo, hi)], [])
    assert ("MCC_US_CLAMPED" in used) == switch and "MCC_US_ANY" not in used


@pytest.mark.parametrize("kw", [dict(pixels=(1, 1, 3)), dict(shift=0), dict(bias=False)])
def test_unstructured_any_block_loop_where_the_4_pixel_loops_cannot(kw):
    """Fewer than 4 output pixels, a channel without the fast requantization, no bias."""
    assert "MCC_US_ANY" in used_variants([_us_call(**kw)], [])



def test_fully_connected_dual_rows_take_their_loop():
    """Per-tensor layers with a bias and the full clamp range take the lean loop (dual_rows = 3: MCC_FC_DUAL_LEAN),
    per-channel ones of 4,096 weights and K >= 16 the dual-row loop (MCC_FC_DUAL); the image carries only those."""
    for per_channel, switch in [(False, "MCC_FC_DUAL_LEAN"), (True, "MCC_FC_DUAL")]:
        b = Builder(np.random.default_rng(2), "fc")
        x = b.input((1, 64))
        inputs, y = _weighted_op(b, x, (64, 64), 64, 64, 0 if per_channel else None, True, "NONE", (1, 64), None)
        graph = b.finish(b.op("FULLY_CONNECTED", inputs, y, irops.FullyConnectedAttrs("NONE", False)))
        compiled = compile_graph(graph, "fc")
        assert used_variants(compiled.calls, compiled.sources) == {switch}
        header = dict(DEFINE.findall(compiled.files[VARIANTS_HEADER]))
        assert header[switch] == "1" and header["MCC_FC_DUAL_LEAN" if per_channel else "MCC_FC_DUAL"] == "0"


def test_helium_layers_leave_the_band_and_im2col_out():
    """On a Helium target the depthwise layers the channel planes take and the convolutions the window rows take
    (KW * C_in <= 16, KH 1 or 3, C_out % 4 == 0) need none of the depthwise band or im2col switches: those
    paths leave the image (mcc_depthwise_conv_mve.c, mcc_convolve_mve.c). The K = 144 and 72 convolutions still
    need their im2col."""
    def on(compiled) -> set[str]:  # the generated header (made under the compile's target)
        return {n for n, v in DEFINE.findall(compiled.files[VARIANTS_HEADER]) if v == "1"}

    used = on(compile_graph(variant_graph(0), "v", mve=True))
    assert not used & {"MCC_DW_3X3", "MCC_DW_3X3_CLAMPED", "MCC_DW_PLANAR", "MCC_DW_PLANAR_S2", "MCC_DW_BAND_ANY"}
    assert "MCC_IM2COL_GROUPED" in used  # the K = 144 and 72 layers (C_in 16 and 8 over 3x3)
    assert "MCC_DW_PLANAR" in on(compile_graph(variant_graph(0), "v"))  # a DSP target keeps its planar columns
    b = Builder(np.random.default_rng(3), "rows")
    x = b.input((1, 9, 9, 3))
    x = _conv(b, x, 8, 3)  # K = 27: window rows of 9 values
    x = _conv(b, x, 16, 1)  # K = 8
    im2col = {"MCC_IM2COL_GROUPED", "MCC_IM2COL_GATHER", "MCC_IM2COL_VALUES"}
    assert not on(compile_graph(b.finish(x), "r", mve=True)) & im2col
    assert "MCC_IM2COL_GATHER" in on(compile_graph(b.finish(x), "r"))  # a DSP target gathers its im2col


def test_nm_row_tables_and_one_four_paths_only_where_layers_take_them():
    """A 2:4 stride-1 conv over C_in % 8 == 0 takes the row tables, a stride-2 one the per-pixel tables; the 1:4
    paths (G = 8) are in the image only for 1:4 layers (a sparse ResNet-8 2:4 image: 1.7 KB less)."""
    from tests import sparse_graphs
    from tests.unit.test_sparse_kernels import conv_graph

    def used(stride, n, m, fmt):
        g = sparse_graphs.nm(conv_graph(np.random.default_rng(2), 8, 16, [16], stride=stride), n, m)
        calls = compile_graph(g, "m", sparse_kernels=fmt).calls
        assert {c.weight_format for c in calls if c.weight_format} == {fmt}
        return used_variants(calls, []) & {"MCC_NM_ROWS", "MCC_NM_G8"}

    assert used(1, 2, 4, "2:4") == {"MCC_NM_ROWS"}
    assert used(2, 2, 4, "2:4") == set()
    assert used(1, 1, 4, "1:4") == {"MCC_NM_G8"}
