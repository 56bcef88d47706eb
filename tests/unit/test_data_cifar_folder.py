"""The MLPerf Tiny ResNet-8 (int8, input scale 1.0, zero point -128) on a folder of real CIFAR-10 JPEGs gives
exactly the outputs and top-1 of the same images decoded into an .npz by ../shared/data/cifar10/to_npz.py."""

from __future__ import annotations

import importlib.util
import tarfile

import numpy as np
import pytest

from mcucompress import driver
from tests.conftest import REPO, shared_model

CIFAR = REPO.parent / "shared" / "data" / "cifar10"
PER_CLASS = 20


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """The first PER_CLASS test JPEGs of each class, as files in class folders (their original bytes) and as
    the .npz to_npz.py makes of the same images (raw 0..255 pixels as float32, its default)."""
    if not (CIFAR / "test.tar.gz").exists() or not (CIFAR / "to_npz.py").exists():
        pytest.skip(f"CIFAR-10 JPEGs {CIFAR} are absent (../shared/data not laid beside the repo)")
    spec = importlib.util.spec_from_file_location("cifar_to_npz", CIFAR / "to_npz.py")
    to_npz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(to_npz)
    root = tmp_path_factory.mktemp("cifar")
    with tarfile.open(CIFAR / "test.tar.gz") as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
    wanted = {n for c in to_npz.CLASSES for n in [m for m in names if m.split("/")[1] == c][:PER_CLASS]}
    with tarfile.open(CIFAR / "test.tar.gz", "r|gz") as tar:
        for m in tar:
            if m.name in wanted:
                dest = root / "images" / m.name.split("/", 1)[1]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(m).read())
    x, y = to_npz.load("test", PER_CLASS * len(to_npz.CLASSES))
    np.savez(root / "same.npz", x=x.astype(np.float32), y=y)
    return root


def test_resnet8_on_a_jpeg_folder_matches_the_same_images_as_npz(cifar):
    model = shared_model("ic_pretrainedResnet_quant")
    folder, folder_out = driver.run(model, "reference", cifar / "images", normalize="1")  # raw 0..255, as trained
    npz, npz_out = driver.run(model, "reference", cifar / "same.npz")
    assert folder["data"]["format"] == "images" and folder["samples"] == npz["samples"] == 10 * PER_CLASS
    np.testing.assert_array_equal(folder_out, npz_out)
    assert folder["accuracy"]["top1"] == npz["accuracy"]["top1"]
    assert folder["accuracy"]["top1"] > 0.6  # ../shared/data/cifar10/README.md: 76% on these JPEGs
