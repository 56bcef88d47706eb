"""Train the bundled digits CNN with PyTorch and write it as float and int8 .tflite (development tool).

The float graph is built directly in our IR from the trained weights (NCHW -> NHWC), exported with
our TFLite writer, then quantized by our own calibrated post-training quantizer. Needs torch and
scikit-learn; the package never needs torch at run time. Run: python -m mcucompress.examples.make_digits_models
"""

from __future__ import annotations

import numpy as np

from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_INT8, DIGITS_TEST
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops


def digits_split(seed: int = 0):
    """Images scaled to [0, 1] as NHWC float32; 70/30 stratified train/test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return train_test_split(x, d.target, test_size=0.3, random_state=seed, stratify=d.target)


def digits_cnn_net(export: bool = False):
    """The digits CNN as a torch module. Training flattens NHWC (as the TFLite graph) and returns logits;
    `export` flattens NCHW and ends in softmax, as an ONNX user's own model would."""
    import torch
    from torch import nn

    class DigitsCnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
            self.pw = nn.Conv2d(16, 16, 1)
            self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x):
            a = torch.relu(self.conv1(x))
            b = torch.relu(self.pw(torch.relu(self.dw(a))))
            c = nn.functional.avg_pool2d(a + b, 2)
            if export:
                return torch.softmax(self.fc(c.flatten(1)), 1)
            return self.fc(c.permute(0, 2, 3, 1).reshape(len(x), -1))

    return DigitsCnn()


def train(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    net = fit(digits_cnn_net(), x_train, y_train)
    return {k: v.detach().numpy() for k, v in net.state_dict().items()}


def fit(net, x_train: np.ndarray, y_train: np.ndarray, epochs: int = 60):
    """Adam, batch 64, cross-entropy on logits; x_train NHWC float [N, 8, 8, 1]."""
    import torch
    from torch import nn

    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt = torch.tensor(x_train).permute(0, 3, 1, 2)
    yt = torch.tensor(y_train)
    for _epoch in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return net


def float_graph(w: dict) -> Graph:
    g = Graph(name="digits_cnn")

    def t(name, shape, data=None):
        g.add_tensor(Tensor(name, shape, "float32", None, data))

    t("input", (1, 8, 8, 1))
    t("conv1_w", (16, 3, 3, 1), w["conv1.weight"].transpose(0, 2, 3, 1))
    t("conv1_b", (16,), w["conv1.bias"])
    t("a", (1, 8, 8, 16))
    t("dw_w", (1, 3, 3, 16), w["dw.weight"].transpose(1, 2, 3, 0))
    t("dw_b", (16,), w["dw.bias"])
    t("dw_out", (1, 8, 8, 16))
    t("pw_w", (16, 1, 1, 16), w["pw.weight"].transpose(0, 2, 3, 1))
    t("pw_b", (16,), w["pw.bias"])
    t("b", (1, 8, 8, 16))
    t("sum", (1, 8, 8, 16))
    t("pool", (1, 4, 4, 16))
    t("flat", (1, 256))
    t("fc_w", (10, 256), w["fc.weight"])
    t("fc_b", (10,), w["fc.bias"])
    t("logits", (1, 10))
    t("probs", (1, 10))
    same = {"pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1, "activation": "RELU"}
    g.ops = [
        Op("CONV_2D", ["input", "conv1_w", "conv1_b"], ["a"], irops.Conv2DAttrs(**same), "conv1"),
        Op("DEPTHWISE_CONV_2D", ["a", "dw_w", "dw_b"], ["dw_out"], irops.DepthwiseConv2DAttrs(**same), "dw"),
        Op("CONV_2D", ["dw_out", "pw_w", "pw_b"], ["b"], irops.Conv2DAttrs(activation="RELU"), "pw"),
        Op("ADD", ["a", "b"], ["sum"], irops.ElementwiseAttrs(), "residual"),
        Op("AVERAGE_POOL_2D", ["sum"], ["pool"], irops.Pool2DAttrs(2, 2, 2, 2), "pool"),
        Op("RESHAPE", ["pool"], ["flat"], irops.NoAttrs(), "flatten"),
        Op("FULLY_CONNECTED", ["flat", "fc_w", "fc_b"], ["logits"], irops.FullyConnectedAttrs(), "fc"),
        Op("SOFTMAX", ["logits"], ["probs"], irops.SoftmaxAttrs(1.0), "softmax"),
    ]
    g.inputs, g.outputs = ["input"], ["probs"]
    return g


def main() -> None:
    from mcucompress.quantize.api import quantize
    from mcucompress.reference import executor

    x_train, x_test, y_train, y_test = digits_split()
    graph = float_graph(train(x_train, y_train))
    tflite_writer.write(graph, DIGITS_FLOAT)
    rng = np.random.default_rng(0)
    calibration = x_train[rng.choice(len(x_train), 200, replace=False)]
    qgraph = quantize(graph, calibration, method="minmax")
    tflite_writer.write(qgraph, DIGITS_INT8)
    np.savez_compressed(DIGITS_TEST, x=x_test, y=y_test)
    np.savez_compressed(DIGITS_CALIBRATION, x=calibration)
    float_acc = np.mean(executor.run(graph, [x_test])[0].argmax(1) == y_test)
    print(f"float top-1 on {len(x_test)} test digits: {float_acc:.4f}")


if __name__ == "__main__":
    main()
