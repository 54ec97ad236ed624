// Parallel text corpora (two aligned files, TSV; plain or gzip; streamed or in memory): bad lines by file and
// line, or skipped and counted; truncated gzip files; the line reader across block boundaries; deterministic
// train/valid/test splits.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { type BadLine, CorpusError, readParallelFiles, readTsv, splitCorpus, streamParallelFiles, streamTsv } from '../lib';
import { INVALID_UTF8, readTextLines } from '../lib/data/text-lines';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-corpus-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
function file(text: string | Buffer): string {
  const p = path.join(tmp, `f${counter++}.txt`);
  fs.writeFileSync(p, text);
  return p;
}

test('two aligned files become pairs; CRLF, a BOM and edge spaces are handled', async (t) => {
  const src = file('\ufeffHello world\r\n  Open the file \r\nGood bye\n');
  const tgt = file('Hallo Welt\nDatei öffnen\nAuf Wiedersehen');
  const c = await readParallelFiles(src, tgt);
  t.deepEqual(c.pairs, [
    { src: 'Hello world', tgt: 'Hallo Welt' },
    { src: 'Open the file', tgt: 'Datei öffnen' },
    { src: 'Good bye', tgt: 'Auf Wiedersehen' },
  ]);
  t.is(c.skipped, 0);
  t.is((await readParallelFiles(src, tgt, { maxPairs: 2 })).pairs.length, 2);
});

test('an empty line is an error naming the file and line, or skipped and counted', async (t) => {
  const src = file('one\ntwo\n\nfour\n');
  const tgt = file('eins\n   \ndrei\nvier\n');
  const err = await t.throwsAsync(readParallelFiles(src, tgt), { instanceOf: CorpusError });
  t.is(err?.file, tgt);
  t.is(err?.line, 2);
  t.is(err?.message, `corpus: ${tgt}:2: empty target sentence`);
  const c = await readParallelFiles(src, tgt, { onBadLine: 'skip' });
  t.deepEqual(c.pairs, [
    { src: 'one', tgt: 'eins' },
    { src: 'four', tgt: 'vier' },
  ]);
  t.is(c.skipped, 2);
  t.deepEqual(c.badLines, [
    { file: tgt, line: 2, reason: 'empty target sentence' },
    { file: src, line: 3, reason: 'empty source sentence' },
  ]);
});

test('invalid UTF-8 is a bad line (never silently U+FFFD); a real U+FFFD is kept', async (t) => {
  const src = file(Buffer.concat([Buffer.from('ok\nbad \xff\xfe bytes\n', 'latin1'), Buffer.from('keeps \ufffd\n', 'utf8')]));
  const tgt = file('gut\nschlecht\nbehält \ufffd\n');
  const err = await t.throwsAsync(readParallelFiles(src, tgt), { instanceOf: CorpusError });
  t.is(err?.message, `corpus: ${src}:2: invalid UTF-8`);
  const c = await readParallelFiles(src, tgt, { onBadLine: 'skip' });
  t.deepEqual(c.pairs, [
    { src: 'ok', tgt: 'gut' },
    { src: 'keeps \ufffd', tgt: 'behält \ufffd' },
  ]);
  t.deepEqual(c.badLines, [{ file: src, line: 2, reason: 'invalid UTF-8' }]);
  const tsv = file(Buffer.concat([Buffer.from('a\tb\n', 'utf8'), Buffer.from('\xc3(\tx\n', 'latin1')]));
  const r = await readTsv(tsv, { onBadLine: 'skip' });
  t.deepEqual(r.pairs, [{ src: 'a', tgt: 'b' }]);
  t.deepEqual(r.badLines, [{ file: tsv, line: 2, reason: 'invalid UTF-8' }]);
});

test('files of different lengths, and missing files, are errors', async (t) => {
  const three = file('a\nb\nc\n');
  const two = file('x\ny\n');
  await t.throwsAsync(readParallelFiles(three, two), { instanceOf: CorpusError, message: new RegExp(`${two}: has 2 lines but ${three} has more`) });
  await t.throwsAsync(readParallelFiles(two, three), { message: new RegExp(`${two}: has 2 lines but ${three} has more`) });
  await t.throwsAsync(readParallelFiles(path.join(tmp, 'missing.txt'), two), { instanceOf: CorpusError, message: /missing\.txt: .*no such file/i });
  await t.throwsAsync(readParallelFiles(two, two, { onBadLine: 'maybe' as 'skip' }), { instanceOf: RangeError });
});

test('TSV: two columns per line; malformed and empty lines by line number', async (t) => {
  const good = file('Hello\tHallo\nOpen  \t  Öffnen\n');
  t.deepEqual((await readTsv(good)).pairs, [
    { src: 'Hello', tgt: 'Hallo' },
    { src: 'Open', tgt: 'Öffnen' },
  ]);
  const bad = file('Hello\tHallo\nno tab here\na\tb\tc\n\n\tleer\n');
  await t.throwsAsync(readTsv(bad), { message: `corpus: ${bad}:2: expected 2 tab-separated columns, found 1` });
  const c = await readTsv(bad, { onBadLine: 'skip' });
  t.deepEqual(c.pairs, [{ src: 'Hello', tgt: 'Hallo' }]);
  t.deepEqual(
    c.badLines.map((b) => [b.line, b.reason]),
    [
      [2, 'expected 2 tab-separated columns, found 1'],
      [3, 'expected 2 tab-separated columns, found 3'],
      [4, 'empty line'],
      [5, 'empty source sentence'],
    ]
  );
});

test('splitCorpus: deterministic by seed, disjoint, complete, in input order', (t) => {
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const a = splitCorpus(items, { valid: 0.1, test: 50, seed: 7 });
  const b = splitCorpus(items, { valid: 0.1, test: 50, seed: 7 });
  const c = splitCorpus(items, { valid: 0.1, test: 50, seed: 8 });
  t.deepEqual(a, b);
  t.notDeepEqual(a.valid, c.valid);
  t.is(a.valid.length, 100);
  t.is(a.test.length, 50);
  t.is(a.train.length, 850);
  t.deepEqual(
    [...a.train, ...a.valid, ...a.test].sort((x, y) => x - y),
    items
  );
  for (const part of [a.train, a.valid, a.test])
    t.deepEqual(
      part,
      [...part].sort((x, y) => x - y)
    );
  t.deepEqual(splitCorpus(items), { train: items, valid: [], test: [] });
  t.throws(() => splitCorpus(items, { valid: 600, test: 600 }), { instanceOf: RangeError, message: /exceed the 1000 items/ });
  t.throws(() => splitCorpus(items, { valid: 1.5 }), { instanceOf: RangeError });
});

test('gzip input (found by its magic bytes, whatever the name) reads as the plain text', async (t) => {
  const text = '\ufeffHello world\r\nÖffnen  \nGood bye';
  const plain = file(text);
  const gz = path.join(tmp, `gz${counter++}.txt`); // no .gz suffix: the content decides
  fs.writeFileSync(gz, zlib.gzipSync(Buffer.from(text)));
  const other = file('a\nb\nc\n');
  const otherGz = path.join(tmp, `gz${counter++}.gz`);
  // Two gzip members back to back (what `cat a.gz b.gz` makes) are one stream.
  fs.writeFileSync(otherGz, Buffer.concat([zlib.gzipSync('a\nb'), zlib.gzipSync('\nc\n')]));
  t.deepEqual(await readParallelFiles(gz, otherGz), await readParallelFiles(plain, other));
  const tsvGz = path.join(tmp, `gz${counter++}.tsv.gz`);
  fs.writeFileSync(tsvGz, zlib.gzipSync('one\teins\ntwo\tzwei\n'));
  t.deepEqual((await readTsv(tsvGz)).pairs, [
    { src: 'one', tgt: 'eins' },
    { src: 'two', tgt: 'zwei' },
  ]);
});

test('a truncated gzip file is an error naming the file', async (t) => {
  const lines = Array.from({ length: 20000 }, (_, i) => `sentence number ${i}`).join('\n') + '\n';
  const whole = zlib.gzipSync(lines);
  const cut = path.join(tmp, `cut${counter++}.gz`);
  fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  const plain = file(lines);
  const err = await t.throwsAsync(readParallelFiles(plain, cut), { instanceOf: CorpusError });
  t.is(err?.file, cut);
  t.regex(err?.message ?? '', new RegExp(`^corpus: ${cut}: the gzip file is truncated`));
  const headerOnly = path.join(tmp, `cut${counter++}.gz`);
  fs.writeFileSync(headerOnly, whole.subarray(0, 2));
  await t.throwsAsync(readTsv(headerOnly), { instanceOf: CorpusError, message: /truncated/ });
});

test('the line reader is exact across block boundaries: split characters, CRLF, invalid lines, no final newline', async (t) => {
  const parts: Buffer[] = [];
  const want: (string | symbol)[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 37 === 5) {
      parts.push(Buffer.from(`bad ${i} \xff\r\n`, 'latin1'));
      want.push(INVALID_UTF8);
    } else {
      const s = `${i} größe 日本語 ${'x'.repeat(i % 13)}${i === 0 ? '' : ' 😀'}`;
      parts.push(Buffer.from(s + (i % 2 ? '\r\n' : '\n')));
      want.push(s);
    }
  }
  parts.push(Buffer.from('last without newline'));
  want.push('last without newline');
  const f = file(Buffer.concat(parts));
  for (const blockBytes of [1, 2, 3, 7, 64, 1 << 20]) {
    const got: (string | symbol)[] = [];
    for await (const block of readTextLines(f, { blockBytes })) {
      t.true(block.length > 0);
      got.push(...block);
    }
    t.deepEqual(got, want, `blockBytes ${blockBytes}`);
  }
  const empty = file('');
  for await (const block of readTextLines(empty)) t.fail(`an empty file has no lines, got ${block.length}`);
});

test('streams: pairs in blocks; stopping early is no error, a bad line later is reported only when reached', async (t) => {
  const n = 50000;
  const src = file(Array.from({ length: n }, (_, i) => `s${i}`).join('\n') + '\n\n');
  const tgt = file(Array.from({ length: n }, (_, i) => `t${i}`).join('\n') + '\nlast\n');
  let seen = 0;
  for await (const block of streamParallelFiles(src, tgt)) {
    seen += block.length;
    if (seen >= 10) break; // line n + 1 (an empty source) is never reached
  }
  t.true(seen >= 10);
  t.is((await readParallelFiles(src, tgt, { maxPairs: n })).pairs.length, n);
  let before = 0;
  const err = await t.throwsAsync(
    async () => {
      for await (const block of streamParallelFiles(src, tgt)) before += block.length;
    },
    { instanceOf: CorpusError }
  );
  t.is(err?.message, `corpus: ${src}:${n + 1}: empty source sentence`);
  t.is(before, n, 'every pair before the bad line is given out first');
  const skipped: BadLine[] = [];
  let total = 0;
  for await (const block of streamTsv(file('a\tb\nc\n'), { onBadLine: 'skip', onSkip: (b) => skipped.push(b) })) total += block.length;
  t.is(total, 1);
  t.deepEqual(
    skipped.map((b) => [b.line, b.reason]),
    [[2, 'expected 2 tab-separated columns, found 1']]
  );
});
