"""Train two small Keras models on scikit-learn's digits and convert them with the current TF converter
(development tool; writes the .tflite test models beside this file).

Why: the MLPerf Tiny files come from an old converter and our other models from our own writer, while
users hold Keras models converted by a current `tf.lite.TFLiteConverter`. This script makes such files:

- keras_digits_cnn_*: Conv2D -> BatchNormalization -> ReLU -> MaxPooling2D, then a residual block
  DepthwiseConv2D -> BatchNormalization -> ReLU6 -> Conv2D 1x1 -> BatchNormalization, Add, ReLU,
  AveragePooling2D, Flatten, Dropout, Dense, Softmax.
- keras_digits_mlp_*: Flatten -> Dense+ReLU -> Dense+LeakyReLU -> Dense+tanh -> Dense -> Softmax.
- keras_digits_rows_*: Reshape to 8 rows of 8 pixels -> Dense+ReLU on each row (a Dense on a rank-3
  tensor, which the converter lowers with run-time shape arithmetic: SHAPE, GATHER, REDUCE_PROD,
  CONCATENATION, and placeholder shapes for the dynamic tensors) -> Flatten -> Dense -> Softmax.

Each is written as a float32 .tflite (`*_float.tflite`) and as a full-integer int8 .tflite with int8
input and output (`*_int8.tflite`: representative dataset = the training split, TFLITE_BUILTINS_INT8,
inference_input_type/inference_output_type tf.int8); the CNN also as the converter's default int8
model with float32 I/O (`keras_digits_cnn_int8_float_io.tflite`: QUANTIZE/DEQUANTIZE at the edges).
The graphs are kept exactly as the converter emits them.

Data: the same split as mcucompress/examples/make_digits_models.py `digits_split` (seed 0, 70/30 stratified,
8x8x1 images scaled to [0, 1]); the test split is checked against mcucompress/examples/digits_test.npz.

The project never imports TensorFlow (neither at run time nor in tests). Run it in a separate venv so
that TensorFlow's pins do not touch the project's environment; the files were made with
tensorflow-cpu 2.21.0 (Keras 3.15.1, numpy 2.4.6, scikit-learn 1.9.1, Python 3.11, x86-64):

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu scikit-learn
    /tmp/tfvenv/bin/python tests/data/make_tf_converter_models.py

It prints the accuracies measured by Keras and by the TFLite interpreter bundled with TF (LiteRT); record
them with `mcucompress inspect FILE` of each file in tests/data/README.md. Training is seeded and made
deterministic, but another TF/Keras version or CPU may still give slightly different weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DIGITS_TEST = REPO / "mcucompress" / "examples" / "digits_test.npz"
SEED = 0


def digits_split(seed: int = SEED):
    """mcucompress.examples.make_digits_models.digits_split, copied so this script needs no mcucompress."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return train_test_split(x, d.target, test_size=0.3, random_state=seed, stratify=d.target)


def cnn(keras):
    layers = keras.layers
    inp = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="maxpool")(x)  # 4x4x16
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    y = layers.BatchNormalization(name="bn_dw")(y)
    y = layers.ReLU(max_value=6.0, name="relu6")(y)
    y = layers.Conv2D(16, 1, use_bias=False, name="pw")(y)
    y = layers.BatchNormalization(name="bn_pw")(y)
    x = layers.Add(name="residual")([x, y])
    x = layers.ReLU(name="relu2")(x)
    x = layers.AveragePooling2D(2, name="avgpool")(x)  # 2x2x16
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return keras.Model(inp, out, name="keras_digits_cnn")


def mlp(keras):
    layers = keras.layers
    inp = keras.Input((8, 8, 1), name="image")
    x = layers.Flatten(name="flatten")(inp)
    x = layers.Dense(64, activation="relu", name="fc1")(x)
    x = layers.Dense(32, name="fc2")(x)
    x = layers.LeakyReLU(negative_slope=0.1, name="leaky")(x)
    x = layers.Dense(32, activation="tanh", name="fc3")(x)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return keras.Model(inp, out, name="keras_digits_mlp")


def rows(keras):
    """Dense on a rank-3 tensor: the converter computes the row count at run time (SHAPE, GATHER,
    REDUCE_PROD, CONCATENATION) and stores placeholder shapes for the dynamic tensors."""
    layers = keras.layers
    inp = keras.Input((8, 8, 1), name="image")
    x = layers.Reshape((8, 8), name="rows")(inp)
    x = layers.Dense(16, activation="relu", name="row_fc")(x)  # applied to each of the 8 rows
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return keras.Model(inp, out, name="keras_digits_rows")


def train(keras, model, x_train, y_train, epochs: int):
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    return model


def convert(tf, model, x_rep: np.ndarray | None, int8_io: bool) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if x_rep is not None:
        def representative():
            for x in x_rep:
                yield [x[None]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        if int8_io:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def tflite_top1(tf, data: bytes, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 with the TFLite interpreter bundled with TF (int8 inputs quantized as TFLite does)."""
    interp = tf.lite.Interpreter(model_content=data)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    preds = []
    for xi in x:
        xi = xi[None]
        if inp["dtype"] == np.int8:
            scale, zp = inp["quantization"]
            xi = np.clip(np.round(xi / np.float32(scale)) + zp, -128, 127).astype(np.int8)
        interp.set_tensor(inp["index"], xi)
        interp.invoke()
        preds.append(int(interp.get_tensor(out["index"]).argmax()))
    return float(np.mean(np.array(preds) == y))


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    x_train, x_test, y_train, y_test = digits_split()
    bundled = np.load(DIGITS_TEST)
    assert np.array_equal(bundled["x"], x_test) and np.array_equal(bundled["y"], y_test), "split differs"
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}")
    for name, build, epochs in (("cnn", cnn, 60), ("mlp", mlp, 80), ("rows", rows, 80)):
        model = train(keras, build(keras), x_train, y_train, epochs)
        keras_acc = float(model.evaluate(x_test, y_test, verbose=0)[1])
        files = {f"keras_digits_{name}_float.tflite": convert(tf, model, None, False),
                 f"keras_digits_{name}_int8.tflite": convert(tf, model, x_train, True)}
        if name == "cnn":
            files[f"keras_digits_{name}_int8_float_io.tflite"] = convert(tf, model, x_train, False)
        print(f"{name}: keras float top-1 {keras_acc:.4f}")
        for fname, data in files.items():
            (HERE / fname).write_bytes(data)
            print(f"  {fname}: {len(data)} bytes, LiteRT top-1 {tflite_top1(tf, data, x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
