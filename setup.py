"""Ship the top-level templates/, firmware/ and boards/ folders inside the wheel as mcucompress/_assets."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSET_DIRS = ("templates", "firmware", "boards")


class BuildPyWithAssets(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "mcucompress" / "_assets"
        for name in ASSET_DIRS:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildPyWithAssets})
