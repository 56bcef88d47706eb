"""The README demo: the bundled float digits CNN, quantized by us, runs on mps2-an386 in QEMU."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.e2e.helpers import needs_arm_toolchain_and_qemu


@needs_arm_toolchain_and_qemu
def test_demo_prints_latency_accuracy_memory_and_loses_at_most_half_a_point():
    out = subprocess.run([sys.executable, "-m", "mcucompress.cli", "demo"], capture_output=True, text=True,
                         check=False, timeout=600)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert re.search(r"latency \(instructions\): min [\d,]+ median [\d,]+ max [\d,]+", text)
    assert "bit-exact vs reference: True (0 mismatching outputs)" in text
    assert re.search(r"memory: flash_bytes [\d,]+, ram_bytes [\d,]+, arena_bytes [\d,]+", text)
    top1 = float(re.search(r"top-1 accuracy: ([\d.]+)", text).group(1))
    drop = float(re.search(r"loses (-?[\d.]+) points", text).group(1))
    assert top1 >= 0.95 and drop <= 0.5
