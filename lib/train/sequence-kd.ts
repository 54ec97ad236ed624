/**
 * Sequence-level knowledge distillation (Kim & Rush 2016): the teacher's beam-search translations of the
 * training sources become the student's targets. Output streams to a JSON-lines file, one line per
 * source (`{"index", "tgt", "score"}`), appended and fsynced batch by batch, so a killed run resumes
 * where it stopped and loses at most the batch in flight.
 */
import * as fs from 'fs';
import { Batch } from '../data/batch';
import { Seq2Seq } from '../models/seq2seq';
import { beamSearch } from '../decode/beam';
import { greedy } from '../decode/greedy';
import { DecodeOptions } from '../decode/options';

export interface DistillSequencesOptions extends DecodeOptions {
  /** The JSON-lines file to write (appended to when it already holds finished lines). */
  out: string;
  /** Sentences per decoding batch (default 32); sources are length-sorted into batches. */
  batchSize?: number;
  srcLang?: number;
  /** Called after every batch with the number of finished sources. */
  onProgress?: (done: number, total: number) => void;
}

export interface DistillSequencesResult {
  path: string;
  /** Sources translated by this call. */
  written: number;
  /** Sources already in the file from an earlier (interrupted) run. */
  resumed: number;
}

/** One line of the output file. */
export interface DistilledTarget {
  index: number;
  tgt: number[];
  score: number;
}

// Reads the finished lines and cuts off a partial last line (a run killed mid-write).
function finishedIndices(path: string, total: number): Set<number> {
  const done = new Set<number>();
  if (!fs.existsSync(path)) return done;
  const text = fs.readFileSync(path, 'utf8');
  let goodBytes = 0;
  let offset = 0;
  for (const line of text.split('\n')) {
    const end = offset + Buffer.byteLength(line) + 1;
    if (end > Buffer.byteLength(text)) break; // no newline: partial line
    try {
      const rec = JSON.parse(line) as DistilledTarget;
      if (Number.isInteger(rec.index) && rec.index >= 0 && rec.index < total && Array.isArray(rec.tgt)) {
        done.add(rec.index);
        goodBytes = end;
      } else break;
    } catch {
      break;
    }
    offset = end;
  }
  if (goodBytes < Buffer.byteLength(text)) fs.truncateSync(path, goodBytes);
  return done;
}

/**
 * Translates `sources` (token ids, no framing) with the teacher's beam (greedy when beamSize is 1) and
 * writes the best hypothesis of each as a new target. Resumable: rerunning with the same `out` skips
 * the sources already written.
 */
export async function distillSequences(
  teacher: Seq2Seq,
  sources: number[][],
  opts: DistillSequencesOptions
): Promise<DistillSequencesResult> {
  if (!opts || typeof opts.out !== 'string') throw new TypeError("distillSequences: option 'out' (a file path) is required");
  if (!Array.isArray(sources)) throw new TypeError("distillSequences: argument 'sources' must be an array of token id arrays");
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`distillSequences: option 'batchSize' must be an integer >= 1, got ${batchSize}`);
  const done = finishedIndices(opts.out, sources.length);
  const todo = sources.map((_, i) => i).filter((i) => !done.has(i));
  todo.sort((a, b) => sources[a].length - sources[b].length || a - b);
  const wasTraining = teacher.training;
  teacher.eval();
  const fd = fs.openSync(opts.out, 'a');
  let written = 0;
  try {
    for (let start = 0; start < todo.length; start += batchSize) {
      const ids = todo.slice(start, start + batchSize);
      const batch = Batch.from(
        { src: ids.map((i) => sources[i]), srcLang: opts.srcLang, tgtLang: opts.tgtLang },
        { eosIndex: teacher.eosIndex, padIndex: teacher.padIndex, device: teacher.device }
      );
      const hyps = (opts.beamSize ?? 5) === 1 ? await greedy(teacher, batch, opts) : await beamSearch(teacher, batch, opts);
      batch.dispose();
      const lines = ids.map((index, k) => JSON.stringify({ index, tgt: hyps[k][0].tokens, score: hyps[k][0].score }) + '\n');
      fs.writeSync(fd, lines.join(''));
      fs.fsyncSync(fd);
      written += ids.length;
      opts.onProgress?.(done.size + written, sources.length);
    }
  } finally {
    fs.closeSync(fd);
    teacher.train(wasTraining);
  }
  return { path: opts.out, written, resumed: done.size };
}

/** Reads a distilled target file back, in source order; every index in [0, total) must be present. */
export function readDistilledTargets(path: string, total: number): DistilledTarget[] {
  const out: Array<DistilledTarget | undefined> = new Array(total);
  const lines = fs.readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    let rec: DistilledTarget;
    try {
      rec = JSON.parse(line) as DistilledTarget;
    } catch {
      throw new Error(`readDistilledTargets: ${path}:${n + 1} is not valid JSON`);
    }
    if (!Number.isInteger(rec.index) || rec.index < 0 || rec.index >= total || !Array.isArray(rec.tgt)) {
      throw new Error(`readDistilledTargets: ${path}:${n + 1} has no valid index in [0, ${total}) and tgt`);
    }
    out[rec.index] = rec;
  });
  const missing = out.findIndex((r) => r === undefined);
  if (missing >= 0) throw new Error(`readDistilledTargets: ${path} has no target for source ${missing} (run distillSequences again to finish it)`);
  return out as DistilledTarget[];
}
