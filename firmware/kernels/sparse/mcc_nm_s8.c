/**
 * @file mcc_nm_s8.c
 * @brief CONV_2D and FULLY_CONNECTED int8 with N:M sparse filters (2:4 and 1:4, the pair-entry format of
 *        mcc_sparse.h); bit-exact with the dense kernels and TFLM's reference kernels.
 *
 * Why pair tables: QEMU (and a Cortex-M4 alike) pays per executed instruction, and the dense conv core
 * already needs only ~1.1 instructions per MAC (mcc_matmul.h). Skipping zeros one by one costs an index
 * decode and a load per non-zero, which at 50% density is no cheaper than dense. The 2:4 / 1:4 formats
 * instead keep one multiply per *pair* of non-zeros: each output channel does exactly one SMLAD per group
 * and pixel on a word taken from a per-pixel table of all pairs a group can select (6 pairs for 2:4, 16
 * for 1:4). Building the table costs 13 (2:4) or 5 per value (1:4) instructions per group and pixel,
 * paid once for all output channels, so it wins from about 16 output channels on (measured crossover in
 * bench/sparse_crossover.py, constants in mcucompress/codegen/sparse.py). 2:4 convolutions with stride_w 1
 * and no dilation (C_in % 8 == 0) share the pairs further: see "Row tables" below (3.10M -> 2.18M
 * instructions on ResNet-8's 16-channel 3x3 layers, where the per-pixel table was 40% of the work).
 *
 * DSP path, per two entries (one 5-byte record) and four pixels: LDR + LDRB of the record, two SXTB16,
 * two index extractions and address adds, four LDRD of table pairs and eight SMLAD: about 20 instructions
 * for 32 dense MACs (2:4) or 64 (1:4). Conv blocks are four output pixels: table [group][combination][pixel]
 * so LDRD fetches two pixels' pairs; the fully connected kernel uses one input row per table
 * ([group][combination]) and a one-pixel loop.
 *
 * Portable path (no DSP): the pixels are widened into an int16 column and each entry costs two
 * multiply-adds per pixel; bit-exact, not meant to be faster than dense (the cost model picks dense there).
 *
 * Scratch (caller-owned): a requantization table (16 bytes per output channel), the pair table, and for
 * inputs whose depth is not a multiple of G an int8 gather buffer of one receptive field.
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_requant.h"
#include "mcc_sparse.h"
#include "mcc_variants.h"

#define NM_PIX 4      /* output pixels per conv block */
#define NM_REC 5      /* bytes per record (two entries) */
#define NM_RPOS 16    /* row tables (below): positions per slot row, in words */
#define NM_RGS (6 * NM_RPOS * 4) /* row tables: bytes per group of a slot */
#define NM_RMAX_KH 8  /* row tables: at most this many slots (filter rows) */

/** Combinations per group: 6 pairs for 2:4 (G = 4), 16 for 1:4 (G = 8). */
static int32_t nm_combos(int32_t group) { return group == 4 ? 6 : 16; }

/** Entries per output channel rounded up to whole records (two entries each). */
static int32_t nm_groups_even(int32_t k, int32_t group)
{
    const int32_t e = (k + group - 1) / group;
    return (e + 1) & ~1;
}

/** Bytes of the pair table for `pix` pixels (also big enough for the portable path's int16 column). */
static int32_t nm_table_bytes(int32_t k, int32_t group, int32_t pix)
{
    return nm_groups_even(k, group) * nm_combos(group) * 4 * pix;
}

/** Bytes of the int8 gather buffer: one zero-point-padded receptive field when C_in % G != 0. */
static int32_t nm_gather_bytes(int32_t k, int32_t cin, int32_t group)
{
    return (cin % group) != 0 ? ((nm_groups_even(k, group) * group + 3) & ~3) : 0;
}

/** Whether a filter can take the row tables (the conv parameters decide too: stride_w 1, no dilation). */
static int32_t nm_rows_fit(int32_t group, int32_t cin, int32_t kh, int32_t kw)
{
    return group == 4 && cin % 8 == 0 && kw <= NM_RPOS - 3 && kh <= NM_RMAX_KH;
}

int32_t mcc_convolve_nm_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims, int32_t group)
{
    const int32_t k = filter_dims->h * filter_dims->w * in_dims->c;
    int32_t table = nm_table_bytes(k, group, NM_PIX) + nm_gather_bytes(k, in_dims->c, group);
    if (nm_rows_fit(group, in_dims->c, filter_dims->h, filter_dims->w)) { /* either path, by the parameters */
        const int32_t rows = filter_dims->h * (in_dims->c / 4) * NM_RGS + 4 * (k / 8); /* slots, pointers */
        table = rows > table ? rows : table;
    }
    return 16 * filter_dims->n + table;
}

int32_t mcc_fully_connected_nm_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims,
                                                  int32_t group)
{
    const int32_t k = in_dims->c;
    return 16 * filter_dims->n + nm_table_bytes(k, group, 1) + nm_gather_bytes(k, k, group);
}

/** Requantized, clamped output of channel oc. */
static MCC_ALWAYS_INLINE int8_t nm_out(const mcc_rq *rq, int32_t fast, const mcc_per_channel_quant *q, int32_t qi,
                                       int32_t oc, int32_t acc, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = fast ? mcc_rq_apply_post(&rq[oc], acc)
                           : mcc_rq_generic(acc, q->multiplier[qi], q->shift[qi], out_offset);
    return mcc_rq_clamp(v, lo, hi);
}

/* ------------------------------------------------------------------------------------------ group tables */

#if defined(MCC_DSP)
/**
 * The 6 pairs of one 2:4 group (4 int8 values at src, or zeros when src is NULL) with the input offset
 * added; pair c goes to dst[c * stride] (stride in words: pixels per table row). One load, two SXTAB16,
 * four PKH and six stores.
 */
static MCC_ALWAYS_INLINE void nm_emit4(const int8_t *src, int32_t off2, int32_t *dst, int32_t stride)
{
    int32_t x02 = 0, x13 = 0;
    if (src != NULL) {
        const int32_t v = mcc_read_s8x4(src);
        x02 = mcc_sxtab16(off2, v);      /* (x0, x2) */
        x13 = mcc_sxtab16_ror8(off2, v); /* (x1, x3) */
    }
    dst[0] = mcc_pkhbt_lsl16(x02, x13);          /* (x0, x1) */
    dst[stride] = x02;                          /* (x0, x2) */
    dst[2 * stride] = mcc_pkhbt(x02, x13);       /* (x0, x3) */
    dst[3 * stride] = mcc_pkhbt(x13, x02);       /* (x1, x2) */
    dst[4 * stride] = x13;                      /* (x1, x3) */
    dst[5 * stride] = mcc_pkhtb_asr16(x13, x02); /* (x2, x3) */
}

/**
 * The 16 pairs (x_i, y_j) of one 1:4 group of 8 values (x = first four, y = last four), c = 4 i + j:
 * two loads, four SXTAB16, two shifts, sixteen PKH and sixteen stores.
 */
static MCC_ALWAYS_INLINE void nm_emit8(const int8_t *src, int32_t off2, int32_t *dst, int32_t stride)
{
    int32_t x02 = 0, x13 = 0, y[4] = {0, 0, 0, 0};
    int32_t j;
    if (src != NULL) {
        const int32_t v = mcc_read_s8x4(src), u = mcc_read_s8x4(src + 4);
        const int32_t y02 = mcc_sxtab16(off2, u), y13 = mcc_sxtab16_ror8(off2, u);
        x02 = mcc_sxtab16(off2, v);
        x13 = mcc_sxtab16_ror8(off2, v);
        y[0] = (int32_t)((uint32_t)y02 << 16); /* y_j in the high half */
        y[1] = (int32_t)((uint32_t)y13 << 16);
        y[2] = y02;
        y[3] = y13;
    }
    for (j = 0; j < 4; j++) {
        dst[j * stride] = mcc_pkhbt(x02, y[j]);            /* x0 */
        dst[(4 + j) * stride] = mcc_pkhbt(x13, y[j]);      /* x1 */
        dst[(8 + j) * stride] = mcc_pkhtb_asr16(y[j], x02); /* x2 */
        dst[(12 + j) * stride] = mcc_pkhtb_asr16(y[j], x13); /* x3 */
    }
}

/** Group g of pixel p: its table entries (pixel-interleaved with `pix` pixels per row). */
static MCC_ALWAYS_INLINE void nm_emit(const int8_t *src, int32_t group, int32_t off2, int32_t *table, int32_t g,
                                      int32_t p, int32_t pix)
{
    int32_t *dst = table + g * nm_combos(group) * pix + p;
    if (group == 4) {
        nm_emit4(src, off2, dst, pix);
    } else {
        nm_emit8(src, off2, dst, pix);
    }
}
#else
/** Group g of pixel p into the int16 column of pixel p (kp values per pixel). */
static MCC_ALWAYS_INLINE void nm_emit(const int8_t *src, int32_t group, int32_t off, int16_t *cols, int32_t g,
                                      int32_t p, int32_t kp)
{
    int16_t *dst = cols + p * kp + g * group;
    int32_t i;
    for (i = 0; i < group; i++) {
        dst[i] = (int16_t)(src != NULL ? src[i] + off : 0);
    }
}

/* (i, j) of each combination c, G = 4 and G = 8 */
static const uint8_t nm_first4[6] = {0, 0, 0, 1, 1, 2}, nm_second4[6] = {1, 2, 3, 2, 3, 3};
#endif

/* -------------------------------------------------------------------------------- DSP output channels */

#if defined(MCC_DSP)
/**
 * 2:4 entry offsets by a record's index byte ia | ib << 4 (ia, ib < 6): ia * S in the low half-word, ib * S in the
 * high one, S the table's combination stride. One load and two adds (UXTAH, ADD LSR) instead of two ANDs and two
 * shifted ADDs: one instruction less a record (ResNet-8 2:4's row-table loop 22 -> 21).
 */
#define NM_OFF(i, S) ((uint32_t)(((i) & 15) * (S)) | ((uint32_t)(((i) >> 4) * (S)) << 16))
#define NM_OFF4(i, S) NM_OFF(i, S), NM_OFF((i) + 1, S), NM_OFF((i) + 2, S), NM_OFF((i) + 3, S)
#define NM_OFF16(i, S) NM_OFF4(i, S), NM_OFF4((i) + 4, S), NM_OFF4((i) + 8, S), NM_OFF4((i) + 12, S)
#define NM_OFFSETS(S)                                                                                        \
    {NM_OFF16(0, S), NM_OFF16(16, S), NM_OFF16(32, S), NM_OFF16(48, S), NM_OFF16(64, S), NM_OFF16(80, S)}
static const uint32_t nm_pixel_offsets[6 * 16] = NM_OFFSETS(16); /* per-pixel tables: combination stride 16 */

/**
 * One record (two entries) at byte offset RO of r against table groups at byte offset TO of tb, 4 pixels.
 * `offs`: the entry offsets by index byte (G = 4: nm_pixel_offsets), or NULL to decode the index (G = 8).
 */
#define NM_REC_P4(r, RO, tb, TO, GS, offs, a0, a1, a2, a3)                                                    \
    do {                                                                                                     \
        const int32_t w_ = mcc_read_s32((r) + (RO)), i_ = (r)[(RO) + 4];                                     \
        const int32_t wa_ = mcc_sxtb16(w_), wb_ = mcc_sxtb16_ror8(w_);                                       \
        const uint8_t *pa_, *pb_;                                                                            \
        if ((offs) != NULL) { /* one load, UXTAH, ADD LSR */                                                 \
            const uint32_t o_ = (offs)[i_];                                                                  \
            pa_ = (tb) + (uint16_t)o_;                                                                       \
            pb_ = (tb) + (o_ >> 16);                                                                         \
        } else {                                                                                             \
            int32_t ia_ = i_ & 15; /* AND then ADD with LSL #4 (GCC would otherwise shift, mask and add) */  \
            MCC_OPAQUE(ia_);                                                                                 \
            pa_ = (tb) + (ia_ << 4);                                                                         \
            pb_ = (tb) + (i_ & 0xF0);                                                                        \
        }                                                                                                    \
        int32_t x0_, x1_;                                                                                    \
        MCC_LDRD(pa_, (TO), x0_, x1_);                                                                       \
        a0 = mcc_smlad(wa_, x0_, a0);                                                                        \
        a1 = mcc_smlad(wa_, x1_, a1);                                                                        \
        MCC_LDRD(pa_, (TO) + 8, x0_, x1_);                                                                   \
        a2 = mcc_smlad(wa_, x0_, a2);                                                                        \
        a3 = mcc_smlad(wa_, x1_, a3);                                                                        \
        MCC_LDRD(pb_, (TO) + (GS), x0_, x1_);                                                                \
        a0 = mcc_smlad(wb_, x0_, a0);                                                                        \
        a1 = mcc_smlad(wb_, x1_, a1);                                                                        \
        MCC_LDRD(pb_, (TO) + (GS) + 8, x0_, x1_);                                                            \
        a2 = mcc_smlad(wb_, x0_, a2);                                                                        \
        a3 = mcc_smlad(wb_, x1_, a3);                                                                        \
    } while (0)

/**
 * All output channels of a block of four pixels (table rows of GS bytes per group), G = 4 or 8. `n` valid
 * pixels (1..4) are stored at out + p * cout.
 */
#define NM_CHANNELS_P4(name, GS, UNROLL4, OFFS)                                                               \
    static MCC_NOINLINE void name(const uint8_t *rows, int32_t nrec, const uint8_t *table,         \
                                               const int32_t *bias, int32_t cout, const mcc_rq *rq, int32_t fast, \
                                               const mcc_per_channel_quant *q, int32_t out_off, int32_t lo,     \
                                               int32_t hi, int8_t *o, int32_t n)                                \
    {                                                                                                        \
        int32_t oc, r, p;                                                                                    \
        const int32_t lean = fast && lo == -128 && hi == 127 && n == NM_PIX;                                 \
        for (oc = 0; oc < cout; oc++, o++) {                                                                 \
            const uint8_t *rec = rows, *tb = table;                                                          \
            int32_t a0 = bias != NULL ? bias[oc] : 0, a1 = a0, a2 = a0, a3 = a0, acc[NM_PIX];                \
            rows += nrec * NM_REC;                                                                           \
            if (UNROLL4) { /* four records per iteration: less loop overhead */                              \
                for (r = nrec >> 2; r > 0; r--, rec += 4 * NM_REC, tb += 8 * (GS)) {                         \
                    NM_REC_P4(rec, 0, tb, 0, GS, OFFS, a0, a1, a2, a3);                                       \
                    NM_REC_P4(rec, NM_REC, tb, 2 * (GS), GS, OFFS, a0, a1, a2, a3);                           \
                    NM_REC_P4(rec, 2 * NM_REC, tb, 4 * (GS), GS, OFFS, a0, a1, a2, a3);                       \
                    NM_REC_P4(rec, 3 * NM_REC, tb, 6 * (GS), GS, OFFS, a0, a1, a2, a3);                       \
                }                                                                                            \
                if (nrec & 2) {                                                                              \
                    NM_REC_P4(rec, 0, tb, 0, GS, OFFS, a0, a1, a2, a3);                                       \
                    NM_REC_P4(rec, NM_REC, tb, 2 * (GS), GS, OFFS, a0, a1, a2, a3);                           \
                    rec += 2 * NM_REC;                                                                       \
                    tb += 4 * (GS);                                                                          \
                }                                                                                            \
            } else {                                                                                         \
                for (r = nrec >> 1; r > 0; r--, rec += 2 * NM_REC, tb += 4 * (GS)) {                         \
                    NM_REC_P4(rec, 0, tb, 0, GS, OFFS, a0, a1, a2, a3);                                       \
                    NM_REC_P4(rec, NM_REC, tb, 2 * (GS), GS, OFFS, a0, a1, a2, a3);                           \
                }                                                                                            \
            }                                                                                                \
            if (nrec & 1) {                                                                                  \
                NM_REC_P4(rec, 0, tb, 0, GS, OFFS, a0, a1, a2, a3);                                           \
            }                                                                                                \
            if (lean) {                                                                                      \
                o[0] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a0));                                    \
                o[cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a1));                                 \
                o[2 * cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a2));                             \
                o[3 * cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a3));                             \
                continue;                                                                                    \
            }                                                                                                \
            acc[0] = a0;                                                                                     \
            acc[1] = a1;                                                                                     \
            acc[2] = a2;                                                                                     \
            acc[3] = a3;                                                                                     \
            for (p = 0; p < n; p++) {                                                                        \
                o[p * cout] = nm_out(rq, fast, q, oc, oc, acc[p], out_off, lo, hi);                          \
            }                                                                                                \
        }                                                                                                    \
    }
NM_CHANNELS_P4(nm_channels_g4, 6 * 16, 1, nm_pixel_offsets)
#if MCC_NM_G8
NM_CHANNELS_P4(nm_channels_g8, 16 * 16, 0, (const uint32_t *)NULL)
#endif

/*
 * Row tables (2:4, stride 1 along W, no dilation, C_in % 8 == 0): the 4 output pixels of a block at tap kx read
 * input positions x0 + kx .. x0 + kx + 3 of one input row, so the pairs of a whole input row (a segment of it)
 * serve every tap and every output row that reads it. A slot holds one input row's segment as
 * [C_in / 4 groups][6 combinations][NM_RPOS positions] words (combination stride 64 bytes, group stride
 * NM_RGS); kh slots are kept as a ring keyed by input row, so each input row is widened once per segment
 * instead of kh * kw times per output pixel (the per-pixel tables' cost). The records are read unchanged.
 */

/** One record against a row table: combination stride 64 bytes, entry b one group (NM_RGS bytes) on. */
#define NM_REC_R4(r, tb, offs, a0, a1, a2, a3)                                                                \
    do {                                                                                                     \
        const int32_t w_ = mcc_read_s32(r);                                                                  \
        const uint32_t o_ = (offs)[(r)[4]];                                                                  \
        const int32_t wa_ = mcc_sxtb16(w_), wb_ = mcc_sxtb16_ror8(w_);                                       \
        const uint8_t *pa_ = (tb) + (uint16_t)o_, *pb_ = (tb) + (o_ >> 16);                                  \
        int32_t x0_, x1_;                                                                                    \
        MCC_LDRD(pa_, 0, x0_, x1_);                                                                          \
        a0 = mcc_smlad(wa_, x0_, a0);                                                                        \
        a1 = mcc_smlad(wa_, x1_, a1);                                                                        \
        MCC_LDRD(pa_, 8, x0_, x1_);                                                                          \
        a2 = mcc_smlad(wa_, x0_, a2);                                                                        \
        a3 = mcc_smlad(wa_, x1_, a3);                                                                        \
        MCC_LDRD(pb_, NM_RGS, x0_, x1_);                                                                     \
        a0 = mcc_smlad(wb_, x0_, a0);                                                                        \
        a1 = mcc_smlad(wb_, x1_, a1);                                                                        \
        MCC_LDRD(pb_, NM_RGS + 8, x0_, x1_);                                                                 \
        a2 = mcc_smlad(wb_, x0_, a2);                                                                        \
        a3 = mcc_smlad(wb_, x1_, a3);                                                                        \
    } while (0)

#if MCC_NM_ROWS
static const uint32_t nm_row_offsets[6 * 16] = NM_OFFSETS(64); /* row tables: combination stride 64 */

/**
 * All output channels of a block of four pixels from row tables: tp[r] is record r's table pointer (its tap's
 * slot row at the block's first position, plus its group pair), the same for every output channel. `n` valid
 * pixels.
 */
static MCC_NOINLINE void nm_channels_rows(const uint8_t *rows, int32_t nrec, const uint8_t *const *tp,
                                          const int32_t *bias, int32_t cout, const mcc_rq *rq, int32_t fast,
                                          const mcc_per_channel_quant *q, int32_t out_off, int32_t lo, int32_t hi,
                                          int8_t *o, int32_t n)
{
    int32_t oc, r, p;
    const int32_t lean = fast && lo == -128 && hi == 127 && n == NM_PIX;
    const uint32_t *offs = nm_row_offsets;
    for (oc = 0; oc < cout; oc++, o++) {
        const uint8_t *rec = rows, *const *t = tp;
        int32_t a0 = bias != NULL ? bias[oc] : 0, a1 = a0, a2 = a0, a3 = a0, acc[NM_PIX];
        for (r = nrec >> 2; r > 0; r--, rec += 4 * NM_REC, t += 4) { /* four records per iteration */
            NM_REC_R4(rec, t[0], offs, a0, a1, a2, a3);
            NM_REC_R4(rec + NM_REC, t[1], offs, a0, a1, a2, a3);
            NM_REC_R4(rec + 2 * NM_REC, t[2], offs, a0, a1, a2, a3);
            NM_REC_R4(rec + 3 * NM_REC, t[3], offs, a0, a1, a2, a3);
        }
        for (r = nrec & 3; r > 0; r--, rec += NM_REC, t++) {
            NM_REC_R4(rec, t[0], offs, a0, a1, a2, a3);
        }
        rows = rec;
        if (lean) {
            o[0] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a0));
            o[cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a1));
            o[2 * cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a2));
            o[3 * cout] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[oc], a3));
            continue;
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        for (p = 0; p < n; p++) {
            o[p * cout] = nm_out(rq, fast, q, oc, oc, acc[p], out_off, lo, hi);
        }
    }
}
#endif /* MCC_NM_ROWS */

/** One record against a one-pixel table (combination stride 4 bytes, group stride GS bytes). */
#define NM_REC_P1(r, tb, GS, acc)                                                                            \
    do {                                                                                                     \
        const int32_t w_ = mcc_read_s32(r), i_ = (r)[4];                                                     \
        acc = mcc_smlad(mcc_sxtb16(w_), mcc_read_s32((tb) + ((i_ & 15) << 2)), acc);                        \
        acc = mcc_smlad(mcc_sxtb16_ror8(w_), mcc_read_s32((tb) + (GS) + ((i_ >> 4) << 2)), acc);            \
    } while (0)

/** All outputs of one input row (FULLY_CONNECTED), per-channel quant entry oc * per_channel. */
#define NM_CHANNELS_P1(name, GS)                                                                              \
    static MCC_NOINLINE void name(const uint8_t *rows, int32_t nrec, const uint8_t *table,         \
                                               const int32_t *bias, int32_t cout, const mcc_rq *rq, int32_t fast, \
                                               const mcc_per_channel_quant *q, int32_t pc, int32_t out_off,     \
                                               int32_t lo, int32_t hi, int8_t *o)                               \
    {                                                                                                        \
        int32_t oc, r;                                                                                       \
        for (oc = 0; oc < cout; oc++) {                                                                      \
            const uint8_t *rec = rows, *tb = table;                                                          \
            int32_t a = bias != NULL ? bias[oc] : 0;                                                         \
            rows += nrec * NM_REC;                                                                           \
            for (r = nrec >> 1; r > 0; r--, rec += 2 * NM_REC, tb += 4 * (GS)) {                             \
                NM_REC_P1(rec, tb, GS, a);                                                                   \
                NM_REC_P1(rec + NM_REC, tb + 2 * (GS), GS, a);                                               \
            }                                                                                                \
            if (nrec & 1) {                                                                                  \
                NM_REC_P1(rec, tb, GS, a);                                                                   \
            }                                                                                                \
            o[oc] = nm_out(rq, fast, q, oc * pc, oc, a, out_off, lo, hi);                                    \
        }                                                                                                    \
    }
NM_CHANNELS_P1(nm_row_g4, 6 * 4)
#if MCC_NM_G8
NM_CHANNELS_P1(nm_row_g8, 16 * 4)
#endif

#else /* portable C */

/** Entry (w_lo, w_hi, c) of record bytes r, entry 0 or 1, times the int16 column values of its group. */
static MCC_ALWAYS_INLINE int32_t nm_entry(const uint8_t *r, int32_t second, int32_t group, const int16_t *x)
{
    const int32_t wl = (int8_t)r[second], wh = (int8_t)r[2 + second];
    const int32_t c = second ? r[4] >> 4 : r[4] & 15;
    const int32_t i = group == 4 ? nm_first4[c] : c >> 2, j = group == 4 ? nm_second4[c] : 4 + (c & 3);
    return wl * x[i] + wh * x[j];
}

/** All output channels of `n` pixels whose int16 columns (kp values each) are in cols. */
static void nm_channels_c(const uint8_t *rows, int32_t nrec, int32_t group, const int16_t *cols, int32_t kp,
                          int32_t npix, const int32_t *bias, int32_t cout, const mcc_rq *rq, int32_t fast,
                          const mcc_per_channel_quant *q, int32_t pc, int32_t out_off, int32_t lo, int32_t hi,
                          int8_t *o, int32_t n)
{
    int32_t oc, r, p;
    for (oc = 0; oc < cout; oc++, rows += nrec * NM_REC) {
        for (p = 0; p < n && p < npix; p++) {
            const int16_t *x = cols + p * kp;
            int32_t a = bias != NULL ? bias[oc] : 0;
            for (r = 0; r < nrec; r++) {
                const uint8_t *rec = rows + r * NM_REC;
                a += nm_entry(rec, 0, group, x + 2 * r * group);
                a += nm_entry(rec, 1, group, x + (2 * r + 1) * group); /* an odd E's last entry has weights 0 */
            }
            o[p * cout + oc] = nm_out(rq, fast, q, oc * pc, oc, a, out_off, lo, hi);
        }
    }
}
#endif

/* -------------------------------------------------------------------------------------------- gathering */

/** n int8 values of v (a loop: a memset call would cost more than the few bytes). */
static MCC_ALWAYS_INLINE void nm_fill(int8_t *dst, int8_t v, int32_t n)
{
    for (; n > 0; n--) {
        MCC_OPAQUE(dst);
        *dst++ = v;
    }
}

/** n int8 values from src. */
static MCC_ALWAYS_INLINE void nm_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n > 0; n--) {
        MCC_OPAQUE(dst);
        *dst++ = *src++;
    }
}

#if defined(MCC_DSP)
typedef int32_t nm_sink; /* the pair table */
#define NM_SINK_ARG(off) (int32_t)(((uint32_t)(off) & 0xFFFFu) | ((uint32_t)(off) << 16))
#else
typedef int16_t nm_sink; /* the int16 columns */
#define NM_SINK_ARG(off) (off)
#endif

/**
 * The receptive field of output pixel (b, oy, ox) into slot p of the sink: directly from the input, tap by
 * tap, when C_in % G = 0 (padded taps give zero groups), else gathered as int8 first (padded taps and the
 * zero padding of the last group as the input zero point, which widens to 0).
 */
static MCC_ALWAYS_INLINE void nm_pixel_impl(const mcc_conv_params *cp, const mcc_dims *in_dims, const int8_t *in,
                                            int32_t kh, int32_t kw, int32_t group, int32_t b, int32_t oy,
                                            int32_t ox, int8_t *gather, nm_sink *sink, int32_t p, int32_t pix,
                                            int32_t kp)
{
    const int32_t h = in_dims->h, w = in_dims->w, ch = in_dims->c, off = cp->input_offset;
    const int32_t iy0 = oy * cp->stride_h - cp->pad_h, ix0 = ox * cp->stride_w - cp->pad_w;
    const int8_t *base = in + b * h * w * ch;
    int32_t ky, kx, g = 0, i;
#if defined(MCC_DSP)
    const int32_t arg = NM_SINK_ARG(off);
    (void)kp;
#else
    const int32_t arg = off;
    (void)pix;
#endif
#if defined(MCC_DSP)
#define NM_EMIT(src, gi) nm_emit((src), group, arg, sink, (gi), p, pix)
#else
#define NM_EMIT(src, gi) nm_emit((src), group, arg, sink, (gi), p, kp)
#endif
    if (ch % group == 0) {
        const int32_t per_tap = ch / group;
        for (ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * cp->dilation_h;
            for (kx = 0; kx < kw; kx++) {
                const int32_t ix = ix0 + kx * cp->dilation_w;
                const int8_t *src = iy >= 0 && iy < h && ix >= 0 && ix < w ? base + (iy * w + ix) * ch : NULL;
                if (src != NULL) {
                    for (i = 0; i < per_tap; i++, g++) {
                        NM_EMIT(src + i * group, g);
                    }
                } else {
                    for (i = 0; i < per_tap; i++, g++) {
                        NM_EMIT(NULL, g);
                    }
                }
            }
        }
        return;
    }
    {
        const int8_t zp = (int8_t)(-off);
        const int32_t k = kh * kw * ch, groups = (k + group - 1) / group;
        int8_t *dst = gather;
        for (ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * cp->dilation_h;
            for (kx = 0; kx < kw; kx++, dst += ch) {
                const int32_t ix = ix0 + kx * cp->dilation_w;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                    nm_copy(dst, base + (iy * w + ix) * ch, ch);
                } else {
                    nm_fill(dst, zp, ch);
                }
            }
        }
        nm_fill(dst, zp, groups * group - k);
        for (g = 0; g < groups; g++) {
            NM_EMIT(gather + g * group, g);
        }
    }
#undef NM_EMIT
}

/* nm_pixel_impl with G and the pixels per table row as constants (the table stores then use immediates) */
#define NM_PIXEL_VARIANT(name, G, PIXELS)                                                                     \
    static MCC_NOINLINE void name(const mcc_conv_params *cp, const mcc_dims *in_dims, const int8_t *in,      \
                                  int32_t kh, int32_t kw, int32_t b, int32_t oy, int32_t ox, int8_t *gather,   \
                                  nm_sink *sink, int32_t p, int32_t kp)                                      \
    {                                                                                                        \
        nm_pixel_impl(cp, in_dims, in, kh, kw, G, b, oy, ox, gather, sink, p, PIXELS, kp);                  \
    }
NM_PIXEL_VARIANT(nm_pixel_g4p4, 4, NM_PIX)
#if MCC_NM_G8
NM_PIXEL_VARIANT(nm_pixel_g8p4, 8, NM_PIX)
#endif
NM_PIXEL_VARIANT(nm_pixel_g4p1, 4, 1)
#if MCC_NM_G8
NM_PIXEL_VARIANT(nm_pixel_g8p1, 8, 1)
#endif

/** The receptive field of one pixel into slot p (see nm_pixel_impl); pix = pixels per table row (4 or 1). */
static void nm_pixel(const mcc_conv_params *cp, const mcc_dims *in_dims, const int8_t *in, int32_t kh, int32_t kw,
                     int32_t group, int32_t b, int32_t oy, int32_t ox, int8_t *gather, nm_sink *sink, int32_t p,
                     int32_t pix, int32_t kp)
{
#if !MCC_NM_G8
    (void)group; /* 2:4 only (the kernels refuse G = 8 in this build) */
#endif
    if (pix == NM_PIX) {
#if MCC_NM_G8
        (group == 4 ? nm_pixel_g4p4 : nm_pixel_g8p4)(cp, in_dims, in, kh, kw, b, oy, ox, gather, sink, p, kp);
#else
        nm_pixel_g4p4(cp, in_dims, in, kh, kw, b, oy, ox, gather, sink, p, kp);
#endif
    } else {
#if MCC_NM_G8
        (group == 4 ? nm_pixel_g4p1 : nm_pixel_g8p1)(cp, in_dims, in, kh, kw, b, oy, ox, gather, sink, p, kp);
#else
        nm_pixel_g4p1(cp, in_dims, in, kh, kw, b, oy, ox, gather, sink, p, kp);
#endif
    }
}

#if defined(MCC_DSP) && MCC_NM_ROWS
/** The pairs of `npos` positions of one input row from input x = x0 on (NULL row or x outside: zeros). */
static MCC_NOINLINE void nm_row_slot(const int8_t *row, int32_t ch, int32_t x0, int32_t w, int32_t npos, int32_t off2,
                                     int32_t *slot)
{
    int32_t j, g;
    for (j = 0; j < npos; j++) {
        const int32_t ix = x0 + j;
        const int8_t *src = row != NULL && ix >= 0 && ix < w ? row + ix * ch : NULL;
        int32_t *dst = slot + j;
        if (src != NULL) {
            for (g = 0; g < ch; g += 4, dst += NM_RGS / 4) {
                nm_emit4(src + g, off2, dst, NM_RPOS);
            }
        } else {
            for (g = 0; g < ch; g += 4, dst += NM_RGS / 4) {
                nm_emit4(NULL, off2, dst, NM_RPOS);
            }
        }
    }
}

/**
 * CONV_2D from row tables (see nm_channels_rows): output rows in segments of up to `seg` pixels (the positions
 * a segment reads fit a slot row); per segment the kh slots are a ring keyed by input row.
 */
static void nm_convolve_rows(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                             const int8_t *in, int32_t kh, int32_t kw, const uint8_t *records, const int32_t *bias,
                             const mcc_dims *out_dims, int8_t *out, const mcc_rq *rq, int32_t fast, uint8_t *slots)
{
    const int32_t ch = in_dims->c, cout = out_dims->c, slot_bytes = (ch / 4) * NM_RGS;
    const int32_t seg = ((NM_RPOS - kw + 1) / 4) * 4, off2 = NM_SINK_ARG(p->input_offset);
    int32_t b, s0, oy, ky, kx, j, bx, tag[NM_RMAX_KH];
    const uint8_t *rowp[NM_RMAX_KH];
    const uint8_t **tp = (const uint8_t **)(void *)(slots + kh * slot_bytes); /* per-record table pointers */
    for (b = 0; b < out_dims->n; b++) {
        for (s0 = 0; s0 < out_dims->w; s0 += seg) {
            const int32_t segw = out_dims->w - s0 < seg ? out_dims->w - s0 : seg;
            const int32_t npos = ((segw + 3) & ~3) + kw - 1;
            for (ky = 0; ky < kh; ky++) {
                tag[ky] = -0x7fffffff; /* no input row */
            }
            for (oy = 0; oy < out_dims->h; oy++) {
                int8_t *o = out + ((b * out_dims->h + oy) * out_dims->w + s0) * cout;
                for (ky = 0; ky < kh; ky++) {
                    const int32_t iy = oy * p->stride_h - p->pad_h + ky, si = ((iy % kh) + kh) % kh;
                    uint8_t *slot = slots + si * slot_bytes;
                    if (tag[si] != iy) {
                        const int8_t *row = iy >= 0 && iy < in_dims->h ? in + (b * in_dims->h + iy) * in_dims->w * ch
                                                                       : NULL;
                        nm_row_slot(row, ch, s0 - p->pad_w, in_dims->w, npos, off2, (int32_t *)(void *)slot);
                        tag[si] = iy;
                    }
                    rowp[ky] = slot;
                }
                for (bx = 0; bx < segw; bx += NM_PIX, o += NM_PIX * cout) {
                    const int32_t n = segw - bx < NM_PIX ? segw - bx : NM_PIX;
                    const uint8_t **t = tp;
                    for (ky = 0; ky < kh; ky++) { /* records in K order: (ky, kx, group pair) */
                        for (kx = 0; kx < kw; kx++) {
                            const uint8_t *at = rowp[ky] + 4 * (bx + kx);
                            for (j = 0; j < ch / 8; j++, at += 2 * NM_RGS) {
                                *t++ = at;
                            }
                        }
                    }
                    nm_channels_rows(records, kh * kw * (ch / 8), tp, bias, cout, rq, fast, q, p->output_offset,
                                     p->act_min, p->act_max, o, n);
                }
            }
        }
    }
}
#endif

/* ---------------------------------------------------------------------------------------------- kernels */

/**
 * CONV_2D int8 with an N:M filter (see mcc_sparse.h).
 * @param ctx         scratch of mcc_convolve_nm_s8_get_buffer_size() bytes, 4-byte aligned
 * @param p           as mcc_convolve_s8: input_offset in [-127, 128], output_offset in [-128, 127],
 *                    stride >= 1, dilation >= 1, pad >= 0, -128 <= act_min <= act_max <= 127
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in]
 * @param filter_dims [C_out, KH, KW, C_in] (of the dense filter)
 * @param filter      group 4 or 8 and the records
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out]
 * @return MCC_OK, MCC_ARG_ERROR or MCC_NO_BUFFER
 */
mcc_status mcc_convolve_nm_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                              const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                              const mcc_nm_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                              int8_t *out)
{
    int32_t group, k, kp, nrec, cout, total, pix, s, b = 0, oy = 0, ox = 0, fast;
    int32_t pb[NM_PIX], py[NM_PIX], px[NM_PIX];
    mcc_rq *rq;
    nm_sink *sink;
    int8_t *gather;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        filter->records == NULL || out_dims == NULL || out == NULL || (filter->group != 4 && filter->group != 8) ||
        filter_dims->c != in_dims->c || out_dims->c != filter_dims->n || out_dims->n != in_dims->n ||
        p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    group = filter->group;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < mcc_convolve_nm_s8_get_buffer_size(in_dims, filter_dims, group)) {
        return MCC_NO_BUFFER;
    }
#if !MCC_NM_G8
    if (group == 8) {
        return MCC_NOT_BUILT; /* the build left the 1:4 paths out (mcc_variants.h) */
    }
#endif
    cout = out_dims->c;
    k = filter_dims->h * filter_dims->w * in_dims->c;
    nrec = nm_groups_even(k, group) / 2;
    kp = 2 * nrec * group;
    rq = (mcc_rq *)ctx->buf;
    sink = (nm_sink *)(void *)((int8_t *)ctx->buf + 16 * cout);
    gather = (int8_t *)ctx->buf + 16 * cout + nm_table_bytes(k, group, NM_PIX);
    fast = mcc_rq_prepare_table(rq, q->multiplier, q->shift, cout, 1, p->output_offset);
#if defined(MCC_DSP) && MCC_NM_ROWS
    if (nm_rows_fit(group, in_dims->c, filter_dims->h, filter_dims->w) && p->stride_w == 1 && p->dilation_w == 1 &&
        p->dilation_h == 1) {
        nm_convolve_rows(p, q, in_dims, in, filter_dims->h, filter_dims->w, (const uint8_t *)filter->records, bias,
                         out_dims, out, rq, fast, (uint8_t *)sink);
        return MCC_OK;
    }
#endif
    total = out_dims->n * out_dims->h * out_dims->w;
    for (pix = 0; pix < total; pix += NM_PIX) {
        const int32_t n = total - pix < NM_PIX ? total - pix : NM_PIX;
        for (s = 0; s < NM_PIX; s++) { /* positions of the block; missing pixels repeat the last one */
            pb[s] = b;
            py[s] = oy;
            px[s] = ox;
            if (s + 1 < n && ++ox == out_dims->w) {
                ox = 0;
                if (++oy == out_dims->h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        if (++ox == out_dims->w) { /* step past the block's last valid pixel */
            ox = 0;
            if (++oy == out_dims->h) {
                oy = 0;
                ++b;
            }
        }
        for (s = 0; s < NM_PIX; s++) {
#if defined(MCC_DSP)
            nm_pixel(p, in_dims, in, filter_dims->h, filter_dims->w, group, pb[s], py[s], px[s], gather, sink, s,
                     NM_PIX, kp);
#else
            if (s < n) {
                nm_pixel(p, in_dims, in, filter_dims->h, filter_dims->w, group, pb[s], py[s], px[s], gather, sink,
                         s, NM_PIX, kp);
            }
#endif
        }
#if defined(MCC_DSP)
        if (group == 4) {
            nm_channels_g4((const uint8_t *)filter->records, nrec, (const uint8_t *)sink, bias, cout, rq, fast, q,
                           p->output_offset, p->act_min, p->act_max, out + pix * cout, n);
        }
#if MCC_NM_G8
        else {
            nm_channels_g8((const uint8_t *)filter->records, nrec, (const uint8_t *)sink, bias, cout, rq, fast, q,
                           p->output_offset, p->act_min, p->act_max, out + pix * cout, n);
        }
#endif
#else
        nm_channels_c((const uint8_t *)filter->records, nrec, group, sink, kp, NM_PIX, bias, cout, rq, fast, q, 1,
                      p->output_offset, p->act_min, p->act_max, out + pix * cout, n);
#endif
    }
    return MCC_OK;
}

/**
 * FULLY_CONNECTED int8 with an N:M filter (see mcc_sparse.h).
 * @param ctx         scratch of mcc_fully_connected_nm_s8_get_buffer_size() bytes, 4-byte aligned
 * @param p           as mcc_fully_connected_s8, with filter_offset = 0
 * @param q           one entry per output (per_channel = 1) or a single entry (per_channel = 0)
 * @param in_dims     n = batches, c = input depth
 * @param filter_dims n = output depth, c = input depth
 * @param filter      group 4 or 8 and the records
 * @param bias        [output depth] int32, or NULL
 * @param out_dims    n = batches, c = output depth
 * @return MCC_OK, MCC_ARG_ERROR or MCC_NO_BUFFER
 */
mcc_status mcc_fully_connected_nm_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const mcc_nm_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out)
{
    int32_t group, k, kp, nrec, cout, bt, fast, pc;
    mcc_conv_params cp;
    mcc_dims row;
    mcc_rq *rq;
    nm_sink *sink;
    int8_t *gather;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        filter->records == NULL || out_dims == NULL || out == NULL || (filter->group != 4 && filter->group != 8) ||
        p->filter_offset != 0 || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n) {
        return MCC_ARG_ERROR;
    }
    group = filter->group;
    if (ctx == NULL || ctx->buf == NULL ||
        ctx->size < mcc_fully_connected_nm_s8_get_buffer_size(in_dims, filter_dims, group)) {
        return MCC_NO_BUFFER;
    }
#if !MCC_NM_G8
    if (group == 8) {
        return MCC_NOT_BUILT; /* the build left the 1:4 paths out (mcc_variants.h) */
    }
#endif
    k = in_dims->c;
    cout = out_dims->c;
    nrec = nm_groups_even(k, group) / 2;
    kp = 2 * nrec * group;
    pc = p->per_channel ? 1 : 0;
    rq = (mcc_rq *)ctx->buf;
    sink = (nm_sink *)(void *)((int8_t *)ctx->buf + 16 * cout);
    gather = (int8_t *)ctx->buf + 16 * cout + nm_table_bytes(k, group, 1);
    fast = mcc_rq_prepare_table(rq, q->multiplier, q->shift, cout, pc, p->output_offset);
    /* a row is a 1x1 "image" of depth k: nm_pixel then widens it like a conv pixel */
    cp.input_offset = p->input_offset;
    cp.output_offset = p->output_offset;
    cp.stride_h = cp.stride_w = cp.dilation_h = cp.dilation_w = cp.depth_multiplier = 1;
    cp.pad_h = cp.pad_w = 0;
    cp.act_min = p->act_min;
    cp.act_max = p->act_max;
    cp.dual_rows = 0;
    cp.small_acc = 0;
    row.n = 1;
    row.h = 1;
    row.w = 1;
    row.c = k;
    for (bt = 0; bt < out_dims->n; bt++) {
        nm_pixel(&cp, &row, in + bt * k, 1, 1, group, 0, 0, 0, gather, sink, 0, 1, kp);
#if defined(MCC_DSP)
        if (group == 4) {
            nm_row_g4((const uint8_t *)filter->records, nrec, (const uint8_t *)sink, bias, cout, rq, fast, q, pc,
                      p->output_offset, p->act_min, p->act_max, out + bt * cout);
        }
#if MCC_NM_G8
        else {
            nm_row_g8((const uint8_t *)filter->records, nrec, (const uint8_t *)sink, bias, cout, rq, fast, q, pc,
                      p->output_offset, p->act_min, p->act_max, out + bt * cout);
        }
#endif
#else
        nm_channels_c((const uint8_t *)filter->records, nrec, group, sink, kp, 1, bias, cout, rq, fast, q, pc,
                      p->output_offset, p->act_min, p->act_max, out + bt * cout, 1);
#endif
    }
    return MCC_OK;
}
