/**
 * @file mcc_variants.h
 * @brief Internal header: which specialized kernel variants the build carries (code size).
 *
 * Each switch below guards a variant that a kernel takes only for some parameters (a constant K of the
 * matrix product, a 3x3 filter, a channel count that is a multiple of 4). This default carries them all;
 * a project written by `mcucompress compile` replaces this file with one that keeps only the variants its
 * layers can take (mcucompress/codegen/variants.py), so the image carries no code it never runs.
 *
 * A variant switched off costs speed, never correctness: its caller then runs the general code, which
 * gives the same bits. The general paths at the end (the code for calls without enough scratch, for a
 * large im2col, for ADD/SUB rescales without a precomputed form) are switched off only where no layer of the
 * model takes them; a call that would need a path the build left out returns MCC_NOT_BUILT, never a wrong
 * result.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_VARIANTS_H
#define MCC_VARIANTS_H

/* mcc_mm_run (kernels/support/mcc_matmul.c): the lean pair loops, for output channels with a fast
 * requantization table, a bias and the full int8 clamp range. */
#define MCC_MM_LEAN_K8 1      /* K = 8 (a 1x1 convolution after an 8-channel layer) */
#define MCC_MM_LEAN_K16 1     /* K = 16 */
#define MCC_MM_LEAN_K27 1     /* K = 27 (3x3 over RGB) */
#define MCC_MM_LEAN_SIMPLE 1  /* K a multiple of 16, other than 16 */
#define MCC_MM_LEAN_ANY 1     /* any other K */
#define MCC_MM_LEAN_PACKED 1  /* a channel whose shift cannot fold the output offset, any K */
#define MCC_MM_LEAN_PACKED_SIMPLE 1 /* the same, K a multiple of 16 (else MCC_MM_LEAN_PACKED takes it) */
/* the same loops over dual-row filters (mcc_matmul.h) */
#define MCC_MM_LEAN_DUAL_SIMPLE 1 /* K a multiple of 16 */
#define MCC_MM_LEAN_DUAL_ANY 1 /* any other K */
#define MCC_MM_LEAN_DUAL_PACKED 1 /* a channel whose shift cannot fold the output offset, any K */
#define MCC_MM_LEAN_DUAL_PACKED_SIMPLE 1 /* the same, K a multiple of 16 (else MCC_MM_LEAN_DUAL_PACKED takes it) */
#define MCC_MM_LEAN_DUAL_RQ2_SIMPLE 1 /* dual-row, bounded accumulators (mcc_rq2), K a multiple of 16 */
#define MCC_MM_LEAN_DUAL_RQ2_ANY 1 /* the same, any other K */
#define MCC_MM_LEAN_DUAL_RQ2_K28 1 /* the same, K = 28 (3x3 over RGB, padded: dual_rows = 2) */
/* mcc_mm_run's general loop, channel pairs for pixel pairs (else channel by channel) */
#define MCC_MM_GENERAL_PAIRS 1 /* a product without the lean loops: a narrower clamp, no bias, a slow channel */

/* mcc_convolve_s8's im2col (the value-by-value fill, MCC_IM2COL_VALUES below, is the general code). */
#define MCC_IM2COL_GROUPED 1  /* C_in a multiple of 4: whole groups of four at once */
#define MCC_IM2COL_GATHER 1   /* KH * KW * C_in <= 256: gathered to int8 first */
#define MCC_IM2COL_RGB 1      /* 3x3 over 3 channels, dual rows, no dilation: pixels with no padded tap in words */

/* mcc_depthwise_conv_s8's band path (any filter is the general code). */
#define MCC_DW_3X3 1          /* 3x3 unrolled, dilation_w 1, full int8 clamp range */
#define MCC_DW_3X3_CLAMPED 1  /* 3x3 unrolled, dilation_w 1, a narrower clamp (fused ReLU) */
#define MCC_DW_PLANAR 1       /* 3x3, dilation 1, full clamp: channel-planar columns (DSP; else MCC_DW_3X3) */
#define MCC_DW_PLANAR_S2 1    /* the same, stride_h 2 (else the band path takes those layers) */

/* mcc_convolve_us_s8 with the DSP extension (kernels/sparse/mcc_unstructured_s8.c) */
#define MCC_US_CLAMPED 1      /* blocks of 4 pixels with the fast table and a narrower clamp (else the any-block loop) */

/* mcc_convolve_nm_s8 with the DSP extension (kernels/sparse/mcc_nm_s8.c) */
#define MCC_NM_ROWS 1         /* 2:4 row tables: stride_w 1, no dilation, C_in % 8 == 0 (else the per-pixel tables) */

/* mcc_fully_connected_s8 with the DSP extension (else its plain path, MCC_FC_PLAIN below) */
#define MCC_FC_WIDENED 1      /* four or more outputs and the scratch for the widened input row */
#define MCC_FC_DUAL 1         /* the same over dual-row filters (mcc_matmul.h) */
#define MCC_FC_DUAL_LEAN 1    /* dual-row filters in blocks of three pairs (dual_rows = 3): the lean loop */
/* (builds without the DSP extension decode either dual-row layout value by value where one of the two is on) */

/* mcc_avgpool_s8 with the DSP extension (without it the loop is its main path) */
#define MCC_AVGPOOL_WIDE 1    /* windows of more than 256 taps, four channels at a time */

/* ADD and SUB (mcc_addsub.h): the tables and the precomputed loops (else the generic TFLite arithmetic) */
#define MCC_ADDSUB_TABLE 1    /* rescale tables in the scratch (layers the lowering gives it) */
#define MCC_ADDSUB_FAST 1     /* both or neither input shift 0 */
#define MCC_ADDSUB_FAST_Z1 1  /* only input 1's shift 0 */
#define MCC_ADDSUB_FAST_Z2 1  /* only input 2's shift 0 */

/* General paths: off, a call that needs one returns MCC_NOT_BUILT. */
#define MCC_DW_PER_PIXEL 1    /* mcc_depthwise_conv_s8 without its band (or depth multiplier > 1, > 25 taps) */
#define MCC_DW_BAND_ANY 1     /* its band loop for any filter: not 3x3, C % 4 != 0, or a slow channel */
#define MCC_1X1_NO_SCRATCH 1  /* mcc_convolve_1x1_s8 without its pair buffer and table */
#define MCC_FC_PLAIN 1        /* mcc_fully_connected_s8 with the DSP extension: < 4 outputs or no scratch */
#define MCC_IM2COL_VALUES 1   /* mcc_convolve_s8's value-by-value im2col: C_in not a multiple of 4, K > 256 */
#define MCC_IM2COL_DILATED 1  /* mcc_convolve_s8 with a dilation > 1 (without it, ~500 B less im2col code) */
#define MCC_MM_GENERAL 1      /* mcc_mm_run's general loop: odd C_out or pixel count, no lean loop (MCC_MM_* above) */
#define MCC_MM_DUAL 1         /* mcc_mm_run's general loop over dual-row filters */
#define MCC_US_ANY 1          /* mcc_convolve_us_s8's loop for any block (DSP): a slow channel, no bias, < 4 pixels */
#define MCC_NM_G8 1           /* the N:M kernels' 1:4 (G = 8) paths */
#define MCC_ADDSUB_GENERIC 1  /* ADD/SUB's generic TFLite arithmetic: rescales without a precomputed form */

#endif /* MCC_VARIANTS_H */
