/*
 * Framed binary protocol between the host (mcucompress/harness/protocol.py) and the firmware:
 *
 *   0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload[length] | CRC-16/CCITT-FALSE u16 LE
 *
 * The CRC (poly 0x1021, init 0xFFFF) covers type, seq, length and payload. A receiver hunts for the
 * sync bytes, and after a bad CRC or an oversized length resumes the hunt one byte after the bad
 * frame's first sync byte. Replies carry the request's type | 0x80 and its seq.
 */
#ifndef MCC_PROTO_H
#define MCC_PROTO_H

#include <stdint.h>

#define MCC_PROTO_VERSION 2u /* 2: INVOKE takes an optional flags byte */
#define MCC_PROTO_SYNC0 0xA5u
#define MCC_PROTO_SYNC1 0x5Au
#define MCC_PROTO_HEADER 6u   /* sync x2, type, seq, length x2 */
#define MCC_PROTO_OVERHEAD 8u /* header + CRC */
#ifndef MCC_PROTO_MAX_PAYLOAD
#define MCC_PROTO_MAX_PAYLOAD 512u /* the receive buffer; larger tensors go in chunks */
#endif
#define MCC_PROTO_RX_BYTES (MCC_PROTO_OVERHEAD + MCC_PROTO_MAX_PAYLOAD) /* the receive buffer's size */

/* Requests (host -> target); the reply type is the request type | MCC_MSG_REPLY. */
#define MCC_MSG_HELLO 0x01u              /* -> INFO */
#define MCC_MSG_SET_INPUT 0x02u          /* offset u32, bytes -> offset u32, length u32 */
#define MCC_MSG_INVOKE 0x03u             /* [flags u8] -> status i32, ticks u64, invoke count u32 */
#define MCC_INVOKE_RESET_STATE 0x01u     /* INVOKE flag: reset the model's recurrent state first */
#define MCC_MSG_READ_OUTPUT 0x04u        /* offset u32, length u16 -> offset u32, bytes */
#define MCC_MSG_READ_TIMINGS 0x05u       /* -> ticks u64, status i32, invoke count u32, stack used u32 */
#define MCC_MSG_READ_LAYER_TIMINGS 0x06u /* first u16, count u16 -> first u16, count u16, ticks u64[count] */
#define MCC_MSG_REPLY 0x80u
/* Target -> host only. */
#define MCC_MSG_ERROR 0x7Eu /* code u8, offending type u8, text */
#define MCC_MSG_FAULT 0x7Fu /* unsolicited: fault registers, see mcc_fault.c */

/* ERROR codes. */
#define MCC_ERR_BAD_CRC 1u
#define MCC_ERR_TOO_LONG 2u
#define MCC_ERR_UNKNOWN_TYPE 3u
#define MCC_ERR_BAD_LENGTH 4u
#define MCC_ERR_OUT_OF_RANGE 5u

typedef struct {
    uint8_t type;
    uint8_t seq;
    uint16_t length;
    const uint8_t *payload; /* inside the receive buffer until mcc_proto_consume() */
} mcc_frame;

/** CRC-16/CCITT-FALSE, continuing from `crc` (start with 0xFFFF). */
uint16_t mcc_crc16(uint16_t crc, const uint8_t *data, uint32_t length);

/** Lend the receiver its buffer, MCC_PROTO_RX_BYTES bytes, before the first mcc_proto_receive(). */
void mcc_proto_init(uint8_t *rx_buffer);

/** Block until a frame with a good CRC arrives; bad frames are answered with ERROR and skipped. The frame's
 *  payload stays in the receive buffer (no copy) until mcc_proto_consume(). */
void mcc_proto_receive(mcc_frame *frame);

/** Drop the frame mcc_proto_receive() returned from the receive buffer. */
void mcc_proto_consume(const mcc_frame *frame);

/** Send a frame whose payload is `head` followed by `body` (either may be empty). */
void mcc_proto_send(uint8_t type, uint8_t seq, const uint8_t *head, uint32_t head_length, const uint8_t *body,
                    uint32_t body_length);

/** Send an ERROR frame: code, the offending frame's type, a short text. */
void mcc_proto_send_error(uint8_t seq, uint8_t code, uint8_t type, const char *text);

/** strlen of a message text (the harness links no strlen). */
uint32_t mcc_proto_text_length(const char *text);

/** Little-endian helpers. */
void mcc_put_u16(uint8_t *p, uint32_t v);
void mcc_put_u32(uint8_t *p, uint32_t v);
void mcc_put_u64(uint8_t *p, uint64_t v);
uint32_t mcc_get_u16(const uint8_t *p);
uint32_t mcc_get_u32(const uint8_t *p);

#endif /* MCC_PROTO_H */
