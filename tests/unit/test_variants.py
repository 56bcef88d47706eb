"""Per-model kernel variants (codegen/variants.py, the project's mcc/include/mcc_variants.h): the switches
match firmware/include/mcc_variants.h, the layers that take a variant switch it on, and a model gives the
same bits whichever variants the build carries (a variant left out falls back to the general code)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mcucompress.assets import asset_dir
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.codegen.variants import SWITCHES, VARIANTS_HEADER, used_variants
from mcucompress.harness.host import build_runner, run_runner
from mcucompress.ir import ops as irops
from tests.random_graphs import Builder, _weighted_op, _window_attrs, random_inputs
from tests.unit.test_codegen_host import reference_outputs

DEFINE = re.compile(r"^#define (MCC_\w+)\s+([01])\b", re.MULTILINE)


def _conv(b: Builder, x: str, oc: int, k: int, activation: str = "NONE", out_quant=None) -> str:
    n, h, w, c = b.shape(x)
    (oh, ow), pads = _window_attrs(b.rng, (h, w), (k, k), (1, 1), (1, 1), True)
    inputs, y = _weighted_op(b, x, (oc, k, k, c), oc, k * k * c, 0, True, activation, (n, oh, ow, oc), out_quant)
    return b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(1, 1, 1, 1, **pads, activation=activation))


def _depthwise(b: Builder, x: str, activation: str) -> str:
    n, h, w, c = b.shape(x)
    (oh, ow), pads = _window_attrs(b.rng, (h, w), (3, 3), (1, 1), (1, 1), True)
    inputs, y = _weighted_op(b, x, (1, 3, 3, c), c, 9, 3, True, activation, (n, oh, ow, c), None)
    attrs = irops.DepthwiseConv2DAttrs(1, 1, 1, 1, **pads, activation=activation, depth_multiplier=1)
    return b.op("DEPTHWISE_CONV_2D", inputs, y, attrs)


def variant_graph(seed: int):
    """Layers taking every variant but the packed one: K = 27, 8, 16, 144 (simple) and 72 (any) products,
    the gathered and grouped im2col fills, depthwise 3x3 with the full and a narrower clamp."""
    b = Builder(np.random.default_rng(seed), "variants")
    x = b.input((1, 7, 6, 3))
    x = _conv(b, x, 8, 3)  # K = 27, gathered im2col
    x = _conv(b, x, 16, 1)  # K = 8
    x = _depthwise(b, x, "NONE")
    x = _depthwise(b, x, "RELU6")
    x = _conv(b, x, 16, 1)  # K = 16
    x = _conv(b, x, 8, 3)  # K = 144, grouped im2col
    x = _conv(b, x, 6, 3)  # K = 72
    return b.finish(x)


def test_switches_are_those_of_the_default_header():
    text = (asset_dir("firmware") / "include" / "mcc_variants.h").read_text()
    defaults = dict(DEFINE.findall(text))
    assert list(defaults) == list(SWITCHES)
    assert set(defaults.values()) == {"1"}  # the kernels' own build carries every variant


def test_layers_switch_on_the_variants_they_take():
    compiled = compile_graph(variant_graph(0), "v")
    assert used_variants(compiled.calls) == set(SWITCHES) - {"MCC_MM_LEAN_PACKED"}
    header = dict(DEFINE.findall(compiled.files[VARIANTS_HEADER]))
    assert header["MCC_MM_LEAN_PACKED"] == "0" and header["MCC_MM_LEAN_K27"] == "1"


def test_no_conv_layers_no_variants():
    b = Builder(np.random.default_rng(1), "fc")
    x = b.input((1, 1, 1, 8))
    assert used_variants(compile_graph(b.finish(x), "fc").calls) == set()


@pytest.mark.parametrize("seed", [0, 1])
def test_same_bits_with_every_or_no_variant(seed, tmp_path):
    """The generated header, every variant and none: the host C gives the reference executor's bits."""
    graph = variant_graph(seed)
    rng = np.random.default_rng(seed)
    xs = np.stack([random_inputs(graph, rng)[0] for _ in range(3)])
    expected = reference_outputs(graph, xs)
    compiled = compile_graph(graph, "v")
    generated = compiled.files[VARIANTS_HEADER]
    for on in (None, "1", "0"):
        text = generated if on is None else DEFINE.sub(lambda m: f"#define {m.group(1)} {on}", generated)
        project = write_project(compiled, tmp_path / f"p{on}")
        (project / VARIANTS_HEADER).write_text(text)
        out = run_runner(build_runner(project, compiled.prefix), xs, graph.t(graph.outputs[0]).shape,
                         compiled.output_dtype)
        np.testing.assert_array_equal(out.reshape(len(xs), -1), expected.reshape(len(xs), -1), err_msg=f"{on}")
