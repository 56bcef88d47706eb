"""Bundled examples: a small CNN trained on scikit-learn's digits (float and int8 .tflite, float .onnx),
a digits MLP (float .onnx and .tflite), and test/calibration data."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
DIGITS_FLOAT = EXAMPLES / "digits_cnn_float.tflite"
DIGITS_INT8 = EXAMPLES / "digits_cnn_int8.tflite"
DIGITS_CNN_ONNX = EXAMPLES / "digits_cnn_float.onnx"
DIGITS_MLP_ONNX = EXAMPLES / "digits_mlp_float.onnx"
DIGITS_MLP_FLOAT = EXAMPLES / "digits_mlp_float.tflite"
DIGITS_TEST = EXAMPLES / "digits_test.npz"
DIGITS_CALIBRATION = EXAMPLES / "digits_calibration.npz"
