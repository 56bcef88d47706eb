"""TFLM's greedy-by-size arena planner with TFLM's interface, a no-overlap checker and an ASCII picture.

Buffers are placed largest first at the lowest offset that does not collide with any already placed
buffer whose lifetime [first_use, last_use] overlaps. Offsets are aligned to `alignment` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcucompress.errors import McuError


@dataclass
class Buffer:
    name: str
    size: int
    first_use: int
    last_use: int
    offset: int = -1


def _align(x: int, alignment: int) -> int:
    return (x + alignment - 1) // alignment * alignment


class GreedyPlanner:
    def __init__(self, alignment: int = 16):
        self.alignment = alignment
        self.buffers: list[Buffer] = []

    def add_buffer(self, name: str, size: int, first_use: int, last_use: int) -> Buffer:
        buf = Buffer(name, size, first_use, last_use)
        self.buffers.append(buf)
        return buf

    def plan(self, by_area: bool = False) -> int:
        """Assign offsets; returns the arena size in bytes. by_area: place the buffers in order of size x
        lifetime instead of size (a long-lived buffer first keeps short ones from splitting its gap)."""
        placed: list[Buffer] = []
        # Ties broken by first use then name so that the plan (and the generated C) is deterministic.
        def key(b: Buffer):
            weight = b.size * (b.last_use - b.first_use + 1) if by_area else b.size
            return (-weight, -b.size, b.first_use, b.name)

        for buf in sorted(self.buffers, key=key):
            if buf.size == 0:
                buf.offset = 0
                continue
            live = sorted(
                (p for p in placed if p.first_use <= buf.last_use and buf.first_use <= p.last_use),
                key=lambda p: p.offset,
            )
            candidate = 0
            for other in live:
                if candidate + buf.size <= other.offset:
                    break
                candidate = max(candidate, _align(other.offset + other.size, self.alignment))
            buf.offset = candidate
            placed.append(buf)
        return self.arena_size()

    def arena_size(self) -> int:
        return max((b.offset + b.size for b in self.buffers), default=0)

    def check(self) -> None:
        """Raise if two buffers alive at the same time share a byte (a planner bug, never a user error)."""
        bufs = [b for b in self.buffers if b.size > 0]
        for i, a in enumerate(bufs):
            if a.offset < 0 or a.offset % self.alignment:
                raise McuError(f"memory plan: buffer {a.name} has bad offset {a.offset}")
            for b in bufs[i + 1 :]:
                time_overlap = a.first_use <= b.last_use and b.first_use <= a.last_use
                space_overlap = a.offset < b.offset + b.size and b.offset < a.offset + a.size
                if time_overlap and space_overlap:
                    raise McuError(f"memory plan: buffers {a.name} and {b.name} overlap")

    def picture(self, width: int = 64) -> str:
        """One row per op: which buffers occupy which part of the arena (a letter per buffer)."""
        total = max(self.arena_size(), 1)
        steps = max((b.last_use for b in self.buffers), default=-1) + 1
        bufs = sorted((b for b in self.buffers if b.size), key=lambda b: (b.offset, b.name))
        letters = {b.name: chr(ord("A") + i % 26) if i < 26 else chr(ord("a") + i % 26) for i, b in enumerate(bufs)}
        lines = [f"arena {total:,} bytes, one column = {total / width:,.0f} bytes"]
        for step in range(steps):
            row = ["."] * width
            for b in bufs:
                if b.first_use <= step <= b.last_use:
                    lo = b.offset * width // total
                    hi = max(lo + 1, (b.offset + b.size) * width // total)
                    for c in range(lo, min(hi, width)):
                        row[c] = letters[b.name]
            lines.append(f"{step:>4} |{''.join(row)}|")
        lines.append("legend: " + ", ".join(f"{letters[b.name]}={b.name} ({b.size:,} B @ {b.offset:,})" for b in bufs))
        return "\n".join(lines)
