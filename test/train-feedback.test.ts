// What a user sees and relies on around a training run: the live progress bar on a terminal (and plain
// lines elsewhere), the `threads` option, and a full disk while saving a checkpoint (a clear error, the
// previous checkpoint intact, and a resume that works once there is space again).
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { CheckpointStore, manualSeed, MetricsLog, Teacher, train, version } from '../lib';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'train-feedback-'));

/** A writable that says it is a terminal and keeps what is written to it. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 160;
  readonly rows = 40;
  text = '';
  override _write(chunk: Buffer | string, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('on a terminal, one live bar shows step, loss, lr, tokens/s and ETA; other lines print above it, no step lines', async (t) => {
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const terminal = new FakeTerminal();
  const lines: string[] = [];
  const valid = { pairs: toyCopyPairs(20, 9) };
  await train(model, {
    data: toyCopyPairs(120, 3),
    maxSteps: 12,
    logEvery: 4,
    validateEvery: 6,
    valid,
    progressBar: terminal,
    log: (l) => lines.push(l),
    batching: { maxTokens: 200 },
  });
  // eslint-disable-next-line no-control-regex -- strips the terminal's ANSI escape sequences (ESC [ ...)
  const screen = terminal.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  t.regex(screen, /100% \| step 12 \| loss \d+\.\d{3} \| lr \d\.\de-\d \| [\d,]+ tok\/s \| ETA 0s/);
  t.regex(screen, /valid step 6: loss \d+\.\d+ \| ppl/, 'validation lines go above the bar');
  t.false(
    lines.some((l) => /^step \d+/.test(l)),
    'no plain step lines while the bar is drawn'
  );
  t.true(
    lines.some((l) => /stopped by maxSteps at step 12/.test(l)),
    'the closing line is printed after the bar'
  );

  // Without a terminal: a plain line every logEvery updates, and the bar's stream stays untouched.
  const plain: string[] = [];
  manualSeed(1);
  await train(Teacher.create(toyTeacherConfig), {
    data: toyCopyPairs(120, 3),
    maxSteps: 8,
    logEvery: 4,
    log: (l) => plain.push(l),
    batching: { maxTokens: 200 },
  });
  t.deepEqual(
    plain.filter((l) => /^step \d+/.test(l)).map((l) => l.split(' | ')[0]),
    ['step 4/8', 'step 8/8']
  );
});

test('a run by time or by epochs fills its bar in that unit', async (t) => {
  manualSeed(1);
  const terminal = new FakeTerminal();
  await train(Teacher.create(toyTeacherConfig), {
    data: toyCopyPairs(60, 3),
    maxEpochs: 2,
    progressBar: terminal,
    log: null,
    batching: { maxTokens: 200 },
  });
  // eslint-disable-next-line no-control-regex -- strips the terminal's ANSI escape sequences (ESC [ ...)
  t.regex(terminal.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), /100% \| step \d+ /);
});

test('threads: the run uses the given intra-op thread count and restores the previous one', async (t) => {
  const before = version().threads;
  const seen: number[] = [];
  manualSeed(1);
  await train(Teacher.create(toyTeacherConfig), {
    data: toyCopyPairs(60, 3),
    maxSteps: 3,
    logEvery: 1,
    threads: 1,
    log: null,
    onStep: () => seen.push(version().threads),
    batching: { maxTokens: 200 },
  });
  t.deepEqual(seen, [1, 1, 1]);
  t.is(version().threads, before);
  await t.throwsAsync(train(Teacher.create(toyTeacherConfig), { data: toyCopyPairs(10, 3), maxSteps: 1, threads: 0, log: null }), {
    message: /option 'threads' must be an integer >= 1, got number 0/,
  });
});

// A real full disk: a small tmpfs (needs root, as CI's machines are; elsewhere the test is skipped).
function mountSmallDisk(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = tmp();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir]);
  return r.status === 0 ? dir : undefined;
}
const disk = mountSmallDisk();
test.after.always(() => {
  if (disk) spawnSync('umount', [disk]);
});

(disk ? test : test.skip)(
  'disk full while saving: a clear error, the previous checkpoint intact and nothing half-written; resume works after',
  async (t) => {
    const runDir = path.join(disk!, 'run');
    const filler = path.join(disk!, 'filler');
    const opts = { data: toyCopyPairs(120, 3), maxSteps: 8, saveEvery: 4, logEvery: 1, log: null, batching: { maxTokens: 200 } };
    manualSeed(1);
    const model = Teacher.create(toyTeacherConfig);
    // After the first checkpoint (step 4), fill the disk so that the next one cannot be written.
    const onStep = (m: { step: number }) => {
      if (m.step === 5) {
        const free = fs.statfsSync(disk!).bavail * fs.statfsSync(disk!).bsize;
        fs.writeFileSync(filler, Buffer.alloc(Math.max(free - 64 * 1024, 0)));
      }
    };
    await t.throwsAsync(train(model, { ...opts, runDir, onStep }), {
      message: new RegExp(`checkpoint: could not save step 8 to .*step-8: the disk is full; the previous checkpoint .*step-4 is intact`),
    });
    const store = new CheckpointStore(runDir);
    t.is(path.basename(store.folder('last')!), 'step-4');
    t.deepEqual(
      fs.readdirSync(store.dir).filter((f) => f.startsWith('step-')),
      ['step-4'],
      'the half-written step-8 is removed'
    );
    t.false(
      fs.readdirSync(store.dir).some((f) => f.includes('.tmp')),
      'no temp file left'
    );
    // With space again, the run resumes from step 4 and finishes.
    fs.rmSync(filler);
    manualSeed(1);
    const r = await train(Teacher.create(toyTeacherConfig), { ...opts, runDir });
    t.is(path.basename(r.resumedFrom!), 'step-4');
    t.is(r.steps, 8);
    t.is(path.basename(store.folder('last')!), 'step-8');
  }
);

test('metrics.jsonl on resume: cut after the checkpoint step, a half-written last line dropped, read from the end only', (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-')), 'metrics.jsonl');
  const line = (step: number) => JSON.stringify({ type: 'step', step, loss: 1 / step, pad: 'x'.repeat(40000) }) + '\n';
  // Lines of 40 kB, so the walk back crosses 64 KiB blocks.
  fs.writeFileSync(file, Array.from({ length: 10 }, (_, i) => line(i + 1)).join('') + '{"type":"step","step":1');
  new MetricsLog(file).truncateAfter(6);
  t.deepEqual(
    MetricsLog.read(file).map((l) => l.step),
    [1, 2, 3, 4, 5, 6]
  );
  new MetricsLog(file).truncateAfter(100);
  t.deepEqual(
    MetricsLog.read(file).map((l) => l.step),
    [1, 2, 3, 4, 5, 6]
  );
  new MetricsLog(file).truncateAfter(0);
  t.is(fs.statSync(file).size, 0);
});
