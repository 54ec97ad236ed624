// A checkpoint shaped exactly as Facebook's XLM releases (test/fixtures/xlm, made by XLM's own code) through the
// whole product as a user runs it: import-xlm -> data -> train --init (fine-tune) -> cut -> distill (online,
// offline, sequence; cut and BiGRU students) -> translate -> evaluate -> serve; the token store holds XLM's
// tokenizer's ids; and the bad inputs of an import (codes that are not codes, codes and a vocabulary of two
// releases, a vocabulary that is not the checkpoint's, a dictionary without XLM's specials, a language the
// model does not know) each fail with a message naming the file.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel, loadTokenizer, serve, Teacher, TokenStore, type XlmTokenizer } from '../lib';
import { type CliRun, runCli } from './helpers/cli';
import { post } from './helpers/serve-fixtures';
import { python, referenceUnavailable, root } from './helpers/python';
import { spawnSync } from 'child_process';

const FIXTURE = path.join(root, 'test', 'fixtures', 'xlm');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-xlm-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const f = (...p: string[]) => path.join(tmp, ...p);
const fx = (name: string) => path.join(FIXTURE, name);
const cli = (...args: string[]) => runCli(args);
const ok = (r: CliRun) => (r.code === 0 ? '' : `exit ${r.code}: ${r.stderr}`);
const TRAIN = ['--max-tokens', '512', '--warmup', '2', '--lr', '1e-3', '--valid-sentences', '10', '--threads', '1'];
const importArgs = (out: string, ...rest: string[]) => [
  'import-xlm',
  '--checkpoint',
  fx('mlm_ende_tiny.pth'),
  '--codes',
  fx('codes'),
  '--out',
  out,
  ...rest,
];

const noTorch = referenceUnavailable(['torch']);
const serial = noTorch ? test.skip : test.serial;
const skipped = noTorch ? ` (skipped: ${noTorch})` : '';

serial(`import-xlm: a model folder with the teacher and XLM's tokenizer (the checkpoint's languages and dictionary)${skipped}`, async (t) => {
  const r = await cli(...importArgs(f('xlm'), '--vocab', fx('vocab')));
  t.is(r.code, 0, ok(r));
  t.regex(
    r.stdout,
    /xlm\/model\.safetensors: XLM teacher, 2-2 layers, 64 wide, 4 heads, 2258 words, .*XLM tokenizer beside it \(languages de, en, cased/
  );
  t.deepEqual(fs.readdirSync(f('xlm')).sort(), ['codes', 'model.safetensors', 'tokenizer.json', 'vocab']);
  const teacher = await Teacher.load(f('xlm', 'model.safetensors'));
  t.like(teacher.config, { vocabSize: 2258, nLangs: 2, embDim: 64 });
  const tok = loadTokenizer(f('xlm', 'tokenizer.json')) as XlmTokenizer;
  t.is(tok.vocabSize, teacher.vocabSize);
  t.deepEqual(tok.languages, ['de', 'en']);
  // The ids the imported teacher expects: the dictionary of the checkpoint for fastBPE's words of Moses' tokens.
  t.is(tok.segment('Save the changes to the file?', { lang: 'en' }).replace(/@@ /g, ''), 'Save the changes to the file ?');
  const words = fs
    .readFileSync(fx('vocab'), 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => l.split(' ')[0]);
  for (const w of tok.segment('Save the changes to the file?', { lang: 'en' }).split(' ')) {
    t.is(tok.pieceToId(w), words.indexOf(w) + 14, w);
  }
  // Without --vocab the checkpoint's dictionary is the vocabulary: the same tokenizer.
  const again = await cli(...importArgs(f('xlm-no-vocab')));
  t.is(again.code, 0, ok(again));
  t.is(
    loadTokenizer(f('xlm-no-vocab')).encode('Open a new window', { lang: 'en' }).join(' '),
    tok.encode('Open a new window', { lang: 'en' }).join(' ')
  );
});

serial(`train --init fine-tunes the imported teacher on a data folder; the token store holds XLM's ids${skipped}`, async (t) => {
  let r = await cli('data', '--out', f('data'), '--max-pairs', '700', '--valid', '20', '--test', '30');
  t.is(r.code, 0, ok(r));
  r = await cli('train', '--data', f('data'), '--init', f('xlm', 'model.safetensors'), '--run', f('ft'), '--max-steps', '6', ...TRAIN);
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /teacher, 6 updates/);
  const tuned = await Teacher.load(f('ft', 'model.safetensors'));
  t.like(tuned.config, { vocabSize: 2258, nLangs: 2, encoderLayers: 2, decoderLayers: 2 });
  t.is(loadTokenizer(f('ft')).hash, loadTokenizer(f('xlm')).hash, 'the tokenizer travels with the model');
  // The store's ids are the tokenizer's, each side with its language's Moses rules.
  const tok = loadTokenizer(f('xlm'));
  const lines = (side: string) =>
    fs
      .readFileSync(f('data', `train.${side}`), 'utf8')
      .split('\n')
      .slice(0, 50);
  for (const [side, lang] of [
    ['src', 'en'],
    ['tgt', 'de'],
  ] as const) {
    const store = TokenStore.open(f('data', 'tokens', `train.${side}`));
    const want = tok.encode(lines(side), { lang });
    want.forEach((ids, i) => t.deepEqual(Array.from(store.sentence(i)), ids, `${side} line ${i + 1}`));
  }
  // Model flags and --init exclude each other; a data folder in a language the model lacks is refused.
  r = await cli('train', '--data', f('data'), '--init', f('xlm', 'model.safetensors'), '--run', f('ft2'), '--dim', '32', '--max-steps', '1');
  t.is(r.code, 2);
  t.regex(r.stderr, /--init sets the model: drop --dim/);
  r = await cli('data', '--out', f('data-fr'), '--tgt-lang', 'fr', '--max-pairs', '100', '--valid', '10', '--test', '10');
  t.is(r.code, 0, ok(r));
  r = await cli('train', '--data', f('data-fr'), '--init', f('xlm', 'model.safetensors'), '--run', f('ft-fr'), '--max-steps', '1', ...TRAIN);
  t.is(r.code, 1);
  t.regex(r.stderr, /data-fr\/data\.json: the target language 'fr' is not one of the model's languages \(de, en\)/);
});

serial(`cut, distill (every mode, cut and BiGRU students), translate, evaluate with the imported tokenizer${skipped}`, async (t) => {
  let r = await cli('cut', '--teacher', f('ft', 'model.safetensors'), '--out', f('cut', 'model.safetensors'), '-D', '1');
  t.is(r.code, 0, ok(r));
  t.true(fs.existsSync(f('cut', 'tokenizer.json')));
  for (const [run, student, mode] of [
    ['d-online', f('cut', 'model.safetensors'), 'online'],
    ['d-offline', f('cut', 'model.safetensors'), 'offline'],
    ['d-sequence', 'bigru', 'sequence'],
  ]) {
    r = await cli(
      'distill',
      '--teacher',
      f('ft', 'model.safetensors'),
      '--data',
      f('data'),
      '--run',
      f(run),
      '--student',
      student,
      '--mode',
      mode,
      '--max-steps',
      '3',
      ...TRAIN
    );
    t.is(r.code, 0, `${run}: ${ok(r)}`);
    t.deepEqual(
      fs
        .readdirSync(f(run))
        .filter((n) => ['codes', 'vocab', 'tokenizer.json'].includes(n))
        .sort(),
      ['codes', 'tokenizer.json', 'vocab'],
      run
    );
  }
  const input = f('in.txt');
  fs.writeFileSync(input, fs.readFileSync(f('data', 'test.src'), 'utf8').split('\n').slice(0, 4).join('\n') + '\n');
  const translateOnline = (...langs: string[]) =>
    cli('translate', '--model', f('d-online', 'model.safetensors'), ...langs, '-i', input, '--beam', '2', '--max-length', '6');
  r = await translateOnline('--src-lang', 'en', '--tgt-lang', 'de');
  t.is(r.code, 0, ok(r));
  t.is(r.stdout.split('\n').length, 5);
  // Ids work as languages too (the tokenizer lists them: de 0, en 1).
  const byId = await translateOnline('--src-lang', '1', '--tgt-lang', '0');
  t.is(byId.stdout, r.stdout);
  r = await cli('translate', '--model', f('d-online', 'model.safetensors'), '-i', input);
  t.is(r.code, 1);
  t.regex(r.stderr, /XLM's tokenizer follows the language's rules: give options 'srcLang' and 'tgtLang' \(--src-lang, --tgt-lang\)/);
  r = await cli('translate', '--model', f('d-online', 'model.safetensors'), '--src-lang', 'fr', '--tgt-lang', 'de', '-i', input);
  t.is(r.code, 1);
  t.regex(r.stderr, /option 'srcLang' 'fr' is not one of the model's languages \(de, en\)/);
  // evaluate takes the languages from the data folder.
  r = await cli(
    'evaluate',
    '--data',
    f('data'),
    '--model',
    f('ft', 'model.safetensors'),
    '--model',
    f('d-sequence', 'model.safetensors'),
    '--beam',
    '1',
    '--max-sentences',
    '6'
  );
  t.is(r.code, 0, ok(r));
  t.is(r.stdout.split('\n').filter((l) => /^\S+\s+[\d.]+\s+[\d.]+\s+[\d.]+M/.test(l)).length, 2, r.stdout);
});

serial(`serve: an imported-and-distilled model answers in its languages; other languages are 400${skipped}`, async (t) => {
  const file = f('d-online', 'model.safetensors');
  await t.throwsAsync(() => serve({ m: file }, { port: 0, log: null }), {
    message: /serve: model 'm' uses XLM's tokenizer.*give srcLang and tgtLang/,
  });
  const handle = await serve({ m: file }, { port: 0, log: null, srcLang: 'en', tgtLang: 'de', beam: 1 });
  try {
    const url = `http://127.0.0.1:${handle.port}`;
    const r = await post(url, { q: ['Open a file', 'Save'], source: 'en', target: 'de' });
    t.is(r.status, 200, JSON.stringify(r.body));
    const model = await loadModel(file);
    const tok = loadTokenizer(path.dirname(file));
    t.true(model.vocabSize >= tok.vocabSize);
    const bad = await post(url, { q: 'Open a file', source: 'fr' });
    t.is(bad.status, 400);
    t.regex(String(bad.body.error), /model 'm' translates en -> de; source 'fr' is not its/);
  } finally {
    await handle.close();
  }
});

serial(
  `import-xlm refuses bad input, naming the file: codes that are not codes, mixed releases, another vocabulary, no specials${skipped}`,
  async (t) => {
    // The vocabulary given as codes: its lines are "word count", not "left right count".
    let r = await cli(...importArgs(f('bad1')).map((a) => (a === fx('codes') ? fx('vocab') : a)));
    t.is(r.code, 1);
    t.regex(r.stderr, /vocab:1: expected a BPE code "left right count"/);
    // Codes of another corpus: well-formed, but their merges make subwords the vocabulary lacks.
    const alien = f('alien-codes');
    fs.writeFileSync(alien, Array.from({ length: 200 }, (_, i) => `q${i} z${i}</w> ${1000 - i}\n`).join(''));
    r = await cli(...importArgs(f('bad2')).map((a) => (a === fx('codes') ? alien : a)));
    t.is(r.code, 1);
    t.regex(
      r.stderr,
      /alien-codes and the dictionary of .*mlm_ende_tiny\.pth disagree: only 0\.0 % of the 200 BPE merges make a subword of the vocabulary \(line 1 makes 'q0z0'/
    );
    // A release vocabulary that is not the checkpoint's dictionary (two words swapped, their counts kept).
    const lines = fs.readFileSync(fx('vocab'), 'utf8').split('\n');
    const [a, b] = [lines[5].split(' '), lines[6].split(' ')];
    [lines[5], lines[6]] = [`${b[0]} ${a[1]}`, `${a[0]} ${b[1]}`];
    fs.writeFileSync(f('swapped-vocab'), lines.join('\n'));
    r = await cli(...importArgs(f('bad3'), '--vocab', f('swapped-vocab')));
    t.is(r.code, 1);
    t.regex(r.stderr, /swapped-vocab .* differ at id 19: /);
    // A checkpoint whose dictionary lacks XLM's specials.
    const noSpecials = f('no-specials.pth');
    const py = spawnSync(python, [
      '-c',
      `import torch; c = torch.load(${JSON.stringify(fx('mlm_ende_tiny.pth'))}, weights_only=False); c['dico_id2word'][0] = 'hello'; torch.save(c, ${JSON.stringify(noSpecials)})`,
    ]);
    t.is(py.status, 0, String(py.stderr));
    r = await cli(...importArgs(f('bad4')).map((a) => (a === fx('mlm_ende_tiny.pth') ? noSpecials : a)));
    t.is(r.code, 1);
    t.regex(
      r.stderr,
      /no-specials\.pth \(dico_id2word\): not an XLM dictionary, ids 0-13 must be <s> <\/s> <pad> <unk> .*id 0: "hello" \(expected <s>\)/
    );
    for (const out of ['bad1', 'bad2', 'bad3']) t.false(fs.existsSync(f(out, 'tokenizer.json')), out);
  }
);
