"""Talk to the firmware harness over a serial link: a QEMU socket, a board's /dev/ttyACM0, rfc2217:// or loop://.

`Device` opens the link with pyserial's ``serial_for_url``, sends protocol requests and waits for the
matching reply. A timeout raises McuError quoting the last bytes received; an unsolicited FAULT frame
raises DeviceFault with the decoded fault registers. `Device.run_samples` runs N inputs and collects
outputs, total ticks and per-layer ticks.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mcucompress.errors import McuError
from mcucompress.harness import protocol as proto
from mcucompress.harness.protocol import DeviceInfo, FaultInfo, Frame, FrameParser, Msg
from mcucompress.harness.state_policy import check_state

if TYPE_CHECKING:
    from mcucompress.boards import Board
    from mcucompress.harness.firmware import Firmware

DEFAULT_TIMEOUT = 5.0  # seconds for any reply but INVOKE's
DEFAULT_INVOKE_TIMEOUT = 300.0  # a large model at a board's reset clock can take a while
POLL = 0.05
STALL = 0.3  # a partial frame that gets no byte for this long was a false sync: rescan it
HOST_MAX_PAYLOAD = 4096  # until INFO tells the firmware's own maximum


class DeviceFault(McuError):
    """The target reported a HardFault; `fault` holds the registers."""

    def __init__(self, message: str, fault: FaultInfo):
        super().__init__(message)
        self.fault = fault


class DeviceTimeout(McuError):
    """The target did not answer in time."""


@dataclass
class SampleRuns:
    """What N inferences on a target produced (ticks are the target timer's; see latency_unit)."""

    outputs: np.ndarray  # int8 [N, output bytes]: the raw bytes (collect() decodes them by the output's dtype)
    ticks: np.ndarray  # int64 [N], one invoke each
    layer_ticks: np.ndarray  # int64 [N, num_layers]
    statuses: np.ndarray  # int32 [N], mcc_status of each invoke (0 = MCC_OK)
    info: DeviceInfo
    stack_used: int = 0  # bytes: the stack's high-water mark after all samples


def latency_unit(timer: str, clock_hz: int, emulated: bool) -> tuple[str, float]:
    """(unit, unit per tick). Under QEMU -icount shift=0 a SysTick tick is 1e9/clock_hz instructions;
    on silicon SysTick (processor clock) and DWT both count cycles."""
    if emulated:
        if timer != "systick":
            raise McuError(f"timer '{timer}' does not count in QEMU; use timer kind 'systick' for QEMU boards")
        return "instructions", 1e9 / clock_hz
    return "cycles", 1.0


def _hex_tail(data: bytes, n: int = 48) -> str:
    if not data:
        return "nothing received"
    tail = data[-n:]
    return f"last {len(tail)} of {len(data)} bytes received: {tail.hex(' ')}"


class Device:
    """One serial link to the firmware harness; use as a context manager."""

    def __init__(self, url: str, baudrate: int = 115200, timeout: float = DEFAULT_TIMEOUT,
                 invoke_timeout: float = DEFAULT_INVOKE_TIMEOUT, port=None):
        self.url = url
        self.timeout = timeout
        self.invoke_timeout = invoke_timeout
        self.parser = FrameParser(max_payload=HOST_MAX_PAYLOAD)
        self.received = bytearray()  # everything received, for error messages (trimmed)
        self._seq = 0
        self.info: DeviceInfo | None = None
        if port is not None:
            self.port = port
        else:
            import serial

            try:
                # a local port is locked: a second program on the same port would corrupt both sessions
                lock = {} if "://" in url else {"exclusive": True}
                self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=POLL, write_timeout=timeout, **lock)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise McuError(f"cannot open serial link {url}: {exc}; check the port name and that no other "
                               "program holds it") from None

    # -- plumbing ----------------------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # noqa: BLE001, S110 - closing a dead link must not hide the real error
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise McuError(f"serial link {self.url} failed while sending: {exc}") from None

    def _read_some(self) -> bytes:
        import serial

        try:
            data = self.port.read(1)
            if data:
                waiting = self.port.in_waiting
                if waiting:
                    data += self.port.read(waiting)
        except (serial.SerialException, OSError) as exc:
            raise McuError(f"serial link {self.url} failed while receiving: {exc} ({_hex_tail(bytes(self.received))})"
                           ) from None
        if data:
            self.received += data
            del self.received[:-4096]
        return data

    def _frames(self, deadline: float, what: str):
        """Yield frames until the deadline; then raise DeviceTimeout naming `what`."""
        last_byte = time.monotonic()
        while True:
            yield from self.parser.feed(b"")
            now = time.monotonic()
            if self.parser.buffer and now - last_byte > STALL:
                yield from self.parser.drop_partial()
                last_byte = now
            if now > deadline:
                raise DeviceTimeout(f"no reply to {what} from {self.url} within the timeout "
                                    f"({_hex_tail(bytes(self.received))}); is the firmware running and the baud "
                                    "rate right?")
            data = self._read_some()
            if data:
                last_byte = time.monotonic()
                yield from self.parser.feed(data)

    def _fault(self, frame: Frame) -> DeviceFault:
        fault = proto.decode_fault(frame.payload)
        return DeviceFault(f"the target faulted (HardFault): {fault.describe()}", fault)

    def request(self, msg: Msg | int, payload: bytes = b"", timeout: float | None = None, retries: int = 2) -> bytes:
        """Send one request and return the payload of its reply.

        A request damaged on the way (ERROR BAD_CRC naming it) is sent again; a request that got no
        reply (swallowed by a partial frame the target still holds) is sent again after resync(),
        except INVOKE, whose timeout is the inference's own.
        """
        self._seq = self._seq % 255 + 1
        seq = self._seq
        frame = proto.encode_frame(msg, seq, payload)
        attempts = 1 if msg == Msg.INVOKE else 2
        for attempt in range(attempts):
            deadline = time.monotonic() + (timeout or self.timeout)
            self._write(frame)
            try:
                return self._await_reply(msg, seq, frame, deadline, retries)
            except DeviceTimeout:
                if attempt == attempts - 1:
                    raise
                self.resync()
        raise AssertionError("unreachable")

    def _await_reply(self, msg: Msg | int, seq: int, frame: bytes, deadline: float, retries: int) -> bytes:
        for reply in self._frames(deadline, getattr(msg, "name", f"message 0x{msg:02x}")):
            if reply.type == Msg.FAULT:
                raise self._fault(reply)
            if reply.type == Msg.ERROR:
                code, offending, text = proto.decode_error(reply.payload)
                if reply.seq != seq or offending != msg:
                    continue  # about garbage or an older frame
                if code == proto.ErrorCode.BAD_CRC and retries > 0:
                    retries -= 1
                    self._write(frame)  # our request was damaged on the way: the target did not act on it
                    continue
                name = getattr(msg, "name", f"message 0x{msg:02x}")
                raise McuError(f"target rejected {name}: {proto.error_name(code)}: {text}")
            if reply.type == msg | proto.REPLY and reply.seq == seq:
                return reply.payload
        raise AssertionError("unreachable")

    def resync(self, quiet: float = 0.2) -> None:
        """Complete any partial frame the target holds (zeros carry no sync byte) and drain stale bytes."""
        self._write(bytes(proto.MAX_PAYLOAD + proto.OVERHEAD))
        end = time.monotonic() + quiet
        while time.monotonic() < end:
            if self._read_some():
                end = time.monotonic() + quiet
        for frame in self.parser.feed(b""):
            if frame.type == Msg.FAULT:
                raise self._fault(frame)
        self.parser.buffer.clear()

    # -- commands ------------------------------------------------------------------------------------------
    def hello(self) -> DeviceInfo:
        payload = self.request(Msg.HELLO)
        try:
            info = proto.decode_info(payload)
        except (struct.error, IndexError):
            raise McuError(f"target at {self.url} sent a malformed INFO reply ({payload.hex(' ')})") from None
        if info.proto_version != proto.PROTO_VERSION:
            raise McuError(f"target at {self.url} speaks protocol version {info.proto_version}, we speak "
                           f"{proto.PROTO_VERSION}; rebuild and reflash the firmware")
        self.info = info
        self.parser.max_payload = max(info.max_payload, proto.MAX_PAYLOAD)
        return info

    def _need_info(self) -> DeviceInfo:
        return self.info or self.hello()

    def set_input(self, data: bytes) -> None:
        info = self._need_info()
        if len(data) != info.input_size:
            raise McuError(f"input has {len(data)} bytes but the model on the target takes {info.input_size}")
        chunk = info.max_payload - 4
        for offset in range(0, len(data), chunk):
            part = data[offset:offset + chunk]
            reply = self.request(Msg.SET_INPUT, struct.pack("<I", offset) + part)
            if struct.unpack_from("<II", reply) != (offset, len(part)):
                raise McuError(f"target acknowledged the wrong input chunk ({reply.hex(' ')})")

    def invoke(self, reset_state: bool = False) -> tuple[int, int]:
        """Run the model once on the input set before; returns (mcc_status, ticks). `reset_state`: reset the
        model's recurrent state first (the INVOKE flag; not in the ticks)."""
        payload = bytes([proto.INVOKE_RESET_STATE]) if reset_state else b""
        reply = self.request(Msg.INVOKE, payload, timeout=self.invoke_timeout)
        status, ticks, _count = struct.unpack_from("<iQI", reply)
        return status, ticks

    def read_output(self) -> bytes:
        info = self._need_info()
        out = bytearray()
        chunk = info.max_payload - 4
        while len(out) < info.output_size:
            n = min(chunk, info.output_size - len(out))
            reply = self.request(Msg.READ_OUTPUT, struct.pack("<IH", len(out), n))
            (offset,) = struct.unpack_from("<I", reply)
            if offset != len(out) or len(reply) != 4 + n:
                raise McuError(f"target sent the wrong output chunk (offset {offset}, {len(reply) - 4} bytes)")
            out += reply[4:]
        return bytes(out)

    def read_timings(self) -> tuple[int, int, int, int]:
        """(ticks, status, invoke count) of the last invoke, and the stack's high-water mark in bytes."""
        return struct.unpack_from("<QiII", self.request(Msg.READ_TIMINGS))

    def read_layer_timings(self) -> list[int]:
        info = self._need_info()
        ticks: list[int] = []
        per_frame = (info.max_payload - 4) // 8
        while len(ticks) < info.num_layers:
            n = min(per_frame, info.num_layers - len(ticks))
            reply = self.request(Msg.READ_LAYER_TIMINGS, struct.pack("<HH", len(ticks), n))
            first, count = struct.unpack_from("<HH", reply)
            if first != len(ticks) or count != n or len(reply) != 4 + 8 * n:
                raise McuError(f"target sent the wrong layer timings (first {first}, count {count})")
            ticks += struct.unpack_from(f"<{n}Q", reply, 4)
        return ticks

    def run_samples(self, inputs: np.ndarray, layer_timings: bool = True, progress=None,
                    state: str = "carry") -> SampleRuns:
        """Run every sample of int8 `inputs` [N, ...]; outputs come back flat [N, output_size]. `state`: the
        per-sample state policy (state_policy.py); "reset" resets a recurrent model's state before each sample."""
        reset = check_state(state) == "reset"
        info = self._need_info()
        x = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
        if x.shape[1] != info.input_size:
            raise McuError(f"samples have {x.shape[1]} values but the model on the target takes {info.input_size}")
        n, layers = len(x), info.num_layers
        outputs = np.zeros((n, info.output_size), np.int8)
        ticks = np.zeros(n, np.int64)
        layer_ticks = np.zeros((n, layers), np.int64)
        statuses = np.zeros(n, np.int32)
        for i in range(n):
            self.set_input(x[i].tobytes())
            statuses[i], ticks[i] = self.invoke(reset_state=reset)
            if statuses[i] != 0:
                raise McuError(f"the model returned status {statuses[i]} on sample {i} (an argument out of "
                               "range in a kernel); check the generated project")
            outputs[i] = np.frombuffer(self.read_output(), np.int8)
            if layer_timings and layers:
                layer_ticks[i] = self.read_layer_timings()
            if progress is not None:
                progress(i + 1, n)
        stack = self.read_timings()[3]
        return SampleRuns(outputs, ticks, layer_ticks, statuses, info, stack)


@dataclass
class TargetRun:
    """Outputs and measurements of N samples on one board (QEMU or hardware)."""

    board: str
    outputs: np.ndarray  # [N, *output_shape[1:]] of the model output's dtype (int8, int32 or bool)
    ticks: np.ndarray  # int64 [N]: target timer ticks of each invoke
    layer_ticks: np.ndarray  # int64 [N, layers]
    unit: str  # "instructions" (QEMU) or "cycles" (hardware)
    unit_per_tick: float
    layer_kinds: list[str]
    layer_macs: list[int]
    stack_used: int  # bytes, high-water mark
    firmware: Firmware | None  # None when the board was flashed elsewhere

    @property
    def latency(self) -> np.ndarray:
        """Per-sample latency in `unit`."""
        return self.ticks * self.unit_per_tick

    @property
    def layer_latency(self) -> np.ndarray:
        return self.layer_ticks * self.unit_per_tick

    def layer_median(self) -> np.ndarray:
        """Per-layer latency: the median over samples, in whole `unit`s (int64)."""
        if not len(self.layer_ticks):
            return np.zeros(len(self.layer_kinds), np.int64)
        return np.rint(np.median(self.layer_latency, axis=0)).astype(np.int64)

    def report(self) -> dict:
        lat = self.latency
        layers = self.layer_median()
        return {
            "board": self.board,
            "unit": self.unit,
            "latency": {"mean": float(lat.mean()), "min": float(lat.min()), "max": float(lat.max())},
            "layers": [{"index": i, "kind": k, "macs": m, self.unit: int(t)}
                       for i, (k, m, t) in enumerate(zip(self.layer_kinds, self.layer_macs, layers))],
            "memory": {**(self.firmware.memory() if self.firmware else {}), "stack_used_bytes": self.stack_used},
        }


def check_model(info: DeviceInfo, model) -> None:
    if info.model_hash != model.model_hash:
        raise McuError(f"the target runs model {info.model_hash[:12]} ({info.board}), not {model.model_hash[:12]}; "
                       "reflash it (mcucompress flash, or run without --no-flash)")


def collect(model, runs: SampleRuns, output_shape, board: Board, firmware: Firmware | None,
            emulated: bool) -> TargetRun:
    """Check that the target holds `model` and package the measurements."""
    check_model(runs.info, model)
    unit, per_tick = latency_unit(board.timer, board.clock_hz, emulated)
    per_sample = tuple(output_shape[1:]) if output_shape and output_shape[0] == 1 else tuple(output_shape)
    # the target sends the output's bytes: int8 values, int32 indices (little-endian) or bool bytes
    raw = np.ascontiguousarray(runs.outputs).view(np.dtype(getattr(model, "output_dtype", "int8")).newbyteorder("<"))
    outputs = raw.astype(raw.dtype.newbyteorder("=")).reshape((len(runs.outputs),) + per_sample)
    return TargetRun(board.name, outputs, runs.ticks, runs.layer_ticks, unit, per_tick,
                     [c.kind for c in model.calls], [int(c.macs) for c in model.calls], runs.stack_used, firmware)


def run_on_serial(model, inputs: np.ndarray, output_shape: tuple[int, ...], board: str | Board, url: str,
                  baudrate: int | None = None, firmware: Firmware | None = None, progress=None,
                  emulated: bool = False, state: str = "carry") -> TargetRun:
    """Run every sample on a board that already runs the harness for `model` (flashed by the caller).
    `emulated`: the board is a QEMU machine reached through its serial socket (ticks count instructions)."""
    from mcucompress.boards import load_board

    board = load_board(board) if isinstance(board, str) else board
    with Device(url, baudrate=baudrate or int(board.uart.get("baud", 115200))) as device:
        device.resync()
        check_model(device.hello(), model)
        runs = device.run_samples(inputs, progress=progress, state=state)
    return collect(model, runs, output_shape, board, firmware, emulated=emulated)
