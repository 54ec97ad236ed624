// Seq2Seq.mergeStates (native/modules/{xlm_transformer,bigru_seq2seq}.cc): sentences that join a running
// decode between its steps must decode exactly as they would alone. Each scenario tracks, per hypothesis row,
// its source, language and the tokens fed so far, and after every merge, step and reorder compares the row's
// log-probs with a fresh teacher-forced forward of that source and prefix (an independent computation), for the
// Teacher (learned positions with languages, sinusoidal positions), the BiGRU and an int8-quantized cut model.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Batch, BiGruStudent, cat, manualSeed, noGrad, Teacher, tensor } from '../lib';
import type { DecoderState, Seq2Seq, Tensor } from '../lib';

interface Row {
  src: number[];
  lang: number | undefined;
  fed: number[];
}

const SOURCES = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15], [16], [17, 18, 19, 20, 21, 22, 23, 24], [25, 26, 27]];
const seeded = <M>(seed: number, make: () => M): M => {
  manualSeed(seed);
  return make();
};
const tok = (ids: number[]) => tensor(ids, { dtype: 'int64' });

/** A decode in progress: its state and what each row has seen. */
class Running {
  constructor(
    readonly model: Seq2Seq,
    public state: DecoderState,
    public rows: Row[],
    private readonly langs: boolean
  ) {}

  static encode(model: Seq2Seq, sources: number[][], copies: number, langs: boolean, firstLang: number): Running {
    const srcLang = sources.map((_, i) => (firstLang + i) % 3);
    const batch = Batch.from({ src: sources, ...(langs ? { srcLang } : {}) });
    const state = model.encode(batch.src, batch.srcLen, batch.srcLang);
    const order = sources.flatMap((_, s) => new Array<number>(copies).fill(s));
    if (copies > 1) model.reorder(state, tok(order));
    const rows = order.map((s) => ({ src: sources[s], lang: langs ? (srcLang[s] + 1) % 3 : undefined, fed: [] as number[] }));
    return new Running(model, state, rows, langs);
  }

  step(ids: number[]): Tensor {
    this.rows = this.rows.map((r, i) => ({ ...r, fed: [...r.fed, ids[i]] }));
    const lang = this.langs ? tok(this.rows.map((r) => r.lang as number)) : undefined;
    return this.model.decodeStep(this.state, tok(ids), lang);
  }

  reorder(idx: number[]): void {
    this.model.reorder(this.state, tok(idx));
    this.rows = idx.map((i) => this.rows[i]);
  }

  merge(other: Running): void {
    this.state = this.model.mergeStates!(this.state, other.state);
    this.rows = [...this.rows, ...other.rows];
  }
}

/** Every row's log-probs against a fresh forward of its source and the tokens it was fed. */
function check(t: ExecutionContext, run: Running, lp: Tensor, what: string, tol: number): void {
  const { model, rows } = run;
  const langs = rows[0].lang !== undefined;
  t.is(lp.shape[0], rows.length, `${what}: rows`);
  rows.forEach((r, i) => {
    const fresh = Batch.from({ src: [r.src], tgt: [r.fed.slice(1)], ...(langs ? { srcLang: [(r.lang! + 2) % 3], tgtLang: [r.lang!] } : {}) });
    const expected = model
      .forward(fresh)
      .logSoftmax(-1)
      .narrow(1, r.fed.length - 1, 1)
      .reshape(-1);
    const d = lp.narrow(0, i, 1).reshape(-1).sub(expected).abs().max().item() as number;
    t.true(d < tol, `${what}, row ${i}: max |diff| ${d}`);
  });
}

/** The scenario: a running beam-style decode that sentences join at different steps, and leave. */
function scenario(t: ExecutionContext, model: Seq2Seq, langs: boolean, tol = 1e-5): void {
  noGrad(() => {
    const a = Running.encode(model, SOURCES.slice(0, 2), 2, langs, 0);
    check(t, a, a.step([1, 1, 1, 1]), 'a alone, step 1', tol);
    a.step([20, 21, 22, 23]);
    check(t, a, a.step([24, 25, 26, 27]), 'a alone, step 3', tol);
    // b joins at its first step, a at its fourth: b's rows see only their own positions.
    const b = Running.encode(model, SOURCES.slice(2, 4), 2, langs, 1);
    a.merge(b);
    t.is(a.state.size, 8, 'merged state rows');
    check(t, a, a.step([30, 31, 32, 33, 1, 1, 1, 1]), 'after b joined', tol);
    check(t, a, a.step([34, 35, 36, 37, 38, 39, 40, 41]), 'a step 5, b step 2', tol);
    // Beams re-ranked within sentences, and a's first sentence finished.
    a.reorder([3, 2, 5, 5, 6, 7]);
    check(t, a, a.step([42, 43, 44, 45, 46, 47]), 'after re-ranking and dropping a sentence', tol);
    // c has decoded two steps on its own when it joins; it is the longest source.
    const c = Running.encode(model, SOURCES.slice(4, 6), 2, langs, 2);
    c.step([1, 1, 1, 1]);
    c.step([50, 51, 52, 53]);
    a.merge(c);
    check(t, a, a.step([54, 55, 56, 57, 58, 59, 48, 49, 50, 51]), 'after c joined at its third step', tol);
    // The oldest rows leave: only the late joiners remain (the padding on their left no longer needed).
    a.reorder([6, 7, 9, 8]);
    check(t, a, a.step([20, 21, 22, 23]), 'only c left', tol);
    // And into an empty-handed merge order: the new batch first.
    const d = Running.encode(model, [SOURCES[1]], 2, langs, 0);
    d.merge(a);
    check(t, d, d.step([1, 1, 24, 25, 26, 27]), 'a new sentence merged in front', tol);
  });
}

const SMALL = { vocabSize: 61, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 2 };

test('Teacher (learned positions, 3 languages): merged rows decode as they would alone', (t) => {
  scenario(t, seeded(3, () => Teacher.create({ ...SMALL, nLangs: 3 })).eval(), true);
});

test('Teacher (sinusoidal positions, relu, no languages): merged rows decode as they would alone', (t) => {
  scenario(t, seeded(4, () => Teacher.create({ ...SMALL, activation: 'relu', sinusoidalEmbeddings: true, decoderLayers: 3 })).eval(), false);
});

for (const attention of ['luong', 'bahdanau'] as const) {
  test(`BiGRU (${attention} attention, 2-2 layers): merged rows decode as they would alone`, (t) => {
    scenario(
      t,
      seeded(5, () => BiGruStudent.create({ vocabSize: 61, embDim: 16, hiddenSize: 24, encoderLayers: 2, decoderLayers: 2, attention })).eval(),
      false
    );
  });
}

test('int8 XLM: merged rows stay as close to the float model as rows decoded apart', (t) => {
  // Activations are quantized per call (per tensor, as torch's quantize_dynamic), so batch mates shift an int8
  // row slightly in any batch; merging may not add more than that.
  const float = seeded(6, () => Teacher.create({ ...SMALL, nLangs: 3 })).eval();
  const model = seeded(6, () => Teacher.create({ ...SMALL, nLangs: 3 })).eval();
  model.quantize({ dtype: 'int8' });
  noGrad(() => {
    const runs = [float, model, model].map((m) => Running.encode(m, SOURCES.slice(0, 2), 2, true, 0));
    const late = [float, model, model].map((m) => Running.encode(m, SOURCES.slice(2, 4), 2, true, 1));
    for (const ids of [
      [1, 1, 1, 1],
      [20, 21, 22, 23],
    ])
      runs.forEach((r) => r.step(ids));
    runs[0].merge(late[0]);
    runs[2].merge(late[2]);
    const ids = [30, 31, 32, 33, 1, 1, 1, 1];
    const reference = runs[0].step(ids);
    const apart = cat([runs[1].step(ids.slice(0, 4)), late[1].step(ids.slice(4))], 0);
    const merged = runs[2].step(ids);
    const dApart = apart.sub(reference).abs().max().item() as number;
    const dMerged = merged.sub(reference).abs().max().item() as number;
    t.deepEqual(merged.argmax(1).tolist(), reference.argmax(1).tolist(), 'the same best token in every row');
    t.true(dMerged <= 2 * dApart + 1e-3, `int8 vs float: merged ${dMerged}, apart ${dApart}`);
  });
});

test('states with different hypotheses per sentence (2 and 3) merge, and decode on as alone', (t) => {
  const model = seeded(7, () => Teacher.create(SMALL)).eval();
  noGrad(() => {
    const a = Running.encode(model, SOURCES.slice(0, 2), 2, false, 0);
    a.step([1, 1, 1, 1]);
    a.merge(Running.encode(model, SOURCES.slice(2, 4), 3, false, 0));
    t.is(a.state.size, 10);
    check(t, a, a.step([20, 21, 22, 23, 1, 1, 1, 1, 1, 1]), 'groups 2 and 3 merged', 1e-5);
  });
});

test('mergeStates refuses a state of another model kind, naming what it expected', (t) => {
  const teacher = seeded(8, () => Teacher.create(SMALL)).eval();
  const bigru = seeded(8, () => BiGruStudent.create({ vocabSize: 61, embDim: 16, hiddenSize: 24, encoderLayers: 2, decoderLayers: 2 })).eval();
  noGrad(() => {
    const a = Running.encode(teacher, SOURCES.slice(0, 2), 1, false, 0);
    const b = Running.encode(bigru, SOURCES.slice(0, 2), 1, false, 0);
    const e = t.throws(() => teacher.mergeStates(a.state, b.state));
    t.regex(e.message, /state/i);
  });
});
