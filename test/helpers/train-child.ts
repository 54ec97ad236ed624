// A training run in its own process, for the kill -9 resume tests (test/helpers/resume.ts): builds the same toy
// models and data every time, trains (or distils) into RUN_DIR, resuming from its checkpoint, and writes the
// final parameters to RUN_DIR/final.safetensors.
// Usage: node train-child.js RUN_DIR teacher|online MAX_STEPS [DEVICE [PRECISION]]
import * as path from 'path';
import { Device, distill, manualSeed, Precision, saveTensors, Teacher, train } from '../../lib';
import { toyCopyPairs, toyTeacherConfig } from './toy-training';

async function main(): Promise<void> {
  const [runDir, mode, maxSteps, device, precision] = process.argv.slice(2) as [string, string, string, Device | undefined, Precision | undefined];
  const data = toyCopyPairs(160, 11);
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const common = { data, runDir, maxSteps: Number(maxSteps), saveEvery: 3, logEvery: 1, batching: { maxTokens: 200 }, log: null, seed: 5, device, precision };
  if (mode === 'teacher') {
    await train(model, { ...common, optimizer: { lr: 3e-3 }, labelSmoothing: 0.1, ema: 0.99 });
  } else {
    manualSeed(2);
    const teacher = Teacher.create(toyTeacherConfig);
    await distill({ ...common, teacher, student: model, mode: 'online', alpha: 0.5, temperature: 2, optimizer: { lr: 3e-3, kind: 'adamw' } });
  }
  await saveTensors(path.join(runDir, 'final.safetensors'), model.stateDict());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
