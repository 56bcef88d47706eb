"""`--normalize`: map raw sample values (image pixels 0..255) to the values the model was trained on.

Two forms, both applied on the host before quantization (float32 arithmetic):
  SCALE[,OFFSET]          x * SCALE + OFFSET on the raw values; SCALE and OFFSET may be fractions
                          (`1/255`, `1/127.5,-1`, `0.00392,0`; `1` keeps raw 0..255 as float).
  mean=M,...:std=S,...    torchvision's ToTensor + Normalize: (x / 255 - M) / S per channel, i.e.
                          mean and std are those of the pixels scaled to [0, 1]; one value or one per channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.errors import McuError

FORMS = "give SCALE[,OFFSET] (e.g. 1/255 or 0.00392,0) or mean=M1,M2,M3:std=S1,S2,S3 (of pixels scaled to [0, 1])"


@dataclass(frozen=True)
class Normalize:
    spec: str  # as the user wrote it, for reports
    scale: np.ndarray  # per channel (or one value): x * scale + offset
    offset: np.ndarray

    def apply(self, x: np.ndarray, source: str) -> np.ndarray:
        """`x` [N, ..., C] (channels last, the IR layout) as float32 normalized values."""
        channels = x.shape[-1] if x.ndim > 1 else 1
        if self.scale.size not in (1, channels):
            raise McuError(f"{source}: --normalize '{self.spec}' gives {self.scale.size} values per channel, but the "
                           f"model input has {channels} channels (last axis); give 1 or {channels} values")
        scale, offset = self.scale.astype(np.float32), self.offset.astype(np.float32)
        return (x.astype(np.float32) * scale + offset).astype(np.float32)


def _number(text: str, spec: str) -> float:
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        raise McuError(f"--normalize '{spec}': '{text}' is not a number; {FORMS}") from None
    if not np.isfinite(value):
        raise McuError(f"--normalize '{spec}': '{text}' is not finite; {FORMS}")
    return value


def _values(text: str, spec: str) -> np.ndarray:
    return np.array([_number(v.strip(), spec) for v in text.split(",")], dtype=np.float64)


def parse(spec: str | Normalize | None) -> Normalize | None:
    """The --normalize option (None when absent); one-line McuError for anything else than the two forms."""
    if spec is None or isinstance(spec, Normalize):
        return spec
    text = spec.strip()
    if not text:
        raise McuError(f"--normalize is empty; {FORMS}")
    if "=" not in text:
        parts = _values(text, spec)
        if len(parts) > 2:
            raise McuError(f"--normalize '{spec}': {len(parts)} numbers; {FORMS}")
        if parts[0] == 0:
            raise McuError(f"--normalize '{spec}': a scale of 0 maps every sample to the same value; {FORMS}")
        return Normalize(spec, parts[:1], parts[1:2] if len(parts) == 2 else np.zeros(1))
    fields = {}
    for part in text.split(":"):
        key, _, value = part.partition("=")
        if key.strip() not in ("mean", "std") or key.strip() in fields:
            raise McuError(f"--normalize '{spec}': unknown or repeated field '{key.strip()}'; {FORMS}")
        fields[key.strip()] = _values(value, spec)
    if set(fields) != {"mean", "std"}:
        raise McuError(f"--normalize '{spec}': give both mean= and std=; {FORMS}")
    mean, std = fields["mean"], fields["std"]
    if (std <= 0).any():
        raise McuError(f"--normalize '{spec}': std must be positive; {FORMS}")
    if mean.size != std.size and 1 not in (mean.size, std.size):
        raise McuError(f"--normalize '{spec}': {mean.size} means but {std.size} stds; give one per channel")
    # (x / 255 - mean) / std == x * (1 / (255 std)) - mean / std
    return Normalize(spec, 1.0 / (255.0 * std) * np.ones_like(mean), -mean / std)
