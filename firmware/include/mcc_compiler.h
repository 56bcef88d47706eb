/**
 * @file mcc_compiler.h
 * @brief Internal header: every compiler attribute the kernels use, in one place (GCC and Clang; other
 * compilers get the plain C meaning).
 *
 * Not part of the public API: included through mcc_dsp.h by the kernel sources.
 */
#ifndef MCC_COMPILER_H
#define MCC_COMPILER_H

#if defined(__GNUC__)
/** Inline even at -Os: the DSP helpers and per-element bodies of hot loops. */
#define MCC_ALWAYS_INLINE inline __attribute__((always_inline))
/** Keep a cold or shared function out of line (code size, one copy). */
#define MCC_NOINLINE __attribute__((noinline))
/**
 * A cold path: setup that runs once per call (requantization-table fills). GCC and Clang optimize such a
 * function for size and lay it out away from the hot code (not the `optimize` attribute: see below). GCC
 * also takes the code around a call to it as unlikely: never on the path into a hot loop, nor for work done
 * per group or row (cold depthwise group setup, or a cold scratch-size check before the band path, each cost
 * kws about 10,000 instructions per depthwise layer on a Cortex-M4).
 */
#define MCC_COLD __attribute__((cold))
/** A static helper that one build configuration (DSP or portable) leaves unused. */
#define MCC_UNUSED __attribute__((unused))
/**
 * Hide a variable's value from the optimiser: tables read through an opaque pointer in a loop are loaded
 * where they are used instead of being hoisted out of the loop and spilled to the stack; an opaque
 * constant stays a register operand; a loop with an opaque pointer is not turned into a memcpy / memset.
 */
#define MCC_OPAQUE(var) __asm__("" : "+r"(var))
#else
#define MCC_ALWAYS_INLINE inline
#define MCC_NOINLINE
#define MCC_COLD
#define MCC_UNUSED
#define MCC_OPAQUE(var) ((void)0)
#endif

/*
 * No GCC `optimize` attribute (GCC documents it as for debugging): the one flag the hot loops want, GCC's
 * -fno-schedule-insns (its pre-register-allocation scheduler hoists loads far ahead of their use in long
 * unrolled multiply-accumulate sequences and then spills), is set for the library by the generated
 * Makefile, CMakeLists.txt and Zephyr module when the compiler is GCC.
 */

#endif /* MCC_COMPILER_H */
