// FastBpe against the real fastBPE: test/golden/fast-bpe (tools/make-bpe-golden.sh) with the full vocab, a
// 600-word vocab and none; merge() undoing it; a hand-worked example; the codes/vocab errors fastBPE asserts on.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FastBpe } from '../lib';

const golden = path.join(__dirname, '..', '..', 'test', 'golden', 'fast-bpe');
const lines = (name: string): string[] => {
  const all = fs.readFileSync(path.join(golden, name), 'utf8').split('\n');
  all.pop(); // fastBPE's files end with a newline
  return all;
};

const VOCABS: [suffix: string, vocab: string | undefined][] = [
  ['bpe', 'vocab'],
  ['bpe-small', 'vocab-small'],
  ['bpe-novocab', undefined],
];

for (const [suffix, vocab] of VOCABS) {
  for (const lang of ['en', 'de', 'edge']) {
    test(`${lang}.${suffix}: apply gives fast applybpe's every line (${vocab ?? 'no vocab'})`, (t) => {
      const bpe = FastBpe.load(path.join(golden, 'codes'), vocab && path.join(golden, vocab));
      const tok = lines(`${lang}.tok`);
      const expected = lines(`${lang}.${suffix}`);
      t.is(tok.length, expected.length);
      if (lang !== 'edge') t.true(tok.length >= 1000);
      const wrong = tok.flatMap((s, i) =>
        bpe.apply(s) === expected[i] ? [] : [`line ${i + 1}: ${JSON.stringify(s)} -> ${JSON.stringify(bpe.apply(s))}`]
      );
      t.deepEqual(wrong.slice(0, 5), []);
      t.is(tok.length - wrong.length, tok.length);
    });
  }
}

test('the golden codes: 2000 merges; a tiny cache gives the same output as a large one', (t) => {
  const small = FastBpe.load(path.join(golden, 'codes'), path.join(golden, 'vocab'), { cacheSize: 3 });
  t.is(small.codesCount, 2000);
  const tok = lines('de.tok').slice(0, 200);
  t.deepEqual(
    tok.map((s) => small.apply(s)),
    lines('de.bpe').slice(0, 200)
  );
});

test('applyWords gives the subword tokens of apply', (t) => {
  const bpe = FastBpe.load(path.join(golden, 'codes'), path.join(golden, 'vocab'));
  for (const s of lines('en.tok').slice(0, 100)) t.deepEqual(bpe.applyWords(s.split(' ')), bpe.apply(s).split(' '));
  t.deepEqual(bpe.applyWords(['', 'a', '']), ['a']);
});

test('merge() undoes apply on the Moses-tokenized golden lines', (t) => {
  for (const lang of ['en', 'de']) {
    const tok = lines(`${lang}.tok`);
    for (const suffix of ['bpe', 'bpe-small', 'bpe-novocab']) {
      const bpe = lines(`${lang}.${suffix}`);
      t.deepEqual(
        bpe.flatMap((b, i) => (FastBpe.merge(b) === tok[i] ? [] : [i + 1])),
        [],
        `${lang}.${suffix}`
      );
    }
  }
  t.is(FastBpe.merge('Ex@@ it af@@ ter@@ \nlo@@ w@@'), 'Exit after\nlow');
});

// Hand-worked: "low" = l o w</w> -> (l o, rank 0) lo w</w> -> (lo w</w>, rank 1) low</w> -> "low".
// "lower" = l o w e r</w> -> (l o) lo w e r</w> -> ("lo w" is no code; e r</w>, rank 2) lo w er</w> -> "lo@@ w@@ er".
// With a vocab lacking "low": low</w> is split back into lo (lo@@ is in) and w</w> (a character: kept) -> "lo@@ w".
const CODES = 'l o 10\nlo w</w> 8\ne r</w> 5\n';

test('a hand-worked 3-merge example, with and without a vocab', (t) => {
  const bpe = FastBpe.fromText(CODES);
  t.is(bpe.codesCount, 3);
  t.is(bpe.apply('low lower'), 'low lo@@ w@@ er');
  t.is(bpe.apply('lower  low'), 'lo@@ w@@ er  low');
  const limited = FastBpe.fromText(CODES, 'lo@@ 3\nw@@ 2\ner 2\n');
  t.is(limited.apply('low lower'), 'lo@@ w lo@@ w@@ er');
});

test('errors name the file, the 1-based line and what was expected', (t) => {
  const bad = (codes: string, vocab?: string): string => t.throws(() => FastBpe.fromText(codes, vocab, { codes: 'c.txt', vocab: 'v.txt' })).message;
  t.regex(bad('l o 10\nlo w</w>\n'), /^c\.txt:2: expected a BPE code "left right count"/);
  t.regex(bad('l o 10\nl o x\n'), /^c\.txt:2: expected a BPE code/);
  t.regex(bad('l o 10\n\n'), /^c\.txt:2: expected/);
  t.regex(bad('l o 10\ne r 3\nl o 2\n'), /^c\.txt:3: duplicate pair "l o" \(first at line 1\)/);
  t.regex(bad('a bc 3\nab c 2\n'), /^c\.txt:2: pair "ab c" makes "abc", as "a bc" does/);
  t.regex(bad(CODES, 'lo@@ 3\nw@@\n'), /^v\.txt:2: expected a vocabulary line "word count"/);
  t.regex(bad(CODES, 'lo@@ 3\nlo@@ 1\n'), /^v\.txt:2: duplicate word "lo@@"/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-bpe-'));
  try {
    fs.writeFileSync(path.join(dir, 'codes'), 'l o 10\nlo\n');
    t.throws(() => FastBpe.load(path.join(dir, 'codes')), {
      message: `${path.join(dir, 'codes')}:2: expected a BPE code "left right count", got "lo"`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => FastBpe.fromText(CODES, undefined, {}, { cacheSize: -1 }), { instanceOf: RangeError });
});
