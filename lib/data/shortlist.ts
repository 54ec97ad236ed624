/**
 * A vocabulary shortlist for decoding (as Marian and Bergamot's students use): for each source token the
 * target tokens that co-occur with it most strongly in the training corpus, plus the corpus's most frequent
 * target tokens and the specials. A batch then decodes over the union of its source tokens' lists only, so
 * the output projection — most of a small student's decode step at an 8k–32k vocabulary — shrinks to the
 * candidates, and the log-softmax renormalises over them. Built once from token pairs, kept as safetensors
 * beside the model (the model file's `shortlist` metadata names it).
 */
import { ArrayPairSource, isPairSource, type PairSource, type TokenPair } from './pair-source';
import { loadTensors, saveTensors } from '../io/tensor-io';
import { tensor } from '../tensor/create';

/** The defaults of {@link ShortlistOptions}: Marian's lexical shortlists use a few tens per source word. */
export const SHORTLIST_DEFAULTS = Object.freeze({ perSource: 20, frequent: 100 });

/** Options of {@link Shortlist.build}. */
export interface ShortlistOptions {
  /** The model's vocabulary size (ids are checked against it). */
  vocabSize: number;
  /** Target tokens kept per source token (default 20). */
  perSource?: number;
  /** Most frequent target tokens always in the list (default 100). */
  frequent?: number;
  /** Ids always in the list (the model's `</s>`, `<unk>`...). */
  always?: number[];
}

const FORMAT = 'xlm-kd-shortlist';

/** Per-source-token candidate lists and the always-kept ids. */
export class Shortlist {
  private constructor(
    /** [vocabSize × perSource] target ids per source id, -1 where a source token has fewer. */
    readonly table: Int32Array,
    /** Source (and target) vocabulary size. */
    readonly vocabSize: number,
    /** Candidates kept per source token (the table's row length). */
    readonly perSource: number,
    /** Ids in every batch's list: the most frequent target tokens and the specials. */
    readonly always: readonly number[]
  ) {}

  /**
   * Builds the lists from parallel token pairs: target token t is scored for source token s by the Dice
   * coefficient of the sentences they occur in, 2·c(s,t) / (c(s) + c(t)), which favours translations over
   * merely frequent words (those are covered by `frequent`).
   */
  static build(pairs: readonly TokenPair[] | PairSource, opts: ShortlistOptions): Shortlist {
    const V = opts.vocabSize;
    const perSource = opts.perSource ?? SHORTLIST_DEFAULTS.perSource;
    const frequent = opts.frequent ?? SHORTLIST_DEFAULTS.frequent;
    if (!Number.isInteger(V) || V < 1) throw new RangeError(`Shortlist.build: option 'vocabSize' must be an integer >= 1, got ${String(V)}`);
    for (const [name, v] of [
      ['perSource', perSource],
      ['frequent', frequent],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Shortlist.build: option '${name}' must be an integer >= 0, got ${String(v)}`);
    }
    const source = isPairSource(pairs) ? pairs : Array.isArray(pairs) ? new ArrayPairSource(pairs, 'Shortlist.build: pairs') : undefined;
    if (source === undefined || source.size === 0)
      throw new TypeError("Shortlist.build: argument 'pairs' must be a non-empty array of token pairs or a PairSource");
    const srcCount = new Float64Array(V);
    const tgtCount = new Float64Array(V);
    const tgtTokens = new Float64Array(V);
    const joint = new Map<number, number>();
    // One pair at a time: a token store's pairs are read from its pages, never all held.
    for (let i = 0; i < source.size; i++) {
      const p = source.pair(i);
      const s = distinctIds(p.src, V, `pairs[${i}].src`);
      const t = distinctIds(p.tgt, V, `pairs[${i}].tgt`);
      for (const id of p.tgt) tgtTokens[id] += 1;
      for (const a of s) srcCount[a] += 1;
      for (const b of t) tgtCount[b] += 1;
      for (const a of s) for (const b of t) joint.set(a * V + b, (joint.get(a * V + b) ?? 0) + 1);
    }
    // The best perSource targets of each source id, by Dice (ties: the more frequent target first).
    const lists: Array<Array<[number, number]>> = Array.from({ length: V }, () => []);
    for (const [key, c] of joint) {
      const s = Math.floor(key / V);
      const t = key - s * V;
      lists[s].push([t, (2 * c) / (srcCount[s] + tgtCount[t])]);
    }
    const table = new Int32Array(V * perSource).fill(-1);
    lists.forEach((list, s) => {
      list.sort((x, y) => y[1] - x[1] || tgtCount[y[0]] - tgtCount[x[0]] || x[0] - y[0]);
      list.slice(0, perSource).forEach(([t], k) => (table[s * perSource + k] = t));
    });
    const byFrequency = Array.from({ length: V }, (_, id) => id)
      .filter((id) => tgtTokens[id] > 0)
      .sort((a, b) => tgtTokens[b] - tgtTokens[a] || a - b);
    const always = [...new Set([...(opts.always ?? []), ...byFrequency.slice(0, frequent)])].sort((a, b) => a - b);
    for (const id of always)
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`Shortlist.build: option 'always' holds ${id}, outside [0, ${V})`);
    return new Shortlist(table, V, perSource, always);
  }

  /** The sorted candidate ids of a batch of sources (token ids, framing or padding included or not). */
  candidates(sources: ArrayLike<number>[] | ArrayLike<number>): number[] {
    const out = new Set<number>(this.always);
    const add = (s: number) => {
      if (!(s >= 0 && s < this.vocabSize)) return;
      const base = s * this.perSource;
      for (let k = 0; k < this.perSource; k++) {
        const t = this.table[base + k];
        if (t < 0) break;
        out.add(t);
      }
    };
    const isNested = Array.isArray(sources) && sources.length > 0 && typeof sources[0] !== 'number';
    if (isNested) for (const row of sources) for (let i = 0; i < row.length; i++) add(row[i]);
    else for (let i = 0; i < sources.length; i++) add((sources as ArrayLike<number>)[i]);
    return [...out].sort((a, b) => a - b);
  }

  /** Writes the lists as safetensors (atomically). */
  async save(path: string): Promise<void> {
    const t = tensor(this.table, { dtype: 'int32' }).view(this.vocabSize, this.perSource);
    const a = tensor(Int32Array.from(this.always), { dtype: 'int32' });
    try {
      await saveTensors(
        path,
        new Map([
          ['table', t],
          ['always', a],
        ]),
        { format: FORMAT, vocab_size: String(this.vocabSize), per_source: String(this.perSource) }
      );
    } finally {
      t.dispose();
      a.dispose();
    }
  }

  /** Reads a file written by {@link save}; errors name the file and what is wrong with it. */
  static async load(path: string): Promise<Shortlist> {
    const { tensors, metadata } = await loadTensors(path).catch((e: Error) => {
      throw new Error(`Shortlist.load: ${path}: ${e.message}`);
    });
    try {
      if (metadata.format !== FORMAT) throw new Error(`Shortlist.load: ${path} is not a shortlist (format '${metadata.format ?? 'none'}')`);
      const table = tensors.get('table');
      const always = tensors.get('always');
      const V = Number(metadata.vocab_size);
      const N = Number(metadata.per_source);
      if (!table || !always || table.dtype !== 'int32' || always.dtype !== 'int32' || table.shape.join() !== `${V},${N}`) {
        throw new Error(
          `Shortlist.load: ${path}: expected int32 'table' [${V}, ${N}] and 'always', got ${[...tensors].map(([k, v]) => `${k} ${v.dtype} [${v.shape.join(',')}]`).join(', ')}`
        );
      }
      const ids = Int32Array.from(table.toArray() as Int32Array);
      const keep = Array.from(always.toArray() as Int32Array);
      if (ids.some((id) => id < -1 || id >= V) || keep.some((id) => id < 0 || id >= V))
        throw new Error(`Shortlist.load: ${path}: ids outside [0, ${V})`);
      return new Shortlist(ids, V, N, keep);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
}

function distinctIds(ids: number[], V: number, where: string): number[] {
  if (!Array.isArray(ids)) throw new TypeError(`Shortlist.build: ${where} must be an array of token ids`);
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`Shortlist.build: ${where} holds ${String(id)}, outside [0, ${V})`);
  return [...new Set(ids)];
}
