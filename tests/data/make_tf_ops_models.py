"""Build small Keras models whose conversion by the current TF converter holds the operators of issue 10
(upsampling, recurrent, attention and data-movement ops) and convert them (development tool; writes the
.tflite test models beside this file).

Why: these are the graphs users' models turn into, op for op, so they test import, reference executor,
C kernels and TFLM bit-exactness on real converter output rather than on our own writer's single-op files:

- keras_decoder_*: latent 2x2x4 -> Conv2D 3x3 -> Conv2DTranspose 3x3 stride 2 (TRANSPOSE_CONV) -> Resizing
  x2 nearest (RESIZE_NEAREST_NEIGHBOR) -> UpSampling2D x2 bilinear (RESIZE_BILINEAR) -> Conv2D 3x3 -> 16x16x1.
  Keras 3's UpSampling2D(interpolation="nearest") is tf.repeat, which the converter emits as TILE, an op
  TFLM lacks, so the nearest step is the Resizing layer (tf.image.resize, as UpSampling2D was in Keras 2).
  Not trained: seeded initial weights (random biases too), representative data = random normal latents.
- keras_gru_*: a keyword-spotter shape on digits read as 8 steps of 8 features: Conv1D 3 -> Conv1D 3
  dilation 2 -> GRU (unroll=True: the converter emits plain FULLY_CONNECTED/SPLIT/LOGISTIC/TANH/MUL/ADD/SUB
  per step) -> Dense -> Softmax.
- keras_attention_*: one attention block on the 8 digit rows: Dense embedding, Dense q/k/v,
  tf.matmul(q, k, transpose_b=True) (BATCH_MATMUL), scale, softmax, matmul with v, Dense, residual Add,
  GlobalAveragePooling1D, Dense -> Softmax.
- keras_lstm_*: LSTM over the 8 digit rows -> Dense -> Softmax; the converter fuses the Keras LSTM into
  UNIDIRECTIONAL_SEQUENCE_LSTM (int8: the integer LSTM with int16 cell state). Only Keras 2's LSTM (tf_keras)
  is fused: Keras 3's becomes a while loop the int8 converter cannot lower (it crashed with TF 2.21).
- keras_ops_*: digits CNN with Conv2D -> PReLU -> space_to_depth -> Conv2D 1x1 -> ELU -> depth_to_space ->
  tf.pad REFLECT (MIRROR_PAD) -> Conv2D dilation 2 -> tf.split + tf.maximum -> tf.transpose -> slice ->
  reduce_max and reduce_sum -> concatenate -> Flatten -> Dense; keras_ops_logsoftmax_* ends with
  tf.nn.log_softmax, keras_ops_argmax_* (the same trained weights) with tf.argmax (int32 output). The int8
  conversion leaves ELU in float32 between DEQUANTIZE and QUANTIZE (TF 2.21 does not quantize it).

The classifiers are trained with a free batch and converted with a static batch of 1 (the same weights in
the same layers built on keras.Input(batch_size=1)): with a free batch the converter computes a rank-3 Dense's
row count at run time with REDUCE_PROD, which TFLM cannot run, the LSTM is fused only with a static batch,
and a dilated Conv2D becomes SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND whose batch-4 tensors are stored
with a placeholder batch of 1 that TFLM, which never resizes tensors, takes as their real shape (wrong
results; with a static batch the converter folds them into one CONV_2D with dilation 2). The decoder keeps
Keras' free batch (its TRANSPOSE_CONV output shape comes from SHAPE/STRIDED_SLICE/PACK, which TFLM runs).

Each is written as a float32 .tflite (`*_float.tflite`) and as a full-integer int8 .tflite with int8 input
and output (`*_int8.tflite`: representative dataset = the training split or the random latents,
TFLITE_BUILTINS_INT8, inference_input_type/inference_output_type tf.int8; ArgMax's int32 output stays int32).
The graphs are kept exactly as the converter emits them.

Data: the digits split of make_tf_converter_models.py (seed 0, 70/30 stratified, scaled to [0, 1]);
the sequence models read each 8x8 image as 8 rows (steps) of 8 pixels (features).

The project never imports TensorFlow (neither at run time nor in tests). Run it in a separate venv;
the files were made with tensorflow-cpu 2.21.0 (Keras 3.15.1, tf-keras 2.21.0 for the LSTM, numpy 2.4.6,
scikit-learn 1.9.1, Python 3.11, x86-64); tf-keras is installed without its dependencies so that it does not
pull the `tensorflow` wheel beside `tensorflow-cpu`:

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu scikit-learn tflite
    /tmp/tfvenv/bin/pip install --no-deps tf-keras==2.21.0
    /tmp/tfvenv/bin/python tests/data/make_tf_ops_models.py [decoder gru attention lstm ops]

It prints each file's size, its TFLite ops (read with the `tflite` package) and the top-1 measured by Keras
and by the TFLite interpreter bundled with TF (LiteRT); record them in tests/data/README.md. Training is
seeded and made deterministic, but another TF/Keras version or CPU may give slightly different weights.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_tf_converter_models import DIGITS_TEST, SEED, digits_split

LATENT = (2, 2, 4)
N_LATENTS = 256


def tf_layer(keras, fn, name):
    """A Keras layer calling TensorFlow directly (Keras 3 does not accept tf ops on symbolic tensors)."""

    class TF(keras.layers.Layer):
        def call(self, x):
            return fn(x)

    return TF(name=name)


def decoder(keras):
    layers = keras.layers
    bias = keras.initializers.RandomNormal(0.0, 0.1, seed=SEED)
    inp = keras.Input(LATENT, name="latent")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer=bias, name="conv_in")(inp)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", bias_initializer=bias,
                               name="deconv")(x)  # 4x4x8
    x = layers.Resizing(8, 8, interpolation="nearest", name="up_nearest")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(x)  # 16x16x8
    out = layers.Conv2D(1, 3, padding="same", bias_initializer=bias, name="conv_out")(x)
    return keras.Model(inp, out, name="keras_decoder")


def gru(keras, batch: int | None = 1):
    layers = keras.layers
    inp = keras.Input((8, 8), batch_size=batch, name="rows")
    x = layers.Conv1D(12, 3, padding="same", activation="relu", name="conv1")(inp)
    x = layers.Conv1D(12, 3, padding="same", dilation_rate=2, activation="relu", name="conv_dilated")(x)
    x = layers.GRU(12, unroll=True, name="gru")(x)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return keras.Model(inp, out, name="keras_gru")


def attention(keras, tf, batch: int | None = 1):
    layers = keras.layers
    inp = keras.Input((8, 8), batch_size=batch, name="rows")
    e = layers.Dense(16, activation="relu", name="embed")(inp)
    q = layers.Dense(16, name="q")(e)
    k = layers.Dense(16, name="k")(e)
    v = layers.Dense(16, name="v")(e)
    scores = tf_layer(keras, lambda t: tf.matmul(t[0], t[1], transpose_b=True) * 0.25, "scores")([q, k])
    p = layers.Softmax(axis=-1, name="attn")(scores)
    ctx = tf_layer(keras, lambda t: tf.matmul(t[0], t[1]), "context")([p, v])
    y = layers.Dense(16, name="proj")(ctx)
    x = layers.Add(name="residual")([e, y])
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return keras.Model(inp, out, name="keras_attention")


def lstm(tf_keras, batch: int | None = 1):
    layers = tf_keras.layers
    inp = tf_keras.Input((8, 8), batch_size=batch, name="rows")
    x = layers.LSTM(16, name="lstm")(inp)
    x = layers.Dense(10, name="logits")(x)
    out = layers.Softmax(name="probs")(x)
    return tf_keras.Model(inp, out, name="keras_lstm")


def ops_body(keras, tf, batch: int | None = 1):
    """The digits CNN of the miscellaneous ops; returns (input, logits)."""
    layers = keras.layers
    inp = keras.Input((8, 8, 1), batch_size=batch, name="image")
    x = layers.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = layers.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = tf_layer(keras, lambda t: tf.nn.space_to_depth(t, 2), "space_to_depth")(x)  # 4x4x32
    x = layers.Conv2D(16, 1, name="pw")(x)
    x = layers.ELU(name="elu")(x)
    x = tf_layer(keras, lambda t: tf.nn.depth_to_space(t, 2), "depth_to_space")(x)  # 8x8x4
    x = tf_layer(keras, lambda t: tf.pad(t, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT"), "mirror_pad")(x)
    x = layers.Conv2D(16, 3, dilation_rate=2, activation="relu", name="conv_dilated")(x)  # 12x12 -> 8x8x16

    def max_of_halves(t):
        a, b = tf.split(t, 2, axis=-1)
        return tf.maximum(a, b)

    x = tf_layer(keras, max_of_halves, "split_max")(x)  # 8x8x8
    x = tf_layer(keras, lambda t: tf.transpose(t, [0, 2, 1, 3]), "transpose")(x)
    x = tf_layer(keras, lambda t: t[:, 1:7, 1:7, :], "crop")(x)  # 6x6x8
    m = tf_layer(keras, lambda t: tf.reduce_max(t, axis=1), "reduce_max")(x)  # 6x8
    s = tf_layer(keras, lambda t: tf.reduce_sum(t, axis=2), "reduce_sum")(x)  # 6x8
    x = layers.Concatenate(name="concat")([m, s])
    x = layers.Flatten(name="flatten")(x)
    logits = layers.Dense(10, name="logits")(x)
    return inp, logits


def train(keras, model, x_train, y_train, epochs: int, loss="sparse_categorical_crossentropy"):
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss, metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    return model


def batch_of_one(build, trained):
    """The trained sequence model rebuilt with a static batch of 1 (what is converted; trained with a free batch)."""
    model = build(1)
    model.set_weights(trained.get_weights())
    return model


def convert(tf, model, x_rep: np.ndarray | None) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if x_rep is not None:
        def representative():
            for x in x_rep:
                yield [x[None]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        if model.outputs[0].dtype in ("float32", tf.float32):
            conv.inference_output_type = tf.int8
    return conv.convert()


def file_ops(data: bytes) -> list[str]:
    import tflite

    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAs(data, 0)
    sg = model.Subgraphs(0)
    codes = [model.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength())]
    return [names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes]


def litert_predictions(tf, data: bytes, x: np.ndarray) -> np.ndarray:
    """Class predictions of the TFLite interpreter bundled with TF (int8 inputs quantized as TFLite does);
    an int32 output is already the class (ArgMax). The fused LSTM keeps its state in variable tensors
    from one invocation to the next: they are reset so that every sample starts from zero, as in Keras."""
    interp = tf.lite.Interpreter(model_content=data)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    preds = []
    for xi in x:
        xi = xi[None]
        if inp["dtype"] == np.int8:
            scale, zp = inp["quantization"]
            xi = np.clip(np.round(xi / np.float32(scale)) + zp, -128, 127).astype(np.int8)
        interp.reset_all_variables()
        interp.set_tensor(inp["index"], xi)
        interp.invoke()
        y = interp.get_tensor(out["index"])
        preds.append(int(y.reshape(-1)[0]) if out["dtype"] == np.int32 else int(y.argmax()))
    return np.array(preds)


def write(tf, name: str, model, x_rep: np.ndarray, x_test=None, y_test=None) -> None:
    for suffix, rep in (("float", None), ("int8", x_rep)):
        data = convert(tf, model, rep)
        fname = f"{name}_{suffix}.tflite"
        (HERE / fname).write_bytes(data)
        acc = "" if x_test is None else f", LiteRT top-1 {np.mean(litert_predictions(tf, data, x_test) == y_test):.4f}"
        print(f"  {fname}: {len(data)} bytes{acc}\n    ops: {', '.join(file_ops(data))}")


MODELS = ("decoder", "gru", "attention", "lstm", "ops")


def main(only: tuple[str, ...] = MODELS) -> None:
    """Build the models named in `only` (all by default; each is seeded on its own)."""
    unknown = set(only) - set(MODELS)
    if unknown:
        raise SystemExit(f"unknown model(s) {sorted(unknown)}: choose from {', '.join(MODELS)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    import tf_keras

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    x_train, x_test, y_train, y_test = digits_split()
    bundled = np.load(DIGITS_TEST)
    assert np.array_equal(bundled["x"], x_test) and np.array_equal(bundled["y"], y_test), "split differs"
    s_train, s_test = x_train[..., 0], x_test[..., 0]  # 8 steps of 8 features
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, tf_keras {tf_keras.__version__}")

    if "decoder" in only:
        latents = np.random.default_rng(SEED).standard_normal((N_LATENTS, *LATENT)).astype(np.float32)
        print("decoder (untrained)")
        write(tf, "keras_decoder", decoder(keras), latents)

    sequence_models = (("gru", keras, lambda b: gru(keras, b), 40),
                       ("attention", keras, lambda b: attention(keras, tf, b), 100),
                       ("lstm", tf_keras, lambda b: lstm(tf_keras, b), 40))
    for name, lib, build, epochs in sequence_models:
        if name not in only:
            continue
        lib.utils.set_random_seed(SEED)
        model = train(lib, build(None), s_train, y_train, epochs)
        print(f"{name}: keras float top-1 {model.evaluate(s_test, y_test, verbose=0)[1]:.4f}")
        write(tf, f"keras_{name}", batch_of_one(build, model), s_train, s_test, y_test)

    if "ops" in only:
        keras.utils.set_random_seed(SEED)
        trained = train(keras, keras.Model(*ops_body(keras, tf, None)), x_train, y_train, 40,
                        keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        print(f"ops: keras float top-1 {trained.evaluate(x_test, y_test, verbose=0)[1]:.4f}")
        inp, logits = ops_body(keras, tf, 1)
        keras.Model(inp, logits).set_weights(trained.get_weights())
        log_probs = tf_layer(keras, tf.nn.log_softmax, "log_softmax")(logits)
        write(tf, "keras_ops_logsoftmax", keras.Model(inp, log_probs, name="keras_ops_logsoftmax"), x_train, x_test,
              y_test)
        label = tf_layer(keras, lambda t: tf.argmax(t, axis=-1, output_type=tf.int32), "argmax")(logits)
        write(tf, "keras_ops_argmax", keras.Model(inp, label, name="keras_ops_argmax"), x_train, x_test, y_test)

if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or MODELS)
