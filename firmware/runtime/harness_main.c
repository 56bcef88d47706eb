/*
 * Firmware harness main loop: receives protocol frames (mcc_proto.h) over the UART and runs the
 * generated model. Commands: HELLO (-> INFO), SET_INPUT (in chunks), INVOKE (status and ticks; its optional
 * flags byte MCC_INVOKE_RESET_STATE resets the recurrent state first, outside the timed span),
 * READ_OUTPUT, READ_TIMINGS, READ_LAYER_TIMINGS. Built by mcucompress/harness/firmware.py with
 * -DMCC_MODEL_HEADER='"<prefix>_model.h"' -DMCC_PREFIX=<prefix> -DMCC_PREFIX_UPPER=<PREFIX>.
 * -DMCC_TEST_FAULT makes INVOKE execute an undefined instruction (tests of the fault report);
 * -DMCC_TEST_HANG makes it spin forever (tests of the host's invoke timeout).
 * The stack is painted at boot; READ_TIMINGS reports its high-water mark.
 * The protocol's receive buffer lives in arena bytes outside the input and output when the model leaves
 * enough free between invokes (<prefix>_IO_SPARE_SIZE): no RAM of its own.
 */
#include <stdint.h>
#include <string.h>

#include "mcc_board_config.h"
#include "mcc_layer_hooks.h"
#include "mcc_proto.h"
#include "mcc_timer.h"
#include "mcc_uart.h"
#include MCC_MODEL_HEADER
#include "mcc_model_run.h"

#define MODEL_NUM_LAYERS MCC_XCAT(MCC_PREFIX_UPPER, _NUM_LAYERS)
#define MODEL_HASH MCC_XCAT(MCC_PREFIX_UPPER, _MODEL_HASH)
#define LAYER_SLOTS (MODEL_NUM_LAYERS > 0 ? MODEL_NUM_LAYERS : 1)
#define STACK_PAINT 0x5AC75AC7u

extern uint32_t __stack_bottom__;
extern uint32_t __stack_top__;

#if MODEL_IO_IN_ARENA /* compile --io arena: inputs are received into the arena, outputs read from it */
#define input_buf (MCC_XCAT(MCC_PREFIX, _input_buffer)(MODEL_IO_ARENA))
#define output_buf (MCC_XCAT(MCC_PREFIX, _output_buffer)(MODEL_IO_ARENA))
#else
static int8_t input_buf[MODEL_INPUT_SIZE] __attribute__((aligned(16)));
static MODEL_OUTPUT_TYPE output_buf[MODEL_OUTPUT_SIZE] __attribute__((aligned(16)));
#endif
static uint64_t layer_ticks[LAYER_SLOTS];
static uint64_t layer_start;
static uint64_t last_ticks;
static int32_t last_status;
static uint32_t invoke_count;
static mcc_frame request;
#define REPLY_MAX 128u /* INFO is the longest built reply; outputs and layer timings are sent in place */
static uint8_t reply[REPLY_MAX];
#if MODEL_IO_IN_ARENA && MODEL_IO_SPARE_SIZE >= MCC_PROTO_RX_BYTES
/* An invoke overwrites the receive buffer after its request was read. Bytes buffered behind the INVOKE frame
 * (only a resync leaves any) are overwritten too; they can only be garbage, since the host sends nothing
 * while it waits for the reply, and the receiver treats them as such. The fault report does not use it. */
#if MODEL_ARENA_CALLER
#define ARENA_BASE model_arena
#else
extern int8_t MCC_XCAT(MCC_PREFIX, _arena)[]; /* the generated model's static arena */
#define ARENA_BASE MCC_XCAT(MCC_PREFIX, _arena)
#endif
#define rx_buf ((uint8_t *)ARENA_BASE + MODEL_IO_SPARE_OFFSET)
#else
static uint8_t rx_buf[MCC_PROTO_RX_BYTES];
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the protocol sends layer ticks (uint64) in place: little-endian targets only"
#endif

void mcc_layer_begin(int32_t index)
{
    (void)index;
    layer_start = mcc_timer_now();
}

void mcc_layer_end(int32_t index)
{
    uint64_t now = mcc_timer_now();
    if (index >= 0 && index < (int32_t)LAYER_SLOTS) {
        layer_ticks[index] = now - layer_start;
    }
}

/* Fill the unused part of the stack (below the current frame, less a margin) with STACK_PAINT. */
static void paint_stack(void)
{
    uint32_t sp;
    volatile uint32_t *p = &__stack_bottom__;
    __asm volatile("mov %0, sp" : "=r"(sp));
    while ((uint32_t)(uintptr_t)p + 64u < sp) {
        *p++ = STACK_PAINT;
    }
}

/* Bytes of stack ever used: from the top down to the lowest word that lost its paint. */
static uint32_t stack_used(void)
{
    const volatile uint32_t *p = &__stack_bottom__;
    while (p < &__stack_top__ && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&__stack_top__ - (uintptr_t)p);
}

/* Reply with `length` bytes of `reply` followed by `body_length` bytes sent in place from `body`. */
static void send_reply_with(uint32_t length, const void *body, uint32_t body_length)
{
    mcc_proto_send((uint8_t)(request.type | MCC_MSG_REPLY), request.seq, reply, length, (const uint8_t *)body,
                   body_length);
}

static void send_reply(uint32_t length)
{
    send_reply_with(length, (const void *)0, 0);
}

static void error(uint8_t code, const char *text)
{
    mcc_proto_send_error(request.seq, code, request.type, text);
}

/* Byte by byte, outside the measured invoke: a library copy would link memcpy, ~300 B more in an image whose
 * model links memmove only (issue 15's code size); the volatile stores keep gcc from making the loop one. */
static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n)
{
    volatile uint8_t *d = dst;
    for (; n > 0u; n--) {
        *d++ = *src++;
    }
}

/* A length-prefixed string, cut to what fits in `room` bytes (and 255). */
static uint32_t put_string(uint8_t *p, const char *s, uint32_t room)
{
    uint32_t n = mcc_proto_text_length(s);
    if (n > 255u) {
        n = 255u;
    }
    if (n + 1u > room) {
        n = room - 1u;
    }
    p[0] = (uint8_t)n;
    copy_bytes(p + 1, (const uint8_t *)s, n);
    return n + 1u;
}

static void do_hello(void)
{
    uint32_t n = 0;
    reply[n++] = MCC_PROTO_VERSION;
    reply[n++] = (uint8_t)mcc_timer_kind();
    mcc_put_u16(reply + n, MCC_PROTO_MAX_PAYLOAD);
    n += 2;
    mcc_put_u32(reply + n, MCC_CLOCK_HZ);
    n += 4;
    mcc_put_u32(reply + n, MODEL_ARENA_SIZE);
    n += 4;
    mcc_put_u32(reply + n, MODEL_INPUT_SIZE);
    n += 4;
    mcc_put_u32(reply + n, MODEL_OUTPUT_BYTES); /* bytes: the host decodes them by the output's dtype */
    n += 4;
    mcc_put_u32(reply + n, MODEL_NUM_LAYERS);
    n += 4;
    n += put_string(reply + n, MODEL_HASH, REPLY_MAX - n - 1u);
    n += put_string(reply + n, MCC_BOARD_NAME, REPLY_MAX - n);
    send_reply(n);
}

static void do_set_input(void)
{
    uint32_t offset;
    uint32_t length;
    if (request.length < 4u) {
        error(MCC_ERR_BAD_LENGTH, "SET_INPUT needs offset u32 and data");
        return;
    }
    offset = mcc_get_u32(request.payload);
    length = request.length - 4u;
    if (offset > MODEL_INPUT_SIZE || length > MODEL_INPUT_SIZE - offset) {
        error(MCC_ERR_OUT_OF_RANGE, "SET_INPUT beyond the input tensor");
        return;
    }
    copy_bytes((uint8_t *)input_buf + offset, request.payload + 4, length);
    mcc_put_u32(reply, offset);
    mcc_put_u32(reply + 4, length);
    send_reply(8);
}

static void do_invoke(void)
{
    uint64_t start;
    uint32_t i;
    if (request.length > 1u) {
        error(MCC_ERR_BAD_LENGTH, "INVOKE takes at most a flags byte");
        return;
    }
    if (request.length == 1u && (request.payload[0] & MCC_INVOKE_RESET_STATE) != 0u) {
        MODEL_RESET_STATE(); /* the per-sample state policy "reset": each sample is a new sequence */
    }
    for (i = 0u; i < (uint32_t)LAYER_SLOTS; i++) { /* volatile stores: no libc memset in the image */
        ((volatile uint64_t *)layer_ticks)[i] = 0u;
    }
    mcc_timer_sync();
    start = mcc_timer_now();
#ifdef MCC_TEST_FAULT
    __asm volatile("udf #0");
#endif
#ifdef MCC_TEST_HANG
    for (;;) {
        __asm volatile("nop");
    }
#endif
    last_status = (int32_t)MODEL_RUN(input_buf, output_buf);
    last_ticks = mcc_timer_now() - start;
    invoke_count++;
    mcc_put_u32(reply, (uint32_t)last_status);
    mcc_put_u64(reply + 4, last_ticks);
    mcc_put_u32(reply + 12, invoke_count);
    send_reply(16);
}

static void do_read_output(void)
{
    uint32_t offset;
    uint32_t length;
    if (request.length != 6u) {
        error(MCC_ERR_BAD_LENGTH, "READ_OUTPUT needs offset u32 and length u16");
        return;
    }
    offset = mcc_get_u32(request.payload);
    length = mcc_get_u16(request.payload + 4);
    if (offset > MODEL_OUTPUT_BYTES || length > MODEL_OUTPUT_BYTES - offset || length > MCC_PROTO_MAX_PAYLOAD - 4u) {
        error(MCC_ERR_OUT_OF_RANGE, "READ_OUTPUT beyond the output tensor or the maximum payload");
        return;
    }
    mcc_put_u32(reply, offset);
    send_reply_with(4, (const uint8_t *)output_buf + offset, length);
}

static void do_read_timings(void)
{
    mcc_put_u64(reply, last_ticks);
    mcc_put_u32(reply + 8, (uint32_t)last_status);
    mcc_put_u32(reply + 12, invoke_count);
    mcc_put_u32(reply + 16, stack_used());
    send_reply(20);
}

static void do_read_layer_timings(void)
{
    uint32_t first;
    uint32_t count;
    if (request.length != 4u) {
        error(MCC_ERR_BAD_LENGTH, "READ_LAYER_TIMINGS needs first u16 and count u16");
        return;
    }
    first = mcc_get_u16(request.payload);
    count = mcc_get_u16(request.payload + 2);
    if (first > MODEL_NUM_LAYERS || count > MODEL_NUM_LAYERS - first || 4u + 8u * count > MCC_PROTO_MAX_PAYLOAD) {
        error(MCC_ERR_OUT_OF_RANGE, "READ_LAYER_TIMINGS beyond the layers or the maximum payload");
        return;
    }
    mcc_put_u16(reply, first);
    mcc_put_u16(reply + 2, count);
    send_reply_with(4, layer_ticks + first, 8u * count);
}

int main(void)
{
    mcc_proto_init(rx_buf);
    paint_stack();
    mcc_uart_init();
    mcc_timer_init();
    for (;;) {
        mcc_proto_receive(&request);
        switch (request.type) {
        case MCC_MSG_HELLO:
            do_hello();
            break;
        case MCC_MSG_SET_INPUT:
            do_set_input();
            break;
        case MCC_MSG_INVOKE:
            do_invoke();
            break;
        case MCC_MSG_READ_OUTPUT:
            do_read_output();
            break;
        case MCC_MSG_READ_TIMINGS:
            do_read_timings();
            break;
        case MCC_MSG_READ_LAYER_TIMINGS:
            do_read_layer_timings();
            break;
        default:
            error(MCC_ERR_UNKNOWN_TYPE, "unknown message type");
            break;
        }
        mcc_proto_consume(&request);
    }
}
