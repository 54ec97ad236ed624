/**
 * Finds and loads the addon (a prebuild first, then a local build) and tunes the process for it first.
 * LibTorch is found at run time (scripts/libtorch.js: LIBTORCH, Torch_DIR, .venv, the python3 on PATH, usual
 * places), checked against what the addon was built with (`<addon>.libtorch.json` beside it), and its
 * libraries loaded globally before the addon, whose DT_NEEDED entries then resolve to them by name: no
 * path of the build machine is in the binary. Nothing else in lib/ loads the addon; the typed wrappers
 * (Tensor, models, loss, optimizer, tokenizer) are the only callers of {@link native}.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CudaBinding } from './cuda';
import type { DistributedBinding } from './distributed';
import type { InferenceBinding } from './inference';
import type { IoBinding } from './io';
import type { LossBinding } from './loss';
import type { MemoryBinding } from './memory';
import type { ModulesBinding } from './modules';
import type { OptimBinding } from './optim';
import type { TensorBinding } from './tensor';
import type { TokenizerBinding } from './tokenizer';

/** The whole raw binding: one part per folder of native/. */
export type NativeBinding = TensorBinding &
  MemoryBinding &
  ModulesBinding &
  LossBinding &
  OptimBinding &
  TokenizerBinding &
  DistributedBinding &
  InferenceBinding &
  CudaBinding &
  IoBinding;

const packageRoot = path.resolve(__dirname, '..', '..', '..');
const addonName = 'xlm_kd_torch.node';
let cached: NativeBinding | undefined;
let loadedFrom: string | undefined;

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
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a prebuilds/ folder is there
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

/** What scripts/libtorch.js tells about a LibTorch and what an addon records it was built with. */
export interface LibtorchRecord {
  version: string;
  flavour: 'cpu' | 'cuda';
  cxx11abi?: string;
}
/** A LibTorch found at run time, or why none was. */
export type LibtorchLocation = ({ root: string; from: string } & LibtorchRecord) | { error: string; tried: string[]; howToProvide: string };

interface LibtorchFinder {
  HOW_TO_PROVIDE: string;
  locateLibtorch(): { root: string; from: string } | { error: string; tried: string[] };
  buildRecord(root: string): LibtorchRecord;
}

/** Finds LibTorch the way the builds do (scripts/libtorch.js ships with the package). */
export function locateLibtorch(): LibtorchLocation {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script found at run time, not a module of this package
  const finder = require(path.join(packageRoot, 'scripts', 'libtorch.js')) as LibtorchFinder;
  const found = finder.locateLibtorch();
  if ('error' in found) return { ...found, howToProvide: finder.HOW_TO_PROVIDE };
  return { ...found, ...finder.buildRecord(found.root) };
}

/** What an addon file was built against (`<addon>.libtorch.json` beside it), if it says. */
export function addonRecord(file: string): LibtorchRecord | undefined {
  const record = file.replace(/\.node$/, '.libtorch.json');
  try {
    return JSON.parse(fs.readFileSync(record, 'utf8')) as LibtorchRecord;
  } catch {
    return undefined;
  }
}

const describeRecord = (r: LibtorchRecord) => `LibTorch ${r.version} (${r.flavour === 'cuda' ? 'CUDA' : 'CPU'})`;

// dlopen flags: resolve now, share the symbols with what loads next (the addon), and never unload, since
// process.dlopen() closes a library that is not a Node module again.
const RTLD_NODELETE = 0x1000;
let preloadedRoot: string | undefined;

function dlopenGlobal(lib: string): void {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  try {
    process.dlopen({ exports: {} }, lib, flags);
  } catch (err) {
    // Loaded, but not a Node module: expected. Anything else (a missing file or dependency) is the real error.
    if (!/did not self-register/.test((err as Error).message)) throw err;
  }
}

/**
 * Loads the addon's libraries globally, in the order its DT_NEEDED entries list them, so they resolve by
 * name. SentencePiece goes first, as in the link line: it and libc10 both define glog/gflags symbols
 * (FLAGS_minloglevel, ...), and both must bind to SentencePiece's copies, as they do when the addon's own
 * dependency order decides (native/tokenizer checks this at run time).
 */
function preloadLibtorch(lt: { root: string; flavour: string }): void {
  if (preloadedRoot === lt.root) return;
  for (const name of ['libsentencepiece.so.0', 'libsentencepiece_train.so.0']) {
    try {
      dlopenGlobal(name);
    } catch (err) {
      throw new Error(
        `${name} cannot be loaded (${(err as Error).message.split('\n')[0]}): install SentencePiece's runtime (Debian/Ubuntu: apt-get install libsentencepiece0)`,
        { cause: err }
      );
    }
  }
  const names = ['libc10.so', 'libtorch_cpu.so', ...(lt.flavour === 'cuda' ? ['libc10_cuda.so', 'libtorch_cuda.so'] : []), 'libtorch.so'];
  for (const name of names) {
    const lib = path.join(lt.root, 'lib', name);
    if (!fs.existsSync(lib)) throw new Error(`${lib} is missing: the LibTorch at ${lt.root} is incomplete`);
    dlopenGlobal(lib);
  }
  preloadedRoot = lt.root;
}

/**
 * libgomp (LibTorch's OpenMP) reads its wait policy once, when the addon loads it. By default its helper
 * threads spin only 100 rounds between parallel regions once there are more OpenMP threads than CPUs — always
 * the case here, where the JS thread and the compute thread of the async calls each have a team — so every op
 * of a decoding step paid a futex wake-up (bench/decode.js shows the difference). ACTIVE
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
 * use transparent huge pages. Page faults, not arithmetic, bound big transient tensors on small VMs (bench/memory.js
 * measures it, BENCHMARKS.md "memory"). Our default allocator (mimalloc, see
 * native/memory) asks for huge pages itself; this covers XLM_KD_TORCH_ALLOCATOR=libtorch and any LibTorch
 * code that uses its default allocator directly. Left alone when the user set it.
 */
function tuneAllocator(): void {
  if (process.env.THP_MEM_ALLOC_ENABLE === undefined) process.env.THP_MEM_ALLOC_ENABLE = '1';
}

const rebuildHint =
  'Rebuild the addon against the LibTorch you have: in an installed package `npm rebuild xlm-kd-torch` (needs a C++ ' +
  'compiler, make, python3 and libsentencepiece-dev), in a checkout `npm run prebuild` or `npm run build:native`';

/** The loaded addon (loaded on first use). Throws one explanatory error when it cannot be loaded. */
export function native(): NativeBinding {
  if (cached) return cached;
  tuneOpenMp();
  tuneAllocator();
  const lt = locateLibtorch();
  if ('error' in lt) {
    throw new Error(
      `Could not load the xlm-kd-torch native addon: ${lt.error} (tried: ${lt.tried.join('; ')}).\n${lt.howToProvide}\nRun \`npx xlm-kd doctor\` for a full report.`
    );
  }
  const tried: string[] = [];
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`  - ${file}: not found`);
      continue;
    }
    const built = addonRecord(file);
    if (built && (built.version !== lt.version || built.flavour !== lt.flavour)) {
      tried.push(`  - ${file}: built against ${describeRecord(built)}, but found ${describeRecord(lt)} at ${lt.root} (from ${lt.from})`);
      continue;
    }
    try {
      preloadLibtorch(lt);
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon: a path found at run time
      cached = require(file) as NativeBinding;
      loadedFrom = file;
      return cached;
    } catch (err) {
      tried.push(`  - ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (tried.length === 0) tried.push('  - (no prebuild in prebuilds/ and no build/Release)');
  throw new Error(
    'Could not load the xlm-kd-torch native addon.\n' +
      `Tried:\n${tried.join('\n')}\n` +
      `LibTorch found: ${describeRecord(lt)} at ${lt.root} (from ${lt.from})\n` +
      'Possible solutions:\n' +
      `  - ${rebuildHint}\n` +
      '  - Or make the LibTorch the addon was built against findable: LIBTORCH=/path/to/libtorch, Torch_DIR=...,\n' +
      '    a .venv or the python3 on PATH with that PyTorch version\n' +
      '  - Point XLM_KD_TORCH_ADDON at a specific .node file; `npx xlm-kd doctor` reports what is found'
  );
}

/** Where the loaded addon came from (loads it first if needed; undefined when it cannot be loaded). */
export function loadedAddonPath(): string | undefined {
  if (!cached) {
    try {
      native();
    } catch {
      return undefined;
    }
  }
  return loadedFrom;
}
