// Tests for lib/io: safetensors round trips, interop with the reference Python
// `safetensors` package (both directions), rejection of malformed files, and
// the atomic writer's guarantees.

import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  dtypeByteSize,
  parseSafetensors,
  readSafetensors,
  readSafetensorsMetadata,
  readSafetensorsSync,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
  writeFileAtomic,
  writeFileAtomicSync,
  SafetensorsError,
  SAFETENSORS_DTYPES,
} from '../lib/io';
import type { RawTensor, SafetensorsDtype } from '../lib/io';

// ---------------------------------------------------------------------------
// Helpers

// Compiled to dist/test/, so the repo root is two levels up.
const ROOT = path.resolve(__dirname, '..', '..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');

function pythonStatus(): { ok: boolean; reason: string } {
  if (!fs.existsSync(PY)) return { ok: false, reason: `${PY} not found` };
  const r = spawnSync(PY, ['-c', 'import safetensors, torch, numpy'], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `python lacks safetensors/torch/numpy: ${(r.stderr || String(r.error)).trim().split('\n').pop()}` };
  return { ok: true, reason: '' };
}
const py = pythonStatus();
if (!py.ok) console.warn(`[safetensors.test] interop tests skipped: ${py.reason}`);
const pyTest = py.ok ? test : test.skip;
const pyTitle = (title: string): string => (py.ok ? title : `${title} (skipped: ${py.reason})`);

function runPython(script: string, ...args: string[]): unknown {
  const r = spawnSync(PY, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlm-kd-st-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic pseudo-random bytes (LCG), so failures are reproducible. */
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function raw(dtype: SafetensorsDtype, shape: number[], seed = 1): RawTensor {
  return { dtype, shape, data: bytes(numel(shape) * dtypeByteSize(dtype), seed) };
}

function u8(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Aligned copy so typed-array views over file bytes are always legal. */
function ab(data: Uint8Array): ArrayBuffer {
  return new Uint8Array(data).buffer;
}

function hex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** A safetensors-shaped buffer with a hand-written header and data block. */
function fileWith(header: string | Uint8Array, data: Uint8Array | number = 0, lengthOverride?: bigint): Uint8Array {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(h.length));
  return Buffer.concat([prefix, h, d]);
}

function headerOf(buf: Uint8Array): { len: number; text: string } {
  const len = Number(Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0));
  return { len, text: Buffer.from(buf.buffer, buf.byteOffset + 8, len).toString('utf8') };
}

const SHAPES: number[][] = [[2, 3], [], [0], [3, 0, 2], [5]];

// ---------------------------------------------------------------------------
// Round trips and layout

test('dtypeByteSize covers every dtype and rejects unknown ones', (t) => {
  const expected: Record<SafetensorsDtype, number> = {
    F64: 8,
    F32: 4,
    F16: 2,
    BF16: 2,
    I64: 8,
    I32: 4,
    I16: 2,
    I8: 1,
    U8: 1,
    BOOL: 1,
    U64: 8,
    U32: 4,
    U16: 2,
    F8_E4M3: 1,
    F8_E5M2: 1,
  };
  t.deepEqual([...SAFETENSORS_DTYPES].sort(), Object.keys(expected).sort());
  for (const d of SAFETENSORS_DTYPES) t.is(dtypeByteSize(d), expected[d], d);
  t.throws(() => dtypeByteSize('F4' as SafetensorsDtype), { message: /^safetensors: unknown dtype "F4"/ });
});

test('round trip of every dtype, incl. 0-d and empty tensors, with metadata', (t) => {
  const tensors = new Map<string, RawTensor>();
  let seed = 1;
  for (const dtype of SAFETENSORS_DTYPES) {
    for (const shape of SHAPES) tensors.set(`${dtype}.${shape.join('x') || 'scalar'}`, raw(dtype, shape, seed++));
  }
  const metadata = { format: 'pt', ünïcode: '✓ 𝄞 "quoted" \\ \n', '10': 'integer-like key', empty: '' };
  const buf = serializeSafetensors(tensors, metadata);
  const file = parseSafetensors(buf);
  t.deepEqual([...file.tensors.keys()], [...tensors.keys()]);
  t.deepEqual(file.metadata, metadata);
  for (const [name, want] of tensors) {
    const got = file.tensors.get(name);
    if (got === undefined) return t.fail(`missing ${name}`);
    t.is(got.dtype, want.dtype, name);
    t.deepEqual(got.shape, want.shape, name);
    t.is(hex(got.data), hex(want.data), name);
  }
  // A record works too, and no metadata reads back as {}.
  const again = parseSafetensors(serializeSafetensors({ x: raw('F32', [2]) }));
  t.deepEqual(again.metadata, {});
  t.deepEqual([...again.tensors.keys()], ['x']);
  // No tensors at all is a valid (header-only) file.
  const none = parseSafetensors(serializeSafetensors(new Map(), { a: 'b' }));
  t.is(none.tensors.size, 0);
  t.deepEqual(none.metadata, { a: 'b' });
});

test('round trip through files, sync and async', async (t) => {
  const dir = tmpDir(t);
  const tensors = { w: raw('BF16', [4, 3]), b: raw('F32', [3]), s: raw('I64', []) };
  const p1 = path.join(dir, 'a.safetensors');
  const p2 = path.join(dir, 'b.safetensors');
  await writeSafetensors(p1, tensors, { k: 'v' });
  writeSafetensorsSync(p2, tensors, { k: 'v' });
  t.is(hex(fs.readFileSync(p1)), hex(serializeSafetensors(tensors, { k: 'v' })));
  t.is(hex(fs.readFileSync(p2)), hex(fs.readFileSync(p1)));
  for (const f of [await readSafetensors(p1), readSafetensorsSync(p2)]) {
    t.deepEqual([...f.tensors.keys()], ['w', 'b', 's']);
    t.deepEqual(f.metadata, { k: 'v' });
    for (const [k, v] of Object.entries(tensors)) t.is(hex(f.tensors.get(k)!.data), hex(v.data));
  }
});

test('parse is zero-copy: tensor data are views of the input buffer', (t) => {
  const buf = serializeSafetensors({ a: raw('F32', [4]), b: raw('U8', [3]) });
  const file = parseSafetensors(buf);
  const a = file.tensors.get('a')!;
  t.is(a.data.buffer, buf.buffer);
  t.is(Object.getPrototypeOf(a.data), Uint8Array.prototype, 'plain Uint8Array, not a Buffer');
  const { len } = headerOf(buf);
  t.is(a.data.byteOffset, buf.byteOffset + 8 + len);
  buf[8 + len] ^= 0xff;
  t.is(a.data[0], buf[8 + len]);
});

test('header is space-padded so the data block starts 8-byte aligned', (t) => {
  for (let n = 1; n <= 24; n++) {
    const name = 'n'.repeat(n);
    for (const meta of [undefined, { m: 'x'.repeat(n) }]) {
      const buf = serializeSafetensors({ [name]: raw('F64', [n % 3]) }, meta);
      const { len, text } = headerOf(buf);
      t.is((8 + len) % 8, 0, `name length ${n}`);
      t.true(len - text.trimEnd().length < 8);
      t.regex(text, /^\{.*\} *$/s);
      t.is(buf.length, 8 + len + (n % 3) * 8);
    }
  }
});

test('header lists __metadata__ first, then tensors in insertion order with contiguous offsets', (t) => {
  // Integer-like names are the case where JS object key order would differ.
  const tensors = new Map<string, RawTensor>([
    ['b', raw('F16', [3])],
    ['10', raw('F32', [2, 2])],
    ['a', raw('I8', [])],
    ['2', raw('F64', [0])],
    ['z', raw('BOOL', [5])],
  ]);
  const buf = serializeSafetensors(tensors, { '5': 'x', k: 'y' });
  const { text } = headerOf(buf);
  t.true(text.startsWith('{"__metadata__":{'));
  const names: string[] = [];
  const re = /"([^"]+)":\{"dtype":"(\w+)","shape":\[([\d,]*)\],"data_offsets":\[(\d+),(\d+)\]\}/g;
  let cursor = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    names.push(m[1]);
    t.is(Number(m[4]), cursor, `begin of ${m[1]}`);
    cursor = Number(m[5]);
  }
  t.deepEqual(names, ['b', '10', 'a', '2', 'z']);
  t.deepEqual([...parseSafetensors(buf).tensors.keys()], names);
});

test('parse preserves header order even for integer-like names', (t) => {
  const header =
    JSON.stringify({ b: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }).slice(0, -1) +
    ',"10":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a{\\"}":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}';
  const file = parseSafetensors(fileWith(header, Uint8Array.of(7, 9)));
  t.deepEqual([...file.tensors.keys()], ['b', '10', 'a{"}']);
  t.deepEqual([...file.tensors.get('10')!.data], [7]);
  t.deepEqual([...file.tensors.get('b')!.data], [9]);
});

// ---------------------------------------------------------------------------
// Interop with the reference implementation

const PY_WRITE = String.raw`
import sys, json, torch, numpy as np
from safetensors.torch import save_file
from safetensors.numpy import save_file as np_save_file
out = sys.argv[1]
g = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) / 8 - 1
small = torch.tensor([1.0, -2.0, 0.5, 0.0, 448.0 / 4])
ts = {
    'f64': g.clone(), 'f32': g.float(), 'f16': g.half(), 'bf16': g.bfloat16(),
    'i64': torch.tensor([-(2**62), -1, 0, 123456789012345], dtype=torch.int64),
    'i32': torch.arange(-6, 6, dtype=torch.int32).reshape(3, 4) * 100000,
    'i16': torch.arange(-3, 3, dtype=torch.int16) * 1000,
    'i8': torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
    'u8': torch.tensor([0, 1, 254, 255], dtype=torch.uint8),
    'bool': torch.tensor([True, False, True]),
    'u16': torch.tensor([0, 65535, 1234], dtype=torch.uint16),
    'u32': torch.tensor([0, 4294967295, 7], dtype=torch.uint32),
    'u64': torch.tensor([0, 2**63 + 5, 9], dtype=torch.uint64),
    'f8_e4m3': small.to(torch.float8_e4m3fn), 'f8_e5m2': small.to(torch.float8_e5m2),
    'scalar': torch.tensor(3.5), 'empty': torch.zeros(2, 0, 3), '10': torch.ones(1),
}
save_file(ts, out + '/pt.safetensors', metadata={'format': 'pt', 'note': 'héllo ✓'})
np_save_file({'np_f32': np.arange(6, dtype=np.float32).reshape(2, 3) * 0.25, 'np_i16': np.array([-5, 5], dtype=np.int16)},
             out + '/np.safetensors', metadata={'src': 'numpy'})
raw = open(out + '/pt.safetensors', 'rb').read()
n = int.from_bytes(raw[:8], 'little')
order = [k for k in json.loads(raw[8:8 + n]) if k != '__metadata__']
report = {}
for k, t in ts.items():
    flat = t.reshape(-1)
    report[k] = {'dtype': str(t.dtype), 'shape': list(t.shape), 'hex': flat.view(torch.uint8).numpy().tobytes().hex()}
print(json.dumps({'order': order, 'tensors': report}))
`;

const PY_READ = String.raw`
import sys, json, torch
from safetensors.torch import load_file
from safetensors import safe_open
p = sys.argv[1]
ts = load_file(p)
with safe_open(p, 'pt') as f:
    meta = f.metadata()
raw = open(p, 'rb').read()
n = int.from_bytes(raw[:8], 'little')
out = {'metadata': meta, 'headerLen': n, 'order': [k for k in json.loads(raw[8:8 + n]) if k != '__metadata__'], 'tensors': {}}
for k, t in ts.items():
    flat = t.reshape(-1)
    vals = flat.double().tolist() if t.is_floating_point() else [str(int(v)) for v in flat.tolist()]
    out['tensors'][k] = {'dtype': str(t.dtype), 'shape': list(t.shape), 'hex': flat.view(torch.uint8).numpy().tobytes().hex(), 'values': vals}
print(json.dumps(out))
`;

const PY_VALIDATE = String.raw`
import sys, json
from safetensors import deserialize
res = {}
for p in sys.argv[1:]:
    try:
        deserialize(open(p, 'rb').read())
        res[p] = 'ok'
    except Exception as e:
        res[p] = 'error: ' + str(e)
print(json.dumps(res))
`;

interface PyTensorReport {
  dtype: string;
  shape: number[];
  hex: string;
  values?: (number | string)[];
}

const SAFETENSORS_FOR_TORCH: Record<string, SafetensorsDtype> = {
  'torch.float64': 'F64',
  'torch.float32': 'F32',
  'torch.float16': 'F16',
  'torch.bfloat16': 'BF16',
  'torch.int64': 'I64',
  'torch.int32': 'I32',
  'torch.int16': 'I16',
  'torch.int8': 'I8',
  'torch.uint8': 'U8',
  'torch.bool': 'BOOL',
  'torch.uint16': 'U16',
  'torch.uint32': 'U32',
  'torch.uint64': 'U64',
  'torch.float8_e4m3fn': 'F8_E4M3',
  'torch.float8_e5m2': 'F8_E5M2',
};

pyTest(pyTitle('files written by Python safetensors are read with the right bytes and values'), async (t) => {
  const dir = tmpDir(t);
  const report = runPython(PY_WRITE, dir) as { order: string[]; tensors: Record<string, PyTensorReport> };
  const file = await readSafetensors(path.join(dir, 'pt.safetensors'));
  t.deepEqual(file.metadata, { format: 'pt', note: 'héllo ✓' });
  t.deepEqual([...file.tensors.keys()], report.order, 'header order is preserved');
  t.is(file.tensors.size, Object.keys(report.tensors).length);
  for (const [name, want] of Object.entries(report.tensors)) {
    const got = file.tensors.get(name);
    if (got === undefined) return t.fail(`missing ${name}`);
    t.is(got.dtype, SAFETENSORS_FOR_TORCH[want.dtype], name);
    t.deepEqual(got.shape, want.shape, name);
    t.is(hex(got.data), want.hex, name);
  }
  const g = Array.from({ length: 24 }, (_, i) => i / 8 - 1);
  const get = (n: string): Uint8Array => file.tensors.get(n)!.data;
  t.deepEqual([...new Float64Array(ab(get('f64')))], g);
  t.deepEqual([...new Float32Array(ab(get('f32')))], g);
  t.deepEqual([...new BigInt64Array(ab(get('i64')))], [-(2n ** 62n), -1n, 0n, 123456789012345n]);
  t.deepEqual(
    [...new Int32Array(ab(get('i32')))],
    Array.from({ length: 12 }, (_, i) => (i - 6) * 100000)
  );
  t.deepEqual([...new Int8Array(ab(get('i8')))], [-128, -1, 0, 127]);
  t.deepEqual([...get('bool')], [1, 0, 1]);
  t.deepEqual([...new BigUint64Array(ab(get('u64')))], [0n, 2n ** 63n + 5n, 9n]);
  // bf16 is the top half of the f32 bit pattern; these values are exact.
  const bf = new Uint16Array(ab(get('bf16')));
  const asF32 = new Float32Array(Uint32Array.from(bf, (h) => h << 16).buffer);
  t.deepEqual([...asF32], g);
  t.deepEqual([...new Float32Array(ab(get('scalar')))], [3.5]);
  t.deepEqual(file.tensors.get('empty')!.shape, [2, 0, 3]);
  t.is(get('empty').length, 0);
  t.deepEqual([...get('f8_e4m3').subarray(0, 3)], [0x38, 0xc0, 0x30]); // 1.0, -2.0, 0.5

  const np = readSafetensorsSync(path.join(dir, 'np.safetensors'));
  t.deepEqual(np.metadata, { src: 'numpy' });
  t.deepEqual(np.tensors.get('np_f32')!.shape, [2, 3]);
  t.deepEqual([...new Float32Array(ab(np.tensors.get('np_f32')!.data))], [0, 0.25, 0.5, 0.75, 1, 1.25]);
  t.deepEqual([...new Int16Array(ab(np.tensors.get('np_i16')!.data))], [-5, 5]);
});

pyTest(pyTitle('files written here are read by Python safetensors with the same values and metadata'), async (t) => {
  const dir = tmpDir(t);
  const f32 = Float32Array.of(1.5, -2.25, 0, 3e-3, 65504, -1e30);
  const f64 = Float64Array.of(Math.PI, -0, 1e-300, 2 ** 60);
  const tensors = new Map<string, RawTensor>([
    // Deliberately not sorted by name or dtype size.
    ['z.f16', { dtype: 'F16', shape: [3], data: u8(Uint16Array.of(0x3c00, 0xc000, 0x3800)) }],
    ['10', { dtype: 'F32', shape: [2, 3], data: u8(f32) }],
    ['a.f64', { dtype: 'F64', shape: [2, 2], data: u8(f64) }],
    ['bf16', { dtype: 'BF16', shape: [2], data: u8(Uint16Array.of(0x3f80, 0xc000)) }],
    ['i64', { dtype: 'I64', shape: [3], data: u8(BigInt64Array.of(-(2n ** 63n), 42n, 2n ** 62n + 1n)) }],
    ['i32', { dtype: 'I32', shape: [2], data: u8(Int32Array.of(-2147483648, 7)) }],
    ['i16', { dtype: 'I16', shape: [2], data: u8(Int16Array.of(-32768, 32767)) }],
    ['i8', { dtype: 'I8', shape: [2], data: u8(Int8Array.of(-128, 127)) }],
    ['u8', { dtype: 'U8', shape: [3], data: Uint8Array.of(0, 128, 255) }],
    ['bool', { dtype: 'BOOL', shape: [2, 2], data: Uint8Array.of(1, 0, 0, 1) }],
    ['u16', { dtype: 'U16', shape: [2], data: u8(Uint16Array.of(65535, 1)) }],
    ['u32', { dtype: 'U32', shape: [2], data: u8(Uint32Array.of(4294967295, 2)) }],
    ['u64', { dtype: 'U64', shape: [2], data: u8(BigUint64Array.of(2n ** 64n - 1n, 3n)) }],
    ['f8a', { dtype: 'F8_E4M3', shape: [2], data: Uint8Array.of(0x38, 0xc0) }],
    ['f8b', { dtype: 'F8_E5M2', shape: [2], data: Uint8Array.of(0x3c, 0xc0) }],
    ['scalar', { dtype: 'F32', shape: [], data: u8(Float32Array.of(-7.5)) }],
    ['empty', { dtype: 'F32', shape: [2, 0, 3], data: new Uint8Array(0) }],
    ['empty.i64', { dtype: 'I64', shape: [0], data: new Uint8Array(0) }],
  ]);
  const metadata = { format: 'pt', ключ: 'значение ✓', '7': 'seven', json: '{"a": [1, 2]}' };
  const p = path.join(dir, 'ours.safetensors');
  await writeSafetensors(p, tensors, metadata);
  const r = runPython(PY_READ, p) as {
    metadata: Record<string, string>;
    headerLen: number;
    order: string[];
    tensors: Record<string, PyTensorReport>;
  };
  t.deepEqual(r.metadata, metadata);
  t.is((8 + r.headerLen) % 8, 0);
  t.deepEqual(r.order, [...tensors.keys()]);
  t.deepEqual(Object.keys(r.tensors).sort(), [...tensors.keys()].sort());
  for (const [name, want] of tensors) {
    const got = r.tensors[name];
    t.is(SAFETENSORS_FOR_TORCH[got.dtype], want.dtype, name);
    t.deepEqual(got.shape, want.shape, name);
    t.is(got.hex, hex(want.data), name);
  }
  t.deepEqual(r.tensors['10'].values, [...f32]);
  t.deepEqual(r.tensors['a.f64'].values, [...f64]);
  t.deepEqual(r.tensors['z.f16'].values, [1, -2, 0.5]);
  t.deepEqual(r.tensors['bf16'].values, [1, -2]);
  t.deepEqual(r.tensors['f8a'].values, [1, -2]);
  t.deepEqual(r.tensors['f8b'].values, [1, -2]);
  t.deepEqual(r.tensors['scalar'].values, [-7.5]);
  t.deepEqual(r.tensors['i64'].values, [String(-(2n ** 63n)), '42', String(2n ** 62n + 1n)]);
  t.deepEqual(r.tensors['u64'].values, [String(2n ** 64n - 1n), '3']);
  t.deepEqual(r.tensors['u32'].values, ['4294967295', '2']);
  t.deepEqual(r.tensors['bool'].values, ['1', '0', '0', '1']);
  t.deepEqual(r.tensors['empty'].values, []);
});

// ---------------------------------------------------------------------------
// Malformed files

const SRC = 'bad.safetensors';

function rejects(t: ExecutionContext, buf: Uint8Array, re: RegExp, label: string): void {
  const err = t.throws(() => parseSafetensors(buf, { source: SRC }), undefined, label);
  if (err === undefined) return;
  t.true(err instanceof SafetensorsError, label);
  t.true(err.message.startsWith(`safetensors: ${SRC}: `), `${label}: ${err.message}`);
  t.regex(err.message, re, label);
}

const ent = (dtype: unknown, shape: unknown, offsets: unknown): Record<string, unknown> => ({ dtype, shape, data_offsets: offsets });
const hdr = (o: Record<string, unknown>): string => JSON.stringify(o);

interface BadCase {
  label: string;
  buf: Uint8Array;
  re: RegExp;
  /** The reference accepts it; we deliberately differ (duplicate keys, sub-byte dtypes). */
  refAccepts?: boolean;
}

const BAD: BadCase[] = [
  { label: 'empty buffer', buf: new Uint8Array(0), re: /0 bytes, shorter than the 8-byte header length prefix/ },
  { label: '7 bytes', buf: new Uint8Array(7), re: /7 bytes, shorter than the 8-byte/ },
  { label: 'header longer than file', buf: fileWith('{}', 0, 100n), re: /header length 100 is larger than the file \(10 bytes/ },
  { label: 'absurd header length', buf: fileWith('{}', 0, 100_000_001n), re: /header length 100000001 is absurd/ },
  { label: 'u64 max header length', buf: fileWith('{}', 0, 2n ** 64n - 1n), re: /header length 18446744073709551615 is absurd/ },
  { label: 'invalid utf-8', buf: fileWith(Uint8Array.of(0x7b, 0xff, 0x7d)), re: /header is not valid UTF-8/ },
  { label: 'invalid json', buf: fileWith('{"a":'), re: /header is not valid JSON/ },
  { label: 'empty header', buf: fileWith(''), re: /header is not valid JSON/ },
  { label: 'BOM before header', buf: fileWith('\ufeff{}'), re: /header is not valid JSON/ },
  { label: 'header is an array', buf: fileWith('[]'), re: /header must be a JSON object, got array/ },
  { label: 'header is null', buf: fileWith('null'), re: /header must be a JSON object, got null/ },
  { label: 'header is a string', buf: fileWith('"x"'), re: /header must be a JSON object, got string/ },
  {
    label: 'metadata is an array',
    buf: fileWith(hdr({ __metadata__: ['a'] })),
    re: /"__metadata__" must be an object mapping strings to strings, got array/,
  },
  { label: 'metadata is a string', buf: fileWith(hdr({ __metadata__: 'a' })), re: /"__metadata__" must be an object.*got string/ },
  {
    label: 'metadata value not a string',
    buf: fileWith(hdr({ __metadata__: { a: 'x', b: 1 } })),
    re: /"__metadata__" must map strings to strings, but key "b" has a number value/,
  },
  { label: 'metadata nested object', buf: fileWith(hdr({ __metadata__: { a: { b: 'c' } } })), re: /key "a" has a object value/ },
  {
    label: 'entry is a number',
    buf: fileWith(hdr({ a: 3 })),
    re: /tensor "a": entry must be an object with "dtype", "shape" and "data_offsets", got number/,
  },
  { label: 'entry is null', buf: fileWith(hdr({ a: null })), re: /tensor "a": entry must be an object.*got null/ },
  { label: 'missing dtype', buf: fileWith(hdr({ a: { shape: [1], data_offsets: [0, 4] } }), 4), re: /tensor "a": missing "dtype"/ },
  { label: 'missing shape', buf: fileWith(hdr({ a: { dtype: 'F32', data_offsets: [0, 4] } }), 4), re: /tensor "a": missing "shape"/ },
  { label: 'missing data_offsets', buf: fileWith(hdr({ a: { dtype: 'F32', shape: [1] } }), 4), re: /tensor "a": missing "data_offsets"/ },
  { label: 'dtype not a string', buf: fileWith(hdr({ a: ent(32, [1], [0, 4]) }), 4), re: /tensor "a": "dtype" must be a string, got number/ },
  {
    label: 'unknown dtype',
    buf: fileWith(hdr({ a: ent('f32', [1], [0, 4]) }), 4),
    re: /tensor "a": unknown dtype "f32" \(expected one of F64, F32, /s,
  },
  { label: 'sub-byte dtype', buf: fileWith(hdr({ a: ent('F4', [2], [0, 1]) }), 1), re: /unknown dtype "F4"/, refAccepts: true },
  {
    label: 'shape not an array',
    buf: fileWith(hdr({ a: ent('F32', 1, [0, 4]) }), 4),
    re: /tensor "a": "shape" must be an array of non-negative integers, got 1/,
  },
  {
    label: 'negative dim',
    buf: fileWith(hdr({ a: ent('F32', [-1], [0, 4]) }), 4),
    re: /"shape" must be an array of non-negative integers, got \[-1\]/,
  },
  { label: 'fractional dim', buf: fileWith(hdr({ a: ent('F32', [1.5], [0, 4]) }), 4), re: /"shape" must be an array of non-negative integers/ },
  { label: 'string dim', buf: fileWith(hdr({ a: ent('F32', ['1'], [0, 4]) }), 4), re: /"shape" must be an array of non-negative integers/ },
  {
    label: 'offsets not an array',
    buf: fileWith(hdr({ a: ent('F32', [1], '0,4') }), 4),
    re: /tensor "a": "data_offsets" must be \[begin, end\] with non-negative integers and begin <= end, got "0,4"/,
  },
  { label: 'one offset', buf: fileWith(hdr({ a: ent('F32', [1], [4]) }), 4), re: /"data_offsets" must be \[begin, end\].*got \[4\]/ },
  { label: 'three offsets', buf: fileWith(hdr({ a: ent('F32', [1], [0, 4, 8]) }), 8), re: /"data_offsets" must be \[begin, end\]/ },
  { label: 'negative offset', buf: fileWith(hdr({ a: ent('F32', [1], [-4, 0]) }), 4), re: /"data_offsets" must be \[begin, end\]/ },
  { label: 'fractional offset', buf: fileWith(hdr({ a: ent('U8', [1], [0.5, 1.5]) }), 2), re: /"data_offsets" must be \[begin, end\]/ },
  {
    label: 'begin > end',
    buf: fileWith(hdr({ a: ent('F32', [0], [4, 0]) }), 4),
    re: /"data_offsets" must be \[begin, end\].*begin <= end, got \[4,0\]/,
  },
  {
    label: 'size mismatch',
    buf: fileWith(hdr({ a: ent('F32', [2], [0, 4]) }), 4),
    re: /tensor "a": data_offsets \[0, 4\] span 4 bytes but dtype F32 with shape \[2\] needs 8 bytes/,
  },
  {
    label: 'size mismatch (dtype)',
    buf: fileWith(hdr({ a: ent('F64', [1], [0, 4]) }), 4),
    re: /span 4 bytes but dtype F64 with shape \[1\] needs 8 bytes/,
  },
  {
    label: 'truncated',
    buf: fileWith(hdr({ a: ent('F32', [2], [0, 8]) }), 4),
    re: /file is truncated: tensor "a" has data_offsets \[0, 8\] but the data block is only 4 bytes/,
  },
  {
    label: 'truncated second tensor',
    buf: fileWith(hdr({ a: ent('F32', [1], [0, 4]), b: ent('F32', [3], [4, 16]) }), 10),
    re: /truncated: tensor "b"/,
  },
  {
    label: 'identical ranges',
    buf: fileWith(hdr({ a: ent('F32', [1], [0, 4]), b: ent('F32', [1], [0, 4]) }), 4),
    re: /tensors "a" \[0, 4\] and "b" \[0, 4\] overlap/,
  },
  {
    label: 'partial overlap',
    buf: fileWith(hdr({ a: ent('F32', [2], [0, 8]), b: ent('F32', [2], [4, 12]) }), 12),
    re: /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
  },
  { label: 'empty tensor inside another', buf: fileWith(hdr({ a: ent('F32', [2], [0, 8]), b: ent('F32', [0], [4, 4]) }), 8), re: /overlap/ },
  {
    label: 'leading hole',
    buf: fileWith(hdr({ a: ent('F32', [1], [4, 8]) }), 8),
    re: /bytes \[0, 4\) of the data block \(before tensor "a"\) belong to no tensor/,
  },
  {
    label: 'hole between tensors',
    buf: fileWith(hdr({ a: ent('F32', [1], [0, 4]), b: ent('F32', [1], [8, 12]) }), 12),
    re: /bytes \[4, 8\) .*before tensor "b".* belong to no tensor; tensors must cover the data block contiguously/,
  },
  {
    label: 'trailing bytes',
    buf: fileWith(hdr({ a: ent('F32', [1], [0, 4]) }), 8),
    re: /4 unused trailing bytes: tensors end at 4 but the data block is 8 bytes/,
  },
  { label: 'data without tensors', buf: fileWith('{}', 3), re: /3 unused trailing bytes/ },
  {
    label: 'duplicate name',
    buf: fileWith('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
    re: /key "a" appears more than once in the header/,
    refAccepts: true,
  },
];

/** Edge cases the reference accepts, so we must too. */
const GOOD: { label: string; buf: Uint8Array; names: string[] }[] = [
  { label: 'whitespace around header', buf: fileWith(' \n{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}  ', 1), names: ['a'] },
  { label: 'null metadata', buf: fileWith(hdr({ __metadata__: null })), names: [] },
  { label: 'unknown extra fields', buf: fileWith(hdr({ a: { ...ent('U8', [1], [0, 1]), extra: [1, { x: '}' }] } }), 1), names: ['a'] },
  { label: 'two empty tensors at one offset', buf: fileWith(hdr({ a: ent('F32', [0], [0, 0]), b: ent('I8', [2, 0], [0, 0]) })), names: ['a', 'b'] },
  {
    label: 'header order differs from offset order',
    buf: fileWith(hdr({ b: ent('U8', [1], [1, 2]), a: ent('U8', [1], [0, 1]) }), 2),
    names: ['b', 'a'],
  },
  { label: 'empty tensor name', buf: fileWith(hdr({ '': ent('U8', [1], [0, 1]) }), 1), names: [''] },
];

test('malformed files are rejected with clear messages naming the file', (t) => {
  for (const c of BAD) rejects(t, c.buf, c.re, c.label);
});

test('edge cases the reference accepts are accepted', (t) => {
  for (const c of GOOD) t.deepEqual([...parseSafetensors(c.buf, { source: SRC }).tensors.keys()], c.names, c.label);
});

pyTest(pyTitle('the reference implementation agrees on every malformed and edge case'), (t) => {
  const dir = tmpDir(t);
  const files: { label: string; file: string; expectOk: boolean }[] = [];
  [...BAD, ...GOOD].forEach((c, i) => {
    const file = path.join(dir, `case${i}.safetensors`);
    fs.writeFileSync(file, c.buf);
    files.push({ label: c.label, file, expectOk: !('re' in c) || c.refAccepts === true });
  });
  const res = runPython(PY_VALIDATE, ...files.map((f) => f.file)) as Record<string, string>;
  for (const f of files) t.is(res[f.file] === 'ok', f.expectOk, `${f.label}: python says ${res[f.file]}`);
});

test('reading a truncated file from disk names the path', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'cut.safetensors');
  const full = serializeSafetensors({ a: raw('F32', [16]) });
  fs.writeFileSync(p, full.subarray(0, full.length - 5));
  const check = (err: Error | undefined): void => {
    t.truthy(err);
    t.true(err!.message.startsWith(`safetensors: ${p}: `), err!.message);
    t.regex(err!.message, /truncated/);
  };
  check(t.throws(() => readSafetensorsSync(p)));
  check(await t.throwsAsync(readSafetensors(p)));
  fs.writeFileSync(p, Uint8Array.of(1, 2, 3));
  t.throws(() => readSafetensorsSync(p), { message: `safetensors: ${p}: file is 3 bytes, shorter than the 8-byte header length prefix` });
  await t.throwsAsync(readSafetensors(path.join(dir, 'missing.safetensors')), { code: 'ENOENT' });
});

test('readSafetensorsMetadata reads the header alone, with the same checks', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'm.safetensors');
  const full = serializeSafetensors({ a: raw('F32', [64]) }, { model_type: 'x', config: '{"a":1}' });
  fs.writeFileSync(p, full);
  t.deepEqual(await readSafetensorsMetadata(p), { model_type: 'x', config: '{"a":1}' });
  // Only the header is read: a file whose data block is cut short still gives its metadata.
  fs.writeFileSync(p, full.subarray(0, full.length - 100));
  t.deepEqual(await readSafetensorsMetadata(p), { model_type: 'x', config: '{"a":1}' });
  fs.writeFileSync(p, serializeSafetensors({ a: raw('F32', [2]) }));
  t.deepEqual(await readSafetensorsMetadata(p), {});
  fs.writeFileSync(p, full.subarray(0, 20));
  await t.throwsAsync(readSafetensorsMetadata(p), { instanceOf: SafetensorsError, message: /truncated/ });
  fs.writeFileSync(p, 'hello, I am not a safetensors file');
  await t.throwsAsync(readSafetensorsMetadata(p), { instanceOf: SafetensorsError, message: /absurd/ });
  await t.throwsAsync(readSafetensorsMetadata(path.join(dir, 'missing.safetensors')), { code: 'ENOENT' });
});

// ---------------------------------------------------------------------------
// Write-side validation

test('serialization validates names, dtypes, shapes, data and metadata', (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'data too short',
      () => serializeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: new Uint8Array(12) } }),
      /^safetensors: tensor "a": data is 12 bytes but dtype F32 with shape \[2, 2\] needs 16 bytes$/,
    ],
    [
      'data too long',
      () => serializeSafetensors({ a: { dtype: 'U8', shape: [], data: new Uint8Array(2) } }),
      /tensor "a": data is 2 bytes but dtype U8 with shape \[\] needs 1 bytes/,
    ],
    ['empty tensor with data', () => serializeSafetensors({ a: { dtype: 'F16', shape: [0, 4], data: new Uint8Array(2) } }), /needs 0 bytes/],
    ['empty name', () => serializeSafetensors({ '': raw('U8', [1]) }), /^safetensors: tensor names must be non-empty strings, got ""/],
    [
      'non-string name',
      () => serializeSafetensors(new Map([[1 as unknown as string, raw('U8', [1])]])),
      /tensor names must be non-empty strings, got 1/,
    ],
    ['reserved name', () => serializeSafetensors({ __metadata__: raw('U8', [1]) }), /tensor "__metadata__": the name is reserved/],
    [
      'unknown dtype',
      () => serializeSafetensors({ a: { dtype: 'F4' as SafetensorsDtype, shape: [2], data: new Uint8Array(1) } }),
      /tensor "a": unknown dtype "F4"/,
    ],
    [
      'negative dim',
      () => serializeSafetensors({ a: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } }),
      /tensor "a": shape must be an array of non-negative integers, got \[-1\]/,
    ],
    [
      'fractional dim',
      () => serializeSafetensors({ a: { dtype: 'U8', shape: [0.5], data: new Uint8Array(0) } }),
      /shape must be an array of non-negative integers/,
    ],
    [
      'data not bytes',
      () => serializeSafetensors({ a: { dtype: 'F32', shape: [1], data: Float32Array.of(1) as unknown as Uint8Array } }),
      /tensor "a": data must be a Uint8Array/,
    ],
    [
      'tensor not an object',
      () => serializeSafetensors({ a: null as unknown as RawTensor }),
      /tensor "a": expected \{ dtype, shape, data \}, got null/,
    ],
    [
      'metadata value',
      () => serializeSafetensors({}, { a: 'x', b: 2 as unknown as string }),
      /^safetensors: metadata value for key "b" must be a string, got number$/,
    ],
    [
      'metadata not an object',
      () => serializeSafetensors({}, ['x'] as unknown as Record<string, string>),
      /metadata must be an object mapping strings to strings, got array/,
    ],
    ['tensors not a map', () => serializeSafetensors(null as unknown as Map<string, RawTensor>), /tensors must be a Map or a plain object, got null/],
  ];
  for (const [label, fn, re] of cases) {
    const err = t.throws(fn, undefined, label);
    t.true(err instanceof SafetensorsError, label);
    t.regex(err?.message ?? '', re, label);
  }
});

// ---------------------------------------------------------------------------
// Atomic writes

test('atomic writes leave only the target behind and replace it whole', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'm.safetensors');
  await writeSafetensors(p, { a: raw('F32', [8], 1) });
  writeSafetensorsSync(p, { a: raw('F32', [8], 2) });
  await writeSafetensors(p, { a: raw('F32', [8], 3) }, { v: '3' });
  t.deepEqual(fs.readdirSync(dir), ['m.safetensors']);
  const f = readSafetensorsSync(p);
  t.deepEqual(f.metadata, { v: '3' });
  t.is(hex(f.tensors.get('a')!.data), hex(raw('F32', [8], 3).data));

  const j = path.join(dir, 'metrics.json');
  await writeFileAtomic(j, '{"x": "✓"}');
  writeFileAtomicSync(path.join(dir, 'b.bin'), [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)]);
  await writeFileAtomic(path.join(dir, 'c.bin'), Uint8Array.of(9));
  t.is(fs.readFileSync(j, 'utf8'), '{"x": "✓"}');
  t.deepEqual([...fs.readFileSync(path.join(dir, 'b.bin'))], [1, 2, 3]);
  t.deepEqual([...fs.readFileSync(path.join(dir, 'c.bin'))], [9]);
  t.deepEqual(fs.readdirSync(dir).sort(), ['b.bin', 'c.bin', 'm.safetensors', 'metrics.json']);
});

test('failed atomic writes keep the old target and leave no temp file', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'keep.safetensors');
  writeSafetensorsSync(p, { a: raw('I32', [4], 5) }, { gen: 'old' });
  const before = hex(fs.readFileSync(p));
  const bad = { a: { dtype: 'I32' as const, shape: [4], data: new Uint8Array(15) } };

  // Serialization fails before the disk is touched.
  await t.throwsAsync(writeSafetensors(p, bad), {
    message: new RegExp(`^safetensors: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor "a": data is 15 bytes`),
  });
  t.throws(() => writeSafetensorsSync(p, bad), { instanceOf: SafetensorsError });
  t.is(hex(fs.readFileSync(p)), before);
  t.deepEqual(fs.readdirSync(dir), ['keep.safetensors']);

  // Directory does not exist: the temp file cannot even be created.
  const missing = path.join(dir, 'nope', 'x.safetensors');
  await t.throwsAsync(writeSafetensors(missing, { a: raw('U8', [1]) }), { code: 'ENOENT' });
  t.throws(() => writeFileAtomicSync(missing, 'x'), { code: 'ENOENT' });
  t.deepEqual(fs.readdirSync(dir), ['keep.safetensors']);

  // The rename fails (target is a non-empty directory) after the temp file
  // was fully written: it must be removed again.
  const blocker = path.join(dir, 'blocker');
  fs.mkdirSync(blocker);
  fs.writeFileSync(path.join(blocker, 'inside'), 'x');
  const renameErr = await t.throwsAsync(writeSafetensors(blocker, { a: raw('U8', [1]) }));
  t.true(renameErr instanceof Error && typeof (renameErr as NodeJS.ErrnoException).code === 'string');
  t.throws(() => writeFileAtomicSync(blocker, 'data'));
  await t.throwsAsync(writeFileAtomic(blocker, [Uint8Array.of(1)]));
  t.deepEqual(fs.readdirSync(dir).sort(), ['blocker', 'keep.safetensors']);
  t.deepEqual(fs.readdirSync(blocker), ['inside']);
  t.is(hex(fs.readFileSync(p)), before);
  t.deepEqual(readSafetensorsSync(p).metadata, { gen: 'old' });
});
