/**
 * The seam between TypeScript and the native addon: finds and loads it (a prebuild first, then a local
 * build), and declares the raw binding's types. Nothing else in lib/ loads the addon; the typed wrappers
 * (Tensor, models, loss, optimizer, tokenizer) are the only callers of {@link native}.
 */
import * as fs from 'fs';
import * as path from 'path';

/** An opaque handle to a native tensor. Only the Tensor class holds these. */
export interface NativeTensor {
  readonly __nativeTensor: unique symbol;
}

/** What `version()` reports about the LibTorch the addon runs on. */
export interface RuntimeInfo {
  /** LibTorch version the addon was compiled against, e.g. "2.13.0". */
  libtorch: string;
  /** Whether CUDA is usable right now (a CUDA build, a driver and a device). */
  cuda: boolean;
  /** CUDA runtime version when LibTorch has CUDA, else null. */
  cudaVersion: string | null;
  cudaDevices: number;
  /** Whether the addon was compiled with the CUDA kernels of this package (.cu files). */
  builtWithCuda: boolean;
  /** Intra-op threads LibTorch uses. */
  threads: number;
  interopThreads: number;
  mkl: boolean;
  openmp: boolean;
}

/** Which allocator backs CPU tensors, and what it holds (see README "Memory"). */
export interface AllocatorInfo {
  /** 'mimalloc' (the default) or 'libtorch' (XLM_KD_TORCH_ALLOCATOR=libtorch: LibTorch's own). */
  cpu: 'mimalloc' | 'libtorch';
  /** Bytes mimalloc has committed now, free blocks kept for reuse included (0 with 'libtorch'). */
  committedBytes: number;
  /** The most bytes mimalloc had committed at once (0 with 'libtorch'). */
  peakCommittedBytes: number;
  /** How long freed pages stay mapped for reuse before going back to the OS (null with 'libtorch'). */
  purgeDelayMs: number | null;
  /** Whether mimalloc asks for transparent huge pages on its big OS allocations. */
  transparentHugePages: boolean;
}

type T = NativeTensor;
type Other = T | number | boolean;
type Pair = [T, T];

/** The raw binding. Argument checking happens natively; every failure throws a JS Error. */
export interface NativeBinding {
  fromBytes(data: ArrayBufferView | ArrayBuffer, shape: number[], srcDtype: string, dtype?: string, device?: string): T;
  toBytes(t: T, raw?: boolean): ArrayBuffer;
  zeros(shape: number[], dtype?: string, device?: string): T;
  ones(shape: number[], dtype?: string, device?: string): T;
  full(shape: number[], value: number | boolean, dtype?: string, device?: string): T;
  randn(shape: number[], dtype?: string, device?: string): T;
  rand(shape: number[], dtype?: string, device?: string): T;
  randint(low: number, high: number, shape: number[], dtype?: string, device?: string): T;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): T;
  manualSeed(seed: number): void;
  shape(t: T): number[];
  dtype(t: T): string;
  device(t: T): string;
  describe(t: T): string;
  dispose(t: T): void;
  isDisposed(t: T): boolean;
  memoryStats(): { liveTensors: number; liveBytes: number };
  allocatorInfo(): AllocatorInfo;
  releaseMemory(): void;
  version(): RuntimeInfo;
  cudaDeviceCount(): number;
  setNumThreads(n: number): void;

  neg(t: T): T; exp(t: T): T; log(t: T): T; sqrt(t: T): T; abs(t: T): T;
  relu(t: T): T; sigmoid(t: T): T; tanh(t: T): T; logicalNot(t: T): T;
  add(a: T, b: Other): T; sub(a: T, b: Other): T; mul(a: T, b: Other): T; div(a: T, b: Other): T;
  pow(a: T, b: Other): T; maximum(a: T, b: Other): T; minimum(a: T, b: Other): T;
  eq(a: T, b: Other): T; ne(a: T, b: Other): T; lt(a: T, b: Other): T;
  le(a: T, b: Other): T; gt(a: T, b: Other): T; ge(a: T, b: Other): T;
  matmul(a: T, b: T): T;
  matmulAsync(a: T, b: T): Promise<T>;
  sum(t: T, dim?: number | number[], keepdim?: boolean): T;
  mean(t: T, dim?: number | number[], keepdim?: boolean): T;
  max(t: T): T; max(t: T, dim: number, keepdim?: boolean): Pair;
  min(t: T): T; min(t: T, dim: number, keepdim?: boolean): Pair;
  argmax(t: T, dim?: number, keepdim?: boolean): T;
  softmax(t: T, dim: number): T;
  logSoftmax(t: T, dim: number): T;
  topk(t: T, k: number, dim?: number, largest?: boolean, sorted?: boolean): Pair;
  gather(t: T, dim: number, index: T): T;
  indexSelect(t: T, dim: number, index: T): T;
  maskedFill(t: T, mask: T, value: Other): T;
  where(cond: T, x: Other, y: Other): T;
  sort(t: T, dim?: number, descending?: boolean): Pair;
  cumsum(t: T, dim: number): T;
  multinomial(probs: T, numSamples: number, replacement?: boolean): T;
  indexFill(t: T, dim: number, index: T, value: number | boolean): T;

  view(t: T, shape: number[]): T; reshape(t: T, shape: number[]): T;
  transpose(t: T, d0: number, d1: number): T; permute(t: T, dims: number[]): T;
  contiguous(t: T): T; clone(t: T): T; detach(t: T): T;
  squeeze(t: T, dim?: number): T; unsqueeze(t: T, dim: number): T; expand(t: T, shape: number[]): T;
  narrow(t: T, dim: number, start: number, length: number): T;
  slice(t: T, dim: number, start?: number | null, end?: number | null, step?: number): T;
  cat(ts: T[], dim: number): T; stack(ts: T[], dim: number): T;
  to(t: T, dtype?: string | null, device?: string | null): T;

  requiresGrad(t: T): boolean; setRequiresGrad(t: T, flag: boolean): void;
  backward(t: T, gradient?: T | null, retainGraph?: boolean): void;
  grad(t: T): T | null; zeroGrad(t: T): void;
  setGradEnabled(enabled: boolean): boolean; isGradEnabled(): boolean;

  // ---- loss (native/loss) ----
  /** Fused distillation loss; teacherKind 'logits': a = logits; 'sparse': a = indices, b = logProbs. Returns [loss, kd, ce]. */
  distillLoss(
    student: T, teacherKind: 'logits' | 'sparse', a: T, b: T | null, targets: T | null,
    temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number, reduction: string
  ): [T, T, T];
  /** The same loss as the plain LibTorch composition (log_softmax, kl_div, cross_entropy) with autograd. */
  distillLossReference(
    student: T, teacherKind: 'logits' | 'sparse', a: T, b: T | null, targets: T | null,
    temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number, reduction: string
  ): [T, T, T];
  /** Chunked fused-linear form; teacherKind 'hidden': a = hidden, b = weight, c = bias | null. chunkSize 0 = automatic. */
  distillLossChunked(
    hidden: T, weight: T, bias: T | null, teacherKind: 'logits' | 'sparse' | 'hidden', a: T, b: T | null, c: T | null,
    targets: T | null, temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number,
    reduction: string, chunkSize: number
  ): [T, T, T];
  distillLossDefaultChunkSize(rows: number, vocab: number): number;
  /** The CPU kernel variant in use ('DEFAULT' | 'AVX2' | 'AVX512'); selects one first when given ('auto' too). */
  distillLossKernel(name?: string): string;
  /** CUDA caching-allocator bytes on the current device, or null without CUDA kernels. */
  distillLossCudaMemory(reset?: boolean): { allocated: number; peak: number } | null;
  // ---- end loss ----

  // ---- tokenizer (native/tokenizer) ----
  /** Loads a SentencePiece model file; the handle is opaque (only lib/data/tokenizer.ts holds these). */
  spmLoad(path: string): import('./data/tokenizer').NativeSentencePiece;
  /** Loads a model from its serialized bytes (what spmSerializedModel returns). */
  spmFromBytes(bytes: ArrayBufferView | ArrayBuffer): import('./data/tokenizer').NativeSentencePiece;
  spmEncode(sp: import('./data/tokenizer').NativeSentencePiece, texts: string[]): number[][];
  /** spmEncode off the JS thread. */
  spmEncodeAsync(sp: import('./data/tokenizer').NativeSentencePiece, texts: string[]): Promise<number[][]>;
  spmDecode(sp: import('./data/tokenizer').NativeSentencePiece, ids: number[][]): string[];
  /** The id of `piece`, or the unk id when the model has no such piece. */
  spmPieceToId(sp: import('./data/tokenizer').NativeSentencePiece, piece: string): number;
  spmIdToPiece(sp: import('./data/tokenizer').NativeSentencePiece, id: number): string;
  spmVocabSize(sp: import('./data/tokenizer').NativeSentencePiece): number;
  /** Special ids as the model defines them (-1 when absent). */
  spmSpecialIds(sp: import('./data/tokenizer').NativeSentencePiece): { bos: number; eos: number; pad: number; unk: number };
  spmSerializedModel(sp: import('./data/tokenizer').NativeSentencePiece): Buffer;
  /** Trains off the JS thread with XLM's special ids; resolves to the serialized model. */
  spmTrain(options: import('./data/tokenizer').NativeTrainOptions): Promise<Buffer>;
  // ---- end tokenizer ----
}

const packageRoot = path.resolve(__dirname, '..', '..');
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
