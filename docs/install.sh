#!/usr/bin/env bash
# Install what mcucompress needs on a fresh Debian/Ubuntu machine: the ARM toolchain, QEMU and GDB from
# apt (and chromium, whose headless mode the report tests use), then the package with its test and ONNX extras into ./.venv. Used by docs/demo.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    gcc make cmake python3-venv gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gdb-multiarch chromium >/dev/null

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# PyTorch (test-only: ONNX export tests) first, as the CPU build: an unpinned torch would pull a CUDA build of GBs
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q ".[test,onnx]"
