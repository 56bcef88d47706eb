"""Quantization-aware training that simulates exactly the int8 model our quantizer will export.

The fake quantization follows mcucompress.quantize.quantizer rule for rule: weights symmetric int8
per output channel (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED; [-127, 127], scale max|w|/127, raised
for a dead channel whose bias would overflow), biases int32 at input_scale * weight_scale, activations
asymmetric int8 per tensor with 0 exactly representable, one quantization shared by the inputs and
output of RESHAPE/pools/PAD/CONCATENATION, SOFTMAX/LOGISTIC/TANH at TFLite's fixed ranges. BatchNorm is
already folded and ReLU/ReLU6 fused by the importer, so a fused layer's output range is its activation's.
Gradients pass straight through (the activation's gradient is zero outside its range).

Activation ranges are observed (min/max of a calibration pass, then a moving average during training)
and frozen after `observe_steps` training steps; at the freeze the scales and zero points are read
from `quantize_graph` itself run on the current graph and ranges, and `export_graph()` runs that same
function, so the int8 graph has exactly the scales, zero points and integer weights the training saw.
"""

from __future__ import annotations

import numpy as np
import torch

from mcucompress.errors import DataError
from mcucompress.ir import Graph
from mcucompress.ir.registry import spec
from mcucompress.quantize.quantizer import BIAS_LIMIT, _shared_groups, activation_quant, quantize_graph
from mcucompress.torch.bridge import GraphModule


class FakeQuant:
    """The fake-quantization state of one GraphModule (installed as `module.fake_quant`)."""

    def __init__(self, module: GraphModule, observe_steps: int = 200, momentum: float = 0.99,
                 per_channel: bool = True):
        g = module.graph
        self.module = module
        self.observe_steps = int(observe_steps)
        self.momentum = float(momentum)
        self.per_channel = per_channel
        self.steps = 0  # training forward passes seen
        self.frozen = False
        self.fixed = {op.outputs[0]: spec(op.kind).fixed_output for op in g.ops if spec(op.kind).fixed_output}
        self.groups = _shared_groups(g, self.fixed)
        for name in list(self.fixed):  # a reshape/pool of a fixed-range tensor shares its fixed quantization
            for other, grp in self.groups.items():
                if grp == self.groups[name]:
                    self.fixed.setdefault(other, self.fixed[name])
        self.ranges: dict[str, tuple[float, float]] = {}
        self.qparams: dict[str, tuple[float, int]] = {}  # frozen (scale, zero point) per activation

    # -- ranges ---------------------------------------------------------------------------------------
    def observe(self, name: str, x: torch.Tensor) -> None:
        lo, hi = float(x.min()), float(x.max())
        if name in self.ranges:
            m = self.momentum
            a, b = self.ranges[name]
            lo, hi = m * a + (1 - m) * lo, m * b + (1 - m) * hi
        self.ranges[name] = (lo, hi)

    def quant(self, name: str) -> tuple[float, int] | None:
        """(scale, zero point) of activation `name` now: frozen, fixed, or from its group's observed range."""
        if name in self.qparams:
            return self.qparams[name]
        if name in self.fixed:
            return float(np.float32(self.fixed[name][0])), int(self.fixed[name][1])
        grp = self.groups[name]
        seen = [r for n, r in self.ranges.items() if self.groups[n] == grp]
        if not seen:
            return None
        q = activation_quant(min(r[0] for r in seen), max(r[1] for r in seen))
        return q.s, q.zp

    def calibrate(self, batches) -> None:
        """Min/max ranges of every activation over `batches` (float model, no fake quantization)."""
        m = self.module
        saved, m.fake_quant, m.capture = m.fake_quant, None, {}
        lo: dict[str, float] = {}
        hi: dict[str, float] = {}
        try:
            with torch.no_grad():
                for xb in batches:
                    m.capture.clear()
                    m(xb)
                    for n, v in m.capture.items():
                        lo[n] = min(lo.get(n, np.inf), float(v.min()))
                        hi[n] = max(hi.get(n, -np.inf), float(v.max()))
        finally:
            m.fake_quant, m.capture = saved, None
        if not lo:
            raise DataError("QAT calibration got no samples; give at least one input")
        self.ranges = {n: (lo[n], hi[n]) for n in lo}

    def freeze(self) -> None:
        """Stop observing; take every activation's scale and zero point from the quantizer itself."""
        q = quantize_graph(self.module.to_graph(), self.export_ranges())
        self.qparams = {n: (t.quant.s, t.quant.zp) for n, t in q.tensors.items()
                        if not t.is_const and t.quant is not None and n in self.groups}
        self.frozen = True

    def export_ranges(self) -> dict[str, tuple[float, float]]:
        g = self.module.graph
        missing = [n for n, t in g.tensors.items() if not t.is_const and n not in self.ranges and n not in self.fixed]
        if missing:
            raise DataError(f"activation '{missing[0]}' was never observed; calibrate or train before exporting")
        return dict(self.ranges)

    def export_graph(self) -> Graph:
        """The int8 graph the fake quantization simulated (same scales, zero points, integer weights)."""
        if not self.frozen:
            self.freeze()
        return quantize_graph(self.module.to_graph(), self.export_ranges(), per_channel=self.per_channel)

    def state(self) -> dict:
        return {"steps": self.steps, "frozen": self.frozen, "ranges": dict(self.ranges), "qparams": dict(self.qparams)}

    def load_state(self, state: dict) -> None:
        self.steps, self.frozen = state["steps"], state["frozen"]
        self.ranges, self.qparams = dict(state["ranges"]), dict(state["qparams"])

    # -- forward hooks ----------------------------------------------------------------------------------
    def act(self, name: str, x: torch.Tensor) -> torch.Tensor:
        m = self.module
        if m.training and not self.frozen:
            if name == m.graph.inputs[0]:
                self.steps += 1
                if self.steps > self.observe_steps:
                    self.freeze()
            if not self.frozen:
                self.observe(name, x.detach())
        q = self.quant(name)
        if q is None:
            return x
        return torch.fake_quantize_per_tensor_affine(x, q[0], q[1], -128, 127)

    def weight(self, op, w: torch.Tensor, b: torch.Tensor | None):
        """Fake-quantized weight and bias of a weighted op, exactly as quantizer._quantize_weighted rounds them."""
        axis = spec(op.kind).weight_axis if self.per_channel else None
        in_q = self.quant(op.inputs[0])
        if in_q is None:
            return w, b
        in_scale = np.float64(np.float32(in_q[0]))
        wd = w.detach()
        if axis is None:
            amax = wd.abs().max().reshape(1).double()
        else:
            amax = wd.abs().movedim(axis, 0).reshape(wd.shape[axis], -1).max(dim=1).values.double()
        scale = amax / 127.0
        if b is not None:
            min_scale = b.detach().abs().double() / (in_scale * BIAS_LIMIT)
            scale = torch.maximum(scale, min_scale.max() if axis is None else min_scale)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale)).float()
        shape = [1] * w.dim()
        if axis is not None:
            shape[axis] = -1
        s = scale.reshape(shape)
        wq = torch.clamp(torch.round(w / s), -127, 127) * s
        w_out = w + (wq - w).detach()  # straight-through: the gradient of the float weight
        if b is None:
            return w_out, None
        bias_scale = (in_scale * scale.double()).float().double().reshape(-1)
        bq = torch.clamp(torch.round(b.double() / bias_scale), -(2**31), 2**31 - 1) * bias_scale
        return w_out, b + (bq.float() - b).detach()


def enable_qat(module: GraphModule, calibration, observe_steps: int = 200, per_channel: bool = True,
               batch_size: int = 64) -> FakeQuant:
    """Install fake quantization on `module`, with initial ranges from `calibration` (float samples in the
    module's input layout, an array or tensor)."""
    x = torch.as_tensor(np.asarray(calibration, dtype=np.float32))
    if len(x) == 0:
        raise DataError("QAT calibration data has no samples; give at least one input")
    fq = FakeQuant(module, observe_steps=observe_steps, per_channel=per_channel)
    fq.calibrate(x[i:i + batch_size] for i in range(0, len(x), batch_size))
    module.fake_quant = fq
    return fq


def prepare_qat(model, example_inputs, calibration=None, observe_steps: int = 200, per_channel: bool = True):
    """A QAT-ready GraphModule for `model` (a GraphModule, a float Graph, or any torch.nn.Module exportable
    to ONNX); train the returned module (not `model`), then `mcucompress.torch.export` it.

    example_inputs: one batch in the model's input layout (NCHW for a PyTorch CNN); calibration: float
    samples for the initial activation ranges (default: example_inputs). Ranges follow a moving average
    for `observe_steps` training steps, then freeze."""
    from mcucompress.torch.convert import as_graph_module

    module = as_graph_module(model, example_inputs)
    data = example_inputs[0] if isinstance(example_inputs, (tuple, list)) else example_inputs
    enable_qat(module, calibration if calibration is not None else data, observe_steps, per_channel)
    module.train()
    return module
