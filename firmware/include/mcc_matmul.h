/**
 * @file mcc_matmul.h
 * @brief Internal header: the output-channel side of CONV_2D as a matrix product over int16 columns.
 *
 * The convolutions unroll (im2col) two output pixels at a time into a pair buffer of int16 values with
 * the input offset already added, K = KH * KW * C_in values per pixel, K4 = K rounded down to a multiple
 * of 4. The two pixels are interleaved by groups of four: group g of pixel s sits at int16 offset
 * 8g + 4s, so one pointer walks both columns, and the K - K4 tail values follow, pixel 0's then pixel 1's.
 * With the DSP extension each group is stored as (x0, x2, x1, x3), so two word loads (one LDRD) meet
 * SXTB16 of four filter bytes in SMLAD. mcc_mm_run then computes every output channel of the pair, two
 * channels at a time with four int32 accumulators: per four values of K and 16 MACs, two filter loads,
 * four SXTB16, two LDRD and eight SMLAD on Cortex-M4, sixteen values per loop iteration (about 1.1
 * instructions per MAC).
 *
 * Dual-row filters (m.dual = 1; the code generator writes them for DSP targets where they are exact). Each
 * pair of output channels (A = 2p, B = 2p + 1) shares int16 half-words h = 256 * wB + wA: one SMLAD of a word
 * of two such half-words with two column values adds 256 * (B's products) + (A's products), and SMLAD of the
 * same word after SXTB16 (A's bytes, sign-extended) adds A's products alone. Their difference, shifted right
 * by 8, is B's sum: per four values of K, two columns and two channels (16 MACs) one LDRD of filter words, two
 * SXTB16, two LDRD and eight SMLAD, 13 instructions against 16. Exact while |B's sum| < 2^23, i.e. 255 *
 * sum |wB| < 2^23 (columns are within [-255, 255]); the generator checks it, and that the high byte of every
 * half-word, wB - [wA < 0], fits in int8. Pair p starts at byte p * S, S = 2K rounded up to 4 (word-aligned
 * LDRD): group g of K4 holds the words (h0, h2) and (h1, h3) of its four values, matching the DSP column lane
 * order, then the K - K4 tail values of A and of B as int8. An odd last channel follows as a plain int8 row.
 *
 * Dual-row products whose accumulators the code generator bounds (small_acc) take the table in mcc_rq2's SMMLAR
 * form, the bias doubled in it: per output SMMLAR, ADD, ASR, SSAT, its constants loaded once per channel.
 *
 * Requantization uses a table of mcc_rq (16 bytes per output channel, in the kernel's scratch) built
 * once per call: with it every output costs about ten instructions (mcc_requant.h). Without a table
 * (scratch too small) or when a channel has no fast form, the generic TFLite arithmetic runs.
 *
 * The product itself (mcc_mm_run and its specialized loops) is compiled once, in kernels/support/mcc_matmul.c.
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_MATMUL_H
#define MCC_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_requant.h"
#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Output channels of a convolution seen as a matrix product. */
typedef struct {
    const int8_t *filter;          /* [cout][k], row-major */
    const int32_t *bias;           /* [cout], or NULL */
    const int32_t *mult, *shift;   /* generic requantization, per output channel */
    const mcc_rq *rq;              /* [cout] fast requantization, or NULL for the generic code */
    int32_t cout, k;
    int32_t out_offset;            /* output zero point */
    int32_t packed;                /* 1 when some table entries carry the offset packed (mcc_rq_pack_post) */
    int32_t lo, hi;                /* output clamp */
    int32_t dual;                  /* 1: the filter is in the dual-row layout above */
    int32_t small_acc;             /* 1: every |accumulator| < 2^30 (mcc_conv_params.small_acc) */
    int32_t rq2;                   /* 1: the table holds mcc_rq2 entries (mcc_mm_prepare: dual, small_acc, every
                                      channel fast and foldable, a bias) */
} mcc_mm;

/** Byte stride of a channel pair in the dual-row layout (2K rounded up to a word). */
static inline int32_t mcc_mm_dual_stride(int32_t k) { return (2 * k + 3) & ~3; }

/** Channel A's and B's weights of value r (0..3) of the dual-row group at w: the portable decoding of the
 *  half-word h = 256 * wB + wA (groups hold the half-words of their values in the order 0, 2, 1, 3). */
static inline void mcc_dual_weights(const int8_t *w, int32_t r, int32_t *wa, int32_t *wb)
{
    const int32_t i = 2 * (r == 1 ? 2 : r == 2 ? 1 : r);
    const int32_t h = (int32_t)(int16_t)(uint16_t)((uint32_t)(uint8_t)w[i] | ((uint32_t)(uint8_t)w[i + 1] << 8));
    *wa = w[i];
    *wb = (h - *wa) / 256;
}

/** Filter row of channel oc in the plain layout, or of the pair starting at even oc in the dual layout (an odd
 *  last channel's plain row in both). */
static inline const int8_t *mcc_mm_row(const mcc_mm *m, int32_t oc)
{
    return m->filter + (m->dual ? (oc >> 1) * mcc_mm_dual_stride(m->k) + (oc & 1) * m->k : oc * m->k);
}

/** Bytes of the requantization table for `cout` output channels. */
static inline int32_t mcc_mm_table_bytes(int32_t cout) { return cout * (int32_t)sizeof(mcc_rq); }

/**
 * Fill m's requantization: the fast table in `table` (cout entries, 4-byte aligned) when every channel
 * has a fast form, else the generic code. `table` may be NULL (generic code). Every table entry includes
 * the output offset: folded into K where the shift allows, else packed into its shift word. Runs once per
 * call: defined in kernels/support/mcc_matmul.c, built for size (MCC_COLD).
 */
void mcc_mm_prepare(mcc_mm *m, const mcc_per_channel_quant *q, int32_t out_offset, mcc_rq *table);

/**
 * Every output channel of the pair buffer: out0 from slot 0, out1 (if not NULL) from slot 1. Defined once
 * in kernels/support/mcc_matmul.c, shared by the convolution kernels.
 */
void mcc_mm_run(const mcc_mm *m, const int16_t *buf, int8_t *out0, int8_t *out1);

/**
 * 1 when mcc_mm_run over `total` output pixels taken in pairs (the last one alone when odd) runs only code
 * the build carries (mcc_variants.h: MCC_MM_GENERAL, or a lean loop for every channel), else 0 (after
 * mcc_mm_prepare; built for size).
 */
int32_t mcc_mm_built(const mcc_mm *m, int32_t total);

/**
 * Widen n contiguous int8 values (column positions j .. j + n - 1, all inside the K4 groups, j a
 * multiple of 4 and n a multiple of 4) of slot `slot` with the input offset added.
 */
static MCC_ALWAYS_INLINE void mcc_mm_fill_groups(const int8_t *src, int32_t n, int32_t in_off, int16_t *buf,
                                                 int32_t slot, int32_t j)
{
    int16_t *dst = buf + 2 * j + 4 * slot;
    int32_t i;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
    if (n & 4) {
        const int32_t x = mcc_read_s8x4(src);
        MCC_STRD(dst, 0, mcc_sxtab16(off2, x), mcc_sxtab16_ror8(off2, x));
        src += 4;
        dst += 8;
    }
    for (i = n >> 3; i > 0; i--, src += 8, dst += 16) { /* two groups per iteration */
        const int32_t x = mcc_read_s8x4(src), y = mcc_read_s8x4(src + 4);
        MCC_STRD(dst, 0, mcc_sxtab16(off2, x), mcc_sxtab16_ror8(off2, x));
        MCC_STRD(dst, 16, mcc_sxtab16(off2, y), mcc_sxtab16_ror8(off2, y));
    }
#else
    for (i = n >> 2; i > 0; i--, src += 4, dst += 8) {
        dst[0] = (int16_t)(src[0] + in_off);
        dst[1] = (int16_t)(src[1] + in_off);
        dst[2] = (int16_t)(src[2] + in_off);
        dst[3] = (int16_t)(src[3] + in_off);
    }
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_MATMUL_H */
