"""The QEMU trace profiler's parsing (mcucompress/harness/profile.py): block executions counted at their
instructions' addresses, count-limited blocks cut to their limit, retranslated blocks counted by the translation
that ran, addresses attributed to the enclosing function."""

from __future__ import annotations

from collections import Counter

from mcucompress.harness.profile import executed_addresses, per_function

LOG = """\
IN: kernel
0x00000100:  b508       push     {r3, lr}
0x00000102:  2000       movs     r0, #0
0x00000104:  e7fe       b        #0x104

Trace 0: 0x7f0000000100 [00800408/00000100/00000110/ff020200] kernel
Trace 0: 0x7f0000000100 [00800408/00000100/00000110/ff020200] kernel
Trace 0: 0x7f0000000200 [00800408/00000100/00000110/ff038201] kernel
IN: kernel
0x00000100:  b508       push     {r3, lr}
0x00000102:  2000       movs     r0, #0

Trace 0: 0x7f0000000300 [00800408/00000100/00000110/ff020200] kernel
IN: helper
0x00000200:  4770       bx       lr

Trace 0: 0x7f0000000400 [00800408/00000200/00000110/ff020200] helper
Trace 0: 0x7f0000000500 [00800408/00000300/00000110/ff020200] nothing translated here
"""


def test_blocks_counted_per_instruction_with_limits_and_retranslations():
    got = executed_addresses(LOG.splitlines())
    # two whole runs of the 3-instruction block, one cut to 1 instruction, one run of its 2-instruction retranslation
    assert got == Counter({0x100: 4, 0x102: 3, 0x104: 2, 0x200: 1})


def test_addresses_go_to_the_enclosing_function():
    symbols = [(0x100, 6, "kernel"), (0x200, 2, "helper")]
    got = per_function(Counter({0x100: 4, 0x104: 2, 0x200: 1, 0x300: 5}), symbols)
    assert got == Counter({"kernel": 6, "helper": 1, "?": 5})
