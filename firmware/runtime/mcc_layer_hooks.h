/*
 * Per-layer timing hooks for the generated model: force-included (gcc -include) when the firmware
 * harness compiles <prefix>_model.c, so MCC_LAYER_BEGIN/END(index) call into harness_main.c.
 */
#ifndef MCC_LAYER_HOOKS_H
#define MCC_LAYER_HOOKS_H

#include <stdint.h>

void mcc_layer_begin(int32_t index);
void mcc_layer_end(int32_t index);

#define MCC_LAYER_BEGIN(index) mcc_layer_begin(index)
#define MCC_LAYER_END(index) mcc_layer_end(index)

#endif /* MCC_LAYER_HOOKS_H */
