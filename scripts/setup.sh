#!/usr/bin/env bash
# One-step setup on a fresh Debian 12 machine: system packages, the project virtualenv with PyTorch (our
# LibTorch and the PyTorch reference), npm dependencies, the native addon (built once: the node-gyp
# prebuild that installs load; `npm run build:native` is the incremental cmake-js build for development
# and CUDA), Jupyter with the tslab kernel, and the TypeScript build. Safe to run again: finished steps
# are skipped quickly. Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$(date +%s); last=$t0
step() {
  local now; now=$(date +%s)
  [ "$last" != "$t0" ] && printf '   (%d s)\n' $((now - last))
  last=$now
  printf '\n== %s\n' "$*"
}

step "system packages"
need=()
for tool in cmake g++ make python3; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# The tokenizer links Debian's SentencePiece (native/tokenizer).
[ -f /usr/include/sentencepiece_processor.h ] || need+=(libsentencepiece-dev)
# The translation service's page is tested in a real browser (test/serve-browser.test.ts).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  pkgs=()
  for t in "${need[@]}"; do case "$t" in g++) pkgs+=(g++);; *) pkgs+=("$t");; esac; done
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}"
else
  echo "cmake, g++, make, python3 (with venv), libsentencepiece-dev and chromium are present"
fi

step "python virtualenv (.venv) with torch"
if ! .venv/bin/python -c 'import torch, safetensors, sacrebleu, sentencepiece, numpy' 2>/dev/null; then
  python3 -m venv .venv
  # The public index is unreachable here: fail fast on it and use the local wheelhouse pip is set up with.
  .venv/bin/pip install --retries 0 --timeout 15 -q torch numpy safetensors sacrebleu sentencepiece
fi
.venv/bin/python -c 'import torch; print("torch", torch.__version__)'

step "npm dependencies"
# --ignore-scripts: our own install script (node-gyp-build) would compile the addon here, before LibTorch
# is described and with node-gyp's defaults; the build below is the one build. No dependency needs its
# install script (tslab's zeromq ships prebuilt binaries that load without it).
if [ -f package-lock.json ]; then npm ci --ignore-scripts --no-audit --no-fund; else npm install --ignore-scripts --no-audit --no-fund; fi

step "native addon (prebuildify + node-gyp: the one build)"
node scripts/libtorch.js describe
if node scripts/prebuild.js --check-fresh; then
  echo "prebuilds/ is newer than every native source: not rebuilt"
else
  npm run prebuild
fi

step "Jupyter and the tslab kernel (for examples/quickstart.ipynb)"
./scripts/setup-notebook.sh

step "TypeScript"
npm run build:ts
step "done"
echo "setup took $(( $(date +%s) - t0 )) s"
