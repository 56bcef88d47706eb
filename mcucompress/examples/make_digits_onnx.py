"""Write the bundled digits models as ONNX (development tool): the CNN, and an MLP also as .tflite.

digits_cnn_float.onnx is the network and weights of digits_cnn_float.tflite rebuilt as an ordinary
PyTorch model (NCHW, torch's channel-first flatten before the Linear) and exported, so importing it
exercises the NCHW -> NHWC conversion, weight rearrangement and flatten-order permutation.
digits_mlp_float.onnx is a 64-64-32-10 ReLU MLP trained with PyTorch; digits_mlp_float.tflite is that
ONNX file imported by our frontend and written by our TFLite writer. Both imports are checked against
PyTorch's top-1 on the digits test split. Needs torch, onnx and scikit-learn.
Run: python -m mcucompress.examples.make_digits_onnx
"""

from __future__ import annotations

import numpy as np

from mcucompress.examples import DIGITS_CNN_ONNX, DIGITS_FLOAT, DIGITS_MLP_FLOAT, DIGITS_MLP_ONNX
from mcucompress.examples.make_digits_models import digits_cnn_net, digits_split, fit
from mcucompress.frontend import load_model, tflite_writer
from mcucompress.reference import executor


def cnn_module(graph):
    """The bundled float CNN (our IR, NHWC weights) as a PyTorch module (NCHW weights)."""
    import torch

    t = {name: tensor.data for name, tensor in graph.tensors.items() if tensor.is_const}
    # The TFLite model flattens NHWC (h, w, c); torch flattens NCHW (c, h, w): reorder the FC columns.
    fc_w = t["fc_w"].reshape(10, 4, 4, 16).transpose(0, 3, 1, 2).reshape(10, 256)
    state = {
        "conv1.weight": t["conv1_w"].transpose(0, 3, 1, 2), "conv1.bias": t["conv1_b"],
        "dw.weight": t["dw_w"].transpose(3, 0, 1, 2), "dw.bias": t["dw_b"],
        "pw.weight": t["pw_w"].transpose(0, 3, 1, 2), "pw.bias": t["pw_b"],
        "fc.weight": fc_w, "fc.bias": t["fc_b"],
    }
    net = digits_cnn_net(export=True)
    net.load_state_dict({k: torch.tensor(np.ascontiguousarray(v)) for k, v in state.items()})
    return net.eval()


def train_mlp(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """64-64-32-10 with ReLU on the flattened 8x8 image; input NCHW [N, 1, 8, 8], output probabilities."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    body = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    fit(body, x_train, y_train)
    return nn.Sequential(body, nn.Softmax(dim=1)).eval()


def export(net, path) -> None:
    import torch

    torch.onnx.export(net, (torch.zeros(1, 1, 8, 8),), str(path), opset_version=13, dynamo=False,
                      input_names=["input"], output_names=["probs"], dynamic_axes={"input": {0: "batch"}, "probs": {0: "batch"}})


def check_same_top1(name: str, net, path, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """The imported model (our IR, NHWC input) predicts exactly what the PyTorch model predicts."""
    import torch

    with torch.no_grad():
        torch_pred = net(torch.tensor(x_test).permute(0, 3, 1, 2)).numpy().argmax(1)
    ours = executor.run(load_model(path), [x_test])[0].argmax(1)
    if not np.array_equal(ours, torch_pred):
        raise SystemExit(f"{path}: {int((ours != torch_pred).sum())} predictions differ from PyTorch's")
    accuracy = float(np.mean(ours == y_test))
    print(f"{name}: {path.name} top-1 {accuracy:.4f} on {len(x_test)} test digits, same predictions as PyTorch")
    return accuracy


def main() -> None:
    x_train, x_test, y_train, y_test = digits_split()
    cnn = cnn_module(load_model(DIGITS_FLOAT))
    export(cnn, DIGITS_CNN_ONNX)
    check_same_top1("cnn", cnn, DIGITS_CNN_ONNX, x_test, y_test)
    mlp = train_mlp(x_train, y_train)
    export(mlp, DIGITS_MLP_ONNX)
    check_same_top1("mlp", mlp, DIGITS_MLP_ONNX, x_test, y_test)
    tflite_writer.write(load_model(DIGITS_MLP_ONNX), DIGITS_MLP_FLOAT)
    check_same_top1("mlp", mlp, DIGITS_MLP_FLOAT, x_test, y_test)


if __name__ == "__main__":
    main()
