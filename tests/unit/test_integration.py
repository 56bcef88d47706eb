"""A generated project inside a user's firmware: example/main.c (Make, CMake), the float helpers against
dataset.quantize_input, the caller's arena, the arena in a named section (arm-none-eabi link) and the
Zephyr module files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.dataset import quantize_input
from mcucompress.driver import prepare, reference_outputs
from mcucompress.examples import DIGITS_INT8, DIGITS_TEST
from mcucompress.harness.host import run_on_host
from mcucompress.ir import QuantParams
from tests.cli import run_cli
from tests.graphs import tiny_conv_fc

REPO = Path(__file__).resolve().parents[2]
F32 = np.float32
needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                   reason="needs arm-none-eabi-gcc (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)")


@pytest.fixture(scope="module")
def digits():
    return prepare(DIGITS_INT8)


def project(tmp_path: Path, graph, prefix: str, **options) -> Path:
    return write_project(compile_graph(graph, prefix, **options), tmp_path / prefix)


def run(cmd: list[str], cwd: Path) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def example_input(graph) -> np.ndarray:
    """The float pattern example/main.c fills the input with (multiples of 0.75 quantization steps)."""
    t = graph.t(graph.inputs[0])
    k = (np.arange(t.size) * 7) % 256 - 128 - t.quant.zp
    return (k.astype(F32) * (F32(0.75) * F32(t.quant.s))).reshape(t.shape)


def check_example_output(graph, stdout: str) -> None:
    """The example's printed int8 and float outputs are the reference executor's, dequantized in float32."""
    rows = re.findall(r"^output\[(\d+)\] = (-?\d+) \((\S+)\)$", stdout, re.MULTILINE)
    out = graph.t(graph.outputs[0])
    assert [int(i) for i, _, _ in rows] == list(range(out.size)), stdout
    x = example_input(graph)
    expected = reference_outputs(graph, quantize_input(x, graph.t(graph.inputs[0])))[0].reshape(-1)
    assert [int(q) for _, q, _ in rows] == expected.tolist()
    y = (expected.astype(np.int32) - out.quant.zp).astype(F32) * F32(out.quant.s)
    np.testing.assert_array_equal(np.array([F32(float(v)) for _, _, v in rows], F32), y)


@pytest.mark.parametrize("arena", ["static", "caller"])
def test_example_main_prints_the_reference_outputs(tmp_path, digits, arena):
    p = project(tmp_path, digits, "digits", arena=arena)
    run(["make", "-s", "CC=gcc", "example"], p)
    stdout = run([str(p / "example" / "digits_example")], p)
    check_example_output(digits, stdout)


def test_example_builds_with_cmake(tmp_path, digits):
    if shutil.which("cmake") is None:
        pytest.skip("needs cmake (Debian: apt-get install cmake; docs/install.sh installs it)")
    p = project(tmp_path, digits, "digits", arena="caller")
    run(["cmake", "-S", str(p), "-B", str(tmp_path / "build"), "-DCMAKE_C_COMPILER=gcc"], tmp_path)
    run(["cmake", "--build", str(tmp_path / "build"), "--target", "digits_example"], tmp_path)
    check_example_output(digits, run([str(tmp_path / "build" / "digits_example")], tmp_path))


HELPER_DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "tiny_model.h"
int main(int argc, char **argv)
{
    FILE *in = fopen(argv[2], "rb");
    FILE *out = fopen(argv[3], "wb");
    if (argc != 4 || in == NULL || out == NULL) {
        return 2;
    }
    if (strcmp(argv[1], "quantize") == 0) {
        float x[TINY_INPUT_SIZE];
        int8_t q[TINY_INPUT_SIZE];
        while (fread(x, sizeof x, 1, in) == 1) {
            tiny_quantize_input(x, q);
            fwrite(q, sizeof q, 1, out);
        }
    } else {
        int8_t q[TINY_OUTPUT_SIZE];
        float y[TINY_OUTPUT_SIZE];
        while (fread(q, sizeof q, 1, in) == 1) {
            tiny_dequantize_output(q, y);
            fwrite(y, sizeof y, 1, out);
        }
    }
    fclose(in);
    fclose(out);
    return 0;
}
"""


def tricky_floats(scale: float) -> np.ndarray:
    """Exact and near .5 ties, 0.49999997 steps, signed zeros, denormals, saturation and infinities."""
    s = F32(scale)
    k = np.arange(-300, 301).astype(F32)
    ties = (k + F32(0.5)) * s
    edge = np.array([0.0, -0.0, 1e-45, -1e-45, 1e30, -1e30, np.finfo(F32).max, -np.finfo(F32).max, np.inf, -np.inf,
                     0.49999997 * s, -0.49999997 * s, 127.5 * s, -128.5 * s, 255.5 * s, -256.5 * s], F32)
    rng = np.random.default_rng(0).uniform(-300 * s, 300 * s, 2000).astype(F32)
    return np.concatenate([k * s, ties, np.nextafter(ties, F32(np.inf)), np.nextafter(ties, F32(-np.inf)), edge, rng])


@pytest.mark.parametrize("scale, zero_point", [(2.0**-7, 0), (0.05, -3), (float(F32(1 / 3)), 127), (1 / 255, -128)])
def test_quantize_helpers_are_bit_identical_to_python(tmp_path, scale, zero_point):
    graph = tiny_conv_fc()
    graph.t("x").quant = QuantParams(F32(scale), zero_point)
    p = project(tmp_path, graph, "tiny")
    run(["make", "-s", "CC=gcc", "libtiny.a"], p)
    (p / "helpers.c").write_text(HELPER_DRIVER)
    run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I.", "-Imcc/include", "helpers.c", "libtiny.a",
         "-o", "helpers"], p)
    t, out = graph.t("x"), graph.t("y")

    x = tricky_floats(scale)
    x = np.concatenate([x, np.zeros(-len(x) % t.size, F32)])
    x.tofile(p / "x.bin")
    run([str(p / "helpers"), "quantize", "x.bin", "q.bin"], p)
    with np.errstate(over="ignore"):  # 1e30 / scale overflows to inf in float32: saturates, as in C
        expected_q = quantize_input(x, t)
    np.testing.assert_array_equal(np.fromfile(p / "q.bin", np.int8), expected_q)

    q = np.arange(-128, 128, dtype=np.int8)
    q = np.concatenate([q, np.zeros(-len(q) % out.size, np.int8)])
    q.tofile(p / "q8.bin")
    run([str(p / "helpers"), "dequantize", "q8.bin", "y.bin"], p)
    expected = (q.astype(np.int32) - out.quant.zp).astype(F32) * F32(out.quant.s)
    assert np.array_equal(np.fromfile(p / "y.bin", F32).view(np.uint32), expected.view(np.uint32))

    F32(np.nan).reshape(1).repeat(t.size).tofile(p / "nan.bin")
    run([str(p / "helpers"), "quantize", "nan.bin", "qn.bin"], p)
    assert (np.fromfile(p / "qn.bin", np.int8) == zero_point).all()  # NaN -> the zero point, as documented


def test_caller_arena_is_bit_exact_on_host(tmp_path, digits):
    compiled = compile_graph(digits, "digits", arena="caller")
    assert "#define DIGITS_ARENA_CALLER 1" in compiled.files["digits_model.h"]
    assert "mcc_status digits_invoke(const int8_t *input, int8_t *output, uint8_t *arena);" in \
        compiled.files["digits_model.h"]
    assert "int8_t digits_arena[" not in compiled.files["digits_model.c"]
    x = np.load(DIGITS_TEST)["x"][:48]
    x = quantize_input(x.reshape((len(x),) + digits.t(digits.inputs[0]).shape[1:]), digits.t(digits.inputs[0]))
    outputs = run_on_host(compiled, x, digits.t(digits.outputs[0]).shape)  # host_main.c supplies the arena
    np.testing.assert_array_equal(outputs, reference_outputs(digits, x))


ARENA_DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "digits_model.h"
static uint8_t arena[DIGITS_ARENA_SIZE + DIGITS_ARENA_ALIGN] __attribute__((aligned(DIGITS_ARENA_ALIGN)));
static int8_t input[DIGITS_INPUT_SIZE];
static int8_t clean[DIGITS_OUTPUT_SIZE], dirty[DIGITS_OUTPUT_SIZE];
int main(void)
{
    int i;
    for (i = 0; i < DIGITS_INPUT_SIZE; i++) {
        input[i] = (int8_t)(i * 37);
    }
    printf("null %d\n", (int)digits_invoke(input, clean, NULL));
    printf("misaligned %d\n", (int)digits_invoke(input, clean, arena + 1));
    printf("zeroed %d\n", (int)digits_invoke(input, clean, arena));
    memset(arena, 0xA5, sizeof arena);
    printf("garbage %d\n", (int)digits_invoke(input, dirty, arena));
    printf("same %d\n", memcmp(clean, dirty, sizeof clean) == 0);
    return 0;
}
"""


def test_caller_arena_refuses_null_and_misaligned_buffers(tmp_path, digits):
    p = project(tmp_path, digits, "digits", arena="caller")
    run(["make", "-s", "CC=gcc", "libdigits.a"], p)
    (p / "arena_driver.c").write_text(ARENA_DRIVER)
    run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I.", "-Imcc/include", "arena_driver.c", "libdigits.a",
         "-o", "arena_driver"], p)
    assert run([str(p / "arena_driver")], p).split("\n") == ["null -1", "misaligned -1", "zeroed 0", "garbage 0",
                                                             "same 1", ""]


LINKER_SCRIPT = """
MEMORY
{
    FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 1M
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 192K
    SRAM2 (rwx) : ORIGIN = 0x10000000, LENGTH = 64K
}
SECTIONS
{
    .text : { KEEP(*(.text.app)) *(.text .text.*) *(.rodata .rodata.*) } > FLASH
    .data : { *(.data .data.*) } > RAM AT > FLASH
    .bss (NOLOAD) : { *(.bss .bss.*) *(COMMON) } > RAM
    .sram2 (NOLOAD) : { . = ALIGN(16); *(.sram2) } > SRAM2
}
"""
APP = """
#include "digits_model.h"
static int8_t app_in[DIGITS_INPUT_SIZE], app_out[DIGITS_OUTPUT_SIZE];
int app(void) { return (int)digits_invoke(app_in, app_out); }
"""


@needs_arm_gcc
def test_arena_section_lands_in_that_section_of_an_arm_image(tmp_path, digits):
    from mcucompress.frontend import tflite_writer

    model = tmp_path / "digits.tflite"
    tflite_writer.write(digits, model)
    p = tmp_path / "p"
    run_cli("compile", model, "-o", p, "--name", "digits", "--arena-section", ".sram2", check=True)
    flags = "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -ffunction-sections -fdata-sections"
    run(["make", "-s", "CC=arm-none-eabi-gcc", "AR=arm-none-eabi-ar", f"CFLAGS={flags}"], p)
    (p / "app.c").write_text(APP)
    (p / "app.ld").write_text(LINKER_SCRIPT)
    run(["arm-none-eabi-gcc", *flags.split(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-I.", "-Imcc/include",
         "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Tapp.ld", "-Wl,-e,app", "-Wl,--gc-sections",
         "app.c", "libdigits.a", "-o", "app.elf"], p)
    symbols = run(["arm-none-eabi-objdump", "-t", "app.elf"], p)
    line = next(row for row in symbols.splitlines() if row.endswith(" digits_arena"))
    address, section = int(line.split()[0], 16), line.split()[-3]
    assert section == ".sram2" and 0x10000000 <= address < 0x10010000 and address % 16 == 0, line
    size = int(line.split()[-2], 16)
    assert size == compile_graph(digits, "digits").plan.arena_bytes
    headers = run(["arm-none-eabi-readelf", "-SW", "app.elf"], p)
    assert re.search(r"\.sram2\s+NOBITS\s+10000000", headers), headers  # NOLOAD: no bytes in the image


@pytest.mark.parametrize("args, message", [
    (["--arena", "caller", "--arena-section", ".sram2"], "--arena-section places the static arena"),
    (["--arena-section", "bad name"], "--arena-section 'bad name' is not a linker section name"),
])
def test_bad_arena_options_are_one_line_errors(tmp_path, args, message):
    result = run_cli("compile", DIGITS_INT8, "-o", tmp_path / "p", *args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "p").exists()


def test_zephyr_module_lists_every_source(tmp_path, digits):
    p = project(tmp_path, digits, "digits")
    module = (p / "zephyr" / "module.yml").read_text()
    assert re.search(r"^name: digits$", module, re.MULTILINE) and "  cmake: zephyr\n" in module
    kconfig_path = re.search(r"^  kconfig: (\S+)$", module, re.MULTILINE).group(1)
    assert re.search(r"^config DIGITS_MODEL$", (p / kconfig_path).read_text(), re.MULTILINE)
    cmake = (p / "zephyr" / "CMakeLists.txt").read_text()
    assert "if(CONFIG_DIGITS_MODEL)" in cmake and "zephyr_library_named(digits)" in cmake
    library = re.search(r"zephyr_library_sources\((.*?)\)", cmake, re.S).group(1)
    listed = re.findall(r"\$\{ZEPHYR_CURRENT_MODULE_DIR\}/(\S+\.c)", library)
    sources = sorted(str(f.relative_to(p)) for f in p.rglob("*.c") if f.parts[len(p.parts)] != "example")
    assert sorted(listed) == sources and len(sources) > 2
    includes = re.search(r"zephyr_include_directories\((.*)\)", cmake).group(1).split()
    assert {i.replace("${ZEPHYR_CURRENT_MODULE_DIR}", str(p)) for i in includes} == {str(p), str(p / "mcc/include")}


def test_readme_states_the_projects_api(tmp_path, digits):
    p = project(tmp_path, digits, "digits", arena="caller")
    readme, header = (p / "README.md").read_text(), (p / "digits_model.h").read_text()
    invoke = re.search(r"^mcc_status digits_invoke\(.*\);$", header, re.MULTILINE).group(0)
    assert invoke in readme
    t, out = digits.t(digits.inputs[0]), digits.t(digits.outputs[0])
    for tensor in (t, out):
        row = f"`{'x'.join(map(str, tensor.shape))}` | {tensor.size} "
        assert row in readme and f"| {tensor.quant.s!r} | {tensor.quant.zp} |" in readme
    assert f"Arena ({compile_graph(digits, 'digits').plan.arena_bytes} bytes" in readme
    cells = re.findall(r"^\| (`[^|]+`) \|", readme, re.MULTILINE)
    names = [name for cell in cells for name in re.findall(r"`([^`]+)`", cell)]
    assert len(names) >= 9 and all((p / name).exists() for name in names), names
