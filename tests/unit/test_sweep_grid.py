"""`mcucompress sweep` without running configurations: grid files (good and bad), cache keys, the Pareto front."""

from __future__ import annotations

import sys

import pytest

from mcucompress.cli import main
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from mcucompress.sweep.config_cache import ConfigCache, InputDigests, config_key
from mcucompress.sweep.grid import Config, load_grid
from mcucompress.sweep.report import pareto_flags, results_csv


def _grid(tmp_path, text: str):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


def test_grid_order_defaults_and_normalized_values(tmp_path):
    grid = _grid(tmp_path, 'prune = ["none", "unstructured:0.50", "2:4"]\nper_tensor = [true, false]\n'
                           'calibration_method = "kl"\n')
    configs = load_grid(grid, "host")
    assert len(configs) == 6
    # KEYS order (calibration_method, per_tensor, prune, activations, board), values as listed, last fastest.
    assert [(c.per_tensor, c.prune) for c in configs] == [
        (True, "none"), (True, "unstructured:0.5"), (True, "2:4"),
        (False, "none"), (False, "unstructured:0.5"), (False, "2:4")]
    assert {(c.calibration_method, c.activations, c.board) for c in configs} == {("kl", "int8", "host")}
    assert configs[1].prune_request() == ("unstructured", 0.5) and configs[2].prune_request() == ("2:4", None)
    assert [c.board for c in load_grid(_grid(tmp_path, 'board = ["reference", "mps2-an386"]'), "host")] == \
        ["reference", "mps2-an386"]


@pytest.mark.parametrize("text, expected", [
    ('calibration_method = ["minmax"]\nbits = [8]\n', "unknown key 'bits'"),
    ('prune = ["unstructured"]\n', "unstructured needs a sparsity in [0, 1)"),
    ('prune = ["unstructured:1.5"]\n', "unstructured needs a sparsity in [0, 1)"),
    ('prune = ["2:4:0.5"]\n', "N:M pruning fixes its sparsity"),
    ('prune = ["magnitude:0.5"]\n', "unknown method 'magnitude'"),
    ('prune = [0.5]\n', "is not a string"),
    ('activations = ["int4"]\n', "use \"int8\" or \"int16\""),
    ('per_tensor = ["yes"]\n', "must be true or false"),
    ('calibration_method = ["entropy"]\n', "calibration_method 'entropy' is unknown"),
    ('board = ["mps2-an999"]\n', "unknown board 'mps2-an999'"),
    ('board = ["nucleo-l4r5zi"]\n', "is real hardware"),
    ('prune = []\n', "has no values"),
    ('per_tensor = [true, true]\n', "lists true twice"),
    ('prune = ["none"\n', "not valid TOML"),
])
def test_bad_grid_is_one_line_and_exit_2(tmp_path, capsys, text, expected):
    grid = _grid(tmp_path, text)
    out = tmp_path / "out"
    code = main(["sweep", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "--data", str(DIGITS_TEST),
                 "--grid", str(grid), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mcucompress: error: ") and str(grid) in err, err
    assert expected in err, err
    assert not out.exists()  # refused before anything is written


def test_missing_grid_and_bad_board_option(tmp_path, capsys):
    args = ["sweep", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "--data", str(DIGITS_TEST),
            "-o", str(tmp_path / "out")]
    assert main([*args, "--grid", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such grid file" in capsys.readouterr().err
    assert main([*args, "--grid", str(_grid(tmp_path, "")), "--board", "zx81"]) == 2
    assert "--board: unknown board 'zx81'" in capsys.readouterr().err
    assert main([*args, "--grid", str(_grid(tmp_path, "")), "--jobs", "0"]) == 2
    assert "--jobs 0: give a number of workers of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ray_missing_gives_the_install_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as without the extra
    out = tmp_path / "out"
    code = main(["sweep", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "--data", str(DIGITS_TEST),
                 "--grid", str(_grid(tmp_path, "")), "-o", str(out), "--ray", "local"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install 'mcucompress[ray]'" in err, err
    assert not out.exists()


def test_cache_key_follows_every_input(tmp_path):
    base = InputDigests.of(DIGITS_FLOAT, DIGITS_CALIBRATION, DIGITS_TEST)
    config = Config("minmax", False, "none", "int8", "host")
    key = config_key(base, config)
    assert key == config_key(InputDigests.of(DIGITS_FLOAT, DIGITS_CALIBRATION, DIGITS_TEST), config)
    other_data = InputDigests(base.model, base.calibration, base.model)
    others = {config_key(other_data, config), config_key(base, Config("minmax", True, "none", "int8", "host")),
              config_key(base, Config("minmax", False, "none", "int8", "reference"))}
    assert key not in others and len(others) == 3
    cache = ConfigCache(tmp_path / "cache")
    assert cache.get(key, config) is None
    cache.put(key, config, {"top1": 0.5})
    assert cache.get(key, config) == {"top1": 0.5}
    assert cache.get(key, Config("kl", False, "none", "int8", "host")) is None  # a file for another config
    cache.path(key).write_text("{truncated")
    assert cache.get(key, config) is None


def _result(top1, instructions=None, flash=None, weights=100, error=None) -> dict:
    return {"samples": 10, "top1": top1, "instructions": instructions, "flash_bytes": flash, "ram_bytes": None,
            "weights_bytes": weights, "arena_bytes": 50, "bit_exact": True, "mismatches": 0, "error": error}


def test_pareto_front_per_board():
    qemu = [Config("minmax", False, p, "int8", "mps2-an386") for p in ("none", "2:4", "1:4", "unstructured:0.5")]
    host = [Config("minmax", False, p, "int8", "host") for p in ("none", "2:4", "unstructured:0.3")]
    rows = [
        (qemu[0], _result(0.99, 1000, 5000)),  # best accuracy
        (qemu[1], _result(0.97, 800, 4000)),  # faster and smaller
        (qemu[2], _result(0.97, 900, 4500)),  # dominated by qemu[1]
        (qemu[3], _result(None, error="does not fit")),
        (host[0], _result(0.95, weights=300)),  # host rows compete only among themselves
        (host[1], _result(0.95, weights=200)),
        (host[2], _result(0.95, weights=200)),  # equal to host[1]: neither dominates the other
    ]
    assert pareto_flags(rows) == [True, True, False, False, False, True, True]
    csv = results_csv(rows).splitlines()
    assert csv[0].startswith("calibration_method,per_tensor,prune,activations,board,samples,top1,instructions")
    assert csv[2] == "minmax,false,2:4,int8,mps2-an386,10,0.970000,800,4000,,100,50,true,0,true,"
    assert csv[4].endswith(",false,does not fit")


def test_unreachable_ray_address_is_one_line_at_once(tmp_path, capsys):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    code = main(["sweep", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "--data", str(DIGITS_TEST),
                 "--grid", str(_grid(tmp_path, "")), "-o", str(out), "--ray", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--ray 127.0.0.1:{port}: no Ray cluster answers there" in err, err
    assert not out.exists()
