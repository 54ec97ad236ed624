// The token store: a data folder's splits tokenized once into .bin/.idx and read through memory maps; the Batcher
// over it gives the same plans and batches as over the same pairs in memory; stale stores rebuild, corrupt ones
// are clear errors; the sparse appendable form resumes in linear time.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  AppendableTokenStore,
  Batch,
  Batcher,
  buildSplitStore,
  openSplitStore,
  SentencePiece,
  storeBase,
  type TokenPair,
  TokenStore,
  TokenStoreError,
  TokenStoreWriter,
  writeDataFolder,
} from '../lib';

const words = ['house', 'tree', 'river', 'stone', 'light', 'green', 'small', 'old', 'the', 'a', 'and', 'of', 'water', 'fire'];

function sentences(n: number, seed: number): string[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  return Array.from({ length: n }, () => Array.from({ length: 2 + (next() % 9) }, () => words[next() % words.length]).join(' '));
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'token-store-'));

async function dataFolder(n = 300): Promise<string> {
  const dir = tmp();
  const src = sentences(n, 1);
  const tgt = sentences(n, 2);
  const pairs = src.map((s, i) => ({ src: s, tgt: tgt[i] }));
  await writeDataFolder(dir, { train: pairs, valid: pairs.slice(0, 20), test: pairs.slice(0, 10) }, { source: 'test', srcLang: 'en', tgtLang: 'de' });
  return dir;
}

let shared: Promise<SentencePiece> | undefined;
const tokenizer = () =>
  (shared ??= SentencePiece.train({ sentences: [...sentences(400, 1), ...sentences(400, 2)], vocabSize: 60, hardVocabLimit: false, numThreads: 2 }));

test('a split tokenizes into the store: ids equal encode(), sizes and layout as documented', async (t) => {
  const dir = await dataFolder();
  const sp = await tokenizer();
  const logs: string[] = [];
  const store = await openSplitStore(dir, 'train', sp, { log: (l) => logs.push(l), chunk: 64 });
  t.regex(logs.join('\n'), /token store of train: none has been built yet/);
  const text = fs.readFileSync(path.join(dir, 'train.src'), 'utf8').trimEnd().split('\n');
  const target = fs.readFileSync(path.join(dir, 'train.tgt'), 'utf8').trimEnd().split('\n');
  t.is(store.size, 300);
  const src = sp.encode(text);
  const tgt = sp.encode(target);
  for (let i = 0; i < 300; i++) t.deepEqual(store.pair(i), { src: src[i], tgt: tgt[i] });
  // 2 bytes an id (uint16: the vocabulary fits), 12 bytes a sentence and a 4 KiB header (+4 bytes of alignment when the count is odd).
  const tokens = src.reduce((n, s) => n + s.length, 0);
  t.is(fs.statSync(`${storeBase(dir, 'train', 'src')}.bin`).size, 2 * tokens);
  t.is(fs.statSync(`${storeBase(dir, 'train', 'src')}.idx`).size, 4096 + 12 * 300);
  t.is(store.srcStore.meta.tokenizer, sp.hash);
  // Opened again: nothing rebuilt.
  logs.length = 0;
  await openSplitStore(dir, 'train', sp, { log: (l) => logs.push(l) });
  t.deepEqual(logs, []);
});

test('the Batcher over a store plans and builds exactly what it does over the same pairs in memory', async (t) => {
  const dir = await dataFolder();
  const sp = await tokenizer();
  const store = await openSplitStore(dir, 'train', sp);
  const pairs: TokenPair[] = Array.from({ length: store.size }, (_, i) => store.pair(i));
  const opts = { maxTokens: 160, maxSentences: 16, maxLength: 7, seed: 7, srcLang: 0, tgtLang: 1 };
  const fromStore = new Batcher(store, opts);
  const inMemory = new Batcher(pairs, opts);
  t.is(fromStore.size, inMemory.size);
  t.is(fromStore.dropped, inMemory.dropped);
  t.true(fromStore.dropped > 0, 'the length limit drops some pairs');
  for (const epoch of [0, 1, 2]) {
    const a = fromStore.plan(epoch);
    const b = inMemory.plan(epoch);
    t.deepEqual(
      a.map((p) => p.indices),
      b.map((p) => p.indices)
    );
    for (const k of [0, Math.floor(a.length / 2), a.length - 1]) {
      const x = fromStore.toBatch(a[k]);
      const y = inMemory.toBatch(b[k]);
      const old = Batch.from({
        src: b[k].indices.map((i) => inMemory.pair(i).src),
        tgt: b[k].indices.map((i) => inMemory.pair(i).tgt),
        srcLang: 0,
        tgtLang: 1,
      });
      for (const name of ['src', 'srcLen', 'tgtIn', 'tgtOut', 'tgtLen', 'srcLang', 'tgtLang'] as const) {
        t.deepEqual(x[name]!.tolist(), y[name]!.tolist(), name);
        t.deepEqual(y[name]!.tolist(), old[name]!.tolist(), name);
      }
      for (const bt of [x, y, old]) bt.dispose();
    }
  }
  t.throws(() => fromStore.pairs, { message: /reads a token store.*use pair\(i\)/ });
});

test('a store made with another tokenizer or from changed text is rebuilt, saying why; a touched file is not', async (t) => {
  const dir = await dataFolder(120);
  const sp = await tokenizer();
  await openSplitStore(dir, 'train', sp);
  const other = await SentencePiece.train({ sentences: sentences(300, 5), vocabSize: 40, hardVocabLimit: false });
  const logs: string[] = [];
  const s2 = await openSplitStore(dir, 'train', other, { log: (l) => logs.push(l) });
  t.regex(logs[0], /train\.src: it was made with another tokenizer/);
  t.is(s2.srcStore.meta.tokenizer, other.hash);
  // Touched, same bytes: the hash check keeps the store.
  logs.length = 0;
  const future = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(dir, 'train.tgt'), future, future);
  await openSplitStore(dir, 'train', other, { log: (l) => logs.push(l) });
  t.deepEqual(logs, []);
  // Changed text: rebuilt.
  fs.appendFileSync(path.join(dir, 'train.tgt'), '');
  const lines = fs.readFileSync(path.join(dir, 'train.tgt'), 'utf8').split('\n');
  lines[3] = 'water water water';
  fs.writeFileSync(path.join(dir, 'train.tgt'), lines.join('\n'));
  const s3 = await openSplitStore(dir, 'train', other, { log: (l) => logs.push(l) });
  t.regex(logs.join('\n'), /train\.tgt changed since it was made/);
  t.deepEqual(s3.pair(3).tgt, other.encode('water water water'));
});

test('a truncated or corrupt store is an error naming the file and the command that rebuilds it', async (t) => {
  const dir = await dataFolder(80);
  const sp = await tokenizer();
  await openSplitStore(dir, 'train', sp);
  const bin = `${storeBase(dir, 'train', 'tgt')}.bin`;
  fs.truncateSync(bin, fs.statSync(bin).size - 2);
  const e = await t.throwsAsync(openSplitStore(dir, 'train', sp), { instanceOf: TokenStoreError });
  t.regex(e.message, /train\.tgt\.bin.*truncated.*xlm-kd data --out .* --tokenizer TOKENIZER --store-only/);
  const idx = `${storeBase(dir, 'train', 'src')}.idx`;
  fs.writeFileSync(idx, Buffer.alloc(5000, 7));
  await t.throwsAsync(openSplitStore(dir, 'train', sp), { instanceOf: TokenStoreError, message: /train\.src\.idx.*not a token store index/ });
  fs.truncateSync(idx, 100);
  t.throws(() => TokenStore.open(storeBase(dir, 'train', 'src')), { message: /truncated: 100 bytes, shorter than its 4096-byte header/ });
  // Rebuilding puts it right.
  await buildSplitStore(dir, 'train', sp);
  t.is((await openSplitStore(dir, 'train', sp)).size, 80);
});

test('text files that are not line-aligned are refused, and a failed build leaves no store behind', async (t) => {
  const dir = await dataFolder(50);
  fs.appendFileSync(path.join(dir, 'train.tgt'), 'one more line\n');
  await t.throwsAsync(buildSplitStore(dir, 'train', await tokenizer()), { message: /different numbers of lines/ });
  t.deepEqual(fs.readdirSync(path.join(dir, 'tokens')), []);
});

test('TokenStoreWriter: uint32 ids above 65535, and ids that do not fit are refused', (t) => {
  const base = path.join(tmp(), 'wide');
  const w = new TokenStoreWriter(base, 4, { tokenizer: 'x', vocabSize: 100000 });
  w.add({ ids: Int32Array.from([70000, 1, 99999]), sizes: Int32Array.from([2, 0, 1]) });
  w.finish();
  const s = TokenStore.open(base);
  t.deepEqual([s.sentence(0), s.sentence(1), s.sentence(2)], [[70000, 1], [], [99999]]);
  const narrow = new TokenStoreWriter(path.join(tmp(), 'narrow'), 2, { tokenizer: 'x', vocabSize: 10 });
  t.throws(() => narrow.add({ ids: Int32Array.from([65536]), sizes: Int32Array.from([1]) }), { message: /does not fit a 2-byte id/ });
  narrow.abort();
});

test('an appendable store takes sentences in any order, survives a kill between its writes, and reopens in one pass', (t) => {
  const base = path.join(tmp(), 'seq');
  const meta = { tokenizer: 'abc', vocabSize: 50 };
  const a = AppendableTokenStore.open(base, 6, 2, meta);
  a.put([
    { index: 4, ids: [5, 6, 7], value: -1.5 },
    { index: 1, ids: [8] },
  ]);
  t.throws(() => a.put([{ index: 4, ids: [1] }]), { message: /sentence 4 is written already/ });
  a.close();
  // A kill after the ids were appended but before their index entries: the ids are dropped on reopening.
  fs.appendFileSync(`${base}.bin`, Buffer.from([9, 0, 9, 0]));
  const b = AppendableTokenStore.open(base, 6, 2, meta);
  t.is(b.size, 2);
  t.is(fs.statSync(`${base}.bin`).size, 8);
  t.true(b.has(4) && b.has(1) && !b.has(0));
  b.put([
    { index: 0, ids: [] },
    { index: 5, ids: [3, 3] },
  ]);
  b.close();
  const s = TokenStore.open(base);
  t.deepEqual(
    [0, 1, 4, 5].map((i) => s.sentence(i)),
    [[], [8], [5, 6, 7], [3, 3]]
  );
  t.false(s.has(2));
  t.throws(() => s.length(2), { message: /sentence 2 has not been written/ });
  t.throws(() => AppendableTokenStore.open(base, 7, 2, meta), { message: /holds 6 sentences, not the 7 of this run/ });
  t.throws(() => AppendableTokenStore.open(base, 6, 2, { ...meta, tokenizer: 'other' }), { message: /another tokenizer/ });
});

test("xlm-kd data --tokenizer builds every split's store up front; --store-only rebuilds it for an existing folder", async (t) => {
  const dir = await dataFolder(60);
  const model = path.join(tmp(), 'tok.model');
  await (await tokenizer()).save(model);
  const cli = path.join(__dirname, '..', 'lib', 'cli', 'index.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'data', ...args], { encoding: 'utf8' });
  let r = run('--out', dir, '--tokenizer', model, '--store-only');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /tokens\/train: 60 pairs, [\d,]+ tokens, [\d.]+ MiB \([\d.]+ bytes a token with the index\)/);
  for (const split of ['train', 'valid', 'test'])
    for (const side of ['src', 'tgt']) t.true(fs.existsSync(`${storeBase(dir, split as 'train', side as 'src')}.bin`));
  r = run('--out', path.join(tmp(), 'none'), '--tokenizer', model, '--store-only');
  t.not(r.status, 0);
  t.regex(r.stderr, /is not a data folder \(no data\.json\)/);
  r = run('--out', dir, '--store-only');
  t.is(r.status, 2);
  t.regex(r.stderr, /--store-only needs --out DIR .* and --tokenizer FILE/);
});
