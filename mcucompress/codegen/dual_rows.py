"""The dual-row filter layout of the matrix-product kernels (firmware/include/mcc_matmul.h), written where it is exact.

FULLY_CONNECTED layers whose parameters suit mcc_fully_connected_s8's lean loop (fc_lean) take a variant of it
(dual_rows = 3, interleave_pairs): the pairs of each block of three interleaved group by group, so one pointer
walks six outputs' weights.

Two output channels A and B share each int16 half-word h = 256 * wB + wA, so one SMLAD adds 256 * (B's products)
+ (A's products) and one more, after SXTB16 of the same word, adds A's alone: B's sum is their difference shifted
right by 8. That holds while B's sum fits in 24 bits (columns are int8 plus the input offset, within [-255, 255])
and h fits in int16 (wB = -128 with a negative wA does not). The C kernels read the layout on every target; it
only pays with SMLAD, so the lowering writes it for targets with the DSP extension.
"""

from __future__ import annotations

import numpy as np

from mcucompress.codegen.records import KernelCall

COLUMN_MAX = 255  # |int8 input + input offset|
SUM_LIMIT = 1 << 23  # |B's sum| below it: 256 * the sum is an exact int32
GROUP_ORDER = [0, 2, 1, 3]  # a group's half-words, matching the DSP column lanes (x0, x2, x1, x3)
FUNCTIONS = {"mcc_convolve_s8", "mcc_convolve_1x1_s8", "mcc_fully_connected_s8"}
# Below K = 16 the per-pair work outweighs the saving for FULLY_CONNECTED (ad01's K = 8 layer: 6,520 instructions
# against 6,040) and below K = 12 for convolutions (vww's K = 8 layer: 1.30M against 1.01M with its constant-K
# loop). From K = 12 the convolutions' dual-row loop with its SMMLAR requantization wins: ResNet-8 pruned to 12
# channels, its 1x1 stride-2 shortcut 12 -> 28 264,440 -> 219,640 instructions (K = 13-15: 13-15% fewer); 2x2 over
# RGB (K = 12) 204,040 -> 175,320; 1x3 over 4 channels 180,960 -> 152,560. Measured on mps2-an386.
MIN_K = 16
CONV_MIN_K = 12
# mcc_convolve_s8 gathers a receptive field of C_in % 4 != 0 (first layers) on the stack up to this many values
# (mcc_convolve_s8.c GATHER_MAX; codegen/variants.py sizes the buffer per model); there its dual-row filters are
# padded (dual_rows = 2, see padded_k).
GATHER_MAX = 256
# A FULLY_CONNECTED layer of fewer weights gains a few hundred instructions at most, less than the ~400 bytes of
# code its dual-row loop adds to an image that has no other (kws' and ResNet-8's classifiers: 768 and 640).
FC_MIN_WEIGHTS = 4096
# FULLY_CONNECTED layers the lean loop takes (fc_lean: bounded accumulators, one foldable requantization, the full
# clamp range) pay from K = 8 and 1,024 weights: ad01's 128 -> 8 layer 2,440 -> 1,760 instructions, its 8 -> 128 one
# 5,840 -> 2,760 (mps2-an386); kws' and ResNet-8's classifiers (768 and 640 weights) stay below.
FC_LEAN_MIN_K, FC_LEAN_MIN_WEIGHTS = 8, 1024
LEAN_PAIRS = 3  # pairs per block of the lean layout: six accumulators and one weight pointer fit the registers
MAX_FOLD_SHIFT = 22  # MCC_RQ_MAX_FOLD_SHIFT of mcc_requant.h


def pair_stride(k: int) -> int:
    """Bytes of one channel pair (mcc_mm_dual_stride): 2K rounded up to a word."""
    return (2 * k + 3) & ~3


def dual_rows(rows: np.ndarray) -> np.ndarray | None:
    """The dual-row bytes of int8 filter rows [C_out, K], or None where the layout would not be exact."""
    cout, k = rows.shape
    k4, kt, pairs = k & ~3, k % 4, cout // 2
    w = rows.astype(np.int32)
    a, b = w[0:2 * pairs:2], w[1:2 * pairs:2]
    if pairs == 0 or k4 == 0:
        return None
    if np.any(COLUMN_MAX * np.abs(b[:, :k4]).sum(axis=1) >= SUM_LIMIT):
        return None
    h = 256 * b[:, :k4] + a[:, :k4]
    if np.any(h < -32768):
        return None
    h = h.reshape(pairs, k4 // 4, 4)[:, :, GROUP_ORDER].reshape(pairs, k4)
    out = np.zeros((pairs, pair_stride(k)), np.int8)
    out[:, :2 * k4] = np.ascontiguousarray(h, dtype="<i2").view(np.int8).reshape(pairs, 2 * k4)
    out[:, 2 * k4:2 * k4 + kt] = a[:, k4:]
    out[:, 2 * k4 + kt:2 * k4 + 2 * kt] = b[:, k4:]
    flat = out.reshape(-1)
    return np.concatenate([flat, rows[-1].astype(np.int8)]) if cout % 2 else flat


def pays(k: int, fc: bool = False) -> bool:
    """Whether the dual-row loops beat the plain ones for K = k (on a target with the DSP extension) in a
    convolution, or in a FULLY_CONNECTED layer (`fc`)."""
    return k >= (MIN_K if fc else CONV_MIN_K)


def whole_groups(k: int) -> int:
    """K rounded up to whole groups of four: a padded dual-row filter's row length (dual_rows = 2)."""
    return (k + 3) & ~3


def padded_k(function: str, k: int) -> int:
    """The row length of `function`'s dual-row filter for K = k: mcc_convolve_s8 pads a tail of three values with
    a zero weight to a whole group where it gathers the receptive field (dual_rows = 2; its im2col columns get a
    zero there), so none is left to the scalar tail loop: ResNet-8's RGB 3x3 layer (K = 27 -> 28) 1,079,960 ->
    926,760 instructions on mps2-an386. Only K % 4 = 3 keeps its pair stride (a group costs about what a tail of
    two values does, and more than one value); other calls keep k."""
    kp = whole_groups(k)
    return kp if function == "mcc_convolve_s8" and k % 4 == 3 and kp <= GATHER_MAX else k


def kernel_rows(function: str, rows: np.ndarray) -> np.ndarray:
    """Filter rows [C_out, K] as `function` reads them in the dual-row layout (zero-padded to padded_k)."""
    kp = padded_k(function, rows.shape[1])
    return rows if kp == rows.shape[1] else np.pad(rows, ((0, 0), (0, kp - rows.shape[1])))


def apply(call: KernelCall, rows: np.ndarray, dsp: bool, filter_offset: int = 0, lean: bool = True) -> KernelCall:
    """Rewrite a dense CONV_2D / FULLY_CONNECTED call to the dual-row layout when the target has the DSP extension
    (`dsp`), the layout pays and is exact for `rows` (the filter as [C_out, K]); other calls come back unchanged.
    `lean`: a FULLY_CONNECTED may take the lean loop's interleaved pairs."""
    if call.function not in FUNCTIONS or not dsp or filter_offset != 0:
        return call
    bias = next((a.values for a in call.arrays if a.name.endswith("_bias")), None)
    k = rows.shape[1]
    if call.function == "mcc_fully_connected_s8":
        lean = lean and fc_lean(call, rows, bias)
        if not (lean and rows.shape[1] >= FC_LEAN_MIN_K and rows.size >= FC_LEAN_MIN_WEIGHTS
                or pays(rows.shape[1], fc=True) and rows.size >= FC_MIN_WEIGHTS):
            return call
    else:
        rows = kernel_rows(call.function, rows)
        if not pays(rows.shape[1]):
            return call
    padded = rows.shape[1] != k
    packed = dual_rows(rows)
    if packed is None:
        return call
    lean = lean and call.function == "mcc_fully_connected_s8" and fc_lean(call, rows, bias)
    weights = next(a for a in call.arrays if a.name.endswith("_weights"))
    weights.values = interleave_pairs(packed, *rows.shape) if lean else packed
    weights.comment += " dual-row, pairs in blocks of three" if lean else " dual-row"
    params = next(s for s in call.statics if s.ctype in ("mcc_conv_params", "mcc_fc_params"))
    params.fields.append(("dual_rows", "3" if lean else "2" if padded else "1"))
    if params.ctype == "mcc_conv_params" and bias is not None and small_accumulators(rows, bias):
        params.fields.append(("small_acc", "1"))
    return call


def interleave_pairs(packed: np.ndarray, cout: int, k: int) -> np.ndarray:
    """FULLY_CONNECTED's lean layout (dual_rows = 3) from dual_rows' bytes: the pairs of each whole block of
    LEAN_PAIRS interleaved group by group (8 bytes of each pair in turn), then their tails in pair order; the pairs
    after the blocks and an odd last row as before. The block is the same size as its pairs were."""
    stride, k4, pairs = pair_stride(k), k & ~3, cout // 2
    blocks = pairs // LEAN_PAIRS
    out = packed.copy()
    for blk in range(blocks):
        lo, hi = blk * LEAN_PAIRS * stride, (blk + 1) * LEAN_PAIRS * stride
        pr = packed[lo:hi].reshape(LEAN_PAIRS, stride)
        groups = pr[:, :2 * k4].reshape(LEAN_PAIRS, k4 // 4, 8).transpose(1, 0, 2).reshape(-1)
        out[lo:hi] = np.concatenate([groups, pr[:, 2 * k4:].reshape(-1)])
    return out


def fc_lean(call: KernelCall, rows: np.ndarray, bias: np.ndarray | None) -> bool:
    """Whether a FULLY_CONNECTED call in the dual-row layout takes the lean loop (mcc_fully_connected_s8.c
    fc_dual_lean): a bias, bounded accumulators (fc_small_accumulators), one requantization for all outputs with the
    fast form folding the output offset, the full clamp range."""
    params = next(s for s in call.statics if s.ctype == "mcc_fc_params")
    fields = dict(params.fields)
    mult = next((a.values for a in call.arrays if a.name.endswith("_multiplier")), None)
    shift = next((a.values for a in call.arrays if a.name.endswith("_shift")), None)
    if bias is None or mult is None or shift is None or len(mult) != 1 or fields.get("per_channel") != "0":
        return False
    m, e = int(mult[0]), -int(shift[0])
    if (fields.get("act_min"), fields.get("act_max")) != ("-128", "127"):
        return False
    return (m == 0 or (m > 0 and 1 <= e <= MAX_FOLD_SHIFT)) and fc_small_accumulators(rows, bias)


def small_accumulators(rows: np.ndarray, bias: np.ndarray) -> bool:
    """Whether every accumulator of these filter rows and bias stays below 2^30 in magnitude whatever the input
    (columns within [-COLUMN_MAX, COLUMN_MAX]): the SMMLAR requantization doubles it (mcc_requant.h mcc_rq2)."""
    bound = np.abs(bias.astype(np.int64)) + COLUMN_MAX * np.abs(rows.astype(np.int64)).sum(axis=1)
    return bool(np.all(bound < (1 << 30)))


def fc_small_accumulators(rows: np.ndarray, bias: np.ndarray) -> bool:
    """small_accumulators, and for FULLY_CONNECTED's lean loop (mcc_fully_connected_s8.c fc_row_dual_lean), whose
    pair accumulators start from the bias (256 * B's + A's) and take the tails too: every B channel's sum plus its
    bias below SUM_LIMIT."""
    if not small_accumulators(rows, bias):
        return False
    pairs = rows.shape[0] // 2
    b_rows = rows[1:2 * pairs:2].astype(np.int64)
    bound = np.abs(bias[1:2 * pairs:2].astype(np.int64)) + COLUMN_MAX * np.abs(b_rows).sum(axis=1)
    return bool(np.all(bound < SUM_LIMIT))
