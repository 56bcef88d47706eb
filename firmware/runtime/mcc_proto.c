/*
 * Frame encoder and resynchronising frame receiver of the harness protocol (format in mcc_proto.h).
 * Received bytes are buffered so that after a bad frame the hunt for sync bytes restarts inside it; the
 * buffer is the caller's, so the harness can lend arena bytes the model leaves free between invokes.
 */
#include "mcc_proto.h"

#include <string.h>

#include "mcc_compiler.h"
#include "mcc_uart.h"

static uint8_t *rx_buf; /* MCC_PROTO_RX_BYTES, the caller's (mcc_proto_init) */
static uint32_t rx_len;

void mcc_proto_init(uint8_t *rx_buffer)
{
    rx_buf = rx_buffer;
}

uint16_t mcc_crc16(uint16_t crc, const uint8_t *data, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

void mcc_put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void mcc_put_u32(uint8_t *p, uint32_t v)
{
    mcc_put_u16(p, v);
    mcc_put_u16(p + 2, v >> 16);
}

void mcc_put_u64(uint8_t *p, uint64_t v)
{
    mcc_put_u32(p, (uint32_t)v);
    mcc_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t mcc_get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

uint32_t mcc_get_u32(const uint8_t *p)
{
    return mcc_get_u16(p) | (mcc_get_u16(p + 2) << 16);
}

static void send_bytes(const uint8_t *data, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++) {
        mcc_uart_putc(data[i]);
    }
}

void mcc_proto_send(uint8_t type, uint8_t seq, const uint8_t *head, uint32_t head_length, const uint8_t *body,
                    uint32_t body_length)
{
    uint8_t header[MCC_PROTO_HEADER];
    uint8_t crc_bytes[2];
    uint16_t crc;
    header[0] = MCC_PROTO_SYNC0;
    header[1] = MCC_PROTO_SYNC1;
    header[2] = type;
    header[3] = seq;
    mcc_put_u16(header + 4, head_length + body_length);
    crc = mcc_crc16(0xFFFFu, header + 2, MCC_PROTO_HEADER - 2);
    crc = mcc_crc16(crc, head, head_length);
    crc = mcc_crc16(crc, body, body_length);
    mcc_put_u16(crc_bytes, crc);
    send_bytes(header, MCC_PROTO_HEADER);
    send_bytes(head, head_length);
    send_bytes(body, body_length);
    send_bytes(crc_bytes, 2);
}

/* Not strlen: newlib's word-at-a-time version is ~220 bytes of flash for a few short messages (the opaque
 * pointer keeps GCC from turning the loop back into a strlen call). */
uint32_t mcc_proto_text_length(const char *text)
{
    const char *end = text;
    while (*end != '\0') {
        end++;
        MCC_OPAQUE(end);
    }
    return (uint32_t)(end - text);
}

void mcc_proto_send_error(uint8_t seq, uint8_t code, uint8_t type, const char *text)
{
    uint8_t head[2];
    head[0] = code;
    head[1] = type;
    mcc_proto_send(MCC_MSG_ERROR, seq, head, 2, (const uint8_t *)text, mcc_proto_text_length(text));
}

/* Drop the first byte of a bad frame and everything up to the next possible sync byte. */
static void resync(uint8_t *buf)
{
    uint32_t skip = 1;
    while (skip < rx_len && buf[skip] != MCC_PROTO_SYNC0) {
        skip++;
    }
    memmove(buf, buf + skip, rx_len - skip);
    rx_len -= skip;
}

void mcc_proto_consume(const mcc_frame *frame)
{
    uint32_t size = MCC_PROTO_OVERHEAD + frame->length;
    rx_len -= size;
    memmove(rx_buf, rx_buf + size, rx_len);
}

void mcc_proto_receive(mcc_frame *frame)
{
    uint8_t *const buf = rx_buf; /* once: the pointer is not reloaded around each call */
    for (;;) {
        /* Hunt for the sync bytes in what is buffered. */
        if (rx_len >= 1u && buf[0] != MCC_PROTO_SYNC0) {
            resync(buf);
            continue;
        }
        if (rx_len >= 2u && buf[1] != MCC_PROTO_SYNC1) {
            resync(buf);
            continue;
        }
        if (rx_len >= MCC_PROTO_HEADER) {
            uint32_t length = mcc_get_u16(buf + 4);
            if (length > MCC_PROTO_MAX_PAYLOAD) {
                mcc_proto_send_error(buf[3], MCC_ERR_TOO_LONG, buf[2], "frame longer than the maximum payload");
                resync(buf);
                continue;
            }
            if (rx_len >= MCC_PROTO_OVERHEAD + length) {
                uint16_t crc = mcc_crc16(0xFFFFu, buf + 2, MCC_PROTO_HEADER - 2 + length);
                if (crc != (uint16_t)mcc_get_u16(buf + MCC_PROTO_HEADER + length)) {
                    mcc_proto_send_error(buf[3], MCC_ERR_BAD_CRC, buf[2], "bad CRC");
                    resync(buf);
                    continue;
                }
                frame->type = buf[2];
                frame->seq = buf[3];
                frame->length = (uint16_t)length;
                frame->payload = buf + MCC_PROTO_HEADER;
                return;
            }
        }
        buf[rx_len++] = mcc_uart_getc();
    }
}
