// translate/translateStream with a hand-built model and a trained tokenizer (order, empty lines, streaming
// = batch, n-best), loadModel's registry, and the xlm-kd CLI (a saved BiGRU end to end, and its errors).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BiGruStudent, bleu, chrf, evaluateTranslation, SentencePiece, SeededRandom, translate, translateStream, writeSafetensors } from '../lib';
import { loadModel, modelLoaderTypes, registerModelLoader } from '../lib/models/load';
import { ToyMarkovModel } from './helpers/toy-model';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'lib', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-translate-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const WORDS = 'open close save file edit view help print window menu house tree river city water bread'.split(' ');
function sentences(n: number, seed: number): string[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(12) }, () => WORDS[rng.int(WORDS.length)]).join(' '));
}

let tokenizer: Promise<SentencePiece> | undefined;
function tok(): Promise<SentencePiece> {
  tokenizer ??= SentencePiece.train({ sentences: sentences(1500, 1), vocabSize: 48, numThreads: 2 });
  return tokenizer;
}

/** A model whose translation of a sentence is its first source piece (then </s>). */
function firstPieceModel(vocab: number): ToyMarkovModel {
  const probs = Array.from({ length: vocab }, () => Array.from({ length: vocab }, (_, j) => (j === 1 ? 1 : 1e-9)));
  return new ToyMarkovModel(probs, true);
}

function expected(sp: SentencePiece, s: string): string {
  const ids = sp.encode(s);
  return ids.length === 0 ? '' : sp.decode([ids[0]]);
}

test('translate keeps input order across length-sorted batches and windows; empty lines give empty output', async (t) => {
  const sp = await tok();
  const model = firstPieceModel(sp.vocabSize);
  const input = [...sentences(40, 2), '', '   ', 'window', ''];
  for (const beamSize of [1, 3]) {
    const out = await translate(model, input, { tokenizer: sp, beamSize, batchSize: 4, window: 7 });
    t.deepEqual(
      out.map((r) => r.index),
      input.map((_, i) => i)
    );
    t.deepEqual(
      out.map((r) => r.text),
      input.map((s) => expected(sp, s))
    );
    t.is(out[40].text, '');
    t.deepEqual(out[41].tokens, []);
  }
  // Batches never exceed batchSize sentences.
  t.true(model.maxRows <= 4 * 3);
});

test('translateStream over an async source equals translate over the array, and answers before the input ends', async (t) => {
  const sp = await tok();
  const model = firstPieceModel(sp.vocabSize);
  const input = sentences(25, 3);
  input.splice(5, 0, '');
  const whole = await translate(model, input, { tokenizer: sp, batchSize: 3 });

  // The source waits until result 0 has come out before giving line 1: a translator that waited for a
  // full window (or the end of input) would hang here.
  let firstOut: () => void = () => undefined;
  const gotFirst = new Promise<void>((resolve) => (firstOut = resolve));
  async function* source(): AsyncGenerator<string> {
    yield input[0];
    await gotFirst;
    for (const s of input.slice(1)) {
      await new Promise((r) => setTimeout(r, 1));
      yield s;
    }
  }
  const streamed: string[] = [];
  const run = (async () => {
    for await (const r of translateStream(model, source(), { tokenizer: sp, batchSize: 3, idleFlushMs: 20 })) {
      streamed.push(r.text);
      if (r.index === 0) firstOut();
    }
  })();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('translateStream did not stream')), 20000));
  await Promise.race([run, timeout]);
  t.deepEqual(
    streamed,
    whole.map((r) => r.text)
  );
});

test('n-best lists, scores and options are checked', async (t) => {
  const sp = await tok();
  const model = firstPieceModel(sp.vocabSize);
  const [r] = await translate(model, ['open the window'], { tokenizer: sp, beamSize: 3, nBest: 2 });
  t.true(r.hypotheses.length >= 1 && r.hypotheses.length <= 2);
  t.is(r.hypotheses[0].text, r.text);
  t.true(r.score <= 0);
  await t.throwsAsync(translate(model, ['x'], { tokenizer: sp, beamSize: 2, nBest: 3 }), { instanceOf: RangeError, message: /nBest/ });
  await t.throwsAsync(translate(model, ['x'], { tokenizer: {} as SentencePiece }), {
    instanceOf: TypeError,
    message: /tokenizer' must be a Tokenizer \(SentencePiece or XlmTokenizer\)/,
  });
  await t.throwsAsync(translate(firstPieceModel(10), ['x'], { tokenizer: sp }), {
    instanceOf: RangeError,
    message: /48 pieces but the model only 10/,
  });
  await t.throwsAsync(translate(model, ['ok', 5 as unknown as string], { tokenizer: sp }), {
    instanceOf: TypeError,
    message: /sentence 1 must be a string/,
  });
});

// ---- loadModel and the CLI ----------------------------------------------------------------------------------

function cli(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exactly one line on stderr, and no stack trace. */
function oneLine(t: { is(a: unknown, b: unknown, m?: string): void; false(a: boolean, m?: string): void }, stderr: string): void {
  t.is(stderr.trimEnd().split('\n').length, 1, stderr);
  t.false(/\n\s+at /.test(stderr), 'no stack trace');
}

let saved: Promise<{ dir: string; model: string }> | undefined;
function savedBiGru(): Promise<{ dir: string; model: string }> {
  saved ??= (async () => {
    const sp = await tok();
    const dir = path.join(tmp, 'run');
    fs.mkdirSync(dir);
    const student = BiGruStudent.create({ vocabSize: sp.vocabSize, embDim: 16, hiddenSize: 16, dropout: 0 });
    const model = path.join(dir, 'student.safetensors');
    await student.save(model);
    await sp.save(path.join(dir, 'tokenizer.model'));
    return { dir, model };
  })();
  return saved;
}

test('loadModel opens a saved BiGRU by its model_type and rejects unknown ones', async (t) => {
  t.true(modelLoaderTypes().includes('bigru-student'));
  const { model } = await savedBiGru();
  const loaded = await loadModel(model);
  t.is(loaded.kind, 'bigru-student');
  const mystery = path.join(tmp, 'mystery.safetensors');
  await writeSafetensors(mystery, { w: { dtype: 'F32', shape: [1], data: new Uint8Array(4) } }, { model_type: 'mystery' });
  await t.throwsAsync(loadModel(mystery), { message: /unknown model_type 'mystery' \(loadable types: .*bigru-student/ });
  await t.throwsAsync(loadModel(path.join(tmp, 'absent.safetensors')), { message: /cannot open the model: no such file/ });
  const text = path.join(tmp, 'text.safetensors');
  fs.writeFileSync(text, 'hello, I am not a safetensors file');
  await t.throwsAsync(loadModel(text), { message: /not a safetensors file/ });
  // Other model classes plug in through the registry.
  registerModelLoader('mystery', async () => firstPieceModel(4));
  t.is((await loadModel(mystery)).kind, 'toy-markov');
});

test('xlm-kd translate streams stdin to stdout in order, as translate() does', async (t) => {
  const { model } = await savedBiGru();
  const sp = await tok();
  const input = ['open the window', '', 'save file', 'help', 'edit view print menu house'];
  const r = cli(['translate', '--model', model, '--beam', '2', '--batch-size', '1'], input.join('\n') + '\n');
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines.pop(), '');
  t.is(lines.length, input.length);
  t.is(lines[1], '');
  const same = await translate(await loadModel(model), input, { tokenizer: sp, beamSize: 2, batchSize: 1 });
  t.deepEqual(
    lines,
    same.map((x) => x.text)
  );

  const nbest = cli(['translate', '-m', model, '-b', '3', '--n-best', '2', '--batch-size', '4'], 'open the window\nsave file\n');
  t.is(nbest.status, 0, nbest.stderr);
  const rows = nbest.stdout.trim().split('\n');
  t.true(rows.length >= 2 && rows.length <= 4);
  for (const row of rows) t.regex(row, /^[01] \|\|\| .* \|\|\| -?\d+\.\d{4}$/);

  const outFile = path.join(tmp, 'out.txt');
  const inFile = path.join(tmp, 'in.txt');
  fs.writeFileSync(inFile, input.join('\n'));
  const files = cli(['translate', '-m', model, '-b', '2', '--batch-size', '1', '-i', inFile, '-o', outFile]);
  t.is(files.status, 0, files.stderr);
  t.is(fs.readFileSync(outFile, 'utf8'), r.stdout);
});

test('xlm-kd errors: one line on stderr, exit 1 (2 for a bad command line), no stack trace', async (t) => {
  const missing = cli(['translate', '--model', path.join(tmp, 'nope.safetensors'), '--tokenizer', path.join(tmp, 'x.model')]);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /^xlm-kd translate: cannot read --model .*nope\.safetensors: no such file\n$/);
  oneLine(t, missing.stderr);

  const mystery = path.join(tmp, 'cli-mystery.safetensors');
  await writeSafetensors(mystery, { w: { dtype: 'F32', shape: [1], data: new Uint8Array(4) } }, { model_type: 'teacher-from-the-future' });
  const { dir } = await savedBiGru();
  const unknown = cli(['translate', '--model', mystery, '--tokenizer', path.join(dir, 'tokenizer.model')]);
  t.is(unknown.status, 1);
  t.regex(unknown.stderr, /unknown model_type 'teacher-from-the-future'/);
  oneLine(t, unknown.stderr);

  const noTokenizer = cli(['translate', '--model', mystery]);
  t.is(noTokenizer.status, 1);
  t.regex(
    noTokenizer.stderr,
    /no tokenizer given and none beside .*cli-mystery\.safetensors \(tokenizer\.model, or XLM's tokenizer\.json\); pass --tokenizer FILE/
  );
  oneLine(t, noTokenizer.stderr);

  const { model } = await savedBiGru();
  const badTok = cli(['translate', '--model', model, '--tokenizer', path.join(tmp, 'absent.model')]);
  t.is(badTok.status, 1);
  t.regex(badTok.stderr, /cannot read tokenizer .*absent\.model: no such file/);
  oneLine(t, badTok.stderr);

  for (const args of [['translate'], ['translate', '--model', model, '--beam', 'zero'], ['translate', '--modle', model], ['frobnicate'], []]) {
    const r = cli(args);
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    if (args.length > 0) oneLine(t, r.stderr);
  }
  const help = cli(['translate', '--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /Usage: xlm-kd translate --model/);
  const top = cli(['--help']);
  t.is(top.status, 0);
  t.regex(top.stdout, /translate/);
});

test('evaluateTranslation scores the translations against the references (BLEU/chrF as bleu()/chrf() of the same text) and times them', async (t) => {
  const sp = await tok();
  const model = firstPieceModel(sp.vocabSize);
  const sources = sentences(30, 4);
  const right = sources.map((s) => expected(sp, s));
  const perfect = await evaluateTranslation(model, { sources, references: right, tokenizer: sp, beamSize: 1, batchSize: 8 });
  t.deepEqual(perfect.hypotheses, right);
  t.is(perfect.bleu, bleu(right, [right]).score); // one-piece outputs have no 4-grams: BLEU 0 even when exact
  t.is(perfect.chrf, 100);
  t.is(perfect.sentences, 30);
  t.true(perfect.seconds > 0 && Math.abs(perfect.sentencesPerSecond - 30 / perfect.seconds) < 1e-9);
  // Other references: the scores are those of the metrics on the model's output, beam or greedy alike.
  const refs = sources.map((s) => s.split(' ').slice(0, 2).join(' '));
  const beam = await evaluateTranslation(model, { sources, references: refs, tokenizer: sp, beamSize: 3 });
  t.is(beam.bleu, bleu(right, [refs]).score);
  t.is(beam.chrf, chrf(right, [refs]).score);
  t.true(beam.bleu < 100);
  await t.throwsAsync(evaluateTranslation(model, { sources, references: refs.slice(1), tokenizer: sp }), {
    message: /'references' must be an array of 30 strings.*got 29/,
  });
  await t.throwsAsync(evaluateTranslation(model, { sources: [], references: [], tokenizer: sp }), { message: /'sources' must be a non-empty array/ });
});
