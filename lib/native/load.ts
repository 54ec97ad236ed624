/**
 * Finds and loads the addon (a prebuild first, then a local build) and tunes the process for it first.
 * Nothing else in lib/ loads the addon; the typed wrappers (Tensor, models, loss, optimizer, tokenizer)
 * are the only callers of {@link native}.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LossBinding } from './loss';
import { MemoryBinding } from './memory';
import { ModulesBinding } from './modules';
import { OptimBinding } from './optim';
import { TensorBinding } from './tensor';
import { TokenizerBinding } from './tokenizer';

/** The whole raw binding: one part per folder of native/. */
export type NativeBinding = TensorBinding & MemoryBinding & ModulesBinding & LossBinding & OptimBinding & TokenizerBinding;

const packageRoot = path.resolve(__dirname, '..', '..', '..');
const addonName = 'xlm_kd_torch.node';
let cached: NativeBinding | undefined;

interface PrebuildTags {
  file: string;
}
interface PrebuildTuple {
  name: string;
}
/** The parts of node-gyp-build we use: its prebuild naming rules (platform-arch folders, napi/abi tags). */
interface NodeGypBuild {
  parseTuple(name: string): PrebuildTuple | undefined;
  matchTuple(platform: string, arch: string): (t: PrebuildTuple | undefined) => boolean;
  compareTuples(a: PrebuildTuple, b: PrebuildTuple): number;
  parseTags(file: string): PrebuildTags | undefined;
  matchTags(runtime: string, abi: string): (t: PrebuildTags | undefined) => boolean;
  compareTags(runtime: string): (a: PrebuildTags, b: PrebuildTags) => number;
}

// The prebuild node-gyp-build would pick for this platform, arch, runtime and ABI. We choose the order of
// prebuild vs local build ourselves, because node-gyp-build always prefers build/Release.
function prebuildCandidate(): string | undefined {
  const dir = path.join(packageRoot, 'prebuilds');
  if (!fs.existsSync(dir)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const tuple = fs
    .readdirSync(dir)
    .map((n) => ngb.parseTuple(n))
    .filter(ngb.matchTuple(process.platform, process.arch))
    .sort((a, b) => ngb.compareTuples(a!, b!))[0];
  if (!tuple) return undefined;
  const folder = path.join(dir, tuple.name);
  const winner = fs
    .readdirSync(folder)
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags('node', process.versions.modules))
    .sort((a, b) => ngb.compareTags('node')(a!, b!))[0];
  return winner ? path.join(folder, winner.file) : undefined;
}

/**
 * Addon files to try, in order: $XLM_KD_TORCH_ADDON, then the prebuild, then build/Release. A local build
 * that is newer than the prebuild goes first, so a developer's rebuild is never shadowed by a stale prebuild.
 */
export function addonCandidates(): string[] {
  if (process.env.XLM_KD_TORCH_ADDON) return [path.resolve(process.env.XLM_KD_TORCH_ADDON)];
  const prebuild = prebuildCandidate();
  const local = path.join(packageRoot, 'build', 'Release', addonName);
  const mtime = (p: string) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : -1);
  const order = prebuild && mtime(local) > mtime(prebuild) ? [local, prebuild] : [prebuild, local];
  return order.filter((p): p is string => p !== undefined);
}

function expectedLibtorch(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const finder = require(path.join(packageRoot, 'scripts', 'libtorch.js')) as {
      findLibtorch(): { root: string; from: string };
      readVersion(root: string): string;
    };
    const { root, from } = finder.findLibtorch();
    return `LibTorch ${finder.readVersion(root)} at ${root} (from ${from})`;
  } catch (err) {
    return `no LibTorch found: ${(err as Error).message.split('\n')[0]}`;
  }
}

/**
 * libgomp (LibTorch's OpenMP) reads its wait policy once, when the addon loads it. By default its helper
 * threads spin only 100 rounds between parallel regions once there are more OpenMP threads than CPUs — always
 * the case here, where the JS thread and the compute thread of the async calls each have a team — so every op
 * of a decoding step paid a futex wake-up (measured: greedy decoding of 500 sentences with bench/decode.js's teacher 6.7 s -> 3.6-4.4 s). ACTIVE
 * raises that to 1000 rounds; GOMP_SPINCOUNT keeps libgomp's usual limit of 300000 rounds (~3 ms) otherwise,
 * so idle helpers still go to sleep. Left alone when the user set either variable.
 */
function tuneOpenMp(): void {
  if (process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined) return;
  process.env.OMP_WAIT_POLICY = 'ACTIVE';
  process.env.GOMP_SPINCOUNT = '300000';
}

/**
 * LibTorch reads THP_MEM_ALLOC_ENABLE once: with it, blocks of 2 MB and more are 2 MB-aligned and asked to
 * use transparent huge pages. Page faults, not arithmetic, bound big transient tensors on small VMs (the KD
 * loss composition at 2048 x 32000: 8.2 s without, 0.48 s with). Our default allocator (mimalloc, see
 * native/memory) asks for huge pages itself; this covers XLM_KD_TORCH_ALLOCATOR=libtorch and any LibTorch
 * code that uses its default allocator directly. Left alone when the user set it.
 */
function tuneAllocator(): void {
  if (process.env.THP_MEM_ALLOC_ENABLE === undefined) process.env.THP_MEM_ALLOC_ENABLE = '1';
}

/** The loaded addon (loaded on first use). Throws one explanatory error when it cannot be loaded. */
export function native(): NativeBinding {
  if (cached) return cached;
  tuneOpenMp();
  tuneAllocator();
  const tried: string[] = [];
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`  - ${file}: not found`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(file) as NativeBinding;
      return cached;
    } catch (err) {
      tried.push(`  - ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (tried.length === 0) tried.push('  - (no prebuild in prebuilds/ and no build/Release)');
  throw new Error(
    'Could not load the xlm-kd-torch native addon.\n' +
      `Tried:\n${tried.join('\n')}\n` +
      `Expected: ${expectedLibtorch()}\n` +
      'Possible solutions:\n' +
      '  - Build it: npm run build:native (cmake-js) or npm run prebuild (node-gyp + prebuildify)\n' +
      '  - Make LibTorch >= 2.1 findable: set LIBTORCH=/path/to/libtorch or Torch_DIR=.../share/cmake/Torch,\n' +
      '    or create .venv with PyTorch (python3 -m venv .venv && .venv/bin/pip install torch), then rebuild\n' +
      '  - If LibTorch moved since the build, rebuild: the addon finds it through an rpath set at build time\n' +
      '  - Point XLM_KD_TORCH_ADDON at a specific .node file'
  );
}

/** Where the loaded addon came from (for diagnostics). */
export function loadedAddonPath(): string | undefined {
  if (!cached) return undefined;
  return addonCandidates().find((f) => require.cache[f] !== undefined);
}
