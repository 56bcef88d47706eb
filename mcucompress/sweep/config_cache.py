"""The sweep's cache of finished configurations: DIR/cache/<key>.json, one atomically written file each.

A key hashes everything a result depends on: the bytes of the model, calibration and data files, the
configuration and the mcucompress version. A rerun of a killed sweep finds the finished configurations here
and computes only the others; a changed input or version gives new keys, so stale results are never reused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from mcucompress import __version__
from mcucompress.fileio import write_json
from mcucompress.sweep.grid import Config

FORMAT = 1  # bump when the meaning of a cached result changes without a version change


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class InputDigests:
    model: str
    calibration: str
    data: str

    @classmethod
    def of(cls, model: str | Path, calibration: str | Path, data: str | Path) -> InputDigests:
        return cls(file_digest(model), file_digest(calibration), file_digest(data))


def config_key(inputs: InputDigests, config: Config) -> str:
    doc = {"format": FORMAT, "version": __version__, "model": inputs.model, "calibration": inputs.calibration,
           "data": inputs.data, "config": config.as_dict()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


class ConfigCache:
    """get/put finished results by key; a file that is unreadable or for another configuration is a miss."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str, config: Config) -> dict | None:
        try:
            doc = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("config") != config.as_dict() or not isinstance(doc.get("result"), dict):
            return None
        return doc["result"]

    def put(self, key: str, config: Config, result: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.path(key), {"version": __version__, "config": config.as_dict(), "result": result})

    def clean_partial(self) -> None:
        """Temporary files of writes a killed sweep never renamed (fileio's .NAME.*.part siblings)."""
        for stale in self.folder.glob(".*.part"):
            stale.unlink(missing_ok=True)
