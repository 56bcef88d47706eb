"""Train a small Keras LSTM on scikit-learn's digits (8 rows of 8 pixels as a sequence) and convert it with
the current TF converter to a full-integer int8 .tflite (development tool; writes keras_digits_lstm_int8.tflite
beside this file).

Why: our own writer builds the LSTM operands by hand; this is the layout a user's converted Keras LSTM has
(UNIDIRECTIONAL_SEQUENCE_LSTM with variable state tensors, int16 cell state, the converter's intermediate
tensors), so import, reference executor and C are checked on it against TFLM.

Model: Input [1, 8, 8] -> LSTM(16, return_sequences=False, unroll=False) -> Dense(10) -> Softmax. Data: the split
of mcucompress/examples/make_digits_models.py `digits_split`. Representative dataset: the training split;
TFLITE_BUILTINS_INT8; int8 input and output.

The project never imports TensorFlow. Run it in a separate venv, as tests/data/make_tf_converter_models.py says:

    /tmp/tfvenv/bin/python tests/data/make_tf_lstm_model.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import tensorflow as tf
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    tf.keras.utils.set_random_seed(0)
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)  # [N, 8 rows, 8 pixels]
    x_train, x_test, y_train, y_test = train_test_split(x, d.target, test_size=0.3, random_state=0, stratify=d.target)
    inp = tf.keras.Input((8, 8), batch_size=1)
    h = tf.keras.layers.LSTM(16)(inp)
    out = tf.keras.layers.Softmax()(tf.keras.layers.Dense(10)(h))
    model = tf.keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    print("keras accuracy", model.evaluate(x_test, y_test, verbose=0)[1])

    # Through a SavedModel with a fixed [1, 8, 8] signature: the route TF documents for Keras LSTMs
    # (converting the Keras model directly crashed TF 2.21's calibrator).
    saved = HERE / "_lstm_saved_model"
    model.export(str(saved))
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([s[None]] for s in x_train[:300])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    import shutil

    shutil.rmtree(saved)
    (HERE / "keras_digits_lstm_int8.tflite").write_bytes(data)
    print("wrote", HERE / "keras_digits_lstm_int8.tflite")


if __name__ == "__main__":
    main()
