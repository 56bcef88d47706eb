"""The firmware's flash/RAM breakdown from the GNU ld map: parsing (wrapped lines, fills, archives, the
stack) on a hand-written map, and on a real link the parts adding up to the ELF's flash and RAM use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mcucompress.harness.breakdown import map_sections, memory_breakdown, part_of, source_part
from mcucompress.harness.firmware import SHF_ALLOC, SHF_WRITE, SHT_NOBITS

MAP = """\
Discarded input sections

 .text.unused   0x00000000       0x20 /b/obj/harness_main.o

Memory Configuration

Linker script and memory map

LOAD /b/obj/harness_main.o

.text           0x00000000      0x180
 *(.text .text.*)
 .text.main     0x00000000       0x40 /b/obj/harness_main.o
 .text.a_very_long_function_name_that_wraps
                0x00000040       0x80 /b/obj/mcc_convolve_s8.o
 .text          0x000000c0       0x34 /usr/lib/libc_nano.a(lib_a-memcpy.o)
 *fill*         0x000000f4        0xc 
 .rodata.m_weights_0
                0x00000100       0x60 /b/obj/m_weights.o
 .rodata.m_op0_params
                0x00000160       0x18 /b/obj/m_model.o
 .text.SysTick_Handler
                0x00000178        0x8 /b/obj/mcc_timer.o

.data           0x20000000        0x8 load address 0x00000180
 .data.counter  0x20000000        0x8 /b/obj/mcc_proto.o

.bss            0x20000008      0x110
 .bss.m_arena   0x20000008      0x100 /b/obj/m_model.o
 .bss.rx        0x20000108       0x10 /b/obj/mcc_proto.o

.stack          0x20000118      0x400
                0x20000118                        . = ALIGN (0x8)
 *fill*         0x20000118      0x400 

.debug_info     0x00000000     0x9999
 .debug_info    0x00000000     0x9999 /b/obj/harness_main.o
"""

OBJECTS = {"harness_main.o": "harness", "mcc_proto.o": "harness", "mcc_timer.o": "runtime",
           "m_model.o": "model", "m_weights.o": "weights", "mcc_convolve_s8.o": "kernels"}
SECTIONS = [("", 0, 0, 0), (".text", 1, SHF_ALLOC, 0x180), (".data", 1, SHF_ALLOC | SHF_WRITE, 0x8),
            (".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x110), (".stack", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x400),
            (".debug_info", 1, 0, 0x9999)]


def test_map_sections_reads_wrapped_lines_fills_and_skips_discarded():
    rows = map_sections(MAP)
    assert (".text", ".text.a_very_long_function_name_that_wraps", "/b/obj/mcc_convolve_s8.o", 0x80) in rows
    assert (".text", "*fill*", "", 0xC) in rows
    assert (".stack", "*fill*", "", 0x400) in rows
    assert not any(r[1] == ".text.unused" for r in rows)  # discarded: before the memory map


def test_parts_add_up_to_each_memory(tmp_path):
    (tmp_path / "fw.map").write_text(MAP)
    b = memory_breakdown(tmp_path / "fw.map", OBJECTS, SECTIONS)
    assert b["flash"] == {"weights": 0x60, "tables": 0x18, "kernels": 0x80, "harness": 0x40 + 0x8, "runtime": 0x8,
                          "libc": 0x34, "padding": 0xC}
    assert b["ram"] == {"arena": 0x100, "harness": 0x8 + 0x10, "stack": 0x400}
    assert sum(b["flash"].values()) == 0x180 + 0x8  # .text + .data's initial values
    assert sum(b["ram"].values()) == 0x8 + 0x110 + 0x400
    assert b["kernels"] == {"mcc_convolve_s8": 0x80}


def test_part_of():
    assert part_of("/usr/lib/libgcc.a(_udivsi3.o)", ".text", OBJECTS) == "libc"
    assert part_of("/b/obj/m_model.o", ".bss.m_arena", OBJECTS) == "arena"
    assert part_of("/b/obj/m_model.o", ".rodata.m_op0_quant", OBJECTS) == "tables"
    assert part_of("/b/obj/m_model.o", ".text.m_invoke", OBJECTS) == "model"
    assert part_of("/b/obj/m_model.o", ".sram2", OBJECTS) == "arena"  # compile --arena-section .sram2
    assert part_of("/b/obj/harness_main.o", ".bss.model_arena", OBJECTS) == "arena"  # --arena caller
    assert part_of("/b/obj/harness_main.o", ".bss.input_buf", OBJECTS) == "harness"
    assert source_part(Path("/p/m_weights.c"), "m", False) == "weights"
    assert source_part(Path("/p/m_model.c"), "m", False) == "model"
    assert source_part(Path("/fw/runtime/mcc_proto.c"), "m", False) == "harness"
    assert source_part(Path("/fw/target/uart_cmsdk.c"), "m", False) == "runtime"
    assert source_part(Path("/p/mcc/kernels/conv/mcc_convolve_s8.c"), "m", True) == "kernels"
    assert part_of("", "*fill*", OBJECTS) == "padding"


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc (Debian: "
                    "gcc-arm-none-eabi libnewlib-arm-none-eabi)")
@pytest.mark.parametrize("options", [{}, {"arena": "caller"}, {"arena_section": ".sram2"}],
                         ids=["static", "caller", "section"])
def test_a_real_firmware_breakdown_matches_its_elf(tmp_path, options):
    from mcucompress import driver
    from mcucompress.boards import load_board
    from mcucompress.examples import DIGITS_INT8
    from mcucompress.harness.firmware import build_firmware

    compiled = driver.compile_model(DIGITS_INT8, tmp_path / "p", **options)
    fw = build_firmware(tmp_path / "p", load_board("mps2-an386"), compiled.prefix, build_dir=tmp_path / "b")
    b = fw.breakdown
    assert sum(b["flash"].values()) == fw.flash_bytes and sum(b["ram"].values()) == fw.ram_bytes
    assert b["flash"]["weights"] == compiled.weights_bytes
    assert fw.memory()["code_bytes"] == fw.flash_bytes - compiled.weights_bytes  # issue 15's code-size measure
    assert b["ram"]["arena"] == compiled.plan.arena_bytes and b["ram"]["stack"] == fw.stack_bytes
    assert b["flash"]["kernels"] == sum(b["kernels"].values()) > 0
    # every shipped kernel file has code, but the Helium paths' (*_mve.c: empty without MVE, here a Cortex-M4)
    assert set(b["kernels"]) == {f.removesuffix(".c").split("/")[-1] for f in compiled.sources
                                 if f.endswith(".c") and not f.endswith("_mve.c")}
    assert all(b["flash"][p] > 0 for p in ("harness", "runtime", "libc", "model", "tables"))
