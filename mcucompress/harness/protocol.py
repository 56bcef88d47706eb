"""Framed binary protocol between the host and the firmware harness (the C side is firmware/runtime/mcc_proto.c).

A frame is ``A5 5A | type u8 | seq u8 | length u16 LE | payload | CRC-16/CCITT-FALSE u16 LE``; the CRC
covers type, seq, length and payload. Replies carry the request's type | 0x80 and its seq. The
parser hunts for the sync bytes and, after a bad CRC or an oversized length, restarts the hunt one
byte after the bad frame's first sync byte, so garbage on the line costs at most the frames it hits.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

SYNC = b"\xa5\x5a"
HEADER = 6  # sync x2, type, seq, length x2
OVERHEAD = 8  # header + CRC
MAX_PAYLOAD = 1024  # firmware/runtime/mcc_proto.h MCC_PROTO_MAX_PAYLOAD; INFO reports the firmware's value
PROTO_VERSION = 2  # 2: INVOKE takes an optional flags byte (INVOKE_RESET_STATE)
REPLY = 0x80
INVOKE_RESET_STATE = 0x01  # INVOKE flag: reset the recurrent state before running (state="reset")


class Msg(IntEnum):
    HELLO = 0x01
    SET_INPUT = 0x02
    INVOKE = 0x03
    READ_OUTPUT = 0x04
    READ_TIMINGS = 0x05
    READ_LAYER_TIMINGS = 0x06
    ERROR = 0x7E
    FAULT = 0x7F


class ErrorCode(IntEnum):
    BAD_CRC = 1
    TOO_LONG = 2
    UNKNOWN_TYPE = 3
    BAD_LENGTH = 4
    OUT_OF_RANGE = 5


TIMER_KINDS = {0: "systick", 1: "dwt"}
FAULT_FIELDS = ("r0", "r1", "r2", "r3", "r12", "lr", "pc", "xpsr", "cfsr", "hfsr", "mmfar", "bfar",
                "exc_return", "ipsr", "flags")


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor): binascii's CRC-CCITT in C."""
    return binascii.crc_hqx(data, crc)


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.type, self.seq, self.payload)


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<BBH", msg_type, seq & 0xFF, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<H", crc16(body))


@dataclass
class FrameParser:
    """Feed it bytes as they arrive; it returns every complete good frame and counts what it dropped."""

    max_payload: int = MAX_PAYLOAD
    buffer: bytearray = field(default_factory=bytearray)
    bad_frames: int = 0
    dropped_bytes: int = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def drop_partial(self) -> list[Frame]:
        """Give up on a partial frame (its length field was garbage and the rest never comes): drop its
        first byte, rescan what is buffered and return the frames found there."""
        if not self.buffer:
            return []
        self.bad_frames += 1
        self._resync()
        return self.feed(b"")

    def _resync(self, skip: int = 1) -> None:
        """Drop `skip` bytes and everything before the next candidate sync byte."""
        nxt = self.buffer.find(SYNC[:1], skip)
        cut = len(self.buffer) if nxt < 0 else nxt
        self.dropped_bytes += cut
        del self.buffer[:cut]

    def _next(self) -> Frame | None:
        buf = self.buffer
        while True:
            if not buf:
                return None
            if buf[0] != SYNC[0] or (len(buf) >= 2 and buf[1] != SYNC[1]):
                self._resync()
                continue
            if len(buf) < HEADER:
                return None
            msg_type, seq, length = struct.unpack_from("<BBH", buf, 2)
            if length > self.max_payload:
                self.bad_frames += 1
                self._resync()
                continue
            if len(buf) < OVERHEAD + length:
                return None
            (crc,) = struct.unpack_from("<H", buf, HEADER + length)
            if crc != crc16(bytes(buf[2:HEADER + length])):
                self.bad_frames += 1
                self._resync()
                continue
            payload = bytes(buf[HEADER:HEADER + length])
            del buf[:OVERHEAD + length]
            return Frame(msg_type, seq, payload)


# -- payloads ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceInfo:
    """The INFO reply to HELLO: what firmware is on the target and how to talk to it."""

    proto_version: int
    timer: str
    max_payload: int
    clock_hz: int
    arena_bytes: int
    input_size: int
    output_size: int  # bytes (int32 indices: 4 per value); the host decodes them by the model output's dtype
    num_layers: int
    model_hash: str
    board: str


def _string(payload: bytes, offset: int) -> tuple[str, int]:
    n = payload[offset]
    return payload[offset + 1:offset + 1 + n].decode("ascii", "replace"), offset + 1 + n


def decode_info(payload: bytes) -> DeviceInfo:
    version, timer, max_payload, clock, arena, n_in, n_out, layers = struct.unpack_from("<BBHIIIII", payload)
    model_hash, offset = _string(payload, 24)
    board, _ = _string(payload, offset)
    return DeviceInfo(version, TIMER_KINDS.get(timer, f"unknown({timer})"), max_payload, clock, arena, n_in, n_out,
                      layers, model_hash, board)


def encode_info(info: DeviceInfo) -> bytes:
    """The firmware's INFO payload (used by tests and fake targets)."""
    timer = {v: k for k, v in TIMER_KINDS.items()}[info.timer]
    head = struct.pack("<BBHIIIII", info.proto_version, timer, info.max_payload, info.clock_hz, info.arena_bytes,
                       info.input_size, info.output_size, info.num_layers)
    h, b = info.model_hash.encode(), info.board.encode()
    return head + bytes([len(h)]) + h + bytes([len(b)]) + b


@dataclass(frozen=True)
class FaultInfo:
    """The registers of an unsolicited FAULT frame (see firmware/runtime/mcc_fault.c)."""

    regs: dict[str, int]

    CFSR_BITS: ClassVar[dict[int, str]] = {0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
                 8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR",
                 15: "BFARVALID", 16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 20: "STKOF",
                 24: "UNALIGNED", 25: "DIVBYZERO"}

    @property
    def causes(self) -> list[str]:
        cfsr = self.regs.get("cfsr", 0)
        names = [name for bit, name in self.CFSR_BITS.items() if cfsr >> bit & 1]
        hfsr = self.regs.get("hfsr", 0)
        if hfsr & (1 << 30):
            names.append("FORCED")
        if hfsr & (1 << 1):
            names.append("VECTTBL")
        return names

    def describe(self) -> str:
        r = self.regs
        text = " ".join(f"{k}=0x{r[k]:08x}" for k in FAULT_FIELDS[:12])
        causes = ",".join(self.causes) or "none"
        return f"{text} (causes: {causes})"


def decode_fault(payload: bytes) -> FaultInfo:
    count = min(len(payload) // 4, len(FAULT_FIELDS))
    values = struct.unpack_from(f"<{count}I", payload)
    return FaultInfo(dict(zip(FAULT_FIELDS, values)))


def decode_error(payload: bytes) -> tuple[int, int, str]:
    """(code, offending type, text) of an ERROR frame."""
    if len(payload) < 2:
        return 0, 0, payload.hex()
    return payload[0], payload[1], payload[2:].decode("ascii", "replace")


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"code {code}"
