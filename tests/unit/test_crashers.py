"""Regression: every fuzzing reproducer of ../shared/reliability/crashers (issue 14) gets one clean line.

Each reproducer (a mutated model that once raised an uncaught exception in import, calibration, the
executor or compile, or compiled to C writing past a buffer) must give exit code 2 and one
`mcucompress: error:` line from `inspect`, `compile`, `run --board reference` and `run --board host`;
the FULLY_CONNECTED width mutants must be rejected by the verifier. The files are read where they lie,
never copied into the repository; the tests skip with the reason when the folder is absent.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mcucompress import cli, driver
from mcucompress.errors import GraphError
from mcucompress.examples import DIGITS_CALIBRATION
from tests.conftest import REPO

CRASHERS = REPO.parent / "shared" / "reliability" / "crashers"
FILES = sorted(p.name for p in CRASHERS.iterdir() if p.suffix != ".json") if CRASHERS.is_dir() else []
FC_WIDTH = ["stage2_294e5e4b4e.tflite", "stage2_db5987285c.tflite.gz"]  # FC output/depth disagreeing with weights


def _model(name: str, tmp_path: Path) -> Path:
    if not CRASHERS.is_dir():
        pytest.skip(f"{CRASHERS} is absent (../shared/reliability not laid beside the repo)")
    path = CRASHERS / name
    if name.endswith(".gz"):
        plain = tmp_path / name[:-3]
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        return plain
    return path


def _one_line_error(capsys, argv) -> str:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcucompress: error: "), err
    assert "Traceback" not in err and out == ""
    return lines[0]


@pytest.mark.skipif(not FILES, reason=f"{CRASHERS} is absent (../shared/reliability not laid beside the repo)")
@pytest.mark.parametrize("name", FILES)
def test_reproducer_gives_one_line_in_every_command(name, tmp_path, capsys):
    model = _model(name, tmp_path)
    data = tmp_path / "data.npz"
    np.savez(data, x=np.zeros((2, 8, 8, 1), np.float32))  # the digits seeds; a load error comes first anyway
    line = _one_line_error(capsys, ["inspect", model])
    assert str(model) in line
    _one_line_error(capsys, ["compile", model, "-o", tmp_path / "out", "--calibration", DIGITS_CALIBRATION])
    assert not (tmp_path / "out").exists()
    _one_line_error(capsys, ["run", model, "--board", "reference", "--data", data])
    _one_line_error(capsys, ["run", model, "--board", "host", "--data", data, "--calibration", DIGITS_CALIBRATION])


@pytest.mark.parametrize("name", FC_WIDTH)
def test_fully_connected_width_mutants_are_rejected_by_the_verifier(name, tmp_path):
    with pytest.raises(GraphError, match=r"FULLY_CONNECTED.*(output .* has shape|whole number of rows)"):
        driver.load(_model(name, tmp_path))
