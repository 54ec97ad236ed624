/**
 * Sequence-level knowledge distillation (Kim & Rush 2016): the teacher's beam-search translations of the
 * training sources become the student's targets. They are written as sparse token stores
 * (lib/data/token-store-append.ts), one part per translating process (`OUT.r<rank>.idx/.bin/.values`: ids,
 * index and each translation's score), each batch appended and synced, so a killed run resumes in time linear in
 * the store and loses at most the batch in flight. Process r of N translates the unfinished sources i with
 * i % N = r; reading merges every part, so a resume may use another number of processes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Batch } from '../data/batch';
import { ArrayPairSource, emptySide, isPairSource, type PairSource, type SentenceSource, sideOf, SidesPairSource } from '../data/pair-source';
import { AppendableTokenStore, readStoreValues } from '../data/token-store-append';
import { TokenStore, tokenBytesFor } from '../data/token-store';
import type { Seq2Seq } from '../models/seq2seq';
import { beamSearch } from '../decode/beam';
import { greedy } from '../decode/greedy';
import type { DecodeOptions } from '../decode/options';
import type { Hypothesis } from '../decode/hypotheses';

/** What {@link distillSequences} takes: where the translations go, and how the teacher decodes them. */
export interface DistillSequencesOptions extends DecodeOptions {
  /** The store the translations go to: parts `OUT.r<rank>.{idx,bin,values}` (resumed when they exist). */
  out: string;
  /** Sentences per decoding batch (default 32); sources are length-sorted into batches. */
  batchSize?: number;
  /** Source language id, for models with language embeddings. */
  srcLang?: number;
  /** Called after every batch with the number of finished sources (this process's share and all before it). */
  onProgress?: (done: number, total: number) => void;
  /** This process's share when several translate at once (default rank 0 of 1). */
  rank?: number;
  /** How many processes share the work (default 1). */
  worldSize?: number;
  /** SHA-256 of the tokenizer, recorded in the store so that another tokenizer's translations are refused. */
  tokenizerHash?: string;
}

/** What one {@link distillSequences} call did. */
export interface DistillSequencesResult {
  /** The store's path (`out`). */
  path: string;
  /** Sources translated by this call. */
  written: number;
  /** Sources already translated (by any process) before this call. */
  resumed: number;
}

/** One translated source. */
export interface DistilledTarget {
  /** The source's index. */
  index: number;
  /** The teacher's best translation, as ids (framing excluded). */
  tgt: number[];
  /** Its length-normalised log-probability. */
  score: number;
}

function partBase(out: string, rank: number): string {
  return `${out}.r${rank}`;
}

/** The parts written so far for `out` (every rank of every earlier run). */
function partsOf(out: string): string[] {
  const dir = path.dirname(out);
  if (!fs.existsSync(dir)) return [];
  const prefix = `${path.basename(out)}.r`;
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.idx') && /^\d+$/.test(f.slice(prefix.length, -4)))
    .map((f) => path.join(dir, f.slice(0, -4)))
    .sort();
}

function checkInt(v: number | undefined, name: string, min: number, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < min) throw new RangeError(`distillSequences: option '${name}' must be an integer >= ${min}, got ${String(v)}`);
  return x;
}

/**
 * Translates `sources` (token ids without framing, or the source side of a PairSource such as a token store)
 * with the teacher's beam (greedy when beamSize is 1) and writes the best hypothesis of each as its new target.
 * Resumable: rerunning with the same `out` skips the sources already written by any process.
 */
export async function distillSequences(
  teacher: Seq2Seq,
  sources: number[][] | PairSource,
  opts: DistillSequencesOptions
): Promise<DistillSequencesResult> {
  if (!opts || typeof opts.out !== 'string') throw new TypeError("distillSequences: option 'out' (a file path) is required");
  if (!Array.isArray(sources) && !isPairSource(sources))
    throw new TypeError("distillSequences: argument 'sources' must be an array of token id arrays or a PairSource");
  const batchSize = checkInt(opts.batchSize, 'batchSize', 1, 32);
  const world = checkInt(opts.worldSize, 'worldSize', 1, 1);
  const rank = checkInt(opts.rank, 'rank', 0, 0);
  if (rank >= world) throw new RangeError(`distillSequences: option 'rank' (${rank}) must be below 'worldSize' (${world})`);
  const src: SentenceSource = Array.isArray(sources)
    ? sideOf(
        new ArrayPairSource(
          sources.map((s) => ({ src: s, tgt: [] })),
          'sources'
        ),
        'src'
      )
    : sideOf(sources, 'src');
  const total = src.count;
  const done = finishedIn(opts.out, total);
  const resumed = done.count;
  const store = AppendableTokenStore.open(partBase(opts.out, rank), total, tokenBytesFor(teacher.vocabSize), {
    tokenizer: opts.tokenizerHash ?? '',
    vocabSize: teacher.vocabSize,
    madeBy: 'sequence-level KD',
  });
  // This process's unfinished sources, shortest first (little padding), in linear time.
  const todo = todoOf(src, done.has, rank, world);
  const batchInput = new SidesPairSource(src, emptySide(total));
  const wasTraining = teacher.training;
  teacher.eval();
  let written = 0;
  let finished = resumed;
  try {
    for (let start = 0; start < todo.length; start += batchSize) {
      const ids = todo.subarray(start, start + batchSize);
      const batch = Batch.fromSource(batchInput, ids, {
        eosIndex: teacher.eosIndex,
        padIndex: teacher.padIndex,
        device: teacher.device,
        srcLang: opts.srcLang,
        tgtLang: opts.tgtLang,
      });
      let hyps: Hypothesis[][];
      try {
        hyps = (opts.beamSize ?? 5) === 1 ? await greedy(teacher, batch, opts) : await beamSearch(teacher, batch, opts);
      } finally {
        batch.dispose();
      }
      store.put(Array.from(ids, (index, k) => ({ index, ids: hyps[k][0].tokens, value: hyps[k][0].score })));
      written += ids.length;
      finished += ids.length;
      opts.onProgress?.(finished, total);
    }
  } finally {
    store.close();
    teacher.train(wasTraining);
  }
  return { path: opts.out, written, resumed };
}

/** Which sources some part already holds. */
function finishedIn(out: string, total: number): { has: (i: number) => boolean; count: number } {
  const owner = ownersOf(out, total);
  for (const s of owner.stores) s.close();
  let count = 0;
  for (let i = 0; i < total; i++) if (owner.parts[i] > 0) count++;
  return { has: (i) => owner.parts[i] > 0, count };
}

/** For each source, 1 + the part (in `stores`) holding its translation, or 0. */
function ownersOf(out: string, total: number): { parts: Uint8Array; stores: TokenStore[] } {
  const parts = new Uint8Array(total);
  const stores: TokenStore[] = [];
  for (const base of partsOf(out)) {
    // Another rank's part may end in ids its writer never indexed (killed): they are past every entry, unread.
    const store = TokenStore.open(base, { partialTail: true });
    if (store.count !== total)
      throw new Error(`sequence-level KD: ${base}.idx holds ${store.count} sources, not the ${total} of this run: delete ${out}.r* to start again`);
    if (stores.length >= 255) throw new Error(`sequence-level KD: more than 255 parts of ${out}`);
    stores.push(store);
    for (let i = 0; i < total; i++) if (parts[i] === 0 && store.has(i)) parts[i] = stores.length;
  }
  return { parts, stores };
}

function todoOf(src: SentenceSource, done: (i: number) => boolean, rank: number, world: number): Int32Array {
  let longest = 0;
  let n = 0;
  for (let i = rank; i < src.count; i += world) {
    if (done(i)) continue;
    n++;
    longest = Math.max(longest, src.length(i));
  }
  const starts = new Int32Array(longest + 2);
  for (let i = rank; i < src.count; i += world) if (!done(i)) starts[src.length(i) + 1]++;
  for (let b = 1; b < starts.length; b++) starts[b] += starts[b - 1];
  const todo = new Int32Array(n);
  for (let i = rank; i < src.count; i += world) if (!done(i)) todo[starts[src.length(i)]++] = i;
  return todo;
}

/** The teacher's translations of `total` sources, merged from every part, as the target side of pairs. */
export class DistilledTargets implements SentenceSource {
  private constructor(
    private readonly parts: Uint8Array,
    private readonly stores: TokenStore[],
    private readonly out: string
  ) {}

  /**
   * Opens the translations written to `out`.
   * @throws Error naming the first source without a translation (run distillSequences again to finish).
   */
  static open(out: string, total: number): DistilledTargets {
    const { parts, stores } = ownersOf(out, total);
    const missing = parts.indexOf(0);
    if (missing >= 0) throw new Error(`sequence-level KD: ${out} has no target for source ${missing} (run distillSequences again to finish it)`);
    return new DistilledTargets(parts, stores, out);
  }

  /** Sources (each has a translation). */
  get count(): number {
    return this.parts.length;
  }
  length(i: number): number {
    return this.store(i).length(i);
  }
  copy(i: number, dst: Int32Array, at: number): void {
    this.store(i).copy(i, dst, at);
  }
  sentence(i: number): number[] {
    return this.store(i).sentence(i);
  }
  /** The teacher's score of translation `i` (NaN when it was not recorded). */
  score(i: number): number {
    const part = this.store(i) && this.parts[i] - 1;
    if (!this.values.has(part)) this.values.set(part, readStoreValues(this.stores[part].base, this.count));
    return this.values.get(part)?.[i] ?? NaN;
  }
  private readonly values = new Map<number, Float32Array | undefined>();
  private store(i: number): TokenStore {
    const part = this.parts[i];
    if (part === 0 || part === undefined) throw new RangeError(`sequence-level KD: ${this.out}: no target for source ${i}`);
    return this.stores[part - 1];
  }
}

/** Reads the translations back as records, in source order; every index in [0, total) must be present. */
export function readDistilledTargets(out: string, total: number): DistilledTarget[] {
  const targets = DistilledTargets.open(out, total);
  return Array.from({ length: total }, (_, index) => ({ index, tgt: targets.sentence(index), score: targets.score(index) }));
}
