/**
 * @file mcc_s16.h
 * @brief Internal header: primitives of the 16x8 kernels (int16 activations, int8 weights).
 *
 * TFLite's 64-bit MultiplyByQuantizedMultiplier (the multiplier rounded to 16 bits, one rounding shift),
 * the int16 table lookup with 7-bit interpolation, and the 4-D broadcast index of the binary ops.
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_S16_H
#define MCC_S16_H

#include <stdint.h>

#include "mcc_fixedpoint.h"
#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * MultiplyByQuantizedMultiplier of an int64 accumulator (TFLite's common.cc): x in [-2^47, 2^47),
 * multiplier in [0, 2^31), shift in [-31, 7]. The result is truncated to int32 as TFLite does.
 */
static inline int32_t mcc_multiply_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t r = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
    return (int32_t)(uint32_t)(uint64_t)(r >> total_shift);
}

/**
 * Requantize a 16x8 accumulator: acc32 != 0 takes TFLM's int32-bias path (the accumulator wraps to int32,
 * the ordinary 32-bit multiply), else the int64 one.
 */
static inline int16_t mcc_requant_s16(int64_t acc, int32_t acc32, int32_t multiplier, int32_t shift, int32_t offset,
                                      int32_t lo, int32_t hi)
{
    const int32_t v = acc32 ? mcc_multiply_by_quantized_multiplier((int32_t)(uint32_t)(uint64_t)acc, multiplier, shift)
                            : mcc_multiply_by_quantized_multiplier_64(acc, multiplier, shift);
    return (int16_t)mcc_clamp_i32(mcc_wrap_add(v, offset), lo, hi);
}

/** TFLite's LUTLookup for int16: entry 256 + (x >> 7), interpolated by the low 7 bits; table of 513 entries. */
static inline int16_t mcc_lut_lookup_s16(int32_t x, const int16_t *table)
{
    const int32_t index = 256 + (x >> 7);
    const int32_t offset = x & 0x7F;
    const int32_t base = table[index];
    const int32_t slope = table[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

/** Flat offset of output index (b, y, x, c) in a broadcast input of dims d (a dimension of 1 is repeated). */
static inline int32_t mcc_broadcast_offset(const mcc_dims *d, int32_t b, int32_t y, int32_t x, int32_t c)
{
    const int32_t bb = d->n == 1 ? 0 : b, yy = d->h == 1 ? 0 : y, xx = d->w == 1 ? 0 : x, cc = d->c == 1 ? 0 : c;
    return ((bb * d->h + yy) * d->w + xx) * d->c + cc;
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_S16_H */
