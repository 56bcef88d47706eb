"""The CIFAR-10 files of the pruning issue's protocol, shared by bench/prune.py and tests/e2e/test_prune_resnet8.py:
500 calibration images drawn at random from the training split (to_npz.py --split train --n 500 --seed 0) and the
first N test images (to_npz.py --n N), made once into a cache folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TO_NPZ = REPO.parent / "shared" / "data" / "cifar10" / "to_npz.py"
CACHE = REPO / ".cache" / "cifar10"
SEED = 0  # of the calibration draw


def cifar(split: str, n: int) -> dict | None:
    """{'x', 'y'} of the protocol's `split` file with n images, or None when ../shared is absent."""
    if not TO_NPZ.exists():
        return None
    seeded = split == "train"
    path = CACHE / (f"cifar10_{split}_{n}_seed{SEED}.npz" if seeded else f"cifar10_{split}_{n}.npz")
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        made = CACHE / f"cifar10_{split}_{n}.npz"  # to_npz.py's own name
        subprocess.run([sys.executable, str(TO_NPZ), str(CACHE), "--split", split, "--n", str(n)]
                       + (["--seed", str(SEED)] if seeded else []), check=True, stdout=subprocess.DEVNULL)
        if seeded:
            made.replace(path)
    return dict(np.load(path))
