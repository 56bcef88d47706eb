"""A folder of images in class subfolders (torchvision's ImageFolder layout) as uint8 samples.

DATA/<class>/<image>.png|.jpg|.jpeg|.bmp|.gif|.webp: the label of an image is the index of its class folder
in sorted order (as torchvision); images are read with Pillow in sorted order within each class and converted
to the model's channel count (1: 'L', 3: 'RGB'). An image whose size differs from the model input's HxW is an
error naming it: resizing changes what the model sees, so it is left to the user.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcucompress.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
MODES = {1: "L", 3: "RGB"}


def read_image_folder(root: str | Path, height: int, width: int, channels: int) -> tuple[np.ndarray, np.ndarray,
                                                                                          list[str]]:
    """(x [N, H, W, C] uint8, y [N] int64, class names) from `root`; DataError naming the file otherwise."""
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if channels not in MODES:
        raise DataError(f"{root}: image folders feed 1-channel (grayscale) or 3-channel (RGB) inputs; the model "
                        f"input has {channels} channels; give an .npz or .npy instead")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: a data folder needs one subfolder per class holding its images "
                        f"(DATA/<class>/<image>.png), as torchvision's ImageFolder; found no subfolder")
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).iterdir()):
            if f.suffix.lower() not in EXTENSIONS or not f.is_file():
                continue
            try:
                with Image.open(f) as im:
                    pixels = np.asarray(im.convert(MODES[channels]))
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"{f}: not a readable image ({exc}); remove it or re-save it as PNG") from None
            if pixels.shape[:2] != (height, width):
                raise DataError(f"{f}: image is {pixels.shape[1]}x{pixels.shape[0]} (WxH), the model input takes "
                                f"{width}x{height}; resize the images first")
            xs.append(pixels.reshape(height, width, channels))
            ys.append(label)
    if not xs:
        raise DataError(f"{root}: no images (.png, .jpg, .jpeg, .bmp, .gif, .webp) in its class folders "
                        f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})")
    return np.stack(xs), np.array(ys, dtype=np.int64), classes
