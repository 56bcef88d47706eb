/**
 * @file mcc_packed_s8.c
 * @brief Unpacking of packed (bitmask) filters (mcc_sparse.h) into the bytes a dense kernel reads.
 *
 * Why this shape: the unpacking runs once per inference and layer, so it must cost little next to the layer's
 * multiply-adds (ResNet-8's 32 -> 64 layer: 18,432 weights against 1.18M MACs). Per four bytes one nibble of
 * the mask selects one of 16 cases that place the next non-zero bytes (one unaligned LDR) into a word: a
 * table branch and a few shifts and masks; whole mask words of zeros or non-zeros take a store or a copy. The
 * dual-row half-words are rebuilt as each word is written (one shift, one AND and one USUB8 where the DSP
 * extension is present: wB minus one where wA < 0).
 */
#include <stdint.h>
#include <string.h>

#include "mcc_compiler.h"
#include "mcc_sparse.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#endif

/* One nibble of the mask: the next non-zero bytes (read as the word v) placed at its set bits, in order. */
#define PACKED_CASE(n, expr, used)                                                                                     \
    case n:                                                                                                            \
        out = (expr);                                                                                                  \
        vals += (used);                                                                                                \
        break;

#define PACKED_NIBBLE()                                                                                                \
    do {                                                                                                               \
        uint32_t v, out;                                                                                               \
        memcpy(&v, vals, 4);                                                                                           \
        switch (mask & 15u) {                                                                                          \
            PACKED_CASE(0, 0u, 0)                                                                                      \
            PACKED_CASE(1, v & 0xFFu, 1)                                                                               \
            PACKED_CASE(2, (v & 0xFFu) << 8, 1)                                                                        \
            PACKED_CASE(3, v & 0xFFFFu, 2)                                                                             \
            PACKED_CASE(4, (v & 0xFFu) << 16, 1)                                                                       \
            PACKED_CASE(5, (v & 0xFFu) | ((v & 0xFF00u) << 8), 2)                                                      \
            PACKED_CASE(6, (v & 0xFFFFu) << 8, 2)                                                                      \
            PACKED_CASE(7, v & 0xFFFFFFu, 3)                                                                           \
            PACKED_CASE(8, v << 24, 1)                                                                                 \
            PACKED_CASE(9, (v & 0xFFu) | ((v & 0xFF00u) << 16), 2)                                                     \
            PACKED_CASE(10, ((v & 0xFFu) << 8) | ((v & 0xFF00u) << 16), 2)                                             \
            PACKED_CASE(11, (v & 0xFFFFu) | ((v & 0xFF0000u) << 8), 3)                                                 \
            PACKED_CASE(12, v << 16, 2)                                                                                \
            PACKED_CASE(13, (v & 0xFFu) | ((v & 0xFFFF00u) << 8), 3)                                                   \
            PACKED_CASE(14, v << 8, 3)                                                                                 \
            PACKED_CASE(15, v, 4)                                                                                      \
            default: /* mask & 15 has no other value */                                                                \
                __builtin_unreachable();                                                                               \
        }                                                                                                              \
        mask >>= 4;                                                                                                    \
        *d++ = packed_dual_word(out, fix);                                                                             \
    } while (0)

/* Half-words (wA, wB) as bytes -> 256 * wB + wA where `fix` is 0x01000100 (0: bytes as they are): the high byte
 * loses one where the low byte is negative. */
static inline uint32_t packed_dual_word(uint32_t raw, uint32_t fix)
{
    const uint32_t borrow = (raw << 1) & fix; /* 1 in the high byte of each half-word with wA < 0 */
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    return (uint32_t)__usub8(raw, borrow);
#else
    const uint32_t lo = (raw - (borrow & 0xFFFFu)) & 0xFFFFu;
    const uint32_t hi = ((raw >> 16) - (borrow >> 16)) & 0xFFFFu;
    return lo | (hi << 16);
#endif
}

#define PACKED_FIX 0x01000100u

void mcc_unpack_filter_s8(const mcc_packed_filter *f, int8_t *dst)
{
    const int8_t *vals = f->values;
    uint32_t *d = (uint32_t *)(void *)dst;
    /* Where every pair is all half-words (K % 4 == 0), the pairs' whole mask words are rebuilt as they are
     * unpacked; the bytes after the last whole word, and every pair of other layouts, in a pass after. */
    const int32_t prefix = f->dual_bytes == f->pair_stride ? f->pairs * f->pair_stride : 0;
    const int32_t fused_words = prefix / 32;
    for (int32_t w = 0; w < f->words; ++w) {
        uint32_t mask = f->masks[w];
        const uint32_t fix = w < fused_words ? PACKED_FIX : 0u;
        if (mask == 0u) {
            memset(d, 0, 32);
            d += 8;
            continue;
        }
        if (mask == 0xFFFFFFFFu && fix == 0u) {
            memcpy(d, vals, 32);
            vals += 32;
            d += 8;
            continue;
        }
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
        PACKED_NIBBLE();
    }
    if (prefix > 0) {
        uint32_t *h = (uint32_t *)(void *)dst;
        for (int32_t i = fused_words * 8; i < prefix / 4; ++i) {
            h[i] = packed_dual_word(h[i], PACKED_FIX);
        }
        return;
    }
    const int32_t pairs = f->pairs, stride = f->pair_stride, dual_words = f->dual_bytes / 4;
    for (int32_t p = 0; p < pairs; ++p) {
        uint32_t *h = (uint32_t *)(void *)(dst + p * stride);
        for (int32_t i = 0; i < dual_words; ++i) {
            h[i] = packed_dual_word(h[i], PACKED_FIX);
        }
    }
}
