// Preparing a data folder from files on disk (`xlm-kd data --src/--tgt` or `--tsv`), streamed in one pass:
// counts of what cleaning drops (too long, length ratio, duplicates, bad lines) on a hand-made corpus; valid
// and test of exact size drawn by a seeded reservoir, every kept pair in exactly one split; gzip and TSV input
// giving the same folder as plain parallel files; data.json's text hashes against sha256 of the files; the CLI's
// flags; a generated corpus in a heap too small to hold it. Also the pieces: the pair hash set and the reservoir.
import test from 'ava';
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { promisify } from 'util';
import * as zlib from 'zlib';
import { CorpusError, type DataInfo, PairHashSet, prepareData, ReservoirSample, type SentencePair, writeDataFolder } from '../lib';
import { runData } from '../lib/cli/data';
import { UsageError } from '../lib/cli/io';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-prepare-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => path.join(tmp, `${name}-${counter++}`);
function file(text: string | Buffer, name = 'f'): string {
  const p = fresh(name);
  fs.writeFileSync(p, text);
  return p;
}
const execFileP = promisify(execFile);
const readLines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').slice(0, -1);
/** The pairs of each split of a data folder, as `src\ttgt` strings. */
function splitsOf(dir: string): Record<'train' | 'valid' | 'test', string[]> {
  const one = (s: string) => {
    const [a, b] = [readLines(path.join(dir, `${s}.src`)), readLines(path.join(dir, `${s}.tgt`))];
    return a.map((x, i) => `${x}\t${b[i]}`);
  };
  return { train: one('train'), valid: one('valid'), test: one('test') };
}
const sha256 = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const info = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'data.json'), 'utf8')) as DataInfo;

/** `n` distinct pairs of similar length. */
const distinct = (n: number, tag = ''): SentencePair[] =>
  Array.from({ length: n }, (_, i) => ({ src: `source ${tag}${i} text`, tgt: `Ziel ${tag}${i} Text` }));
const write = (pairs: SentencePair[]) => ({
  src: file(pairs.map((p) => p.src + '\n').join(''), 'src'),
  tgt: file(pairs.map((p) => p.tgt + '\n').join(''), 'tgt'),
});

test('cleaning counts on a hand-made corpus: too long, length ratio, duplicates, bad lines', async (t) => {
  const src: string[] = [];
  const tgt: string[] = [];
  const add = (s: string, g: string) => (src.push(s), tgt.push(g));
  for (const p of distinct(30)) add(p.src, p.tgt); // 30 kept
  add('source 3 text', 'Ziel 3 Text'); // duplicate of pair 3
  add('  source 4 text ', 'Ziel 4 Text\t'); // duplicate of pair 4 once trimmed
  add('source 5 text', 'Ziel 5 Text'); // duplicate of pair 5
  add('source 3 text', 'Ziel 3 anders'); // same source, other target: not a duplicate (kept: 31)
  add('abc', 'abcdefghi'); // ratio exactly 3: kept (32)
  add('abc', 'abcdefghij'); // ratio 3.33: dropped
  add('a long sentence of many words', 'kurz'); // ratio 7.25: dropped
  add('x'.repeat(61), 'y'.repeat(61)); // too long (maxChars 60)
  add('', 'leer'); // bad line 39
  add('fine again', 'wieder gut'); // kept (33)
  const files = write(src.map((s, i) => ({ src: s, tgt: tgt[i] })));
  const base = { srcFile: files.src, tgtFile: files.tgt, valid: 3, test: 4, maxChars: 60 };

  const err = await t.throwsAsync(prepareData({ ...base, out: fresh('bad') }), { instanceOf: CorpusError });
  t.is(err?.message, `corpus: ${files.src}:39: empty source sentence`);

  const out = fresh('clean');
  const d = await prepareData({ ...base, out, skipBadLines: true });
  t.deepEqual(d.dropped, { badLines: 1, tooLong: 1, ratio: 2, duplicates: 3 });
  t.deepEqual(d.counts, { train: 26, valid: 3, test: 4 });
  t.deepEqual(info(out), d);

  const keep = await prepareData({ ...base, out: fresh('keep'), skipBadLines: true, dedupe: false, maxRatio: 0 });
  t.deepEqual(keep.dropped, { badLines: 1, tooLong: 1, ratio: 0, duplicates: 0 });
  t.is(keep.counts.train + keep.counts.valid + keep.counts.test, 38);
  const strict = await prepareData({ ...base, out: fresh('strict'), skipBadLines: true, maxRatio: 1.5 });
  t.is(strict.dropped?.ratio, 3); // 'abc' -> 'abcdefghi' too
});

test('valid and test of exact size; every kept pair in exactly one split; same seed same split, other seed another', async (t) => {
  const pairs = distinct(2000);
  const files = write(pairs);
  const run = async (seed: number) => {
    const out = fresh(`seed${seed}`);
    const d = await prepareData({ srcFile: files.src, tgtFile: files.tgt, valid: 50, test: 70, seed, out });
    return { d, splits: splitsOf(out) };
  };
  const a = await run(1);
  t.deepEqual(a.d.counts, { train: 1880, valid: 50, test: 70 });
  t.is(a.splits.valid.length, 50);
  t.is(a.splits.test.length, 70);
  const all = [...a.splits.train, ...a.splits.valid, ...a.splits.test].sort();
  t.deepEqual(all, pairs.map((p) => `${p.src}\t${p.tgt}`).sort());
  t.deepEqual((await run(1)).splits, a.splits);
  const b = await run(2);
  t.notDeepEqual(b.splits.valid, a.splits.valid);
  t.notDeepEqual(b.splits.test, a.splits.test);
  // Held-out pairs come from the whole file, not its start.
  const index = (line: string) => Number(line.split(' ')[1]);
  t.true(Math.max(...a.splits.test.map(index)) > 1000);

  const few = await t.throwsAsync(prepareData({ srcFile: files.src, tgtFile: files.tgt, valid: 1000, test: 1000, out: fresh('few') }));
  t.regex(few?.message ?? '', /only 2000 pairs kept of 2000 read: too few for 1000 valid \+ 1000 test pairs/);
  const limited = await prepareData({ srcFile: files.src, tgtFile: files.tgt, valid: 5, test: 5, maxPairs: 100, out: fresh('max') });
  t.is(limited.counts.train + limited.counts.valid + limited.counts.test, 100);
});

test('gzip and TSV input give the same data folder as plain parallel files, byte for byte', async (t) => {
  const pairs = distinct(500);
  const files = write(pairs);
  const opts = { valid: 20, test: 30, seed: 3 };
  const plain = await prepareData({ ...opts, srcFile: files.src, tgtFile: files.tgt, out: fresh('plain') });
  const gzSrc = file(zlib.gzipSync(fs.readFileSync(files.src)), 'src.gz');
  const gzTgt = file(zlib.gzipSync(fs.readFileSync(files.tgt)), 'tgt.gz');
  const gz = await prepareData({ ...opts, srcFile: gzSrc, tgtFile: gzTgt, out: fresh('gz') });
  const tsv = file(zlib.gzipSync(pairs.map((p) => `${p.src}\t${p.tgt}\n`).join('')), 'pairs.tsv.gz');
  const fromTsv = await prepareData({ ...opts, tsvFile: tsv, out: fresh('tsv') });
  t.deepEqual(gz.text, plain.text);
  t.deepEqual(fromTsv.text, plain.text);
  t.deepEqual(fromTsv.counts, plain.counts);
  t.is(fromTsv.source, tsv);
  await t.throwsAsync(prepareData({ ...opts, tsvFile: tsv, srcFile: files.src, tgtFile: files.tgt, out: fresh('both') }), {
    instanceOf: TypeError,
    message: "prepareData: option 'tsvFile' replaces option 'srcFile' and option 'tgtFile': give one or the other",
  });
});

test('invalid UTF-8 in the middle: an error naming file and line (and nothing written), or skipped and counted', async (t) => {
  const pairs = distinct(100);
  const src = file(
    Buffer.concat([
      Buffer.from(
        pairs
          .slice(0, 60)
          .map((p) => p.src + '\n')
          .join('')
      ),
      Buffer.from('bad \xff\xfe line\n', 'latin1'),
      Buffer.from(
        pairs
          .slice(61)
          .map((p) => p.src + '\n')
          .join('')
      ),
    ]),
    'src'
  );
  const tgt = file(pairs.map((p) => p.tgt + '\n').join(''), 'tgt');
  const out = fresh('utf8');
  await t.throwsAsync(prepareData({ srcFile: src, tgtFile: tgt, valid: 5, test: 5, out }), {
    instanceOf: CorpusError,
    message: `corpus: ${src}:61: invalid UTF-8`,
  });
  t.deepEqual(fs.readdirSync(out), [], 'no temp file is left, and no data.json');
  const d = await prepareData({ srcFile: src, tgtFile: tgt, valid: 5, test: 5, out, skipBadLines: true });
  t.is(d.dropped?.badLines, 1);
  t.is(d.counts.train + d.counts.valid + d.counts.test, 99);
  t.deepEqual(fs.readdirSync(out).sort(), ['data.json', 'test.src', 'test.tgt', 'train.src', 'train.tgt', 'valid.src', 'valid.tgt']);
});

test("data.json's text record is each file's size and sha256, for streamed and in-memory folders", async (t) => {
  const files = write(distinct(300));
  const streamed = fresh('streamed');
  await prepareData({ srcFile: files.src, tgtFile: files.tgt, valid: 10, test: 10, out: streamed });
  const memory = fresh('memory');
  // writeDataFolder is what the gettext path writes through; line breaks inside a sentence become spaces.
  await writeDataFolder(
    memory,
    { train: [{ src: 'a\r\nb', tgt: 'ä' }], valid: distinct(3), test: [] },
    { source: 'test', srcLang: 'en', tgtLang: 'de' }
  );
  t.is(fs.readFileSync(path.join(memory, 'train.src'), 'utf8'), 'a b\n');
  for (const dir of [streamed, memory]) {
    const text = info(dir).text!;
    t.deepEqual(Object.keys(text), ['train.src', 'train.tgt', 'valid.src', 'valid.tgt', 'test.src', 'test.tgt']);
    for (const [name, rec] of Object.entries(text)) {
      const f = path.join(dir, name);
      t.deepEqual(rec, { bytes: fs.statSync(f).size, sha256: sha256(f) }, `${dir} ${name}`);
    }
  }
  t.is(info(memory).text!['test.src'].sha256, crypto.createHash('sha256').update('').digest('hex'));
});

interface Captured {
  stdout: string;
  stderr: string;
}
async function cli(args: string[]): Promise<Captured & { code: number }> {
  const [out, err] = [new PassThrough(), new PassThrough()];
  const got: Captured = { stdout: '', stderr: '' };
  out.on('data', (c) => (got.stdout += c));
  err.on('data', (c) => (got.stderr += c));
  const code = await runData(args, { stdin: new PassThrough(), stdout: out, stderr: err });
  return { code, ...got };
}

test('the CLI: --tsv, --max-ratio, --keep-duplicates, their help and their usage errors', async (t) => {
  const pairs = [...distinct(40), ...distinct(5), { src: 'a', tgt: 'abcdefgh' }];
  const tsv = file(pairs.map((p) => `${p.src}\t${p.tgt}\n`).join(''), 'c.tsv');
  let r = await cli(['--tsv', tsv, '--out', fresh('cli'), '--valid', '2', '--test', '3']);
  t.is(r.code, 0);
  t.regex(r.stdout, /: en -> de from .*c\.tsv.*: 35 train, 2 valid, 3 test pairs; dropped: ratio 1, duplicates 5\n$/);
  r = await cli([
    '--tsv',
    tsv,
    '--out',
    fresh('cli'),
    '--valid',
    '2',
    '--test',
    '3',
    '--keep-duplicates',
    '--max-ratio',
    '0',
    '--src-lang',
    'fr',
    '--tgt-lang',
    'es',
  ]);
  t.regex(r.stdout, /: fr -> es from .*: 41 train, 2 valid, 3 test pairs\n$/);
  const help = await cli(['--help']);
  for (const flag of ['--tsv FILE', '--max-ratio R', '(default 3; 0 keeps every ratio)', '--keep-duplicates', '--skip-bad-lines', 'gzip'])
    t.true(help.stdout.includes(flag), flag);
  const usage = async (args: string[], message: RegExp) =>
    t.regex((await t.throwsAsync(cli(args), { instanceOf: UsageError }))?.message ?? '', message);
  await usage(['--tsv', tsv, '--src', tsv, '--tgt', tsv, '--out', 'o'], /--tsv replaces --src and --tgt: give one or the other/);
  await usage(['--tsv', tsv, '--out', 'o', '--max-ratio', '0.5'], /--max-ratio must be a number >= 1, or 0 to keep every ratio, got number 0.5/);
  await usage(['--tsv', tsv, '--out', 'o', '--max-ratio', 'x'], /--max-ratio must be a number, got 'x'/);
});

test('a 200k-line corpus (50 MB of text) prepares through the CLI in a 32 MB heap', async (t) => {
  const n = 200_000;
  const words = Array.from({ length: 1000 }, (_, i) => `w${(i * 7919) % 100000}x`);
  const line = (i: number, salt: number) => {
    let s = `${i}`;
    for (let k = 0; s.length < 120; k++) s += ' ' + words[(i * 31 + k * 17 + salt) % words.length];
    return s;
  };
  const [srcFile, tgtFile] = [fresh('big.src'), fresh('big.tgt')];
  for (const [f, salt] of [
    [srcFile, 1],
    [tgtFile, 2],
  ] as const) {
    const fd = fs.openSync(f, 'w');
    for (let start = 0; start < n; start += 10_000) fs.writeSync(fd, Array.from({ length: 10_000 }, (_, k) => line(start + k, salt) + '\n').join(''));
    fs.closeSync(fd);
  }
  const textBytes = fs.statSync(srcFile).size + fs.statSync(tgtFile).size;
  const out = fresh('big');
  const started = Date.now();
  // A child process with a heap too small for the pairs (reading them into memory needs more than 64 MB): it
  // only finishes if memory does not grow with the corpus. Heap use in-process would measure GC timing instead.
  const cliJs = path.resolve(__dirname, '..', 'lib', 'cli', 'index.js');
  const r = await execFileP(process.execPath, ['--max-old-space-size=32', cliJs, 'data', '--src', srcFile, '--tgt', tgtFile, '--out', out], {
    encoding: 'utf8',
  });
  t.log(`${(textBytes / 1e6).toFixed(0)} MB of text in ${((Date.now() - started) / 1000).toFixed(1)} s: ${r.stdout.trim()}`);
  t.deepEqual(info(out).counts, { train: n - 1500, valid: 500, test: 1000 });
  t.is(info(out).text!['train.src'].bytes + info(out).text!['valid.src'].bytes + info(out).text!['test.src'].bytes, fs.statSync(srcFile).size);
});

test('PairHashSet: exact duplicates found, no false ones among many distinct pairs, grows as it fills', (t) => {
  const set = new PairHashSet({ initialCapacity: 16 });
  t.true(set.add('ab', 'c'));
  t.true(set.add('a', 'bc'), 'where one side ends is part of the pair');
  t.true(set.add('c', 'ab'));
  t.false(set.add('ab', 'c'));
  t.true(set.add('', ''));
  t.false(set.add('', ''));
  for (let i = 0; i < 200_000; i++) if (!set.add(`sentence ${i}`, `Satz ${i}`)) t.fail(`pair ${i} taken for a duplicate`);
  for (let i = 0; i < 200_000; i += 997) t.false(set.add(`sentence ${i}`, `Satz ${i}`));
  t.is(set.size, 200_004);
  t.true(set.byteLength <= (200_004 * 8 * 2) / 0.75 + 1, `${set.byteLength} bytes`);
  t.throws(() => new PairHashSet({ initialCapacity: 0 }), { instanceOf: RangeError, message: /initialCapacity/ });
});

test('ReservoirSample: exact size, every item out exactly once, uniform, seeded', (t) => {
  const run = (seed: number, n: number, size: number) => {
    const r = new ReservoirSample<number>({ size, seed });
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const o = r.offer(i);
      if (o !== undefined) out.push(o);
    }
    return { out, kept: r.take() };
  };
  const a = run(5, 1000, 30);
  t.is(a.kept.length, 30);
  t.deepEqual(
    [...a.out, ...a.kept].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i)
  );
  t.deepEqual(run(5, 1000, 30), a);
  t.notDeepEqual(run(6, 1000, 30).kept, a.kept);
  t.deepEqual(run(1, 3, 5).kept.sort(), [0, 1, 2]);
  const hits = new Array(20).fill(0);
  for (let seed = 0; seed < 4000; seed++) for (const k of run(seed, 20, 5).kept) hits[k]++;
  // Each item is kept with probability 1/4: 1000 of 4000 runs, standard deviation about 27.
  for (const h of hits) t.true(h > 880 && h < 1120, `kept ${h} times of an expected 1000`);
});
