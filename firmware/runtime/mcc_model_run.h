/*
 * How the harnesses (harness_main.c on the target, host_main.c on the host) call a generated model:
 * MODEL_RUN(input, output) invokes it, supplying the arena when the project was compiled with
 * --arena caller; MODEL_RESET_STATE() resets a recurrent model's state (a no-op without state). Include after MCC_MODEL_HEADER; needs -DMCC_PREFIX=<prefix> -DMCC_PREFIX_UPPER=<PREFIX>.
 */
#ifndef MCC_MODEL_RUN_H
#define MCC_MODEL_RUN_H

#include <stdint.h>

#define MCC_CAT(a, b) a##b
#define MCC_XCAT(a, b) MCC_CAT(a, b)
#define MODEL_INVOKE MCC_XCAT(MCC_PREFIX, _invoke)
#define MODEL_INPUT_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _INPUT_SIZE)
#define MODEL_OUTPUT_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _OUTPUT_SIZE)   /* values */
#define MODEL_OUTPUT_TYPE MCC_XCAT(MCC_PREFIX_UPPER, _OUTPUT_TYPE)   /* int8_t, int32_t, uint8_t (bool) */
#define MODEL_OUTPUT_BYTES MCC_XCAT(MCC_PREFIX_UPPER, _OUTPUT_BYTES) /* what the harnesses send */
#define MODEL_ARENA_CALLER MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_CALLER)
#define MODEL_ARENA_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_SIZE)
#define MODEL_IO_IN_ARENA MCC_XCAT(MCC_PREFIX_UPPER, _IO_IN_ARENA)
#define MODEL_IO_SPARE_OFFSET MCC_XCAT(MCC_PREFIX_UPPER, _IO_SPARE_OFFSET) /* arena bytes free between invokes */
#define MODEL_IO_SPARE_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _IO_SPARE_SIZE)
#define MODEL_HAS_STATE MCC_XCAT(MCC_PREFIX_UPPER, _HAS_STATE)

/* MODEL_RESET_STATE(): start a new sequence (the per-sample state policy "reset"); nothing for a model without state. */
#if MODEL_HAS_STATE
#define MODEL_RESET_STATE() MCC_XCAT(MCC_PREFIX, _reset_state)()
#else
#define MODEL_RESET_STATE() ((void)0)
#endif

#if MODEL_ARENA_CALLER /* compile --arena caller: the model's arena is ours to supply */
static uint8_t model_arena[MODEL_ARENA_SIZE > 0 ? MODEL_ARENA_SIZE : 1]
    __attribute__((aligned(MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_ALIGN))));
#define MODEL_RUN(in, out) MODEL_INVOKE(in, out, model_arena)
#define MODEL_IO_ARENA model_arena /* the argument of <prefix>_input_buffer / _output_buffer */
#else
#define MODEL_RUN(in, out) MODEL_INVOKE(in, out)
#define MODEL_IO_ARENA
#endif

#endif /* MCC_MODEL_RUN_H */
