// The tokenizer stage on a seeded sample (issue 31): `xlm-kd tokenizer --input` on a 300k-line file (which
// overflowed the stack when the lines were spread into an array), repeated and comma-separated inputs, the
// line that says how much of the text was used, --sample and --seed in --help; trainTokenizer on a data folder:
// a sample larger than the corpus uses all of it, a seed gives the same model, and a data.json whose counts
// disagree with the files is an error naming it.
import test from 'ava';
import { runCli } from './helpers/cli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SeededRandom, SentencePiece, trainTokenizer, writeDataFolder } from '../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-toksample-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const f = (...p: string[]) => path.join(tmp, ...p);

// 400 pseudo-words of 2-3 syllables: enough distinct text for a vocabulary of a few hundred pieces.
const SYLLABLES = 'ka ro mi tu len sa vor eg ni pel da um tri bo ska fen ho li wa zer'.split(' ');
const WORDS = (() => {
  const rng = new SeededRandom(99);
  return Array.from({ length: 400 }, () => Array.from({ length: 2 + rng.int(2) }, () => SYLLABLES[rng.int(SYLLABLES.length)]).join(''));
})();
function sentences(n: number, seed: number): string[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: 3 + rng.int(8) }, () => WORDS[rng.int(WORDS.length)]).join(' '));
}
/** A model's pieces in id order: its vocabulary (the serialized bytes also hold the trainer's temp file name). */
const pieces = (sp: SentencePiece): string[] => Array.from({ length: sp.vocabSize }, (_, i) => sp.idToPiece(i));

const cli = (...args: string[]) => runCli(args);

test('--input: a 300,000-line file trains on a sample of it, and the line says how much was used', async (t) => {
  const big = f('big.txt');
  // Written in pieces, with blank lines between, which do not count as sentences.
  const out = fs.openSync(big, 'w');
  for (let i = 0; i < 30; i++) fs.writeSync(out, sentences(10_000, i).join('\n') + '\n\n');
  fs.closeSync(out);
  const r = await cli('tokenizer', '--input', big, '--out', f('big.model'), '--vocab-size', '100', '--sample', '4000', '--threads', '2');
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stdout,
    /^.*big\.model: SentencePiece unigram, 100 pieces, trained on 4,000 of 300,000 sentences \(seeded sample, seed 0\) in \d+\.\d s\n$/
  );
  t.is(SentencePiece.load(f('big.model')).vocabSize, 100);
});

test('--input is repeatable and comma-separated; a sample larger than the text uses all of it', async (t) => {
  for (const [name, n] of [
    ['a.txt', 700],
    ['b.txt', 500],
    ['c.txt', 300],
  ] as const)
    fs.writeFileSync(f(name), sentences(n, n).join('\n'));
  const r = await cli(
    'tokenizer',
    '-i',
    `${f('a.txt')},${f('b.txt')}`,
    '--input',
    f('c.txt'),
    '--out',
    f('abc.model'),
    '--vocab-size',
    '60',
    '--seed',
    '5'
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /trained on 1,500 of 1,500 sentences in /);
  const missing = await cli('tokenizer', '--input', f('nope.txt'), '--out', f('x.model'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read .*nope\.txt: no such file/);
  const bad = await cli('tokenizer', '--input', f('a.txt'), '--out', f('x.model'), '--sample', '0');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--sample must be an integer >= 1, got '0'/);
});

test('--help names --sample and --seed with their defaults', async (t) => {
  const r = await cli('tokenizer', '--help');
  t.is(r.code, 0);
  t.regex(r.stdout, /--sample N .*\n.*\(default 1000000\)/);
  t.regex(r.stdout, /--seed N .*\(default 0\)/);
});

test('trainTokenizer on a data folder: both sides counted; all of a small split; seeded and reproducible', async (t) => {
  const src = sentences(400, 1);
  const tgt = sentences(400, 2);
  const pairs = src.map((s, i) => ({ src: s, tgt: tgt[i] }));
  await writeDataFolder(f('data'), { train: pairs, valid: [], test: [] }, { source: 'test', srcLang: 'en', tgtLang: 'de' });

  const all = await trainTokenizer({ data: f('data'), out: f('all.model'), vocabSize: 60, threads: 2 });
  t.like(all, { sentencesUsed: 800, sentencesSeen: 800, seed: 0 });
  // All of it: the same model as SentencePiece on the two files' lines, source side first.
  const direct = await SentencePiece.train({ sentences: [...src, ...tgt], vocabSize: 60, hardVocabLimit: false, numThreads: 2 });
  t.deepEqual(pieces(all.tokenizer), pieces(direct));
  t.deepEqual(all.tokenizer.encode(src.slice(0, 20)), direct.encode(src.slice(0, 20)));
  t.deepEqual(fs.readFileSync(f('all.model')), all.tokenizer.serialize());

  const a = await trainTokenizer({ data: f('data'), out: f('a.model'), vocabSize: 60, threads: 2, sample: 300, seed: 3 });
  t.like(a, { sentencesUsed: 300, sentencesSeen: 800, seed: 3 });
  const again = await trainTokenizer({ data: f('data'), out: f('a2.model'), vocabSize: 60, threads: 2, sample: 300, seed: 3 });
  t.deepEqual(pieces(again.tokenizer), pieces(a.tokenizer), 'the same seed, the same sample, the same model');

  await t.throwsAsync(trainTokenizer({ data: f('data'), out: f('x.model'), sample: 1.5 }), {
    message: /trainTokenizer: option 'sample' must be an integer >= 1/,
  });
});

test('trainTokenizer: a data.json whose count disagrees with the files is an error naming it', async (t) => {
  const pairs = sentences(50, 9).map((s) => ({ src: s, tgt: s + ' x' }));
  await writeDataFolder(f('stale'), { train: pairs, valid: [], test: [] }, { source: 'test', srcLang: 'en', tgtLang: 'de' });
  const info = JSON.parse(fs.readFileSync(f('stale', 'data.json'), 'utf8')) as { counts: Record<string, number> };
  fs.writeFileSync(f('stale', 'data.json'), JSON.stringify({ ...info, counts: { ...info.counts, train: 60 } }));
  await t.throwsAsync(trainTokenizer({ data: f('stale'), out: f('stale.model'), vocabSize: 40 }), {
    message: /train\.src \+ .*train\.tgt hold 100 non-empty lines, expected 120 \(.*stale\/data\.json: 2 × 60 training pairs\)/,
  });
  t.false(fs.existsSync(f('stale.model')));
  await t.throwsAsync(trainTokenizer({ data: f('nowhere'), out: f('x.model') }), { message: /is not a data folder \(no data\.json\)/ });
});
