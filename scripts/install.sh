#!/usr/bin/env bash
# The one install that gives everything grading needs, on every machine the README
# names (a TA's laptop, each Dask worker, Gradescope's image, CI):
#   PYTHON=/path/to/venv/bin/python bash scripts/install.sh [EXTRAS]
# EXTRAS: "cluster" (a Dask worker or driver), "dev" (the project's tests).
# It installs this package with every pin in constraints.txt, then janggu's real
# ChIP-seq peaks (week 3a): janggu's own dependency pins are years old (Biopython
# 1.77, pysam < 0.16: no wheels for today's Pythons) and only its data files are
# read, so it is installed without them. pip has no per-package --no-deps in a
# requirement, hence this script rather than a bare `pip install`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
target="$root"
if [[ -n "${1:-}" ]]; then
  target="$root[$1]"
fi
"$python" -m pip install -q -c "$root/constraints.txt" -e "$target"
"$python" -m pip install -q --no-deps -c "$root/constraints.txt" janggu
"$python" -c "from gene46100_ref import tfdata; tfdata.janggu_resources()"
