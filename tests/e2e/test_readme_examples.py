"""The README's hardware-in-the-loop example (the code block after `<!-- hil-example -->`) is a real test:
written to a file of its own and run by pytest through the installed plugin, on QEMU (the default board)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.helpers import needs_arm_toolchain_and_qemu

REPO = Path(__file__).resolve().parents[2]


def readme_block(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\n```python\n(.*?)\n```", text, re.DOTALL)
    assert match, f"README.md has no python block after <!-- {marker} -->"
    return match.group(1) + "\n"


@needs_arm_toolchain_and_qemu
def test_readme_hil_example_passes_on_qemu(tmp_path):
    (tmp_path / "test_digits.py").write_text(readme_block("hil-example"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                          str(tmp_path / "test_digits.py")], capture_output=True, text=True, check=False, cwd=tmp_path,
                         env=env, timeout=600)
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout + out.stderr
    assert "mcucompress: board mps2-an386 (QEMU)" in out.stdout and "'unit': 'instructions'" in out.stdout
