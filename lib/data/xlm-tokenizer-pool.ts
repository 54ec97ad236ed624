/**
 * Worker threads that run an {@link XlmTokenizer}'s encoding and decoding off the JS thread: one pool per
 * tokenizer (by its hash), as many workers as cores (at most 8), each rebuilt from the same codes and vocabulary;
 * the inputs are split into one contiguous share per worker and the results put back in order.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FlatIds } from '../native';

/** What the pool needs of a tokenizer (XlmTokenizer; named structurally so the two modules do not import each other). */
export interface OffThreadTokenizer {
  /** Identifies the tokenizer: one pool per hash. */
  readonly hash: string;
  /** What xlm-tokenizer-worker rebuilds the tokenizer from (structured-cloned to each worker). */
  readonly workerSources: object;
  /** Encoding on the calling thread. */
  encodeFlat(texts: string[], opts: { lang: string }): FlatIds;
  /** Decoding on the calling thread. */
  decode(ids: number[][], opts: { lang: string }): string[];
}

/** Below this many sentences a hand-off costs more than the work: they are done on the calling thread. */
const MIN_OFF_THREAD = 64;

/** A worker's task: texts to encode, or flat id rows to decode, in one language. */
type WorkerTask = { lang: string } & ({ op: 'encode'; texts: string[] } | { op: 'decode'; rows: FlatIds });

/** A task as sent to a worker, with the id its answer carries. */
export type WorkerRequest = WorkerTask & { id: number };

/** The messages a worker answers with. */
export type WorkerReply = { id: number } & ({ ids: Int32Array; sizes: Int32Array } | { texts: string[] } | { error: string; errorName: string });

type Answer = FlatIds | string[];

interface Job {
  resolve: (r: Answer) => void;
  reject: (e: Error) => void;
}

class TokenizerWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Job>();
  private next = 0;

  constructor(sources: object) {
    this.worker = new Worker(path.join(__dirname, 'xlm-tokenizer-worker.js'), { workerData: sources });
    // An idle worker must not keep the process alive; one with work must.
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      const job = this.jobs.get(m.id);
      if (job === undefined) return;
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) this.worker.unref();
      if ('error' in m) {
        const Kind = m.errorName === 'TypeError' ? TypeError : m.errorName === 'RangeError' ? RangeError : Error;
        job.reject(new Kind(m.error));
      } else job.resolve('texts' in m ? m.texts : { ids: m.ids, sizes: m.sizes });
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`an XLM tokenizer worker exited (code ${code})`)));
  }

  run(task: WorkerTask): Promise<Answer> {
    const id = this.next++;
    if (this.jobs.size === 0) this.worker.ref();
    return new Promise<Answer>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.worker.postMessage({ ...task, id } satisfies WorkerRequest);
    });
  }

  private failAll(e: Error): void {
    for (const job of this.jobs.values()) job.reject(e);
    this.jobs.clear();
    pools.forEach((p, k) => p.includes(this) && pools.delete(k));
  }
}

const pools = new Map<string, TokenizerWorker[]>();

function poolFor(tokenizer: OffThreadTokenizer): TokenizerWorker[] {
  let pool = pools.get(tokenizer.hash);
  if (pool === undefined) {
    const n = Math.max(1, Math.min(8, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    pool = Array.from({ length: n }, () => new TokenizerWorker(tokenizer.workerSources));
    pools.set(tokenizer.hash, pool);
  }
  return pool;
}

/** Id rows as {@link FlatIds} (what crosses to a worker: two typed arrays instead of an array per sentence). */
function flattenIds(rows: number[][]): FlatIds {
  return { ids: Int32Array.from(rows.flat()), sizes: Int32Array.from(rows, (r) => r.length) };
}

/** {@link FlatIds} back into one array per sentence. */
export function unflattenIds({ ids, sizes }: FlatIds): number[][] {
  const rows: number[][] = [];
  let at = 0;
  for (const n of sizes) {
    rows.push(Array.from(ids.subarray(at, at + n)));
    at += n;
  }
  return rows;
}

/** Contiguous shares of `n` items, one per worker (fewer when there are fewer items). */
function shares(n: number, workers: number): Array<[number, number]> {
  const size = Math.ceil(n / workers);
  const out: Array<[number, number]> = [];
  for (let at = 0; at < n; at += size) out.push([at, Math.min(n, at + size)]);
  return out;
}

/** Encodes `texts` (language `lang`) on the tokenizer's worker threads into the flat form. */
export async function encodeOffThread(tokenizer: OffThreadTokenizer, texts: string[], lang: string): Promise<FlatIds> {
  if (texts.length < MIN_OFF_THREAD) return tokenizer.encodeFlat(texts, { lang });
  const pool = poolFor(tokenizer);
  const parts = (await Promise.all(
    shares(texts.length, pool.length).map(([a, b], i) => pool[i].run({ op: 'encode', texts: texts.slice(a, b), lang }))
  )) as FlatIds[];
  const ids = new Int32Array(parts.reduce((n, p) => n + p.ids.length, 0));
  const sizes = new Int32Array(texts.length);
  let at = 0;
  let row = 0;
  for (const p of parts) {
    ids.set(p.ids, at);
    sizes.set(p.sizes, row);
    at += p.ids.length;
    row += p.sizes.length;
  }
  return { ids, sizes };
}

/** Decodes `rows` (language `lang`) on the tokenizer's worker threads. */
export async function decodeOffThread(tokenizer: OffThreadTokenizer, rows: number[][], lang: string): Promise<string[]> {
  if (rows.length < MIN_OFF_THREAD) return tokenizer.decode(rows, { lang });
  const pool = poolFor(tokenizer);
  const parts = await Promise.all(
    shares(rows.length, pool.length).map(([a, b], i) => pool[i].run({ op: 'decode', rows: flattenIds(rows.slice(a, b)), lang }))
  );
  return (parts as string[][]).flat();
}
