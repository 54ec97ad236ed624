/**
 * What a checkpoint holds of a training run, and how a run comes back from one: the weights, the optimizer's
 * moments, the parameter average, fp16's loss scale, every rank's RNG states (CPU, and the GPU's when the model is
 * on one) and the trainer's counters (data cursor, early
 * stopping, the run's fingerprint). Saving goes through the {@link CheckpointStore} (atomic, rank 0 only);
 * resuming refuses a checkpoint of another run or of another number of ranks.
 */
import * as path from 'path';
import { loadTensors } from '../io/tensor-io';
import type { Seq2Seq } from '../models/seq2seq';
import { cuda, setRngState, type Tensor } from '../tensor';
import type { ParameterAverage } from './average';
import type { CheckpointStore, TrainerCounters } from './checkpoint';
import type { GradScaler } from './grad-scaler';
import type { Adam } from './optimizer';
import type { Replicas } from './replicas';

/** The live parts of a run that a checkpoint saves and restores. */
export interface RunParts {
  model: Seq2Seq;
  optimizer: Adam;
  average?: ParameterAverage;
  /** fp16 training's loss scale. */
  scaler?: GradScaler;
  replicas: Replicas;
  /** Parameters the loss owns besides the model's (saved as `aux.<name>`). */
  aux: Map<string, Tensor>;
}

// Rank 0's RNG under the name a single process uses; the other ranks' beside it.
const rngKey = (kind: 'cpu' | 'cuda', rank: number) => (rank === 0 ? `rng.${kind}` : `rng.${kind}.rank${rank}`);

/** The CUDA device index of a model on a GPU (its generator drives dropout there), else undefined. */
function cudaIndex(model: Seq2Seq): number | undefined {
  const d = model.device;
  return d === 'cpu' ? undefined : d === 'cuda' ? 0 : Number(d.slice(5));
}

/** Saves a checkpoint (every rank takes part: each contributes its RNG state; rank 0 writes). */
export async function saveRun(store: CheckpointStore, parts: RunParts, counters: TrainerCounters, best: boolean): Promise<void> {
  const rngs = await parts.replicas.rngStates(cudaIndex(parts.model));
  if (!parts.replicas.lead) {
    for (const t of [...rngs.cpu, ...(rngs.cuda ?? [])]) t.dispose();
    return;
  }
  const tensors = new Map<string, Tensor>(parts.optimizer.stateDict());
  const { average, model } = parts;
  if (average) for (const [n, t] of average.stateDict()) tensors.set(`average.${n}`, t);
  if (parts.scaler) for (const [n, t] of parts.scaler.stateDict()) tensors.set(n, t);
  for (const [n, t] of parts.aux) tensors.set(`aux.${n}`, t.detach());
  rngs.cpu.forEach((t, r) => tensors.set(rngKey('cpu', r), t));
  rngs.cuda?.forEach((t, r) => tensors.set(rngKey('cuda', r), t));
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
export async function resumeRun(
  store: CheckpointStore,
  parts: RunParts,
  fingerprint: string
): Promise<{ counters: TrainerCounters; folder: string } | undefined> {
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
  parts.scaler?.loadStateDict(saved.state.tensors, `train: ${saved.folder}`);
  for (const [n, t] of parts.aux) {
    const value = saved.state.tensors.get(`aux.${n}`);
    if (!value) throw new Error(`train: ${saved.folder} has no 'aux.${n}' (the loss's own parameters)`);
    t.assign(value);
  }
  const rng = saved.state.tensors.get(rngKey('cpu', rank));
  if (!rng) throw new Error(`train: ${saved.folder} has no RNG state${rank === 0 ? '' : ` for rank ${rank}`}`);
  setRngState(rng);
  // A run saved on a GPU resumes its device generator too (a run moved to another kind of device starts it anew).
  const device = cudaIndex(parts.model);
  const cudaRng = saved.state.tensors.get(rngKey('cuda', rank));
  if (device !== undefined && cudaRng) cuda.setRngState(cudaRng, device);
  return { counters: saved.state.counters, folder: saved.folder };
}

function prefixed(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
