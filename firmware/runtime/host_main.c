/*
 * Host runner for a generated model: reads N inputs from a file, runs each through <prefix>_invoke and
 * writes the N outputs to another file. Built by `mcucompress run --board host` with
 * -DMCC_MODEL_HEADER='"<prefix>_model.h"' -DMCC_PREFIX=<prefix> -DMCC_PREFIX_UPPER=<PREFIX>.
 */
#include <stdio.h>
#include <stdlib.h>

#include MCC_MODEL_HEADER

#define MCC_CAT(a, b) a##b
#define MCC_XCAT(a, b) MCC_CAT(a, b)
#define MODEL_INVOKE MCC_XCAT(MCC_PREFIX, _invoke)
#define MODEL_INPUT_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _INPUT_SIZE)
#define MODEL_OUTPUT_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _OUTPUT_SIZE)
#define MODEL_ARENA_CALLER MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_CALLER)

static int8_t input_buf[MODEL_INPUT_SIZE];
#if MODEL_ARENA_CALLER /* compile --arena caller: the model's arena is ours to supply */
#define MODEL_CALLER_ARENA_SIZE MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_SIZE)
static uint8_t model_arena[MODEL_CALLER_ARENA_SIZE > 0 ? MODEL_CALLER_ARENA_SIZE : 1]
    __attribute__((aligned(MCC_XCAT(MCC_PREFIX_UPPER, _ARENA_ALIGN))));
#define MODEL_RUN(in, out) MODEL_INVOKE(in, out, model_arena)
#else
#define MODEL_RUN(in, out) MODEL_INVOKE(in, out)
#endif
static int8_t output_buf[MODEL_OUTPUT_SIZE];

int main(int argc, char **argv)
{
    FILE *in;
    FILE *out;
    long count = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUTS.bin OUTPUTS.bin\n", argv[0]);
        return 2;
    }
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    while (fread(input_buf, 1, sizeof input_buf, in) == sizeof input_buf) {
        mcc_status status = MODEL_RUN(input_buf, output_buf);
        if (status != MCC_OK) {
            fprintf(stderr, "invoke failed on sample %ld with status %d\n", count, (int)status);
            return 3;
        }
        if (fwrite(output_buf, 1, sizeof output_buf, out) != sizeof output_buf) {
            fprintf(stderr, "cannot write %s\n", argv[2]);
            return 2;
        }
        count++;
    }
    fclose(in);
    fclose(out);
    return 0;
}
