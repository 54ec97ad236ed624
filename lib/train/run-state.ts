/**
 * What a checkpoint holds of a training run, and how a run comes back from one: the weights, the optimizer's
 * moments, the parameter average, every rank's RNG state and the trainer's counters (data cursor, early
 * stopping, the run's fingerprint). Saving goes through the {@link CheckpointStore} (atomic, rank 0 only);
 * resuming refuses a checkpoint of another run or of another number of ranks.
 */
import * as path from 'path';
import { loadTensors } from '../io/tensor-io';
import { Seq2Seq } from '../models/seq2seq';
import { setRngState, Tensor } from '../tensor';
import { ParameterAverage } from './average';
import { CheckpointStore, TrainerCounters } from './checkpoint';
import { Adam } from './optimizer';
import { Replicas } from './replicas';

/** The live parts of a run that a checkpoint saves and restores. */
export interface RunParts {
  model: Seq2Seq;
  optimizer: Adam;
  average?: ParameterAverage;
  replicas: Replicas;
}

// Rank 0's RNG under the name a single process uses; the other ranks' beside it.
const rngKey = (rank: number) => (rank === 0 ? 'rng.cpu' : `rng.cpu.rank${rank}`);

/** Saves a checkpoint (every rank takes part: each contributes its RNG state; rank 0 writes). */
export async function saveRun(store: CheckpointStore, parts: RunParts, counters: TrainerCounters, best: boolean): Promise<void> {
  const rngs = await parts.replicas.rngStates();
  if (!parts.replicas.lead) {
    for (const t of rngs) t.dispose();
    return;
  }
  const tensors = new Map<string, Tensor>(parts.optimizer.stateDict());
  const { average, model } = parts;
  if (average) for (const [n, t] of average.stateDict()) tensors.set(`average.${n}`, t);
  rngs.forEach((t, r) => tensors.set(rngKey(r), t));
  try {
    // The averaged weights also as a model file of their own, loadable like model.safetensors.
    const extra = average ? (folder: string) => average.withAveraged(() => model.save(path.join(folder, 'model.ema.safetensors'))) : undefined;
    await store.save(model, { counters, tensors }, { best, extra });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Restores the last checkpoint of the run folder into `parts` and returns its counters and folder, or undefined
 * for a fresh run. Throws when the checkpoint belongs to another run (`fingerprint`) or another world size.
 */
export async function resumeRun(store: CheckpointStore, parts: RunParts, fingerprint: string): Promise<{ counters: TrainerCounters; folder: string } | undefined> {
  const saved = await store.load('last');
  if (!saved) return undefined;
  const { rank, worldSize } = parts.replicas;
  const savedWorld = saved.state.counters.worldSize ?? 1;
  if (savedWorld !== worldSize) {
    throw new Error(`train: ${saved.folder} was written by a run of ${savedWorld} rank(s); resume it with ${savedWorld} (this run has ${worldSize})`);
  }
  if (saved.state.counters.fingerprint !== fingerprint) {
    throw new Error(`train: ${saved.folder} is a checkpoint of another run (different model, data or options); use another runDir or remove it`);
  }
  const weights = await loadTensors(saved.model);
  try {
    parts.model.loadStateDict(weights.tensors, { strict: true });
  } finally {
    for (const t of weights.tensors.values()) t.dispose();
  }
  parts.optimizer.loadStateDict(saved.state.tensors);
  parts.average?.loadStateDict(prefixed(saved.state.tensors, 'average.'));
  const rng = saved.state.tensors.get(rngKey(rank));
  if (!rng) throw new Error(`train: ${saved.folder} has no RNG state${rank === 0 ? '' : ` for rank ${rank}`}`);
  setRngState(rng);
  return { counters: saved.state.counters, folder: saved.folder };
}

function prefixed(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
