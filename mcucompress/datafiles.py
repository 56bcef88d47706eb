"""Read sample files as users hold them: DATA.npz (`x`, optional `y`), X.npy (inputs only), or a folder of
images in class subfolders (imagefolder.py). Fitting to the model's input happens in dataset.py."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcucompress.errors import DataError

FORMATS = "an .npz with 'x' (and optional labels 'y'), an .npy of inputs, or a folder of images in class subfolders"


@dataclass
class RawData:
    x: np.ndarray
    y: np.ndarray | None
    format: str  # 'npz', 'npy' or 'images'
    channels_last: bool = False  # images: NHWC whatever the model file declared


def read_data(path: str | Path, image_shape: tuple[int, ...] | None = None) -> RawData:
    """The samples in `path`; `image_shape` (H, W, C) of the model input is needed only for an image folder."""
    path = Path(path)
    if path.is_dir():
        if image_shape is None or len(image_shape) != 3:
            raise DataError(f"{path}: a folder of images feeds an image input (N, H, W, C); this model's input is "
                            f"not one; give an .npz or .npy")
        from mcucompress.imagefolder import read_image_folder

        x, y, _ = read_image_folder(path, *image_shape)
        return RawData(x, y, "images", channels_last=True)
    if not path.exists():
        raise DataError(f"{path}: no such data file; give {FORMATS}")
    if path.suffix.lower() == ".npy":
        return RawData(load_npy(path), None, "npy")
    x, y = load_npz(path)
    return RawData(x, y, "npz")


def load_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":  # else np.load tries a pickle and advises allow_pickle
            raise DataError(f"{path}: not a readable .npy file (no .npy header); save the inputs with "
                            "numpy.save(path, x)")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's advice (unpickle) must not be followed
            raise DataError(f"{path}: holds Python objects (dtype object); expected numbers "
                            "(float32, or int8 for an int8 model)") from None
        raise DataError(f"{path}: not a readable .npy file ({exc}); save the inputs with numpy.save(path, x)") from None
    except OSError as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc}); save the inputs with numpy.save(path, x)") from None
    if not isinstance(x, np.ndarray):
        raise DataError(f"{path}: not an .npy array; save the inputs with numpy.save(path, x)")
    return x


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such data file; give {FORMATS}")
    if path.is_dir() or not zipfile.is_zipfile(path):
        # np.load would try a pickle here and answer with advice about allow_pickle.
        raise DataError(f"{path}: not an .npz file; save the samples with numpy.savez(path, x=..., y=...) "
                        "(or give an .npy of inputs, or a folder of images in class subfolders)")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files:
                raise DataError(f"{path}: no array 'x' in the file (found: {', '.join(f.files) or 'nothing'})")
            return _read(path, f, "x"), (_read(path, f, "y") if "y" in f.files else None)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc}); save with numpy.savez(path, x=..., y=...)") from None


def _read(path: Path, f, key: str) -> np.ndarray:
    try:
        return f[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        # An object array: numpy refuses it without unpickling, with advice we must not follow.
        raise DataError(f"{path}: '{key}' holds Python objects (dtype object); expected numbers "
                        f"({'float32, or int8 for an int8 model' if key == 'x' else 'integer labels'})") from None
