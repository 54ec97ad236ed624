// Streamed line reading (lines found in the bytes, decoded on demand) and the seeded selection sample (Algorithm S) the tokenizer trains on: exact sizes,
// order, determinism per seed, uniformity, a hand-worked draw, line endings and byte-order marks, chunk
// boundaries inside a character, and the errors for a wrong count or a missing file.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { countLines, readLines, readLineSpans, sampleLines, selectionSample } from '../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-sample-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const f = (name: string, text: string): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
};

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sample = (n: number, size: number, seed: number) => collect(selectionSample(range(n), { size, total: n, seed }));

test('a hand-worked draw: N = 10, n = 4 with seeds 0 and 1', async (t) => {
  // SeededRandom(0) gives U = .5022 .7097 .5054 .9808 .9957 .0955 .3724 .5216 .6129 .3182; item t is kept when
  // U·(10 − t) < 4 − kept: 5.02, 6.39, 4.04, 6.87, 5.97 are not < 4; then .48 < 4, 1.49 < 3, 1.56 < 2 are kept;
  // 1.23 is not < 1 and .32 < 1 is: items 5, 6, 7, 9.
  t.deepEqual(await sample(10, 4, 0), [5, 6, 7, 9]);
  // SeededRandom(1): U = .1276 .3441 .5203 .8406 .3447 .4397 .0709 .8906 .9735 .5665: 1.28 < 4, 3.10 ≥ 3,
  // 4.16 ≥ 3, 5.88 ≥ 3, 2.07 < 3, 2.20 ≥ 2, .28 < 2, 2.67 ≥ 1, 1.95 ≥ 1, .57 < 1: items 0, 4, 6, 9.
  t.deepEqual(await sample(10, 4, 1), [0, 4, 6, 9]);
});

test('exactly n distinct items of the input, in input order; the same for a seed, another for another seed', async (t) => {
  for (const [n, size] of [
    [1000, 1],
    [1000, 37],
    [1000, 999],
    [5000, 2500],
  ]) {
    const a = await sample(n, size, 7);
    t.is(a.length, size);
    t.true(
      a.every((x, i) => Number.isInteger(x) && x >= 0 && x < n && (i === 0 || x > a[i - 1])),
      'strictly increasing positions: ordered, no repeats'
    );
    t.deepEqual(await sample(n, size, 7), a, 'deterministic for a seed');
    if (size > 1 && size < n - 1) t.notDeepEqual(await sample(n, size, 8), a, 'another seed, another sample');
  }
});

test('n at least N keeps every item; n = 0 keeps none', async (t) => {
  t.deepEqual(await sample(50, 50, 3), range(50));
  t.deepEqual(await sample(50, 1_000_000, 3), range(50));
  t.deepEqual(await sample(50, 0, 3), []);
  t.deepEqual(await sample(0, 10, 3), []);
});

test('every n-subset is about equally likely (N = 5, n = 2 over 5,000 seeds)', async (t) => {
  const counts = new Map<string, number>();
  for (let seed = 0; seed < 5000; seed++) {
    const key = (await sample(5, 2, seed)).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  t.is(counts.size, 10, 'all C(5, 2) = 10 subsets occur');
  // Each has probability 1/10: 500 expected, standard deviation about 21; 400..600 is beyond 4.7 sigma.
  for (const [key, c] of counts) t.true(c > 400 && c < 600, `${key}: ${c}`);
});

test('a stream with another count than total is an error after the pass; bad options are named', async (t) => {
  await t.throwsAsync(collect(selectionSample(range(9), { size: 3, total: 10 })), { message: /yielded 9 items, expected 'total' 10/ });
  await t.throwsAsync(collect(selectionSample(range(11), { size: 3, total: 10 })), { message: /yielded 11 items, expected 'total' 10/ });
  t.throws(() => selectionSample(range(3), { size: -1, total: 3 }), {
    message: /selectionSample: option 'size' must be an integer >= 0, got number -1/,
  });
  t.throws(() => selectionSample(range(3), { size: 1, total: 3, seed: 0.5 }), { message: /option 'seed' must be an integer/ });
  t.throws(() => selectionSample(range(3), { size: 1 } as never), { message: /option 'total' must be an integer >= 0/ });
});

test('readLines: LF and CRLF, a byte-order mark, no final newline; blank lines skipped unless asked for', async (t) => {
  const file = f('mixed.txt', '\ufeffone\r\ntwo\n\n  \nthree\r\n\nfour');
  t.deepEqual(await collect(readLines(file)), ['one', 'two', 'three', 'four']);
  t.deepEqual(await collect(readLines(file, { skipEmpty: false })), ['one', 'two', '', '  ', 'three', '', 'four']);
  t.is(await countLines([file, file]), 8);
  t.deepEqual(await collect(readLines(f('empty.txt', ''))), []);
  await t.throwsAsync(collect(readLines(path.join(tmp, 'nope.txt'))), { message: /cannot read .*nope\.txt: no such file/ });
});

test('readLineSpans: byte ranges decoded on demand; blank means ASCII whitespace only', async (t) => {
  const file = f('spans.txt', 'Größe\r\n\t \n\u00a0\nzwei');
  const chunks = await collect(readLineSpans(file));
  t.is(chunks.length, 2, 'the unfinished last line comes after the chunk');
  t.deepEqual(
    [chunks[0].length, chunks[0].starts, chunks[0].ends],
    [2, [0, 12], [7, 14]],
    'Größe is 7 bytes, then CR LF, tab, space, LF; NBSP is 2 bytes'
  );
  t.deepEqual(
    chunks.flatMap((c) => Array.from({ length: c.length }, (_, i) => c.at(i))),
    ['Größe', '\u00a0', 'zwei']
  );
});

test('readLines keeps a character whole across read chunks (a file of several MiB)', async (t) => {
  const lines = range(120_000).map((i) => `Zeile ${i}: Größe über Maß — ✓ 𝄞`);
  const file = f('big.txt', lines.join('\n') + '\n');
  t.true(fs.statSync(file).size > 4 << 20);
  t.deepEqual(await collect(readLines(file)), lines);
});

test('sampleLines: both files as one stream of non-empty lines, counted first or told the total', async (t) => {
  const a = f(
    'a.txt',
    range(30)
      .map((i) => `a${i}`)
      .join('\n') + '\n\n'
  );
  const b = f(
    'b.txt',
    range(20)
      .map((i) => `b${i}`)
      .join('\r\n')
  );
  const s = await sampleLines([a, b], { size: 10, seed: 4 });
  t.is(s.total, 50);
  t.is(s.size, 10);
  const got = await collect(s.lines);
  t.is(got.length, 10);
  const all = [...range(30).map((i) => `a${i}`), ...range(20).map((i) => `b${i}`)];
  const at = got.map((l) => all.indexOf(l));
  t.true(
    at.every((p, i) => p >= 0 && (i === 0 || p > at[i - 1])),
    'lines of the input, in file order, no repeats'
  );
  // The same draw as over the items themselves.
  t.deepEqual(got, await collect(selectionSample(all, { size: 10, total: 50, seed: 4 })));
  t.deepEqual(await collect((await sampleLines([a, b], { size: 10, seed: 4, total: 50 })).lines), got);

  const everything = await sampleLines([a, b], { size: 1000 });
  t.is(everything.size, 50);
  t.deepEqual(await collect(everything.lines), all);

  const wrong = await sampleLines([a, b], { size: 10, total: 52, totalFrom: 'data.json: 2 × 26 training pairs' });
  await t.throwsAsync(collect(wrong.lines), {
    message: /a\.txt \+ .*b\.txt hold 50 non-empty lines, expected 52 \(data\.json: 2 × 26 training pairs\)/,
  });
  await t.throwsAsync(sampleLines([a, path.join(tmp, 'missing.txt')], { size: 3 }), { message: /cannot read .*missing\.txt: no such file/ });
});
