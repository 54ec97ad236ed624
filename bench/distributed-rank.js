// One rank of bench/distributed.js, started by launchRanks (RANK, WORLD_SIZE, MASTER_* set):
//   allreduce SPEC.json: times of in-place sum allreduces of float32 tensors of the given sizes;
//   train SPEC.json:     the trainer, data-parallel over the group, on the spec's model and pairs; rank 0
//                        prints the tokens/s of the last epoch (all ranks' tokens).
// Prints one JSON line on rank 0.
'use strict';
const fs = require('fs');
const { DIST, runMain } = require('./common');
const { ProcessGroup, Teacher, train, manualSeed, zeros } = require(DIST);

async function allreduce(spec, group) {
  const out = {};
  for (const mb of spec.sizesMB) {
    const t = zeros([Math.round((mb * 2 ** 20) / 4)], { dtype: 'float32' });
    for (let i = 0; i < spec.warmup; i++) await group.allReduce(t, 'sum');
    const ms = [];
    for (let i = 0; i < spec.repeats; i++) {
      const s = process.hrtime.bigint();
      await group.allReduce(t, 'sum');
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    t.dispose();
    out[mb] = ms;
  }
  return out;
}

async function trainRun(spec, group) {
  manualSeed(0);
  const model = Teacher.create(spec.config);
  const per = [];
  await train(model, {
    data: spec.pairs,
    group,
    maxEpochs: spec.epochs,
    logEvery: 1,
    log: null,
    seed: 0,
    labelSmoothing: 0.1,
    batching: { maxTokens: spec.maxTokens },
    optimizer: { lr: 1e-4 },
    schedule: () => 1e-4,
    onStep: (m) => m.epoch >= spec.epochs - 1 && per.push(m),
  });
  const tokens = per.reduce((n, m) => n + m.tokens, 0);
  const seconds = per.reduce((n, m) => n + m.tokens / m.tokensPerSecond, 0);
  return { tokensPerSecond: tokens / seconds, updates: per.length };
}

async function main() {
  const [mode, specFile] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const group = Number(process.env.WORLD_SIZE ?? 1) > 1 ? await ProcessGroup.init() : undefined;
  const result = mode === 'allreduce' ? await allreduce(spec, group) : await trainRun(spec, group);
  if ((group?.rank ?? 0) === 0) console.log(JSON.stringify(result));
  group?.destroy();
}

runMain(main);
