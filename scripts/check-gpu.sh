#!/usr/bin/env bash
# The one GPU check (npm run check:gpu; on a GPU machine without npm: bash scripts/check-gpu.sh). On a machine
# with a GPU and a CUDA PyTorch/LibTorch (../shared/GPU.md): builds the addon against that LibTorch with its CUDA
# kernels, runs the CUDA tests (test/cuda.test.ts) with the precision and device tests, then the GPU benchmark
# (bench/gpu.js), and prints one table. Every part runs even when an earlier one failed, so one run tells
# everything; the exit code is the first failure's. What it needs that such a machine lacks comes from .gpu/
# (node scripts/gpu-bundle.js, run on the development machine) and dist/ (npm run build:ts).
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
status=0
results=()
part() {  # part NAME COMMAND...: runs one part, records its outcome and time
  local name=$1; shift
  local t0; t0=$(date +%s)
  printf '\n== %s\n' "$name"
  if "$@"; then results+=("ok      $(( $(date +%s) - t0 )) s  $name"); else
    local rc=$?; results+=("FAILED  $(( $(date +%s) - t0 )) s  $name (exit $rc)"); [ "$status" -eq 0 ] && status=$rc; fi
}

if ! command -v node >/dev/null 2>&1; then
  mkdir -p /tmp/xkt-bin && xz -dc .gpu/node.xz > /tmp/xkt-bin/node && chmod +x /tmp/xkt-bin/node && export PATH=/tmp/xkt-bin:$PATH
fi
if [ ! -f /usr/include/sentencepiece_processor.h ] && [ ! -f /usr/local/include/sentencepiece_processor.h ] && [ -d .gpu/spm ]; then
  cp -a .gpu/spm/lib/* /usr/local/lib/ && cp .gpu/spm/include/* /usr/local/include/ && ldconfig
fi
[ -d node_modules ] || { [ -d .gpu/node_modules ] && ln -s .gpu/node_modules node_modules; }
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

build() {
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" \
    -DCMAKE_CUDA_COMPILER="${CUDACXX:-/usr/local/cuda/bin/nvcc}" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/build-cuda/Release" >/dev/null &&
    cmake --build build-cuda -j "$(nproc)"
}
part "build the addon against the CUDA LibTorch" build
export XLM_KD_TORCH_ADDON=$PWD/build-cuda/Release/xlm_kd_torch.node
part "the addon loads and sees CUDA" node -e "const x=require('./dist/lib'); const v=x.version(); console.log(v); if(!v.cuda||!v.builtWithCuda) process.exit(1)"
part "CUDA, precision and device tests" node node_modules/ava/entrypoints/cli.mjs test/cuda.test.ts test/precision.test.ts test/device.test.ts test/loss.test.ts --timeout 10m
part "bench:gpu" node bench/gpu.js

printf '\n== check:gpu: %d s in all\n' $(( $(date +%s) - start ))
printf '%s\n' "${results[@]}"
[ -f BENCHMARKS.md ] && sed -n '/<!-- bench:gpu:start -->/,/<!-- bench:gpu:end -->/p' BENCHMARKS.md
exit "$status"
