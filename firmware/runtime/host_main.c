/*
 * Host runner for a generated model: reads N inputs from a file, runs each through <prefix>_invoke and
 * writes the N outputs to another file. A third argument, the per-sample state policy: `reset` resets a
 * recurrent model's state before every sample (each is a new sequence); `carry` (the default) keeps it from
 * one sample to the next, as TFLM does. Built by `mcucompress run --board host` with
 * -DMCC_MODEL_HEADER='"<prefix>_model.h"' -DMCC_PREFIX=<prefix> -DMCC_PREFIX_UPPER=<PREFIX>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MCC_MODEL_HEADER
#include "mcc_model_run.h"

/* Buffers of our own even when the I/O lives in the arena (--io arena): this exercises invoke's copy path. */
static int8_t input_buf[MODEL_INPUT_SIZE];
static MODEL_OUTPUT_TYPE output_buf[MODEL_OUTPUT_SIZE]; /* written as its bytes */

int main(int argc, char **argv)
{
    FILE *in;
    FILE *out;
    long count = 0;
    int reset;
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "reset") != 0 && strcmp(argv[3], "carry") != 0)) {
        fprintf(stderr, "usage: %s INPUTS.bin OUTPUTS.bin [carry|reset]\n", argv[0]);
        return 2;
    }
    reset = argc == 4 && strcmp(argv[3], "reset") == 0;
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    while (fread(input_buf, 1, sizeof input_buf, in) == sizeof input_buf) {
        mcc_status status;
        if (reset) {
            MODEL_RESET_STATE();
        }
        status = MODEL_RUN(input_buf, output_buf);
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
