// A first run: which LibTorch the addon found, which device it will use, and one matmul.
'use strict';
const { version, cuda, tensor, randn, manualSeed, loadedAddonPath } = require('..');

const info = version();
const device = cuda.isAvailable() ? 'cuda' : 'cpu';
manualSeed(0);
const a = tensor([[1, 2], [3, 4]], { dtype: 'float32', device });
const product = a.matmul(a);
console.log(`LibTorch ${info.libtorch} (${info.threads} threads, MKL ${info.mkl ? 'on' : 'off'})`);
console.log(`CUDA: ${info.cuda ? `${info.cudaVersion}, ${info.cudaDevices} device(s)` : 'not available'}; using ${device}`);
console.log(`addon: ${loadedAddonPath()}`);
console.log('[[1, 2], [3, 4]] @ itself =', JSON.stringify(product.tolist()));
const big = randn([1024, 1024], { device });
const t0 = process.hrtime.bigint();
big.matmul(big).sum().item();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`1024x1024 matmul: ${ms.toFixed(1)} ms (${((2 * 1024 ** 3) / (ms / 1e3) / 1e9).toFixed(1)} GFLOP/s)`);
