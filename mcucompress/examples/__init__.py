"""Bundled example: a small CNN trained on scikit-learn's digits, as float and int8 .tflite, with test data."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
DIGITS_FLOAT = EXAMPLES / "digits_cnn_float.tflite"
DIGITS_INT8 = EXAMPLES / "digits_cnn_int8.tflite"
DIGITS_TEST = EXAMPLES / "digits_test.npz"
DIGITS_CALIBRATION = EXAMPLES / "digits_calibration.npz"
