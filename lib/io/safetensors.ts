// Byte-level safetensors reader/writer in pure TypeScript. Owns the file
// format only (header JSON, offsets, validation); turning RawTensor bytes into
// LibTorch tensors is the Tensor layer's job.
//
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON header,
// then the data block. Validation mirrors the reference Rust/Python
// implementation (huggingface/safetensors): the tensors, sorted by offset, must
// cover the data block exactly, with no overlap, hole or trailing bytes.

import * as fs from 'node:fs';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write';

/** Element types understood by this reader/writer (safetensors spelling). */
export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'U64' | 'U32' | 'U16' | 'F8_E4M3' | 'F8_E5M2';

/** One tensor as stored on disk. */
export interface RawTensor {
  /** Element type, as safetensors names it. */
  dtype: SafetensorsDtype;
  /** Dimensions. */
  shape: number[];
  /** Exactly the tensor's bytes: little-endian, row-major (C order). */
  data: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors in the order their names appear in the header. */
  tensors: Map<string, RawTensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Options for {@link parseSafetensors}. */
export interface ParseSafetensorsOptions {
  /** Name used in error messages (a path, URL, ...); defaults to `<buffer>`. */
  source?: string;
}

const DTYPE_SIZES: Readonly<Record<SafetensorsDtype, number>> = {
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

/** Every dtype accepted by this module. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = Object.freeze(Object.keys(DTYPE_SIZES) as SafetensorsDtype[]);

/** Same cap as the reference implementation, so both reject the same files. */
export const MAX_HEADER_SIZE = 100_000_000;

const METADATA_KEY = '__metadata__';

/**
 * Error raised for malformed files or invalid tensors. The message always
 * starts with `safetensors: ` followed by the file name when one is known.
 */
export class SafetensorsError extends Error {
  /** The file (or other source) the error is about, if known. */
  readonly source: string | undefined;

  constructor(message: string, source?: string) {
    super(source === undefined ? `safetensors: ${message}` : `safetensors: ${source}: ${message}`);
    this.name = 'SafetensorsError';
    this.source = source;
  }
}

/** Type guard for {@link SafetensorsDtype}. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, value);
}

/**
 * Size in bytes of one element of `dtype`.
 *
 * @throws SafetensorsError for an unknown dtype (callers may pass unchecked strings).
 */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError(`unknown dtype ${JSON.stringify(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  return DTYPE_SIZES[dtype];
}

// ---------------------------------------------------------------------------
// Shared helpers

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** BigInt so that huge shapes cannot silently lose precision. */
function expectedBytes(dtype: SafetensorsDtype, shape: readonly number[]): bigint {
  let n = BigInt(DTYPE_SIZES[dtype]);
  for (const d of shape) n *= BigInt(d);
  return n;
}

function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

// ---------------------------------------------------------------------------
// Reading

/**
 * Top-level keys of an already validated JSON object, in textual order.
 * JSON.parse cannot provide this: JS objects list integer-like keys ("0",
 * "10") first, and it silently drops duplicates.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 0x5b /* [ */) {
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** The header length from the 8-byte prefix, checked against the file size. */
function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (prefix.length < 8 || fileSize < 8) {
    throw new SafetensorsError(`file is ${fileSize} bytes, shorter than the 8-byte header length prefix`, source);
  }
  const headerLen64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_SIZE)) {
    throw new SafetensorsError(`header length ${headerLen64} is absurd (limit ${MAX_HEADER_SIZE} bytes); not a safetensors file?`, source);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > fileSize) {
    throw new SafetensorsError(
      `header length ${headerLen} is larger than the file (${fileSize} bytes including the 8-byte prefix); truncated or not a safetensors file`,
      source
    );
  }
  return headerLen;
}

/** The header bytes as text and as a JSON object. */
function parseHeader(bytes: Uint8Array, source: string): { text: string; header: Record<string, unknown> } {
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text, so it fails JSON parsing exactly as
    // it does in the reference implementation.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8', source);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON (${(err as Error).message})`, source);
  }
  if (!isPlainObject(header)) {
    throw new SafetensorsError(`header must be a JSON object, got ${describe(header)}`, source);
  }
  return { text, header };
}

interface Entry {
  name: string;
  begin: number;
  end: number;
  tensor: RawTensor;
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  // The reference reads `__metadata__` as Option<HashMap<String, String>>,
  // so an explicit null is accepted as "no metadata".
  if (value === null) return {};
  if (!isPlainObject(value)) {
    throw new SafetensorsError(`"${METADATA_KEY}" must be an object mapping strings to strings, got ${describe(value)}`, source);
  }
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(`"${METADATA_KEY}" must map strings to strings, but key ${JSON.stringify(k)} has a ${describe(v)} value`, source);
    }
    entries.push([k, v]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(entries);
}

function parseEntry(name: string, value: unknown, dataLen: number, dataStart: number, buf: Uint8Array, source: string): Entry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) {
    throw new SafetensorsError(`${where}: entry must be an object with "dtype", "shape" and "data_offsets", got ${describe(value)}`, source);
  }
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.prototype.hasOwnProperty.call(value, field)) {
      throw new SafetensorsError(`${where}: missing "${field}" (expected "dtype", "shape" and "data_offsets")`, source);
    }
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') {
    throw new SafetensorsError(`${where}: "dtype" must be a string, got ${describe(dtype)}`, source);
  }
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`, source);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new SafetensorsError(`${where}: "shape" must be an array of non-negative integers, got ${show(shape)}`, source);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegInt(offsets[0]) || !isNonNegInt(offsets[1]) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(
      `${where}: "data_offsets" must be [begin, end] with non-negative integers and begin <= end, got ${show(offsets)}`,
      source
    );
  }
  const begin = offsets[0];
  const end = offsets[1];
  const dims = shape;
  const need = expectedBytes(dtype, dims);
  if (BigInt(end - begin) !== need) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but dtype ${dtype} with shape ${shapeStr(dims)} needs ${need} bytes`,
      source
    );
  }
  if (end > dataLen) {
    throw new SafetensorsError(`file is truncated: ${where} has data_offsets [${begin}, ${end}] but the data block is only ${dataLen} bytes`, source);
  }
  return {
    name,
    begin,
    end,
    // A plain Uint8Array even when buf is a Buffer: Buffer#slice returns a
    // view, which would surprise callers who slice() expecting a copy.
    tensor: { dtype, shape: dims.slice(), data: new Uint8Array(buf.buffer, buf.byteOffset + dataStart + begin, end - begin) },
  };
}

/**
 * Parses a complete safetensors file held in memory.
 *
 * Zero-copy: every tensor's `data` is a `subarray` view of `buf`, so mutating
 * `buf` changes the tensors and `buf` stays alive as long as any of them does.
 *
 * @param buf - The whole file.
 * @param opts - `source` names the file in error messages.
 * @returns Tensors in header order plus the `__metadata__` map.
 * @throws SafetensorsError when the file is malformed; the message starts with
 *   `safetensors: <source>: ` and says what was expected.
 */
export function parseSafetensors(buf: Uint8Array, opts: ParseSafetensorsOptions = {}): SafetensorsFile {
  const source = opts.source ?? '<buffer>';
  if (!(buf instanceof Uint8Array)) {
    throw new SafetensorsError(`expected a Uint8Array, got ${describe(buf)}`, source);
  }
  if (buf.length < 8) {
    throw new SafetensorsError(`file is ${buf.length} bytes, shorter than the 8-byte header length prefix`, source);
  }
  const headerLen = headerLength(buf, buf.length, source);
  const { text, header } = parseHeader(buf.subarray(8, 8 + headerLen), source);

  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const name of topLevelKeys(text)) {
    // The reference silently keeps the last duplicate; an ambiguous header is
    // more likely corruption than intent, so it is rejected here.
    if (seen.has(name)) {
      throw new SafetensorsError(`key ${JSON.stringify(name)} appears more than once in the header`, source);
    }
    seen.add(name);
    if (name === METADATA_KEY) {
      metadata = parseMetadata(header[name], source);
    } else {
      entries.push(parseEntry(name, header[name], dataLen, dataStart, buf, source));
    }
  }

  // Same rule as the reference: sorted by offsets, each tensor must start
  // exactly where the previous one ended, and the last must end at EOF.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor && prev !== undefined) {
      throw new SafetensorsError(
        `tensors ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}] and ${JSON.stringify(e.name)} [${e.begin}, ${e.end}] overlap; data_offsets must not overlap`,
        source
      );
    }
    if (e.begin > cursor) {
      throw new SafetensorsError(
        `bytes [${cursor}, ${e.begin}) of the data block (before tensor ${JSON.stringify(e.name)}) belong to no tensor; tensors must cover the data block contiguously`,
        source
      );
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataLen) {
    throw new SafetensorsError(
      `${dataLen - cursor} unused trailing bytes: tensors end at ${cursor} but the data block is ${dataLen} bytes; tensors must cover the data block exactly`,
      source
    );
  }

  const tensors = new Map<string, RawTensor>();
  for (const e of entries) tensors.set(e.name, e.tensor);
  return { tensors, metadata };
}

// Buffer.allocUnsafeSlow gives the file its own ArrayBuffer at offset 0, so a
// tensor's alignment inside the ArrayBuffer equals its alignment in the file
// (the data block starts 8-aligned): typed-array views can then be made
// without copying. The read loop also lifts fs.readFile's 2 GiB limit.
const READ_CHUNK = 1 << 30;

function allocFor(size: number, file: string): Buffer {
  try {
    return Buffer.allocUnsafeSlow(size);
  } catch (err) {
    throw new SafetensorsError(`cannot allocate ${size} bytes to read the file (${(err as Error).message})`, file);
  }
}

function readWholeFileSync(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = allocFor(size, file);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, Math.min(size - off, READ_CHUNK), off);
      if (n === 0) break; // file shrank while reading; parse what is there
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

async function readWholeFile(file: string): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = allocFor(size, file);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, Math.min(size - off, READ_CHUNK), off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/**
 * Reads and parses a safetensors file. Tensor data are views into one buffer
 * holding the whole file.
 *
 * @param path - File to read; named in every validation error.
 * @throws SafetensorsError when the file is malformed; fs errors as-is.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readWholeFile(path), { source: path });
}

/**
 * Synchronous variant of {@link readSafetensors}.
 *
 * @param path - File to read; named in every validation error.
 * @throws SafetensorsError when the file is malformed; fs errors as-is.
 */
export function readSafetensorsSync(path: string): SafetensorsFile {
  return parseSafetensors(readWholeFileSync(path), { source: path });
}

/**
 * Reads only the header of a safetensors file and returns its `__metadata__`
 * (empty when absent), without reading the tensor data.
 *
 * @throws SafetensorsError when the header is malformed; fs errors as-is.
 */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  const fh = await fs.promises.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = Buffer.alloc(8);
    await fh.read(prefix, 0, 8, 0);
    const headerLen = headerLength(prefix, size, path);
    const bytes = Buffer.alloc(headerLen);
    await fh.read(bytes, 0, headerLen, 8);
    const { header } = parseHeader(bytes, path);
    return METADATA_KEY in header ? parseMetadata(header[METADATA_KEY], path) : {};
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// Writing

/** Tensors to write: a Map (insertion order) or a plain object (key order). */
export type SafetensorsInput = Map<string, RawTensor> | Record<string, RawTensor>;

interface Prepared {
  header: Buffer;
  chunks: Uint8Array[];
  total: number;
}

function prepare(tensors: SafetensorsInput, metadata: Record<string, string> | undefined, source: string | undefined): Prepared {
  if (!(tensors instanceof Map) && !isPlainObject(tensors)) {
    throw new SafetensorsError(`tensors must be a Map or a plain object, got ${describe(tensors)}`, source);
  }
  const list: [unknown, unknown][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) {
      throw new SafetensorsError(`metadata must be an object mapping strings to strings, got ${describe(metadata)}`, source);
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new SafetensorsError(`metadata value for key ${JSON.stringify(k)} must be a string, got ${describe(v)}`, source);
      }
    }
    // Omitted when empty, like the reference writer with metadata=None; the
    // reader returns {} either way.
    if (Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }

  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new SafetensorsError(`tensor names must be non-empty strings, got ${show(name)}`, source);
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (name === METADATA_KEY) {
      throw new SafetensorsError(`${where}: the name is reserved for the metadata map`, source);
    }
    if (!isPlainObject(t)) {
      throw new SafetensorsError(`${where}: expected { dtype, shape, data }, got ${describe(t)}`, source);
    }
    const { dtype, shape, data } = t;
    if (!isSafetensorsDtype(dtype)) {
      throw new SafetensorsError(`${where}: unknown dtype ${show(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`, source);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`, source);
    }
    if (!(data instanceof Uint8Array)) {
      throw new SafetensorsError(`${where}: data must be a Uint8Array, got ${describe(data)}`, source);
    }
    const dims = shape;
    const need = expectedBytes(dtype, dims);
    if (BigInt(data.byteLength) !== need) {
      throw new SafetensorsError(
        `${where}: data is ${data.byteLength} bytes but dtype ${dtype} with shape ${shapeStr(dims)} needs ${need} bytes`,
        source
      );
    }
    const end = offset + data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":${JSON.stringify(dtype)},"shape":[${dims.join(',')}],"data_offsets":[${offset},${end}]}`);
    chunks.push(data);
    offset = end;
  }

  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  // Space padding (as the reference writer does) makes the data block start at
  // a multiple of 8, so aligned tensors can be viewed in place after reading.
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  if (padded > MAX_HEADER_SIZE) {
    throw new SafetensorsError(`header would be ${padded} bytes, above the ${MAX_HEADER_SIZE}-byte limit readers accept`, source);
  }
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return { header, chunks, total: header.length + offset };
}

/**
 * Serializes tensors (and optional metadata) into safetensors bytes.
 *
 * The header lists `__metadata__` first (omitted when empty) and then the
 * tensors in insertion order, with contiguous data_offsets in that same order;
 * it is space-padded so the data block starts 8-byte aligned.
 *
 * @param tensors - Tensors by name; names must be non-empty and not `__metadata__`.
 * @param metadata - Optional string-to-string map stored as `__metadata__`.
 * @throws SafetensorsError when a tensor's data length does not match
 *   shape × dtype size, or any name, dtype, shape or metadata value is invalid.
 */
export function serializeSafetensors(tensors: SafetensorsInput, metadata?: Record<string, string>): Buffer {
  const { header, chunks, total } = prepare(tensors, metadata, undefined);
  return Buffer.concat([header, ...chunks], total);
}

/**
 * Serializes and writes a safetensors file atomically (temp file in the same
 * directory, fsync, rename). Validation happens before anything touches the
 * disk, and on any failure an existing file at `path` is left intact.
 *
 * @param path - Destination file; its directory must exist.
 * @param tensors - Tensors by name, written in insertion order.
 * @param metadata - Optional string-to-string map stored as `__metadata__`.
 */
export async function writeSafetensors(path: string, tensors: SafetensorsInput, metadata?: Record<string, string>): Promise<void> {
  const { header, chunks } = prepare(tensors, metadata, path);
  // Chunks avoid building a second full-size copy of every tensor in memory.
  await writeFileAtomic(path, [header, ...chunks]);
}

/**
 * Synchronous variant of {@link writeSafetensors}.
 *
 * @param path - Destination file; its directory must exist.
 * @param tensors - Tensors by name, written in insertion order.
 * @param metadata - Optional string-to-string map stored as `__metadata__`.
 */
export function writeSafetensorsSync(path: string, tensors: SafetensorsInput, metadata?: Record<string, string>): void {
  const { header, chunks } = prepare(tensors, metadata, path);
  writeFileAtomicSync(path, [header, ...chunks]);
}
