"""The incumbent's figures (TFLM + CMSIS-NN on the same QEMU), read from ../shared/anchors, and the goals of
issue 15 derived from them: at most 0.5x its instructions, 0.6x its firmware RAM, 16 KB of code and constants
other than weight bytes.

The anchors file is a Markdown table (model, MACs, build, instructions / inference, instr / MAC, min arena B,
RAM total B, flash total B, of which .tflite, code+const B); a model's MACs appear on its first row only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "tflm_cmsis_nn_qemu.md"
BUILD_OF_CPU = {"cortex-m4": "M4 CMSIS-NN", "cortex-m7": "M7 CMSIS-NN"}

INSTRUCTIONS_GOAL = 0.5  # x TFLM + CMSIS-NN executed instructions
RAM_GOAL = 0.6  # x TFLM firmware RAM (data + bss + arena + stack)
CODE_GOAL_BYTES = 16 * 1024  # flash other than weight bytes


@dataclass(frozen=True)
class Anchor:
    model: str
    build: str  # "M4 CMSIS-NN", "M4 reference kernels", "M7 CMSIS-NN"
    macs: int
    instructions: int
    arena_bytes: int
    ram_bytes: int
    flash_bytes: int
    tflite_bytes: int
    code_const_bytes: int


def _int(cell: str) -> int:
    return int(cell.replace(",", "").strip())


def load_anchors(path: Path = ANCHORS) -> dict[tuple[str, str], Anchor]:
    """{(model, build): Anchor}; empty when the anchors file is absent (../shared not beside the checkout)."""
    if not path.exists():
        return {}
    anchors, model, macs = {}, None, 0
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or not cells[3].replace(",", "").isdigit():
            continue  # prose, the header or the separator row
        if cells[0] != model:
            model, macs = cells[0], _int(cells[1])
        anchors[(model, cells[2])] = Anchor(model, cells[2], macs, _int(cells[3]), _int(cells[5]), _int(cells[6]),
                                            _int(cells[7]), _int(cells[8]), _int(cells[9]))
    return anchors


def anchor_for(anchors: dict, model: str, cpu: str) -> Anchor | None:
    """The CMSIS-NN anchor of `model` on the same core (M4 or M7), if measured."""
    build = BUILD_OF_CPU.get(cpu)
    return anchors.get((model, build)) if build else None


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"
