/**
 * @file mcc_dsp.h
 * @brief Internal header: Cortex-M DSP-extension (SIMD32) helpers used by the kernels' fast paths.
 *
 * MCC_DSP is defined when the target has the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33/M35P
 * with DSP, M55...). The helpers then map to the ACLE intrinsics (SXTB16, SXTAB16, SMLAD, SMLABB,
 * SMLATT, SMLABT, SMLATB, SSUB8+SEL). Defining MCC_EMULATE_DSP on a host without the extension enables the same code
 * paths with portable C emulations of those instructions: the unit tests build the kernels both ways so
 * the DSP paths are checked bit for bit on the host too. MCC_EMULATE_DSP is for testing only.
 *
 * Memory helpers read and write 4 bytes through memcpy, which compilers turn into a single (unaligned)
 * LDR/STR on Cortex-M3 and later.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_DSP_H
#define MCC_DSP_H

#include <stdint.h>
#include <string.h>

#include "mcc_compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Four int8 values from p (any alignment), byte 0 in bits 0-7 (little-endian). */
static inline int32_t mcc_read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/** One int32 from p (any alignment). */
static inline int32_t mcc_read_s32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/** Two int16 values from p, element 0 in the low half-word. */
static inline int32_t mcc_read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/** Store four int8 values (byte 0 = bits 0-7). */
static inline void mcc_write_s8x4(int8_t *p, int32_t v) { memcpy(p, &v, 4); }

/** Store one int32 at p (any alignment). */
static inline void mcc_write_s32(void *p, int32_t v) { memcpy(p, &v, 4); }

/** Store two int16 values (element 0 = low half-word). */
static inline void mcc_write_s16x2(int16_t *p, int32_t v) { memcpy(p, &v, 4); }

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)

#include <arm_acle.h>

#define MCC_DSP 1

static inline uint32_t mcc_ror8(int32_t x) { return ((uint32_t)x >> 8) | ((uint32_t)x << 24); }

/** (sext(x.b0), sext(x.b2)) as two int16 lanes. */
static inline int32_t mcc_sxtb16(int32_t x) { return __sxtb16(x); }
/** (sext(x.b1), sext(x.b3)). */
static inline int32_t mcc_sxtb16_ror8(int32_t x)
{
#if defined(__GNUC__)
    int32_t r; /* GCC does not fold the rotation into SXTB16 by itself */
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return __sxtb16((int32_t)mcc_ror8(x));
#endif
}
/** Lane-wise a + (sext(x.b0), sext(x.b2)), modulo 2^16 per lane. */
static inline int32_t mcc_sxtab16(int32_t a, int32_t x) { return __sxtab16(a, x); }
/** Lane-wise a + (sext(x.b1), sext(x.b3)). */
static inline int32_t mcc_sxtab16_ror8(int32_t a, int32_t x)
{
#if defined(__GNUC__)
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
#else
    return __sxtab16(a, (int32_t)mcc_ror8(x));
#endif
}
/** acc + a.lo * b.lo + a.hi * b.hi (int16 lanes). */
static inline int32_t mcc_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
/** acc + a.lo * b.lo. */
static inline int32_t mcc_smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
/** acc + a.hi * b.hi. */
static inline int32_t mcc_smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
/** acc + a.lo * b.hi. */
static inline int32_t mcc_smlabt(int32_t a, int32_t b, int32_t acc) { return __smlabt(a, b, acc); }
/** acc + a.hi * b.lo. */
static inline int32_t mcc_smlatb(int32_t a, int32_t b, int32_t acc) { return __smlatb(a, b, acc); }
/** Byte-wise signed maximum of four int8 lanes. */
static inline int32_t mcc_max_s8x4(int32_t a, int32_t b)
{
    (void)__ssub8(a, b);
    return (int32_t)__sel((uint32_t)a, (uint32_t)b);
}
/** Byte-wise signed minimum of four int8 lanes. */
static inline int32_t mcc_min_s8x4(int32_t a, int32_t b)
{
    (void)__ssub8(a, b);
    return (int32_t)__sel((uint32_t)b, (uint32_t)a);
}

#elif defined(MCC_EMULATE_DSP)

#define MCC_DSP 1

static inline int32_t mcc_emu_lane(int32_t x, int32_t bit) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> bit); }
static inline int32_t mcc_emu_byte(int32_t x, int32_t bit) { return (int32_t)(int8_t)(uint8_t)((uint32_t)x >> bit); }
static inline int32_t mcc_emu_pack(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

static inline int32_t mcc_sxtb16(int32_t x) { return mcc_emu_pack(mcc_emu_byte(x, 0), mcc_emu_byte(x, 16)); }
static inline int32_t mcc_sxtb16_ror8(int32_t x) { return mcc_emu_pack(mcc_emu_byte(x, 8), mcc_emu_byte(x, 24)); }
static inline int32_t mcc_sxtab16(int32_t a, int32_t x)
{
    return mcc_emu_pack(mcc_emu_lane(a, 0) + mcc_emu_byte(x, 0), mcc_emu_lane(a, 16) + mcc_emu_byte(x, 16));
}
static inline int32_t mcc_sxtab16_ror8(int32_t a, int32_t x)
{
    return mcc_emu_pack(mcc_emu_lane(a, 0) + mcc_emu_byte(x, 8), mcc_emu_lane(a, 16) + mcc_emu_byte(x, 24));
}
static inline int32_t mcc_smlad(int32_t a, int32_t b, int32_t acc)
{
    const uint32_t p = (uint32_t)(mcc_emu_lane(a, 0) * mcc_emu_lane(b, 0)) +
                       (uint32_t)(mcc_emu_lane(a, 16) * mcc_emu_lane(b, 16));
    return (int32_t)((uint32_t)acc + p);
}
static inline int32_t mcc_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(mcc_emu_lane(a, 0) * mcc_emu_lane(b, 0)));
}
static inline int32_t mcc_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(mcc_emu_lane(a, 16) * mcc_emu_lane(b, 16)));
}
static inline int32_t mcc_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(mcc_emu_lane(a, 0) * mcc_emu_lane(b, 16)));
}
static inline int32_t mcc_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(mcc_emu_lane(a, 16) * mcc_emu_lane(b, 0)));
}
static inline int32_t mcc_max_s8x4(int32_t a, int32_t b)
{
    uint32_t r = 0;
    int32_t bit;
    for (bit = 0; bit < 32; bit += 8) {
        const int32_t x = mcc_emu_byte(a, bit), y = mcc_emu_byte(b, bit);
        r |= ((uint32_t)(x >= y ? x : y) & 0xFFu) << bit;
    }
    return (int32_t)r;
}
static inline int32_t mcc_min_s8x4(int32_t a, int32_t b)
{
    uint32_t r = 0;
    int32_t bit;
    for (bit = 0; bit < 32; bit += 8) {
        const int32_t x = mcc_emu_byte(a, bit), y = mcc_emu_byte(b, bit);
        r |= ((uint32_t)(x >= y ? y : x) & 0xFFu) << bit;
    }
    return (int32_t)r;
}

#endif /* DSP extension */

/**
 * MCC_LDRD(base, off, lo, hi): lo = the word at byte offset `off` from `base`, hi = the word after it.
 * `base` must be 4-byte aligned and `off` a constant multiple of 4 in [0, 1020]. On Armv7-M and later
 * (GCC or Clang) this is one LDRD, which GCC does not form by itself from two adjacent loads; MCC_STRD
 * likewise stores two words. The memory operand names the bytes from `base` on, not from base + off: its address is
 * then `base` itself, where a pointer to base + off would make GCC keep (and spill) one more register per offset.
 */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define MCC_LDRD(base, off, lo, hi)                                                                         \
    __asm__("ldrd %0, %1, [%2, #%c3]"                                                                        \
            : "=r"(lo), "=r"(hi)                                                                             \
            : "r"(base), "n"(off), "m"(*(const uint8_t(*)[(off) + 8])(const void *)(base)))
/** MCC_STRD(base, off, lo, hi): store lo at byte offset `off` from `base` and hi after it (one STRD). */
#define MCC_STRD(base, off, lo, hi)                                                                         \
    __asm__("strd %1, %2, [%3, #%c4]"                                                                        \
            : "=m"(*(uint8_t(*)[8])((uint8_t *)(base) + (off)))                                              \
            : "r"(lo), "r"(hi), "r"(base), "n"(off))
#else
#define MCC_STRD(base, off, lo, hi)                                                                         \
    do {                                                                                                     \
        mcc_write_s32((uint8_t *)(base) + (off), (lo));                                                      \
        mcc_write_s32((uint8_t *)(base) + (off) + 4, (hi));                                                  \
    } while (0)
#define MCC_LDRD(base, off, lo, hi)                                                                         \
    do {                                                                                                     \
        (lo) = mcc_read_s32((const uint8_t *)(base) + (off));                                                \
        (hi) = mcc_read_s32((const uint8_t *)(base) + (off) + 4);                                            \
    } while (0)
#endif

#if defined(MCC_DSP)
/* Halfword packing. GCC does not form PKHBT/PKHTB from the mask-and-or by itself, hence the asm on Arm. */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define MCC_PKH_ASM 1
#endif

/** (a.lo, b.hi): PKHBT. */
static MCC_ALWAYS_INLINE int32_t mcc_pkhbt(int32_t a, int32_t b)
{
#if defined(MCC_PKH_ASM)
    int32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b & 0xFFFF0000u));
#endif
}

/** (a.lo, b.lo): PKHBT with LSL #16. */
static MCC_ALWAYS_INLINE int32_t mcc_pkhbt_lsl16(int32_t a, int32_t b)
{
#if defined(MCC_PKH_ASM)
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16));
#endif
}

/** (b.hi, a.hi) as (lo, hi): PKHTB a, b, ASR #16. */
static MCC_ALWAYS_INLINE int32_t mcc_pkhtb_asr16(int32_t a, int32_t b)
{
#if defined(MCC_PKH_ASM)
    int32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((uint32_t)a & 0xFFFF0000u) | ((uint32_t)b >> 16));
#endif
}
#endif /* MCC_DSP */

#ifdef __cplusplus
}
#endif

#endif /* MCC_DSP_H */
