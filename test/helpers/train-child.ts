// A training run in its own process, for the kill -9 resume tests (test/helpers/resume.ts): builds the same toy
// models and data every time, trains (or distils) into RUN_DIR, resuming from its checkpoint, and writes the
// final parameters to RUN_DIR/final.safetensors.
// Usage: node train-child.js RUN_DIR teacher|store|online MAX_STEPS [DEVICE [PRECISION]] ('store': the teacher's run
// with the same pairs read from a token store in RUN_DIR-store, written on first use)
import * as path from 'path';
import * as fs from 'fs';
import {
  type Device,
  distill,
  manualSeed,
  type PairSource,
  type Precision,
  saveTensors,
  SidesPairSource,
  Teacher,
  type TokenPair,
  TokenStore,
  TokenStoreWriter,
  train,
} from '../../lib';
import { toyCopyPairs, toyTeacherConfig } from './toy-training';

async function main(): Promise<void> {
  const [runDir, mode, maxSteps, device, precision] = process.argv.slice(2) as [string, string, string, Device | undefined, Precision | undefined];
  const pairs = toyCopyPairs(160, 11);
  const data = mode === 'store' ? storeOf(pairs, `${runDir}-store`) : pairs;
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const common = {
    data,
    runDir,
    maxSteps: Number(maxSteps),
    saveEvery: 3,
    logEvery: 1,
    batching: { maxTokens: 200 },
    log: null,
    seed: 5,
    device,
    precision,
  };
  if (mode === 'teacher' || mode === 'store') {
    await train(model, { ...common, optimizer: { lr: 3e-3 }, labelSmoothing: 0.1, ema: 0.99 });
  } else {
    manualSeed(2);
    const teacher = Teacher.create(toyTeacherConfig);
    await distill({ ...common, teacher, student: model, mode: 'online', alpha: 0.5, temperature: 2, optimizer: { lr: 3e-3, kind: 'adamw' } });
  }
  await saveTensors(path.join(runDir, 'final.safetensors'), model.stateDict());
}

/** The pairs as a token store in `dir` (written once, then reopened by every later run). */
function storeOf(pairs: TokenPair[], dir: string): PairSource {
  for (const side of ['src', 'tgt'] as const) {
    const base = `${dir}/${side}`;
    if (fs.existsSync(`${base}.idx`)) continue;
    const w = new TokenStoreWriter(base, 2, { tokenizer: 'toy', vocabSize: 24 });
    w.add({ ids: Int32Array.from(pairs.flatMap((p) => p[side])), sizes: Int32Array.from(pairs, (p) => p[side].length) });
    w.finish();
  }
  return new SidesPairSource(TokenStore.open(`${dir}/src`), TokenStore.open(`${dir}/tgt`));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
