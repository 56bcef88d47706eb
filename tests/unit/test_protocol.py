"""The host side of the harness protocol: framing, CRC, resynchronisation after garbage, and the Device class
against a fake target speaking the protocol over a local TCP socket (no QEMU needed)."""

from __future__ import annotations

import socket
import struct
import threading

import numpy as np
import pytest
import serial

from mcucompress.errors import McuError
from mcucompress.harness import protocol as proto
from mcucompress.harness.device import Device, DeviceFault, DeviceTimeout
from mcucompress.harness.protocol import DeviceInfo, Frame, FrameParser, Msg


def test_crc16_ccitt_false_check_value():
    assert proto.crc16(b"123456789") == 0x29B1


def test_encode_decode_roundtrip():
    frame = Frame(Msg.SET_INPUT, 7, bytes(range(200)))
    data = frame.encode()
    assert data[:2] == proto.SYNC and len(data) == proto.OVERHEAD + 200
    assert FrameParser().feed(data) == [frame]


def test_byte_by_byte_feeding():
    frames = [Frame(Msg.HELLO, i, bytes([i]) * i) for i in range(1, 6)]
    parser = FrameParser()
    got = []
    for byte in b"".join(f.encode() for f in frames):
        got += parser.feed(bytes([byte]))
    assert got == frames


def test_resync_after_garbage_and_bad_frames_over_loop():
    """Garbage, a corrupted frame, a false sync with a huge length and a truncated frame all cost nothing
    but themselves: the parser finds every good frame after them."""
    good1, good2, good3 = Frame(0x81, 1, b"first"), Frame(0x82, 2, b"second"), Frame(0x83, 3, b"")
    corrupted = bytearray(Frame(0x84, 4, b"corrupt me").encode())
    corrupted[9] ^= 0xFF
    stream = (b"\x00\xff garbage \xa5\xa5" + good1.encode() + bytes(corrupted) + b"\xa5\x5a\x01\x02\xff\xff"
              + good2.encode() + b"\xa5\x5a\x01\x02\x20\x00" + good3.encode() + bytes(proto.MAX_PAYLOAD + 8))
    port = serial.serial_for_url("loop://", timeout=0.2)
    port.write(stream)
    received = port.read(len(stream))
    port.close()
    parser = FrameParser()
    assert parser.feed(received) == [good1, good2, good3]
    assert parser.bad_frames >= 3
    assert parser.buffer == bytearray()


def test_resync_fuzz():
    rng = np.random.default_rng(0)
    frames = [Frame(int(rng.integers(0, 256)), i % 256, rng.integers(0, 256, int(rng.integers(0, 60))).astype(np.uint8)
                    .tobytes()) for i in range(200)]
    chunks = []
    for f in frames:
        garbage = rng.integers(0, 256, int(rng.integers(0, 20))).astype(np.uint8)
        garbage[rng.random(len(garbage)) < 0.2] = 0xA5  # plenty of false sync starts
        chunks += [garbage.tobytes(), f.encode()]
    stream = b"".join(chunks) + bytes(proto.MAX_PAYLOAD + 8)
    parser = FrameParser()
    got = []
    for i in range(0, len(stream), 37):
        got += parser.feed(stream[i:i + 37])
    assert got == frames


def test_a_false_sync_that_swallows_a_frame_is_dropped_on_stall():
    good = Frame(0x81, 9, b"hello")
    parser = FrameParser()
    assert parser.feed(b"\xa5\x5a\x01\x02\x10\x00" + good.encode()) == []  # waits for 16 payload bytes
    assert parser.drop_partial() == [good]
    assert parser.buffer == bytearray() and parser.drop_partial() == []


def test_info_and_fault_payloads():
    info = DeviceInfo(1, "systick", 1024, 25_000_000, 36, 72, 5, 3, "ab" * 32, "mps2-an386")
    assert proto.decode_info(proto.encode_info(info)) == info
    words = list(range(15))
    words[8] = 1 << 16  # CFSR.UNDEFINSTR
    words[9] = 1 << 30  # HFSR.FORCED
    fault = proto.decode_fault(struct.pack("<15I", *words))
    assert fault.regs["pc"] == 6 and fault.causes == ["UNDEFINSTR", "FORCED"]
    assert "pc=0x00000006" in fault.describe()


class FakeTarget:
    """A protocol-speaking stand-in for the firmware, on a local TCP socket (socket://)."""

    def __init__(self, input_size=3000, output_size=2500, layers=300, garbage=b"", fault_on_invoke=False,
                 corrupt_first_request=False):
        self.info = DeviceInfo(proto.PROTO_VERSION, "systick", 256, 25_000_000, 100, input_size, output_size, layers, "f" * 64, "fake")
        self.input = bytearray(input_size)
        self.garbage, self.fault_on_invoke = garbage, fault_on_invoke
        self.corrupt_first_request = corrupt_first_request
        self.requests: list[Frame] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def reply(self, conn, frame: Frame, payload: bytes) -> None:
        conn.sendall(self.garbage + proto.encode_frame(frame.type | proto.REPLY, frame.seq, payload))

    def serve(self) -> None:
        conn, _ = self.server.accept()
        parser = FrameParser(max_payload=self.info.max_payload)
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                if self.corrupt_first_request and data.startswith(proto.SYNC):
                    self.corrupt_first_request = False
                    data = data[:-1] + bytes([data[-1] ^ 0x55])
                bad = parser.bad_frames
                frames = parser.feed(data)
                if parser.bad_frames > bad:
                    conn.sendall(proto.encode_frame(Msg.ERROR, data[3], bytes([proto.ErrorCode.BAD_CRC, data[2]])))
                for frame in frames:
                    self.requests.append(frame)
                    self.handle(conn, frame)

    def handle(self, conn, frame: Frame) -> None:
        p = frame.payload
        if frame.type == Msg.HELLO:
            self.reply(conn, frame, proto.encode_info(self.info))
        elif frame.type == Msg.SET_INPUT:
            (offset,) = struct.unpack_from("<I", p)
            self.input[offset:offset + len(p) - 4] = p[4:]
            self.reply(conn, frame, struct.pack("<II", offset, len(p) - 4))
        elif frame.type == Msg.INVOKE:
            if self.fault_on_invoke:
                words = [0] * 15
                words[6], words[8] = 0x1234, 1 << 25  # pc, CFSR.DIVBYZERO
                conn.sendall(proto.encode_frame(Msg.FAULT, 0, struct.pack("<15I", *words)))
                return
            self.reply(conn, frame, struct.pack("<iQI", 0, 123456, 1))
        elif frame.type == Msg.READ_OUTPUT:
            offset, n = struct.unpack("<IH", p)
            data = bytes((i * 7 + sum(self.input)) & 0xFF for i in range(offset, offset + n))
            self.reply(conn, frame, struct.pack("<I", offset) + data)
        elif frame.type == Msg.READ_TIMINGS:
            self.reply(conn, frame, struct.pack("<QiII", 123456, 0, 1, 640))
        elif frame.type == Msg.READ_LAYER_TIMINGS:
            first, count = struct.unpack("<HH", p)
            self.reply(conn, frame, struct.pack(f"<HH{count}Q", first, count, *range(first, first + count)))
        else:
            conn.sendall(proto.encode_frame(Msg.ERROR, frame.seq, bytes([proto.ErrorCode.UNKNOWN_TYPE, frame.type])
                                            + b"unknown message type"))


@pytest.mark.parametrize("garbage", [b"", b"\x00\xa5\x13\xa5\x5a\x01"])
def test_device_chunks_large_inputs_outputs_and_layer_timings(garbage):
    target = FakeTarget(garbage=garbage)
    with Device(target.url, timeout=2) as dev:
        info = dev.hello()
        assert info.board == "fake" and info.input_size == 3000
        x = np.arange(2 * 3000).reshape(2, 3000).astype(np.int8)
        runs = dev.run_samples(x)
    chunks = [f for f in target.requests if f.type == Msg.SET_INPUT]
    assert len(chunks) == 2 * 12 and all(len(f.payload) <= 256 for f in chunks)  # 252-byte pieces
    assert bytes(target.input) == x[1].tobytes()
    assert runs.ticks.tolist() == [123456, 123456] and runs.stack_used == 640
    assert runs.layer_ticks.shape == (2, 300) and runs.layer_ticks[0].tolist() == list(range(300))
    expected = bytes((i * 7 + sum(x[1].tobytes())) & 0xFF for i in range(2500))
    assert runs.outputs[1].tobytes() == expected


def test_device_resends_a_request_damaged_on_the_way():
    target = FakeTarget(corrupt_first_request=True)
    with Device(target.url, timeout=2) as dev:
        assert dev.hello().board == "fake"
    assert [f.type for f in target.requests] == [Msg.HELLO]


def test_device_fault_frame_raises_with_registers():
    target = FakeTarget(fault_on_invoke=True)
    with Device(target.url, timeout=2) as dev:
        dev.hello()
        with pytest.raises(DeviceFault, match=r"pc=0x00001234.*DIVBYZERO") as err:
            dev.invoke()
    assert err.value.fault.regs["pc"] == 0x1234


def test_device_error_reply_is_a_one_line_mcu_error():
    target = FakeTarget()
    with Device(target.url, timeout=2) as dev, pytest.raises(McuError, match="rejected message 0x33: UNKNOWN_TYPE"):
        dev.request(0x33)


def test_timeout_names_the_request_and_the_last_bytes():
    # loop:// echoes our own request back: a frame, but never a reply.
    port = serial.serial_for_url("loop://", timeout=0.05)
    with Device("loop://", timeout=0.3, port=port) as dev, pytest.raises(DeviceTimeout) as err:
        dev.hello()
    message = str(err.value)
    assert "no reply to HELLO" in message and "a5 5a 01" in message and "\n" not in message


def test_bad_serial_url_is_a_clear_error():
    with pytest.raises(McuError, match="cannot open serial link"):
        Device("/dev/does-not-exist-mcc", timeout=0.1)


def test_crc16_matches_the_bitwise_definition():
    """binascii.crc_hqx is CRC-16/CCITT-FALSE: the firmware's bit-by-bit loop, checked on random frames."""

    def bitwise(data: bytes, crc: int = 0xFFFF) -> int:
        for byte in data:
            crc ^= byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        return crc

    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 64, 517):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert proto.crc16(data) == bitwise(data)
