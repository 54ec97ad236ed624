// Tests for lib/eval (BLEU, chrF): every case is checked against the real
// sacreBLEU in .venv (one Python process for all cases), plus hand-worked
// examples that do not depend on sacreBLEU at all.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type BleuOptions,
  type BleuResult,
  type ChrfOptions,
  bleu,
  chrf,
  formatBleu,
  formatChrf,
  sentenceBleu,
  sentenceChrf,
  tokenize13a,
  tokenizeIntl,
} from '../lib/eval';

const TOL = 0.005;

// ---------------------------------------------------------------------------
// Locating sacreBLEU

// The test runs from dist/test (compiled) or test/ (source), so find the
// package root by walking up rather than trusting cwd.
function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'xlm-kd-torch') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

const PYTHON = process.env.SACREBLEU_PYTHON ?? path.join(repoRoot(), '.venv', 'bin', 'python');

function probeSacre(): { ok: boolean; reason: string } {
  if (!fs.existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', 'import sacrebleu, sys; sys.stdout.write(sacrebleu.__version__)'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return { ok: false, reason: `sacrebleu not importable by ${PYTHON}` };
  return { ok: true, reason: `sacrebleu ${r.stdout.trim()}` };
}

const sacre = probeSacre();
const hasSacre = sacre.ok;
const sacreTest = hasSacre ? test : test.skip;
const skipNote = hasSacre ? '' : ` [skipped: ${sacre.reason}]`;

// Reads a JSON list of requests on stdin and answers a JSON list. Bytes are
// decoded explicitly so the locale of the test machine cannot matter.
const PY_SCRIPT = String.raw`
import sys, json
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.utils import sum_of_lists
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

def bleu_out(s):
    return dict(score=s.score, counts=list(s.counts), totals=list(s.totals),
                precisions=list(s.precisions), bp=s.bp, sys_len=s.sys_len,
                ref_len=s.ref_len, formatted=s.format())

def chrf_out(m, s, hyps, refs):
    stats = sum_of_lists(m._extract_corpus_statistics(hyps, refs))
    return dict(score=s.score, name=s.name, stats=list(stats), formatted=s.format())

out = []
for c in json.loads(sys.stdin.buffer.read().decode('utf-8')):
    k = c['kind']
    if k == 'bleu':
        m = BLEU(**c['opts'])
        out.append(bleu_out(m.corpus_score(c['hyps'], c['refs'])))
    elif k == 'sentence_bleu':
        m = BLEU(**c['opts'])
        out.append(bleu_out(m.sentence_score(c['hyps'][0], [r[0] for r in c['refs']])))
    elif k == 'chrf':
        m = CHRF(**c['opts'])
        out.append(chrf_out(m, m.corpus_score(c['hyps'], c['refs']), c['hyps'], c['refs']))
    elif k == 'sentence_chrf':
        m = CHRF(**c['opts'])
        s = m.sentence_score(c['hyps'][0], [r[0] for r in c['refs']])
        out.append(chrf_out(m, s, c['hyps'], c['refs']))
    elif k == 'tok13a':
        t = Tokenizer13a()
        out.append([t(x) for x in c['hyps']])
    elif k == 'tokintl':
        t = TokenizerV14International()
        out.append([t(x) for x in c['hyps']])
    else:
        raise ValueError(k)
sys.stdout.write(json.dumps(out))
`;

// ---------------------------------------------------------------------------
// Data sets. refs are lists of streams, each aligned with hyps.

interface DataSet {
  hyps: string[];
  refs: string[][];
}

const ordinary: DataSet = {
  hyps: [
    'The quick brown fox jumps over the lazy dog.',
    'It is a guide to action which ensures that the military always obeys the commands of the party.',
    'He read the book because he was interested in world history.',
    'The cat sat on the mat.',
    'I have thirty six years old.',
    'Translation quality has improved significantly over the past decade.',
    'Please send me the report by Friday, if possible.',
  ],
  refs: [
    [
      'The quick brown fox jumped over the lazy dog.',
      'It is a guide to action that ensures that the military will forever heed Party commands.',
      'He was interested in world history because he read the book.',
      'There is a cat on the mat.',
      'I am thirty-six years old.',
      'The quality of machine translation has improved a lot in the last ten years.',
      'Please send me the report by Friday if you can.',
    ],
  ],
};

const multiRef: DataSet = {
  hyps: ordinary.hyps,
  refs: [
    ordinary.refs[0],
    [
      'A quick brown fox leaps over the lazy dog.',
      'It is the guiding principle which guarantees the military forces always being under the command of the Party.',
      'Because he read the book, he became interested in world history.',
      'The cat was sitting on the mat.',
      'I am 36 years old.',
      'Over the past decade, translation quality has improved significantly.',
      'If possible, please send me the report by Friday.',
    ],
    [
      'The fast brown fox jumps over the sleepy dog.',
      'It is the practical guide for the army always to heed the directions of the party.',
      'He read the book since he was interested in the history of the world.',
      'A cat sat on the mat.',
      'I am thirty six.',
      'Machine translation got much better in ten years.',
      'Send the report by Friday, please.',
    ],
  ],
};

// Hypothesis lengths 5 and 7 sit exactly between reference lengths, so the
// closest-reference tie-break (shorter wins) decides refLen.
const refLenTies: DataSet = {
  hyps: ['a b c d e', 'one two three four five six seven', 'x y'],
  refs: [
    ['a b c d', 'one two three four five six seven eight', 'x'],
    ['a b c d e f', 'one two three four five six', 'x y z'],
  ],
};

const emptyHyps: DataSet = {
  hyps: ['', 'The cat sat on the mat.', '   ', 'A dog barked loudly at the mailman.', '', 'Good morning!'],
  refs: [
    [
      'Nothing was translated here.',
      'The cat sat on the mat.',
      'Whitespace only hypothesis.',
      'The dog barked loudly at the postman.',
      'Another empty one.',
      'Good morning to you!',
    ],
  ],
};

const allEmptyHyps: DataSet = {
  hyps: ['', '', ''],
  refs: [['some reference', 'another one', 'third']],
};

const emptyRefs: DataSet = {
  hyps: ['Something was produced here.', 'The cat sat on the mat.', 'Hello there.', '', 'Final line of output.'],
  refs: [['', 'The cat sat on the mat.', '', '', 'The final line of output.']],
};

const unicode: DataSet = {
  hyps: [
    'Le café est très bon, n’est-ce pas ?',
    'Straße und Fußgängerübergänge sind groß.',
    '我喜欢吃苹果。',
    '東京は日本の首都です。',
    'I love pizza 🍕🍕 and 🎉 parties!',
    'naïve résumé coöperate',
    'ΟΔΟΣ ΣΑΣ είναι μακρύς.',
    'İstanbul’da güzel bir gün.',
    'a\u00a0b\u3000c\u2009d e',
    'x\u001cy\u0085z w',
    'zero\ufeffwidth joiner',
    'cafe\u0301 (decomposed) vs café',
    'Привет, мир! Как дела?',
    'مرحبا بالعالم.',
    'family 👨‍👩‍👧 emoji.',
    '😀.😀,1.😀',
  ],
  refs: [
    [
      'Le café est très bon, n’est-ce pas ?',
      'Die Straße und die Fußgängerübergänge sind groß.',
      '我爱吃苹果。',
      '東京は日本の首都です。',
      'I love pizza 🍕 and 🎉 parties!',
      'naive resume cooperate',
      'Η ΟΔΟΣ ΣΑΣ είναι μακριά.',
      'İstanbul’da güzel bir gün!',
      'a\u00a0b c\u2009d e',
      'x y\u0085z w',
      'zero width joiner',
      'café (composed) vs café',
      'Привет, мир! Как ты?',
      'مرحبا بالعالم!',
      'family 👨‍👩‍👧 emojis.',
      '😀 . 😀 , 1.😀',
    ],
  ],
};

const punctuation: DataSet = {
  hyps: [
    'The price is $1,000.50 (approx.), i.e. 3.14% more!',
    'Call +1-800-555-0199 now!!!',
    'In 1990-2000, the U.S. GDP grew by 3.5%.',
    '&quot;Hello&quot; &amp; &lt;goodbye&gt; said she &amp;lt;',
    'co-\noperation and line\nbreak',
    '<skipped> text... with --- dashes -- and ellipsis…',
    'a.b,c 1.2,3 .5 ,6 7. 8, 9-',
    '{[(<>)]} ~`^_| @#\\ /',
    'Version 2.0.1-beta, released 2024-01-15.',
    'trailing spaces   \t ',
    '"quoted" \'single\' «guillemets» (hi)',
    '1,234,567.89 and -42 and 3-4 and 5 - 6',
  ],
  refs: [
    [
      'The price is $1,000.50 (approximately), i.e. 3.14 % more!',
      'Call +1-800-555-0199 now!',
      'From 1990 to 2000, the U.S. GDP grew by 3.5%.',
      '"Hello" & <goodbye> she said &lt;',
      'cooperation and line break',
      'text ... with - dashes - and ellipsis...',
      'a.b, c 1.2, 3 .5, 6 7. 8, 9 -',
      '{[(<>)]} ~ ` ^ _ | @ # \\ /',
      'Version 2.0.1-beta, released on 2024-01-15.',
      'trailing spaces',
      '"quoted" \'single\' «guillemets» (hi)',
      '1,234,567.89 and - 42 and 3 - 4 and 5-6',
    ],
  ],
};

const perfect: DataSet = { hyps: ordinary.refs[0], refs: [ordinary.refs[0]] };

// No shared word and no shared character, so chrF is 0 as well.
const miss: DataSet = {
  hyps: ['xyz qwv jzz', 'kjh pyx', 'zzz ppp wyk hq'],
  refs: [['abc def lion', 'lmn oui', 'rice bear cone fled']],
};

// Short segments: higher n-gram totals are zero, exercising the early break.
const short: DataSet = {
  hyps: ['a b', 'c', 'hello world'],
  refs: [['a b c', 'c d', 'hello there world']],
};

const casing: DataSet = {
  hyps: ['The CAT sat on THE Mat.', 'ΟΔΟΣ ΣΑΣ', 'İSTANBUL Straße'],
  refs: [['the cat sat on the mat.', 'οδος σας', 'i̇stanbul strasse']],
};

// ---------------------------------------------------------------------------
// Cases

type Kind = 'bleu' | 'sentence_bleu' | 'chrf' | 'sentence_chrf' | 'tok13a' | 'tokintl';

interface Case {
  title: string;
  kind: Kind;
  data: DataSet;
  bleuOpts?: BleuOptions;
  chrfOpts?: ChrfOptions;
  /** Expected score from first principles, checked in addition to sacreBLEU. */
  expectScore?: number;
}

const bleuCase = (title: string, data: DataSet, bleuOpts: BleuOptions = {}, expectScore?: number): Case => ({
  title: `BLEU ${title}`,
  kind: 'bleu',
  data,
  bleuOpts,
  expectScore,
});
const chrfCase = (title: string, data: DataSet, chrfOpts: ChrfOptions = {}, expectScore?: number): Case => ({
  title: `chrF ${title}`,
  kind: 'chrf',
  data,
  chrfOpts,
  expectScore,
});

const allSets: readonly [string, DataSet][] = [
  ['ordinary', ordinary],
  ['multiple references (3 streams)', multiRef],
  ['closest reference length ties', refLenTies],
  ['empty hypothesis lines', emptyHyps],
  ['all hypotheses empty', allEmptyHyps],
  ['empty reference lines', emptyRefs],
  ['unicode (accents, CJK, emoji, odd whitespace)', unicode],
  ['punctuation and numbers', punctuation],
  ['perfect match', perfect],
  ['total miss', miss],
  ['short segments', short],
];

const cases: Case[] = [
  ...allSets.map(([t, d]) => bleuCase(t, d)),
  bleuCase('perfect match is 100', perfect, {}, 100),
  bleuCase('total miss is 0', miss, {}, 0),
  bleuCase('2 reference streams', { hyps: multiRef.hyps, refs: multiRef.refs.slice(0, 2) }),
  bleuCase('smooth floor (default 0.1)', short, { smoothMethod: 'floor' }),
  bleuCase('smooth floor 0.3 on ordinary', ordinary, { smoothMethod: 'floor', smoothValue: 0.3 }),
  bleuCase('smooth add-k (default 1)', short, { smoothMethod: 'add-k' }),
  bleuCase('smooth add-k 2 on ordinary', ordinary, { smoothMethod: 'add-k', smoothValue: 2 }),
  bleuCase('smooth none', short, { smoothMethod: 'none' }),
  bleuCase('smooth none on ordinary', ordinary, { smoothMethod: 'none' }),
  bleuCase('effective order', short, { effectiveOrder: true }),
  bleuCase('maxNgramOrder 2', ordinary, { maxNgramOrder: 2 }),
  bleuCase('maxNgramOrder 6', ordinary, { maxNgramOrder: 6 }),
  bleuCase('tokenize none on punctuation', punctuation, { tokenize: 'none' }),
  bleuCase('tokenize none on unicode', unicode, { tokenize: 'none' }),
  bleuCase('tokenize intl on punctuation', punctuation, { tokenize: 'intl' }),
  bleuCase('tokenize intl on unicode', unicode, { tokenize: 'intl' }),
  bleuCase('lowercase', casing, { lowercase: true }),
  bleuCase('lowercase on unicode', unicode, { lowercase: true }),

  ...allSets.map(([t, d]) => chrfCase(t, d)),
  chrfCase('perfect match is 100', perfect, {}, 100),
  chrfCase('total miss is 0', miss, {}, 0),
  chrfCase('++ ordinary', ordinary, { wordOrder: 2 }),
  chrfCase('++ multiple references', multiRef, { wordOrder: 2 }),
  chrfCase('++ punctuation', punctuation, { wordOrder: 2 }),
  chrfCase('++ unicode', unicode, { wordOrder: 2 }),
  chrfCase('++ empty hypothesis lines', emptyHyps, { wordOrder: 2 }),
  chrfCase('eps smoothing', ordinary, { epsSmoothing: true }),
  chrfCase('eps smoothing on short segments', short, { epsSmoothing: true }),
  chrfCase('++ eps smoothing on empty references', emptyRefs, { wordOrder: 2, epsSmoothing: true }),
  chrfCase('beta 1, charOrder 4', ordinary, { beta: 1, charOrder: 4 }),
  chrfCase('whitespace kept', ordinary, { whitespace: true }),
  chrfCase('whitespace kept on unicode', unicode, { whitespace: true }),
  chrfCase('lowercase', casing, { lowercase: true }),

  ...ordinary.hyps.slice(0, 4).map<Case>((h, i) => ({
    title: `sentenceBleu #${i} (2 references)`,
    kind: 'sentence_bleu',
    data: { hyps: [h], refs: [[multiRef.refs[0][i]], [multiRef.refs[1][i]]] },
  })),
  {
    title: 'sentenceBleu without effective order, smooth floor',
    kind: 'sentence_bleu',
    data: { hyps: ['the cat'], refs: [['the cat sat on the mat']] },
    bleuOpts: { effectiveOrder: false, smoothMethod: 'floor' },
  },
  ...ordinary.hyps.slice(0, 4).map<Case>((h, i) => ({
    title: `sentenceChrf #${i} (3 references)`,
    kind: 'sentence_chrf',
    data: { hyps: [h], refs: multiRef.refs.map((s) => [s[i]]) },
  })),
  {
    title: 'sentenceChrf++',
    kind: 'sentence_chrf',
    data: { hyps: [punctuation.hyps[0]], refs: [[punctuation.refs[0][0]]] },
    chrfOpts: { wordOrder: 2 },
  },
];

// Every distinct line of every data set, for the tokenizer comparisons.
const allLines = [
  ...new Set([
    ...allSets.flatMap(([, d]) => [...d.hyps, ...d.refs.flat()]),
    ...casing.hyps,
    ' leading',
    'x.',
    '.x',
    '5.',
    ',5',
    'a-b 1-2 -3 4-',
    '&amp;quot; &quot;&amp; & amp;',
    '<skipped><skipped>x',
    'multi\n\nline-\n-dash',
    '\t\v\f\r tabs',
    '1.2.3,4,5',
    'end.',
    'U.S.A.',
    '...',
    '$',
    '',
  ]),
];
cases.push(
  { title: 'tokenize13a matches sacreBLEU Tokenizer13a', kind: 'tok13a', data: { hyps: allLines, refs: [] } },
  { title: 'tokenizeIntl matches sacreBLEU intl', kind: 'tokintl', data: { hyps: allLines, refs: [] } }
);

// ---------------------------------------------------------------------------
// Ask sacreBLEU once for everything.

function pyBleuOpts(o: BleuOptions, sentence: boolean): Record<string, unknown> {
  const p: Record<string, unknown> = { effective_order: o.effectiveOrder ?? sentence };
  if (o.tokenize !== undefined) p.tokenize = o.tokenize;
  if (o.lowercase !== undefined) p.lowercase = o.lowercase;
  if (o.smoothMethod !== undefined) p.smooth_method = o.smoothMethod;
  if (o.smoothValue !== undefined) p.smooth_value = o.smoothValue;
  if (o.maxNgramOrder !== undefined) p.max_ngram_order = o.maxNgramOrder;
  return p;
}

function pyChrfOpts(o: ChrfOptions): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (o.charOrder !== undefined) p.char_order = o.charOrder;
  if (o.wordOrder !== undefined) p.word_order = o.wordOrder;
  if (o.beta !== undefined) p.beta = o.beta;
  if (o.lowercase !== undefined) p.lowercase = o.lowercase;
  if (o.whitespace !== undefined) p.whitespace = o.whitespace;
  if (o.epsSmoothing !== undefined) p.eps_smoothing = o.epsSmoothing;
  return p;
}

interface PyBleu {
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
  formatted: string;
}
interface PyChrf {
  score: number;
  name: string;
  stats: number[];
  formatted: string;
}
type PyAnswer = PyBleu | PyChrf | string[];

function runSacre(): { answers?: PyAnswer[]; error?: string } {
  if (!hasSacre) return {};
  const requests = cases.map((c) => ({
    kind: c.kind,
    hyps: c.data.hyps,
    refs: c.data.refs,
    opts: c.kind === 'bleu' || c.kind === 'sentence_bleu' ? pyBleuOpts(c.bleuOpts ?? {}, c.kind === 'sentence_bleu') : pyChrfOpts(c.chrfOpts ?? {}),
  }));
  const r = spawnSync(PYTHON, ['-c', PY_SCRIPT], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) return { error: `sacreBLEU helper failed (status ${r.status}): ${r.stderr}` };
  return { answers: JSON.parse(r.stdout) as PyAnswer[] };
}

const sacreResults = runSacre();

function answer<T extends PyAnswer>(i: number): T {
  if (sacreResults.error !== undefined) throw new Error(sacreResults.error);
  const a = sacreResults.answers?.[i];
  if (a === undefined) throw new Error(`no sacreBLEU answer for case ${i}`);
  return a as T;
}

// Exercise both reference layouts: a lone stream goes in as string[].
function refsArg(d: DataSet): string[] | string[][] {
  return d.refs.length === 1 ? d.refs[0] : d.refs;
}

cases.forEach((c, i) => {
  sacreTest(`sacreBLEU parity: ${c.title}${skipNote}`, (t) => {
    if (c.kind === 'tok13a' || c.kind === 'tokintl') {
      const want = answer<string[]>(i);
      const tok = c.kind === 'tok13a' ? tokenize13a : tokenizeIntl;
      c.data.hyps.forEach((line, j) => t.is(tok(line), want[j], JSON.stringify(line)));
      return;
    }
    if (c.kind === 'bleu' || c.kind === 'sentence_bleu') {
      const want = answer<PyBleu>(i);
      const got: BleuResult =
        c.kind === 'bleu'
          ? bleu(c.data.hyps, refsArg(c.data), c.bleuOpts)
          : sentenceBleu(
              c.data.hyps[0],
              c.data.refs.map((s) => s[0]),
              c.bleuOpts
            );
      t.true(Math.abs(got.score - want.score) < TOL, `score ${got.score} vs sacreBLEU ${want.score}`);
      t.deepEqual(got.counts, want.counts, 'counts');
      t.deepEqual(got.totals, want.totals, 'totals');
      t.is(got.sysLen, want.sys_len, 'sysLen');
      t.is(got.refLen, want.ref_len, 'refLen');
      t.true(Math.abs(got.bp - want.bp) < 1e-12, `bp ${got.bp} vs ${want.bp}`);
      got.precisions.forEach((p, k) => t.true(Math.abs(p - want.precisions[k]) < 1e-9, `precision ${k + 1}: ${p} vs ${want.precisions[k]}`));
      t.is(formatBleu(got), want.formatted);
    } else {
      const want = answer<PyChrf>(i);
      const got =
        c.kind === 'chrf'
          ? chrf(c.data.hyps, refsArg(c.data), c.chrfOpts)
          : sentenceChrf(
              c.data.hyps[0],
              c.data.refs.map((s) => s[0]),
              c.chrfOpts
            );
      t.true(Math.abs(got.score - want.score) < TOL, `score ${got.score} vs sacreBLEU ${want.score}`);
      t.deepEqual(got.stats, want.stats, 'stats');
      t.is(got.name, want.name);
      t.is(formatChrf(got), want.formatted);
    }
    if (c.expectScore !== undefined) {
      const got = c.kind === 'bleu' ? bleu(c.data.hyps, refsArg(c.data), c.bleuOpts) : chrf(c.data.hyps, refsArg(c.data), c.chrfOpts);
      t.true(Math.abs(got.score - c.expectScore) < TOL, `score ${got.score}, expected ${c.expectScore}`);
    }
  });
});

// ---------------------------------------------------------------------------
// Independent checks (no sacreBLEU needed)

test('hand-worked corpus BLEU example', (t) => {
  // hyp: the cat sat on the mat     ref: the cat is on the mat     (6 tokens each, BP = 1)
  // 1-grams: the x2, cat, on, mat match; sat does not          -> 5/6 = 83.333%
  // 2-grams: "the cat", "on the", "the mat" match of 5          -> 3/5 = 60%
  // 3-grams: only "on the mat" matches of 4                     -> 1/4 = 25%
  // 4-grams: none of 3 match; exp smoothing: 100 / (2 * 3)      -> 16.667%
  // BLEU = (83.333 * 60 * 25 * 16.667)^(1/4) = 2083333.33^(1/4) = 37.9918
  const r = bleu(['the cat sat on the mat'], ['the cat is on the mat']);
  t.deepEqual(r.counts, [5, 3, 1, 0]);
  t.deepEqual(r.totals, [6, 5, 4, 3]);
  t.is(r.bp, 1);
  t.true(Math.abs(r.precisions[3] - 100 / 6) < 1e-9);
  t.true(Math.abs(r.score - 37.9918) < 1e-4, String(r.score));
  t.is(formatBleu(r), 'BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)');

  // Same pair with a final period, plus a second, short reference. 13a splits
  // "mat." into "mat" "."; hypothesis and first reference have 7 tokens, so
  // the closest reference length is 7 (not 3 from "a dog .").
  // 1: 6/7 (sat misses), 2: 4/6 (the cat, on the, the mat, mat .),
  // 3: 2/5 (on the mat, the mat .), 4: 1/4 (on the mat .)
  // BLEU = (85.714 * 66.667 * 40 * 25)^(1/4) = 5714285.71^(1/4) = 48.8923
  const r2 = bleu(['the cat sat on the mat.'], [['the cat is on the mat.'], ['a dog.']]);
  t.deepEqual(r2.counts, [6, 4, 2, 1]);
  t.deepEqual(r2.totals, [7, 6, 5, 4]);
  t.is(r2.refLen, 7);
  t.true(Math.abs(r2.score - 48.8923) < 1e-4, String(r2.score));
});

test('hand-worked sentence BLEU with brevity penalty', (t) => {
  // hyp "the cat" (2 tokens) vs ref "the cat sat on the mat" (6 tokens).
  // 1-grams 2/2, 2-grams 1/1, no 3- or 4-grams in the hypothesis.
  // Effective order (sentence default) averages over n = 1, 2: 100.
  // BP = exp(1 - 6/2) = exp(-2) = 0.135335 -> BLEU = 13.5335
  const s = sentenceBleu('the cat', 'the cat sat on the mat');
  t.true(Math.abs(s.bp - Math.exp(-2)) < 1e-12);
  t.true(Math.abs(s.score - 13.5335) < 1e-4, String(s.score));
  // Corpus BLEU keeps order 4: precisions 3 and 4 are 0, so the score is 0.
  t.is(bleu(['the cat'], ['the cat sat on the mat']).score, 0);
});

test('hand-worked chrF example', (t) => {
  // hyp "abc" vs ref "abd": 1-grams 2/3 both ways, 2-grams ab only -> 1/2,
  // 3-grams 0/1; orders 4-6 have no n-grams and are left out.
  // avg P = avg R = (2/3 + 1/2 + 0) / 3 = 7/18; F2 of equal P, R is that value.
  const r = chrf(['abc'], ['abd']);
  t.true(Math.abs(r.score - 700 / 18) < 1e-9, String(r.score));
  t.is(formatChrf(r), 'chrF2 = 38.89');
});

test('both reference layouts agree', (t) => {
  const single = bleu(ordinary.hyps, ordinary.refs[0]);
  const wrapped = bleu(ordinary.hyps, [ordinary.refs[0]]);
  t.deepEqual(single, wrapped);
  t.deepEqual(chrf(ordinary.hyps, ordinary.refs[0]), chrf(ordinary.hyps, [ordinary.refs[0]]));
});

test('null references are skipped per segment', (t) => {
  const hyps = ['a b c d', 'e f g h i'];
  const withNull = bleu(hyps, [
    ['a b c d', 'e f g h i'],
    ['x y z w', null],
  ]);
  const manual = bleu(hyps, [
    ['a b c d', 'e f g h i'],
    ['x y z w', 'e f g h i'],
  ]);
  t.is(withNull.score, manual.score);
  t.true(Math.abs(withNull.score - 100) < 1e-9);
});

test('empty corpus scores 0', (t) => {
  t.is(bleu([], []).score, 0);
  t.is(chrf([], []).score, 0);
});

test('mismatched lengths and bad options throw', (t) => {
  t.throws(() => bleu(['a', 'b'], ['a']), { instanceOf: RangeError });
  t.throws(() => bleu(['a'], [['a'], ['a', 'b']]), { instanceOf: RangeError });
  t.throws(() => chrf(['a', 'b'], ['a']), { instanceOf: RangeError });
  t.throws(() => bleu(['a'], [[null]]), { instanceOf: RangeError });
  t.throws(() => bleu(['a'], ['a'], { maxNgramOrder: 0 }), { instanceOf: RangeError });
  t.throws(() => bleu(['a'], ['a'], { tokenize: 'zh' as unknown as '13a' }), { instanceOf: RangeError });
  t.throws(() => chrf(['a'], ['a'], { charOrder: 0, wordOrder: 0 }), { instanceOf: RangeError });
});
