"""Which specialized kernel variants a model's layers can take: the project's mcc/include/mcc_variants.h.

The kernels pick a variant at run time from their parameters (mcc_mm_run's lean loops for some K, the
depthwise 3x3 unrolling, the im2col fills); compiled in, every variant costs flash whether or not a layer
takes it. Here the same choices are made from the layer records the lowering wrote (the kernels' params,
dims and quantization arrays), and the generated header switches off the variants no layer takes. A
variant switched off only costs speed: the kernel then runs its general code, which gives the same bits
(firmware/include/mcc_variants.h), so a choice made here that differs from the kernel's can never change
a result. The GENERAL paths (calls without enough scratch, ...) are switched off where no layer takes them;
a call needing one anyway is refused with MCC_NOT_BUILT, never answered wrongly. Unknown records keep every
switch.
"""

from __future__ import annotations

from mcucompress import __version__
from mcucompress.codegen.dual_rows import GATHER_MAX, whole_groups
from mcucompress.codegen.kernel_sources import file_dependencies
from mcucompress.codegen.lower import (
    ADDSUB_TABLE_BYTES,
    addsub_fast,
    depthwise_band_bytes,
    depthwise_mve_plane_bytes,
    depthwise_planar_bytes,
    rq_fast,
)
from mcucompress.codegen.records import KernelCall
from mcucompress.codegen.sparse import current_target

# Every switch of firmware/include/mcc_variants.h, in its order, with the comment the generated file shows.
SWITCHES = {
    "MCC_MM_LEAN_K8": "K = 8",
    "MCC_MM_LEAN_K16": "K = 16",
    "MCC_MM_LEAN_K27": "K = 27 (3x3 over RGB)",
    "MCC_MM_LEAN_SIMPLE": "K a multiple of 16, other than 16",
    "MCC_MM_LEAN_ANY": "any other K",
    "MCC_MM_LEAN_PACKED": "a channel whose shift cannot fold the output offset",
    "MCC_MM_LEAN_PACKED_SIMPLE": "the same, K a multiple of 16",
    "MCC_MM_LEAN_DUAL_SIMPLE": "dual-row filters, K a multiple of 16",
    "MCC_MM_LEAN_DUAL_ANY": "dual-row filters, any other K",
    "MCC_MM_LEAN_DUAL_PACKED": "dual-row filters, a channel whose shift cannot fold the output offset",
    "MCC_MM_LEAN_DUAL_PACKED_SIMPLE": "the same, K a multiple of 16",
    "MCC_MM_LEAN_DUAL_RQ2_SIMPLE": "dual-row filters, bounded accumulators (SMMLAR), K a multiple of 16",
    "MCC_MM_LEAN_DUAL_RQ2_ANY": "the same, any other K",
    "MCC_MM_LEAN_DUAL_RQ2_K28": "the same, K = 28 (3x3 over RGB, padded)",
    "MCC_MM_GENERAL_PAIRS": "a product without the lean loops",
    "MCC_IM2COL_GROUPED": "mcc_convolve_s8 with C_in a multiple of 4",
    "MCC_IM2COL_GATHER": "mcc_convolve_s8 with KH * KW * C_in <= 256",
    "MCC_IM2COL_RGB": "mcc_convolve_s8 3x3 over 3 channels, dual rows, no dilation: pixels read in whole words",
    "MCC_DW_3X3": "depthwise 3x3, full int8 clamp range",
    "MCC_DW_3X3_CLAMPED": "depthwise 3x3, a narrower clamp",
    "MCC_DW_PLANAR": "depthwise 3x3 channel-planar columns (DSP; without it MCC_DW_3X3's loop)",
    "MCC_DW_PLANAR_S2": "the same, stride_h 2",
    "MCC_US_CLAMPED": "unstructured sparse conv, a narrower clamp",
    "MCC_NM_ROWS": "2:4 sparse conv row tables (DSP): stride_w 1, no dilation, C_in % 8 == 0",
    "MCC_FC_WIDENED": "fully connected, >= 4 outputs with the widened row (DSP)",
    "MCC_FC_DUAL": "fully connected over dual-row filters (DSP)",
    "MCC_FC_DUAL_LEAN": "fully connected over dual-row filters in blocks of three pairs (DSP)",
    "MCC_AVGPOOL_WIDE": "average pooling windows of more than 256 taps (DSP)",
    "MCC_ADDSUB_TABLE": "ADD/SUB rescale tables in the scratch",
    "MCC_ADDSUB_FAST": "ADD/SUB precomputed, both or neither input shift 0",
    "MCC_ADDSUB_FAST_Z1": "ADD/SUB precomputed, only input 1's shift 0",
    "MCC_ADDSUB_FAST_Z2": "ADD/SUB precomputed, only input 2's shift 0",
    "MCC_DW_PER_PIXEL": "general: depthwise without its band",
    "MCC_DW_BAND_ANY": "general: depthwise band loop for any filter (not 3x3, C % 4, slow channels)",
    "MCC_1X1_NO_SCRATCH": "general: 1x1 convolution without its scratch",
    "MCC_FC_PLAIN": "general: fully connected, < 4 outputs or no scratch (DSP)",
    "MCC_IM2COL_VALUES": "general: mcc_convolve_s8's value-by-value im2col",
    "MCC_IM2COL_DILATED": "general: mcc_convolve_s8 with a dilation > 1",
    "MCC_MM_GENERAL": "general: mcc_mm_run's loop channel by channel (odd C_out or pixels, no lean loop)",
    "MCC_MM_DUAL": "general: mcc_mm_run's loop over dual-row filters",
    "MCC_US_ANY": "general: unstructured conv blocks without the fast table, bias or 4 pixels",
    "MCC_NM_G8": "general: the N:M kernels' 1:4 paths",
    "MCC_ADDSUB_GENERIC": "general: ADD/SUB rescales without a precomputed form",
}
# The general paths (a kernel's code for calls the generated code never makes: without enough scratch, a
# large im2col, ADD/SUB rescales without a fast form) and the kernel files that take them. A kernel file
# calling into one of those (BATCH_MATMUL calls the fully connected kernel with its own context) keeps it.
GENERAL = {"MCC_DW_PER_PIXEL": ("conv/mcc_depthwise_conv_s8.c",),
           "MCC_DW_BAND_ANY": ("conv/mcc_depthwise_conv_s8.c",),
           "MCC_1X1_NO_SCRATCH": ("conv/mcc_convolve_1x1_s8.c",),
           "MCC_FC_PLAIN": ("fc/mcc_fully_connected_s8.c",),
           "MCC_IM2COL_VALUES": ("conv/mcc_convolve_s8.c",),
           "MCC_IM2COL_DILATED": ("conv/mcc_convolve_s8.c",),
           "MCC_MM_GENERAL": (),  # mcc_mm_run: the generated code's convolutions only (the lowering's records)
           "MCC_MM_DUAL": (),
           "MCC_US_ANY": ("sparse/mcc_unstructured_s8.c",),
           "MCC_NM_G8": ("sparse/mcc_nm_s8.c",),
           "MCC_ADDSUB_GENERIC": ("elementwise/mcc_add_s8.c", "elementwise/mcc_sub_s8.c")}
# Variants a kernel file calling into another keeps too (its calls are not the generated code's).
CALLED = {"MCC_FC_WIDENED": ("fc/mcc_fully_connected_s8.c",)}
# Kernel files whose calls into other kernels are the lowering's records too (KernelCall.parts): those calls need
# no general path kept for them.
RECORDED_CALLERS = {"conv/mcc_residual_bands_s8.c", "conv/mcc_residual_bands_nm_s8.c", "sparse/mcc_packed_conv_s8.c"}
VARIANTS_HEADER = "mcc/include/mcc_variants.h"  # the project file (write_project skips the default)
MM_FUNCTIONS = {"mcc_convolve_s8", "mcc_convolve_1x1_s8"}  # the kernels whose products run mcc_mm_run
# The loops for one constant K (fully unrolled, 400-800 B each on a Cortex-M4) pay only where their layers
# carry a share of the model's MACs: below it they take the loop for any K (K % 16 = 0: the "simple" one), a
# few percent slower on those layers (ResNet-8's one K = 16 layer, 1% of its MACs: 576 B for 8,160 of 17.45M
# instructions). K = 16 falls back to the simple loop, ~8% slower on its layers (vww's, 3.9% of the MACs:
# 576 B for 23,040 of 10.6M instructions), the others to the loop for any K, much slower: their shares differ.
K_CONSTANT = {"MCC_MM_LEAN_K8": "MCC_MM_LEAN_ANY", "MCC_MM_LEAN_K16": "MCC_MM_LEAN_SIMPLE",
              "MCC_MM_LEAN_K27": "MCC_MM_LEAN_ANY", "MCC_MM_LEAN_DUAL_RQ2_K28": "MCC_MM_LEAN_DUAL_RQ2_ANY"}
PAYS_MAC_SHARE = {"MCC_MM_LEAN_K8": 0.02, "MCC_MM_LEAN_K16": 0.05, "MCC_MM_LEAN_K27": 0.02,
                  "MCC_MM_LEAN_DUAL_RQ2_K28": 0.02}
# A model needing the packed loop for K % 16 = 0 anyway runs its other K % 16 = 0 layers through it too, one ADD
# more an output (vww: 2 packed layers, 3 others with its K = 16 one: 556 B for 61,200 of 10.6M instructions).
SIMPLE_BY_PACKED = True
MAX_FOLD_SHIFT = 22  # MCC_RQ_MAX_FOLD_SHIFT of mcc_requant.h
PLANAR_MAX_BIAS = 1 << 29  # DW_PL_MAX_BIAS of mcc_depthwise_conv_s8.c


def _fields(call: KernelCall, ctype: str, suffix: str = "") -> dict[str, int] | None:
    """The integer fields of the call's static of C type `ctype` (name ending in `suffix`), or None."""
    for s in call.statics:
        if s.ctype == ctype and s.name.endswith(suffix):
            return {k: int(v) for k, v in s.fields if v.lstrip("-").isdigit()}
    return None


def _array(call: KernelCall, suffix: str):
    for a in call.arrays:
        if a.name.endswith(suffix):
            return a.values
    return None


def _mm_variant(k: int, mult, shift, dual: bool = False, small_acc: bool = False) -> str | None:
    """The lean loop mcc_mm_run takes for K = k and these channels (mcc_mm_prepare's table), or None; dual-row
    filters with bounded accumulators take the SMMLAR table (mcc_rq2) where every shift folds the offset."""
    pairs = list(zip((int(m) for m in mult), (int(s) for s in shift)))
    if not all(rq_fast(m, s) for m, s in pairs):
        return None  # no fast table: the general loop
    if dual and small_acc and all(m == 0 or s >= -MAX_FOLD_SHIFT for m, s in pairs):
        if k == 28:
            return "MCC_MM_LEAN_DUAL_RQ2_K28"
        return "MCC_MM_LEAN_DUAL_RQ2_SIMPLE" if k % 16 == 0 else "MCC_MM_LEAN_DUAL_RQ2_ANY"
    if dual:
        if any(m != 0 and s < -MAX_FOLD_SHIFT for m, s in pairs):
            return "MCC_MM_LEAN_DUAL_PACKED_SIMPLE" if k % 16 == 0 else "MCC_MM_LEAN_DUAL_PACKED"
        return "MCC_MM_LEAN_DUAL_SIMPLE" if k % 16 == 0 else "MCC_MM_LEAN_DUAL_ANY"
    if any(m != 0 and s < -MAX_FOLD_SHIFT for m, s in pairs):
        return "MCC_MM_LEAN_PACKED_SIMPLE" if k % 16 == 0 else "MCC_MM_LEAN_PACKED"
    if k in (8, 16, 27):
        return f"MCC_MM_LEAN_K{k}"
    return "MCC_MM_LEAN_SIMPLE" if k % 16 == 0 else "MCC_MM_LEAN_ANY"


def _add_sub(call: KernelCall) -> set[str] | None:
    """The path mcc_addsub_s8 takes for these rescales and this scratch (mcc_addsub.h)."""
    p = _fields(call, "mcc_add_params")
    if p is None:
        return None
    s1, s2 = p["input1_shift"], p["input2_shift"]
    if not addsub_fast(p):
        return {"MCC_ADDSUB_GENERIC"}
    ctx = _fields(call, "mcc_context")
    if ctx is not None and ctx.get("size", 0) >= ADDSUB_TABLE_BYTES:
        return {"MCC_ADDSUB_TABLE"}
    if s1 == 0 and s2 != 0:
        return {"MCC_ADDSUB_FAST_Z1"}
    return {"MCC_ADDSUB_FAST_Z2"} if s2 == 0 and s1 != 0 else {"MCC_ADDSUB_FAST"}


def _fully_connected(call: KernelCall) -> set[str] | None:
    """mcc_fully_connected_s8 takes its plain path (DSP builds) for < 4 outputs or without the widened row."""
    ctx, fdims = _fields(call, "mcc_context"), _fields(call, "mcc_dims", "filter_dims")
    params = _fields(call, "mcc_fc_params")
    if ctx is None or fdims is None or "size" not in ctx or params is None:
        return None
    # dual-row filters: a call without the scratch is refused (MCC_NO_BUFFER), the lowering gives it one
    if params.get("dual_rows", 0) == 1:
        return {"MCC_FC_DUAL"}
    if params.get("dual_rows", 0) == 3:  # the lean loop (dual_rows.fc_lean)
        return {"MCC_FC_DUAL_LEAN"}
    return {"MCC_FC_PLAIN"} if fdims["n"] < 4 or ctx["size"] < ((fdims["c"] + 3) & ~3) * 2 else {"MCC_FC_WIDENED"}


def _nm(call: KernelCall) -> set[str] | None:
    """The N:M kernels: the 1:4 paths (G = 8), or for a 2:4 conv the row tables where mcc_convolve_nm_s8 takes
    them (sparse.rows_fit and the parameters)."""
    from mcucompress.codegen.sparse import rows_fit

    filt = _fields(call, "mcc_nm_filter")
    if filt is None or "group" not in filt:
        return None
    if filt["group"] == 8:
        return {"MCC_NM_G8"}
    if call.function == "mcc_fully_connected_nm_s8":
        return set()
    params, fdims = _fields(call, "mcc_conv_params"), _fields(call, "mcc_dims", "filter_dims")
    if params is None or fdims is None:
        return None
    rows = (rows_fit(4, fdims["c"], fdims["h"], fdims["w"]) and params["stride_w"] == 1
            and params["dilation_w"] == 1 and params["dilation_h"] == 1)
    return {"MCC_NM_ROWS"} if rows else set()


def _depthwise(call: KernelCall, params: dict[str, int], full: bool, mult, shift) -> set[str] | None:
    """The band path's 3x3 unrolling and/or its loop for any filter, or the per-pixel path (no band:
    mcc_depthwise_conv_s8_get_buffer_size)."""
    ctx, fdims = _fields(call, "mcc_context"), _fields(call, "mcc_dims", "filter_dims")
    in_dims, out_dims = _fields(call, "mcc_dims", "_in_dims"), _fields(call, "mcc_dims", "out_dims")
    if ctx is None or fdims is None or in_dims is None or out_dims is None or "size" not in ctx:
        return None
    if current_target().mve:  # Helium: the channel planes first (mcc_depthwise_conv_mve.c), none of the switches
        plane = depthwise_mve_plane_bytes((in_dims["h"], in_dims["w"]), (out_dims["h"], out_dims["w"]), fdims["h"],
                                          fdims["w"], (params["stride_h"], params["stride_w"]),
                                          (params["pad_h"], params["pad_w"]),
                                          (params["dilation_h"], params["dilation_w"]), in_dims["c"],
                                          params["depth_multiplier"])
        if 0 < plane <= ctx["size"]:
            return set()
    band = depthwise_band_bytes(in_dims["w"], out_dims["w"], fdims["h"], fdims["w"], params["stride_w"],
                                params["pad_w"], params["dilation_h"], params["dilation_w"],
                                params["depth_multiplier"])
    if band == 0 or ctx["size"] < band:
        return {"MCC_DW_PER_PIXEL"}
    planar = depthwise_planar_bytes(in_dims["h"], out_dims["h"], fdims["h"], fdims["w"], params["stride_h"],
                                    params["pad_h"], params["pad_w"], params["dilation_h"], params["dilation_w"],
                                    params["depth_multiplier"])
    bias = _array(call, "_bias")
    # dw_pl_applies: the full clamp range, every channel's shift foldable, |bias| <= 2^29 (2 acc in int32); builds
    # without the DSP extension run these layers through MCC_DW_3X3's loop (DW_3X3_BUILT), C % 4 ones through
    # the band loop for any filter as well
    if (planar and full and 0 < planar <= ctx["size"]
            and all(rq_fast(int(m), int(s)) and (int(m) == 0 or int(s) >= -MAX_FOLD_SHIFT) for m, s in zip(mult, shift))
            and all(abs(int(b)) <= PLANAR_MAX_BIAS for b in (bias if bias is not None else ()))):
        used = {"MCC_DW_PLANAR", "MCC_DW_PLANAR_S2"} if params["stride_h"] == 2 else {"MCC_DW_PLANAR"}
        return used if fdims["c"] % 4 == 0 else used | {"MCC_DW_BAND_ANY"}
    used = set()
    if fdims["h"] == 3 and fdims["w"] == 3 and params["dilation_w"] == 1 and fdims["c"] >= 4:
        used.add("MCC_DW_3X3" if full else "MCC_DW_3X3_CLAMPED")
    # dw_group_batch: a group of four channels that are all fast and foldable takes the 3x3 loop, any
    # other group (and any other filter) the band loop for any filter
    every_group_3x3 = (used and fdims["c"] % 4 == 0
                       and all(rq_fast(int(m), int(s)) and (m == 0 or s >= -MAX_FOLD_SHIFT) for m, s in zip(mult, shift)))
    return used if every_group_3x3 else used | {"MCC_DW_BAND_ANY"}


def conv_mve_rows(kh: int, kw: int, cin: int, cout: int, params: dict[str, int], scratch: int) -> bool:
    """mcc_convolve_mve.c takes its window rows (no im2col): KW * C_in <= 16, KH 1 or 3, dilation_w 1, C_out a
    multiple of 4 and 16 bytes of scratch per output channel."""
    return (kw * cin <= 16 and kh in (1, 3) and params.get("dilation_w", 1) == 1 and cout % 4 == 0
            and scratch >= 16 * cout)


def _used(call: KernelCall) -> set[str] | None:
    """The switches `call` can take; None when its records are not understood (keep everything)."""
    if call.function == "mcc_fully_connected_s8":
        return _fully_connected(call)
    if call.function in ("mcc_add_s8", "mcc_sub_s8"):
        return _add_sub(call)
    if call.function == "mcc_avgpool_s8":
        pool = _fields(call, "mcc_pool_params")
        if pool is None or "filter_h" not in pool or "filter_w" not in pool:
            return None
        return {"MCC_AVGPOOL_WIDE"} if pool["filter_h"] * pool["filter_w"] > 256 else set()
    if call.function in ("mcc_convolve_us_s8", "mcc_convolve_us_packed_s8"):
        conv = _fields(call, "mcc_conv_params")
        if conv is None or "act_min" not in conv or "act_max" not in conv:
            return None
        used = set() if (conv["act_min"], conv["act_max"]) == (-128, 127) else {"MCC_US_CLAMPED"}
        # mcc_convolve_us_s8 / _packed_s8 (DSP): the 4-pixel loops need the fast table (every channel), a bias and 4 pixels
        mult, shift, out_dims = _array(call, "_multiplier"), _array(call, "_shift"), _fields(call, "mcc_dims", "out_dims")
        if mult is None or shift is None or out_dims is None:
            return None
        lean = (all(rq_fast(int(m), int(s)) for m, s in zip(mult, shift)) and _array(call, "_bias") is not None
                and out_dims["n"] * out_dims["h"] * out_dims["w"] >= 4)
        return used if lean else used | {"MCC_US_ANY"}
    if call.function in ("mcc_convolve_nm_s8", "mcc_fully_connected_nm_s8"):
        return _nm(call)
    if call.function not in MM_FUNCTIONS and call.function != "mcc_depthwise_conv_s8":
        return set()
    params = _fields(call, "mcc_conv_params")
    fdims = _fields(call, "mcc_dims", "filter_dims")
    ctx = _fields(call, "mcc_context")
    mult, shift = _array(call, "_multiplier"), _array(call, "_shift")
    if params is None or fdims is None or ctx is None or "size" not in ctx or mult is None or shift is None:
        return None
    full = params["act_min"] == -128 and params["act_max"] == 127
    if call.function == "mcc_depthwise_conv_s8":
        return _depthwise(call, params, full, mult, shift)
    kh, kw, cout, cin = fdims["h"], fdims["w"], fdims["n"], fdims["c"]
    k = kh * kw * cin
    used = set()
    if call.function == "mcc_convolve_1x1_s8" and ctx["size"] < 4 * cin + 16 * cout:
        return {"MCC_1X1_NO_SCRATCH"}  # mcc_convolve_1x1_s8_get_buffer_size: no pairs, no lean loops
    if call.function == "mcc_convolve_s8" and current_target().mve and conv_mve_rows(kh, kw, cin, cout, params,
                                                                                    ctx["size"]):
        pass  # Helium: the window rows (mcc_convolve_mve.c conv_rows), no im2col
    elif call.function == "mcc_convolve_s8":
        if params.get("dilation_h", 1) != 1 or params.get("dilation_w", 1) != 1:
            used.add("MCC_IM2COL_DILATED")
        if cin % 4 == 0:
            used.add("MCC_IM2COL_GROUPED")
        elif k <= GATHER_MAX:
            used.add("MCC_IM2COL_GATHER")
            if kh == kw == 3 and cin == 3 and params.get("dual_rows", 0) == 2 and "MCC_IM2COL_DILATED" not in used:
                used.add("MCC_IM2COL_RGB")
        else:
            used.add("MCC_IM2COL_VALUES")
    dual = params.get("dual_rows", 0) in (1, 2)
    if params.get("dual_rows", 0) == 2:  # rows and columns padded (dual_rows.padded_k)
        k = whole_groups(k)
    variant = (_mm_variant(k, mult, shift, dual, params.get("small_acc", 0) == 1)
               if full and _array(call, "_bias") is not None else None)
    used.add(variant or ("MCC_MM_DUAL" if dual else "MCC_MM_GENERAL_PAIRS"))
    out_dims = _fields(call, "mcc_dims", "out_dims")
    if out_dims is None:
        return None
    if variant is None or cout % 2 or out_dims["n"] * out_dims["h"] * out_dims["w"] % 2:
        used.add("MCC_MM_GENERAL")  # a channel or a pixel left to mcc_mm_run's general loop (mcc_mm_built)
        if dual:
            used.add("MCC_MM_DUAL")
    return used


def used_variants(calls: list[KernelCall], sources: list[str] | None = None) -> set[str]:
    """The switches of SWITCHES some call can take (all of them if a call's records are not understood);
    `sources`: the model's kernel files, whose calls into a kernel with a general path keep that path."""
    used: set[str] = set()
    macs: dict[str, int] = {}  # MACs of the layers taking each K-constant loop
    for call in (c for layer in calls for c in (layer, *layer.parts)):  # and the calls made inside a layer
        try:
            u = _used(call)
        except KeyError:  # a params field that is not a plain integer: keep everything
            u = None
        if u is None:
            return set(SWITCHES)
        used |= u
        for switch in u & set(K_CONSTANT):
            macs[switch] = macs.get(switch, 0) + call.macs
    total = sum(c.macs for layer in calls for c in (layer, *layer.parts))
    for switch, fallback in K_CONSTANT.items():
        if switch in used and macs[switch] < PAYS_MAC_SHARE[switch] * total:
            used.discard(switch)  # its layers take the loop for any K instead
            used.add(fallback)
    if SIMPLE_BY_PACKED and {"MCC_MM_LEAN_SIMPLE", "MCC_MM_LEAN_PACKED_SIMPLE"} <= used:
        used.discard("MCC_MM_LEAN_SIMPLE")  # mcc_mm_run: the packed loop takes those layers
    if SIMPLE_BY_PACKED and {"MCC_MM_LEAN_DUAL_SIMPLE", "MCC_MM_LEAN_DUAL_PACKED_SIMPLE"} <= used:
        used.discard("MCC_MM_LEAN_DUAL_SIMPLE")  # likewise over dual-row filters
    if SIMPLE_BY_PACKED and {"MCC_MM_LEAN_DUAL_RQ2_SIMPLE", "MCC_MM_LEAN_DUAL_PACKED_SIMPLE"} <= used:
        # and with bounded accumulators: mcc_mm_prepare then builds the plain table (vww: 480 B of code)
        used.discard("MCC_MM_LEAN_DUAL_RQ2_SIMPLE")
    deps = file_dependencies()
    for switch, kernels in {**GENERAL, **CALLED}.items():
        if sources is None or any(k in deps.get(s, ()) for s in sources if s not in RECORDED_CALLERS for k in kernels):
            used.add(switch)
    return used


def gather_max(calls: list[KernelCall]) -> int:
    """The largest receptive field (KH * KW * C_in, rounded up to 4) mcc_convolve_s8 gathers on the stack for
    these calls (C_in not a multiple of 4, at most GATHER_MAX): the size of its gather buffer, which is on the
    deepest stack path of most models (GATHER_MAX when a call's records are not understood)."""
    largest = 4
    for call in (c for layer in calls for c in (layer, *layer.parts)):  # and the calls made inside a layer
        if call.function != "mcc_convolve_s8":
            continue
        fdims = _fields(call, "mcc_dims", "filter_dims")
        if fdims is None or not {"h", "w", "c"} <= set(fdims):
            return GATHER_MAX
        k = fdims["h"] * fdims["w"] * fdims["c"]
        if fdims["c"] % 4 and k <= GATHER_MAX:
            largest = max(largest, (k + 3) & ~3)
    return largest


def variants_header(calls: list[KernelCall], sources: list[str]) -> str:
    """mcc_variants.h for a project: 1 for the variants its layers can take, 0 for the others."""
    used = used_variants(calls, sources)
    lines = [
        f"/* Generated by mcucompress {__version__}: the kernel variants this model's layers can take",
        " * (mcucompress/codegen/variants.py; firmware/include/mcc_variants.h carries them all). A variant",
        " * switched off costs speed, never correctness: its kernel runs the general code instead. */",
        "#ifndef MCC_VARIANTS_H",
        "#define MCC_VARIANTS_H",
        "",
    ]
    width = max(map(len, SWITCHES))
    lines += [f"#define {name:<{width}} {int(name in used)}  /* {what} */" for name, what in SWITCHES.items()]
    if "MCC_IM2COL_GATHER" in used:
        lines.append(f"#define {'MCC_IM2COL_GATHER_MAX':<{width}} {gather_max(calls)}  /* its stack buffer, int8 values */")
    return "\n".join(lines + ["", "#endif /* MCC_VARIANTS_H */", ""])
