/**
 * @file mcc_pad_s8.c
 * @brief PAD int8, 4-D, constant value (the output zero point, as TFLM's Pad for int8). No scratch.
 *
 * The output is written once, front to back, with memset for padding runs and memcpy for input runs
 * (whole input rows at once when the channel dimension is not padded).
 */
#include <stddef.h>
#include <string.h>

#include "mcc_nn.h"

/**
 * PAD int8 (see mcc_nn.h).
 * @param in_dims   [N, H, W, C], all >= 1
 * @param in        input tensor
 * @param before    4 counts >= 0: padding before, in N, H, W, C order
 * @param after     4 counts >= 0: padding after
 * @param pad_value value written into the padding (the zero point)
 * @param out_dims  in_dims + before + after, dimension by dimension
 * @param out       output tensor (must not overlap the input)
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_pad_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *before, const int32_t *after,
                      int8_t pad_value, const mcc_dims *out_dims, int8_t *out)
{
    int32_t i, n, h, w;
    int32_t id[4], od[4];
    if (in_dims == NULL || in == NULL || before == NULL || after == NULL || out_dims == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    id[0] = in_dims->n, id[1] = in_dims->h, id[2] = in_dims->w, id[3] = in_dims->c;
    od[0] = out_dims->n, od[1] = out_dims->h, od[2] = out_dims->w, od[3] = out_dims->c;
    for (i = 0; i < 4; i++) {
        if (before[i] < 0 || after[i] < 0 || id[i] < 1 || od[i] != id[i] + before[i] + after[i]) {
            return MCC_ARG_ERROR;
        }
    }
    {
        const size_t row = (size_t)od[2] * (size_t)od[3]; /* one output row, W' * C' values */
        const size_t plane = (size_t)od[1] * row;
        const size_t left = (size_t)before[2] * (size_t)od[3], right = (size_t)after[2] * (size_t)od[3];
        const size_t c_in = (size_t)id[3], c_before = (size_t)before[3], c_after = (size_t)after[3];
        for (n = 0; n < od[0]; n++) {
            if (n < before[0] || n >= before[0] + id[0]) {
                memset(out, pad_value, plane);
                out += plane;
                continue;
            }
            for (h = 0; h < od[1]; h++) {
                if (h < before[1] || h >= before[1] + id[1]) {
                    memset(out, pad_value, row);
                    out += row;
                    continue;
                }
                memset(out, pad_value, left);
                out += left;
                if (c_before == 0 && c_after == 0) {
                    memcpy(out, in, (size_t)id[2] * c_in);
                    out += (size_t)id[2] * c_in;
                    in += (size_t)id[2] * c_in;
                } else {
                    for (w = 0; w < id[2]; w++) {
                        memset(out, pad_value, c_before);
                        memcpy(out + c_before, in, c_in);
                        memset(out + c_before + c_in, pad_value, c_after);
                        out += c_before + c_in + c_after;
                        in += c_in;
                    }
                }
                memset(out, pad_value, right);
                out += right;
            }
        }
    }
    return MCC_OK;
}
