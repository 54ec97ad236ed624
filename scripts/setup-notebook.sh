#!/usr/bin/env bash
# Makes the notebooks in examples/ runnable with Jupyter and tslab's TypeScript kernel, all inside the
# repository: jupyter, nbconvert and ipykernel in the project virtualenv (.venv); the "tslab" kernel spec in
# .venv/share/jupyter/kernels, where .venv/bin/jupyter looks (nothing is written to the home folder); and
# the link examples/node_modules/xlm-kd-torch -> ../.. so that `import ... from "xlm-kd-torch"` in a
# notebook type-checks.
#
# Why the link: at run time Node resolves the package's own name anywhere inside the repository (a
# self-reference through package.json "exports"), but tslab type-checks each cell with TypeScript's
# classic "node10" module resolution, which knows neither "exports" nor self-references and only looks in
# node_modules folders above the notebook. The link gives it node_modules/xlm-kd-torch/package.json, whose
# "types" is dist/lib/index.d.ts; both routes end at the same real files, so one copy of the package is
# loaded. It lives in examples/node_modules (ignored by git, never touched by npm) rather than the root
# node_modules, which `npm ci` and `npm install` rebuild and prune.
#
# Needs .venv and the npm dependencies (scripts/setup.sh makes both, then calls this). Safe to run again:
# finished steps are skipped quickly. scripts/run-notebook.sh runs a notebook headless.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

step() { printf '\n== %s\n' "$*"; }

[ -x .venv/bin/python ] || { echo "setup-notebook: .venv is missing; run scripts/setup.sh" >&2; exit 1; }
[ -x node_modules/.bin/tslab ] || { echo "setup-notebook: tslab is not installed (npm devDependency); run scripts/setup.sh" >&2; exit 1; }

# Jupyter and IPython create their config, runtime and migration files in the home folder on first use;
# send them to a scratch folder instead.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export JUPYTER_CONFIG_DIR="$scratch/config" JUPYTER_DATA_DIR="$scratch/data" JUPYTER_RUNTIME_DIR="$scratch/runtime" \
  IPYTHONDIR="$scratch/ipython"

step "jupyter, nbconvert and ipykernel in .venv"
if [ -x .venv/bin/jupyter ] && .venv/bin/python -c 'import jupyter_client, nbclient, nbconvert, nbformat, ipykernel' 2>/dev/null; then
  echo "already installed"
else
  # The public index is unreachable here: fail fast on it and use the local wheelhouse pip is set up with.
  .venv/bin/pip install --retries 0 --timeout 15 -q jupyter nbconvert ipykernel
fi
echo "nbconvert $(.venv/bin/jupyter nbconvert --version)"

step "tslab TypeScript kernel for .venv's Jupyter"
# The spec starts this repository's tslab by absolute path: no global install or PATH entry needed.
spec=.venv/share/jupyter/kernels/tslab/kernel.json
tslab="$root/node_modules/.bin/tslab"
if [ -f "$spec" ] && grep -qF "\"$tslab\"" "$spec"; then
  echo "already registered: $spec"
else
  node_modules/.bin/tslab install --python=.venv/bin/python --sys-prefix --binary="$tslab"
fi
.venv/bin/jupyter kernelspec list | grep -E '^ *(tslab|jslab) '

step "examples/node_modules/xlm-kd-torch -> ../.. (the package's name for tslab's type checker)"
link=examples/node_modules/xlm-kd-torch
if [ -L "$link" ] && [ "$(readlink "$link")" = "../.." ]; then
  echo "already linked"
else
  if [ -e "$link" ] || [ -L "$link" ]; then
    echo "setup-notebook: $link exists and is not the link to ../..; remove it and run again" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$link")"
  ln -s ../.. "$link"
  echo "linked $link -> ../.."
fi
echo "notebook setup done"
