/**
 * Training checkpoints in a run folder: `checkpoints/step-N/` holds the model (`model.safetensors`, loadable
 * by `loadModel`) and the rest of the training state (`state.safetensors`: optimizer moments, parameter
 * average, RNG state, with the trainer's counters as JSON metadata), and with an average also the averaged
 * weights as a model (`model.ema.safetensors`). `checkpoints/last.json` and
 * `checkpoints/best.json` name the folder; each is replaced atomically after its folder is complete, so a
 * kill at any moment leaves the previous checkpoint whole, and a failed save (disk full) loses nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic-write';
import { loadTensors, saveTensors } from '../io/tensor-io';
import type { Seq2Seq } from '../models/seq2seq';
import type { Tensor } from '../tensor/tensor';

/** Counters that, with the tensors, let a run continue exactly where it stopped. */
export interface TrainerCounters {
  /** Optimizer updates done. */
  step: number;
  /** Data cursor: the epoch and the index of the next batch in that epoch's plan. */
  epoch: number;
  /** Index of the next batch in that epoch's plan. */
  batchInEpoch: number;
  /** Target tokens and seconds of training so far. */
  tokens: number;
  /** Seconds of training so far. */
  seconds: number;
  /** Early stopping: best validation score, its step, and validations since it improved. */
  bestScore: number | null;
  /** The best validation's loss: breaks a tie in BLEU (absent in checkpoints written before it was kept). */
  bestLoss?: number | null;
  /** The step of the best validation (null before one). */
  bestStep: number | null;
  /** Validations since the best one. */
  badValidations: number;
  /** Steps skipped for a non-finite loss or gradient norm. */
  skippedSteps: number;
  /** A hash of what the run was started with (model kind, data size, options): resuming another run is refused. */
  fingerprint: string;
  /** Ranks of a data-parallel run (absent: one process); a run resumes only with as many. */
  worldSize?: number;
}

/** What a checkpoint holds besides the model. */
export interface CheckpointState {
  /** Where the run stood. */
  counters: TrainerCounters;
  /** Optimizer state (Adam.stateDict()), average (`average.*`) and RNG (`rng.cpu`). */
  tensors: Map<string, Tensor>;
}

const POINTERS = ['last', 'best'] as const;
type Pointer = (typeof POINTERS)[number];

/** The checkpoints of one run folder. */
export class CheckpointStore {
  /** The folder holding the checkpoints (`<runDir>/checkpoints`). */
  readonly dir: string;

  constructor(runDir: string) {
    this.dir = path.join(runDir, 'checkpoints');
  }

  /**
   * Writes step-N (model + state, and whatever `extra` writes into the folder, such as the averaged weights),
   * then points `last` (and `best` when asked) at it; prunes unreferenced folders.
   */
  async save(model: Seq2Seq, state: CheckpointState, opts: { best?: boolean; extra?: (folder: string) => Promise<void> } = {}): Promise<string> {
    const name = `step-${state.counters.step}`;
    const folder = path.join(this.dir, name);
    const previous = this.folder('last');
    try {
      await fs.promises.mkdir(folder, { recursive: true });
      await model.save(path.join(folder, 'model.safetensors'));
      await saveTensors(path.join(folder, 'state.safetensors'), state.tensors, { counters: JSON.stringify(state.counters) });
      await opts.extra?.(folder);
      await this.point('last', name);
      if (opts.best) await this.point('best', name);
    } catch (err) {
      // A half-written folder that no pointer names only takes space (the disk may be full): remove it.
      if (folder !== this.folder('last') && folder !== this.folder('best'))
        await fs.promises.rm(folder, { recursive: true, force: true }).catch(() => undefined);
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EDQUOT' ? 'the disk quota is exceeded' : e.message;
      const kept = previous ? `the previous checkpoint ${previous} is intact` : 'there was no earlier checkpoint';
      throw Object.assign(new Error(`checkpoint: could not save step ${state.counters.step} to ${folder}: ${why}; ${kept}`), {
        code: e.code,
        cause: err,
      });
    }
    await this.prune();
    return folder;
  }

  /** The folder `last` (or `best`) names, or undefined when there is none yet. */
  folder(which: Pointer = 'last'): string | undefined {
    const file = path.join(this.dir, `${which}.json`);
    if (!fs.existsSync(file)) return undefined;
    let name: unknown;
    try {
      name = (JSON.parse(fs.readFileSync(file, 'utf8')) as { folder?: unknown }).folder;
    } catch (e) {
      throw new Error(`checkpoint: ${file} is not valid JSON (${(e as Error).message}); remove it to start over`, { cause: e });
    }
    if (typeof name !== 'string' || !/^step-\d+$/.test(name)) throw new Error(`checkpoint: ${file} names no checkpoint folder`);
    return path.join(this.dir, name);
  }

  /** Loads the state of the `last` checkpoint into nothing yet: the caller restores model and optimizer. */
  async load(which: Pointer = 'last'): Promise<{ folder: string; model: string; state: CheckpointState } | undefined> {
    const folder = this.folder(which);
    if (!folder) return undefined;
    const file = path.join(folder, 'state.safetensors');
    const { tensors, metadata } = await loadTensors(file);
    let counters: TrainerCounters;
    try {
      counters = JSON.parse(metadata.counters ?? '') as TrainerCounters;
    } catch {
      throw new Error(`checkpoint: ${file} has no valid 'counters' metadata`);
    }
    return { folder, model: path.join(folder, 'model.safetensors'), state: { counters, tensors } };
  }

  private async point(which: Pointer, name: string): Promise<void> {
    await writeFileAtomic(path.join(this.dir, `${which}.json`), JSON.stringify({ folder: name }) + '\n');
  }

  private async prune(): Promise<void> {
    const keep = new Set(
      POINTERS.map((p) => this.folder(p))
        .filter((f): f is string => f !== undefined)
        .map((f) => path.basename(f))
    );
    for (const entry of await fs.promises.readdir(this.dir)) {
      if (/^step-\d+$/.test(entry) && !keep.has(entry)) await fs.promises.rm(path.join(this.dir, entry), { recursive: true, force: true });
    }
  }
}
