#!/usr/bin/env bash
# Executes a notebook headless with .venv's Jupyter (nbconvert) and tslab's TypeScript kernel, and exits
# non-zero when any cell fails (a thrown error, a rejected await or a TypeScript type error): nbconvert then
# prints the failing cell's source and its error on stderr.
#
#   scripts/run-notebook.sh [NOTEBOOK] [OUTPUT_DIR]
#
# NOTEBOOK defaults to examples/quickstart.ipynb. The executed copy, outputs included, is written to
# OUTPUT_DIR (default: a new temporary folder) under the notebook's name; the source notebook is never
# changed. NOTEBOOK_CELL_TIMEOUT (seconds, default 300) bounds each cell. Exit status: 0 when every cell ran,
# 1 when a cell failed, 2 when the setup is missing.
#
# The kernel runs in the notebook's folder, where `import ... from "xlm-kd-torch"` must resolve: examples/
# has the link examples/node_modules/xlm-kd-torch that scripts/setup-notebook.sh makes; a notebook elsewhere
# needs a node_modules/xlm-kd-torch (an install of the package, or a link to this repository) in or above
# its folder. Needs scripts/setup.sh (which runs scripts/setup-notebook.sh) and the TypeScript build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
notebook="$(realpath "${1:-$root/examples/quickstart.ipynb}")"

fail() { echo "run-notebook: $*" >&2; exit 2; }
[ -f "$notebook" ] || fail "no notebook at $notebook"
[ -x "$root/.venv/bin/jupyter" ] || fail "$root/.venv/bin/jupyter is missing: run scripts/setup.sh (or scripts/setup-notebook.sh)"
[ -f "$root/.venv/share/jupyter/kernels/tslab/kernel.json" ] ||
  fail "tslab's kernel is not registered with .venv's Jupyter: run scripts/setup.sh (or scripts/setup-notebook.sh)"
[ -L "$root/examples/node_modules/xlm-kd-torch" ] ||
  fail "examples/node_modules/xlm-kd-torch is missing (tslab's type checker finds the package through it): run scripts/setup.sh (or scripts/setup-notebook.sh)"
[ -f "$root/dist/lib/index.d.ts" ] || fail "the package is not built (dist/lib): run npm run build:ts"

out="${2:-}"
[ -n "$out" ] || out="$(mktemp -d "${TMPDIR:-/tmp}/notebook-run-XXXXXX")"
mkdir -p "$out"

# Jupyter's config, runtime (kernel connection files) and IPython folders go to a scratch folder, not the
# home folder; it also keeps a user's own Jupyter config out of the run.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export JUPYTER_CONFIG_DIR="$scratch/config" JUPYTER_DATA_DIR="$scratch/data" JUPYTER_RUNTIME_DIR="$scratch/runtime" \
  IPYTHONDIR="$scratch/ipython"

echo "run-notebook: executing $notebook -> $out/$(basename "$notebook")"
start=$(date +%s%N)
status=0
"$root/.venv/bin/jupyter" nbconvert --to notebook --execute \
  --ExecutePreprocessor.timeout="${NOTEBOOK_CELL_TIMEOUT:-300}" --ExecutePreprocessor.startup_timeout=120 \
  --output-dir "$out" "$notebook" || status=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
seconds="$((ms / 1000)).$(printf %03d $((ms % 1000)))"
if [ "$status" -ne 0 ]; then
  echo "run-notebook: FAILED after ${seconds} s (nbconvert exit $status): $notebook" >&2
  exit 1
fi
echo "run-notebook: ok in ${seconds} s: $out/$(basename "$notebook")"
