/*
 * mcc_resize_nearest_s8: RESIZE_NEAREST_NEIGHBOR int8. The code generator computes which input row and column
 * each output row and column copies (mcucompress/ir/resize.py, the same index map the reference executor
 * applies), as element offsets. An output row reading the same input row as the one before it is a copy of
 * that output row (one memcpy): half the rows of a 2x upscale.
 */
#include <string.h>

#include "mcc_nn.h"

mcc_status mcc_resize_nearest_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *rows,
                                 const int32_t *cols, const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, y, x, c;
    if (in_dims == 0 || in == 0 || rows == 0 || cols == 0 || out_dims == 0 || out == 0 ||
        in_dims->c != out_dims->c || in_dims->n != out_dims->n || out_dims->h < 1 || out_dims->w < 1) {
        return MCC_ARG_ERROR;
    }
    {
        const int32_t depth = in_dims->c;
        const int32_t row_bytes = out_dims->w * depth;
        for (b = 0; b < in_dims->n; b++) {
            const int8_t *image = in + b * in_dims->h * in_dims->w * depth;
            for (y = 0; y < out_dims->h; y++) {
                if (y > 0 && rows[y] == rows[y - 1]) {
                    memcpy(out, out - row_bytes, (size_t)row_bytes);
                } else {
                    const int8_t *src = image + rows[y];
                    int8_t *dst = out;
                    for (x = 0; x < out_dims->w; x++) {
                        const int8_t *s = src + cols[x];
                        if (depth >= 16) {
                            memcpy(dst, s, (size_t)depth);  /* a library copy pays off on long pixels */
                        } else {
                            for (c = 0; c < depth; c++) {
                                dst[c] = s[c];
                            }
                        }
                        dst += depth;
                    }
                }
                out += row_bytes;
            }
        }
    }
    return MCC_OK;
}
