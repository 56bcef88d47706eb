#!/usr/bin/env bash
# The README demo: install everything, then compile the bundled digits CNN (int8), run it on the default
# board and print latency, accuracy and memory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash docs/install.sh
.venv/bin/mcucompress demo
