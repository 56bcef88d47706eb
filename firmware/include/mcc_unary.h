/**
 * @file mcc_unary.h
 * @brief Internal header: the loop shared by the element-wise int8 activation kernels.
 *
 * An int8 input has only 256 values, so for long tensors the kernel's per-value function is evaluated
 * once per possible value into a 256-byte table on the stack and the tensor is mapped through it; short
 * tensors are computed value by value. Both give the same bytes. out may alias in.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_UNARY_H
#define MCC_UNARY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The per-value function of an activation: x in [-128, 127] -> output value. */
typedef int8_t (*mcc_unary_fn)(const void *params, int32_t x);

/**
 * out[i] = f(params, in[i]) for i < size; through a table when size >= table_from.
 * @param table_from size from which the 256-entry table pays off (about 256 * cost(f) / (cost(f) - 3))
 */
static inline void mcc_unary_apply(const void *params, mcc_unary_fn f, int32_t size, int32_t table_from,
                                   const int8_t *in, int8_t *out)
{
    int32_t i;
    if (size >= table_from) {
        int8_t table[256];
        for (i = 0; i < 256; i++) {
            table[i] = f(params, i - 128);
        }
        for (i = 0; i < size; i++) {
            out[i] = table[in[i] + 128];
        }
    } else {
        for (i = 0; i < size; i++) {
            out[i] = f(params, in[i]);
        }
    }
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_UNARY_H */
