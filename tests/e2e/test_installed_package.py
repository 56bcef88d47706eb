"""The package as a user installs it: a wheel built from the sources, installed into a fresh folder and run
from outside the source tree. Tests that import the checkout cannot see a file missing from the wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.helpers import needs_arm_toolchain_and_qemu

REPO = Path(__file__).resolve().parents[2]
ASSET_DIRS = ("templates", "firmware", "boards")  # copied into mcucompress/_assets by setup.py
BUILD_LEFTOVERS = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                         ".pytest_cache", "out")


def _runtime_files() -> set[str]:
    """Every non-Python file the installed package reads, as its path inside the wheel."""
    wanted = set()
    for name in ASSET_DIRS:
        for path in (REPO / name).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                wanted.add(f"mcucompress/_assets/{path.relative_to(REPO).as_posix()}")
    for path in (REPO / "mcucompress").rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts \
                and "_assets" not in path.parts:
            wanted.add(path.relative_to(REPO).as_posix())
    return wanted


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the build writes build/ and *.egg-info where it runs)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=BUILD_LEFTOVERS)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(root / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    (path,) = (root / "dist").glob("mcucompress-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed into an empty folder (dependencies come from this interpreter's site-packages)."""
    target = tmp_path_factory.mktemp("site")
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                          str(wheel)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return target


def _run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed `mcucompress` console script, run from `cwd` with only the installed package importable."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, str(site / "bin" / "mcucompress"), *args], capture_output=True,
                          text=True, check=False, timeout=900, cwd=cwd, env=env)


def test_wheel_holds_every_runtime_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_runtime_files() - names)
    assert not missing, f"missing from the wheel: {missing[:10]}"
    assert "mcucompress/examples/digits_cnn_float.tflite" in names  # the README demo's model


def test_installed_package_is_imported_from_the_install_not_the_checkout(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run([sys.executable, "-c", "import mcucompress; print(mcucompress.__file__)"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert Path(out.stdout.strip()).is_relative_to(installed)


def test_installed_package_compiles_the_bundled_model_on_the_host(installed, tmp_path):
    out = _run_installed(installed, tmp_path, "run", str(installed / "mcucompress/examples/digits_cnn_int8.tflite"),
                         "--board", "host", "--data", str(installed / "mcucompress/examples/digits_test.npz"))
    assert out.returncode == 0, out.stderr
    assert "bit-exact vs reference: True" in out.stdout


@needs_arm_toolchain_and_qemu
def test_readme_demo_from_the_installed_package(installed, tmp_path):
    """The README demo (`mcucompress demo`): the bundled float digits CNN, quantized by us, on mps2-an386 in QEMU."""
    out = _run_installed(installed, tmp_path, "demo")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert re.search(r"latency \(instructions\): min [\d,]+ median [\d,]+ max [\d,]+", text)
    assert "bit-exact vs reference: True (0 mismatching outputs)" in text
    assert re.search(r"memory: flash_bytes [\d,]+, code_bytes [\d,]+, ram_bytes [\d,]+, arena_bytes [\d,]+", text)
    top1 = float(re.search(r"top-1 accuracy: ([\d.]+)", text).group(1))
    drop = float(re.search(r"loses (-?[\d.]+) points", text).group(1))
    assert top1 >= 0.95 and drop <= 0.5
