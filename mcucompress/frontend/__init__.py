"""Model importers (TFLite, ONNX) into the IR, and the TFLite writer that exports the IR back."""

from pathlib import Path

from mcucompress.errors import ModelFileError


def load_model(path: str | Path):
    """Import a model file into a Graph, choosing the importer from the file's contents."""
    from mcucompress.frontend import tflite

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file; give the path of a .tflite model")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory; give the path of a .tflite model")
    return tflite.load(path)
