// One rank of a data-parallel training run for test/distributed-training.test.ts (or the single process it is
// compared with, when WORLD_SIZE is unset): a toy teacher trained with cross-entropy, or a student cut from it
// distilled online, on fixed-length pairs in file order, `SENTENCES` per batch, without dropout so ranks and
// the single process see the same arithmetic. Writes RUN_DIR/final.rank<R>.safetensors and one JSON line.
// Usage: node ddp-child.js RUN_DIR teacher|online|offline|sequence SENTENCES MAX_STEPS [freeze-at-step|die-at-step N]
import * as path from 'path';
import { constant, cutStudent, distill, manualSeed, ProcessGroup, saveTensors, type Seq2Seq, Teacher, type TokenPair, train } from '../../lib';
import { toyTeacherConfig } from './toy-training';

// Fixed lengths, so a batch of 2b pairs is exactly the union of two batches of b (no length sorting moves them).
function pairs(n: number): TokenPair[] {
  return Array.from({ length: n }, (_, i) => {
    const src = Array.from({ length: 6 }, (_, j) => 4 + ((i * 7 + j * 3 + (i % 5) * j) % 20));
    return { src, tgt: [...src].reverse() };
  });
}

async function main(): Promise<void> {
  const [runDir, mode, sentences, maxSteps, fault, faultStep] = process.argv.slice(2);
  const group =
    Number(process.env.WORLD_SIZE ?? 1) > 1 ? await ProcessGroup.init({ timeoutMs: Number(process.env.XKT_TEST_TIMEOUT_MS ?? 20000) }) : undefined;
  const rank = group?.rank ?? 0;
  manualSeed(1);
  const teacher = Teacher.create({ ...toyTeacherConfig, dropout: 0, attentionDropout: 0 });
  const common = {
    data: pairs(96),
    runDir,
    group,
    maxSteps: Number(maxSteps),
    log: null,
    seed: 3,
    dropout: false,
    saveEvery: 2,
    logEvery: 1,
    batching: { maxTokens: 100000, maxSentences: Number(sentences), shuffle: false },
    schedule: constant({ lr: 3e-3 }),
    onStep: (m: { step: number }) => {
      if (rank === 1 && fault && m.step === Number(faultStep)) process.kill(process.pid, fault === 'freeze-at-step' ? 'SIGSTOP' : 'SIGKILL');
    },
  };
  let model: Seq2Seq = teacher;
  if (mode === 'teacher') {
    await train(teacher, { ...common, optimizer: { lr: 3e-3 }, labelSmoothing: 0.1 });
  } else {
    model = cutStudent(teacher, { encoderLayers: 2, decoderLayers: 1 });
    const kd = mode as 'online' | 'offline' | 'sequence';
    // The teacher's cache / translations go beside the run (rank 0 makes them, every rank reads them).
    const files = { cacheFile: path.join(runDir, 'teacher.cache'), sequenceFile: path.join(runDir, 'teacher.jsonl') };
    await distill({
      ...common,
      ...files,
      teacher,
      student: model,
      mode: kd,
      alpha: 0.5,
      temperature: 2,
      labelSmoothing: 0,
      topK: 4,
      optimizer: { lr: 3e-3, kind: 'adamw' },
    });
  }
  await saveTensors(path.join(runDir, `final.rank${rank}.safetensors`), model.stateDict());
  console.log(JSON.stringify({ rank, done: true }));
  group?.destroy();
}

main().catch((e) => {
  console.log(JSON.stringify({ error: (e as Error).message }));
  process.exit(1);
});
