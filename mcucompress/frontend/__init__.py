"""Model importers (TFLite, ONNX) into the IR, and the TFLite writer that exports the IR back."""

from pathlib import Path

from mcucompress.errors import ModelFileError


def _looks_like_onnx(head: bytes) -> bool:
    """ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08 and a small version number."""
    return len(head) >= 2 and head[0] == 0x08 and 0 < head[1] < 64


def load_model(path: str | Path, keep_unsupported: bool = False, dequantize_hybrid: bool = False):
    """Import a model file into a Graph, choosing the importer from the file's contents.

    keep_unsupported: TFLite ops of unsupported kinds stay in the graph instead of failing the import
    (for analysis: `inspect` flags them); the ONNX importer always fails on them. dequantize_hybrid: a TFLite
    hybrid model's int8 weights become float32 (to be quantized again with calibration data)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file; give the path of a .tflite or .onnx model")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory; give the path of a .tflite or .onnx model")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ModelFileError(f"{path}: file is empty; give a .tflite or .onnx model")
    if head[4:8] == b"TFL3":
        from mcucompress.frontend import tflite

        return tflite.load(path, keep_unsupported, dequantize_hybrid)
    if path.suffix.lower() == ".onnx" or _looks_like_onnx(head):
        from mcucompress.frontend import onnx

        return onnx.load(path)
    raise ModelFileError(f"{path}: not a TFLite flatbuffer (no 'TFL3' identifier) nor an ONNX model; "
                         "give a .tflite or .onnx model")
