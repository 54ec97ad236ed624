// SentencePiece through the native addon: training (file, sentences, gettext pairs), XLM special ids,
// encode/decode round trips, async = sync, bytes and files, and the errors a user can cause.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { availableGettextLanguages, loadGettextCorpus, SentencePiece, SeededRandom, XLM_SPECIAL_IDS } from '../lib';

const WORDS = (
  'the a small large red green blue house tree river mountain city open close save file edit view help ' +
  'print window menu button cancel quit about settings language english german french water bread cat dog'
).split(' ');

/** Deterministic pseudo-sentences over a small vocabulary. */
function corpus(n: number, seed = 1): string[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + rng.int(9);
    const words = Array.from({ length: len }, () => WORDS[rng.int(WORDS.length)]);
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    return words.join(' ') + (rng.next() < 0.5 ? '.' : '');
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-tok-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

let shared: Promise<SentencePiece> | undefined;
// One unigram model for the tests that only use it (training takes about a second).
function unigram(): Promise<SentencePiece> {
  shared ??= SentencePiece.train({ sentences: corpus(2000), vocabSize: 120, userDefinedSymbols: ['<en>', '<de>'], numThreads: 2 });
  return shared;
}

test('a trained model has XLM special ids, user symbols right after them, and the asked vocabulary size', async (t) => {
  const sp = await unigram();
  t.is(sp.vocabSize, 120);
  t.deepEqual(sp.specialIds, { ...XLM_SPECIAL_IDS });
  t.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => sp.idToPiece(i)),
    ['<s>', '</s>', '<pad>', '<unk>', '<en>', '<de>']
  );
  t.is(sp.pieceToId('<en>'), 4);
  t.is(sp.pieceToId('no-such-piece-here'), 3, 'unknown pieces map to <unk>');
  // A language tag is one piece, never split (after SentencePiece's word-start piece '▁').
  t.deepEqual(
    sp.encode('<de>').filter((id) => id !== sp.pieceToId('▁')),
    [5]
  );
  t.is(sp.decode(sp.encode('<de> open the file')), '<de> open the file');
});

test('decode(encode(x)) gives x back for normalised text, one text or many', async (t) => {
  const sp = await unigram();
  const texts = [...corpus(50, 7), 'Open the file.', 'the <en> house', ''];
  const ids = sp.encode(texts);
  t.is(ids.length, texts.length);
  t.deepEqual(sp.decode(ids), texts);
  t.deepEqual(await sp.decodeAsync(ids), texts);
  t.deepEqual(sp.encode(''), []);
  t.is(sp.decode([]), '');
  t.is(sp.decode(sp.encode('Save the file')), 'Save the file');
  // SentencePiece normalises whitespace: runs collapse and the ends are trimmed.
  t.is(sp.decode(sp.encode('  open   the file ')), 'open the file');
  // Characters never seen come back as <unk>, which decodes to ' ⁇ '.
  t.true(sp.encode('Zürich').includes(3));
});

test('control ids (<s>, </s>, <pad>) decode to nothing, so framed output decodes cleanly', async (t) => {
  const sp = await unigram();
  const ids = sp.encode('Open the red window');
  t.is(sp.decode([0, ...ids, 1, 2, 2]), 'Open the red window');
});

test('encodeAsync equals encode, also for a big input', async (t) => {
  const sp = await unigram();
  const texts = corpus(5000, 3);
  const [a, b] = [sp.encode(texts), await sp.encodeAsync(texts)];
  t.deepEqual(b, a);
  t.deepEqual(await sp.encodeAsync('Open the file'), sp.encode('Open the file'));
});

test('BPE from a file: modelPath is written atomically, load/fromBytes/serialize agree', async (t) => {
  const input = path.join(tmp, 'bpe.txt');
  fs.writeFileSync(input, corpus(1500, 5).join('\n') + '\n');
  const modelPath = path.join(tmp, 'bpe.model');
  const sp = await SentencePiece.train({ input, vocabSize: 90, modelType: 'bpe', modelPath, seed: 3 });
  t.true(fs.existsSync(modelPath));
  t.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')),
    [],
    'no temp file left behind'
  );
  const loaded = SentencePiece.load(modelPath);
  const fromBytes = SentencePiece.fromBytes(fs.readFileSync(modelPath));
  t.true(sp.serialize().equals(loaded.serialize()));
  const texts = corpus(100, 11);
  t.deepEqual(loaded.encode(texts), sp.encode(texts));
  t.deepEqual(fromBytes.encode(texts), sp.encode(texts));
  t.is(loaded.vocabSize, 90);
  const saved = path.join(tmp, 'copy.model');
  await loaded.save(saved);
  t.true(fs.readFileSync(saved).equals(fs.readFileSync(modelPath)));
});

test('training is reproducible: the same data and seed give the same model', async (t) => {
  const sentences = corpus(800, 9);
  const opts = { vocabSize: 70, seed: 5, inputSentenceSize: 500 } as const;
  const a = await SentencePiece.train({ sentences, ...opts });
  const b = await SentencePiece.train({ sentences, ...opts });
  // (The bytes differ: the model records the path of the temp file it was trained from.)
  const pieces = (sp: SentencePiece) => Array.from({ length: sp.vocabSize }, (_, i) => sp.idToPiece(i));
  t.deepEqual(pieces(a), pieces(b));
  const texts = corpus(200, 13);
  t.deepEqual(a.encode(texts), b.encode(texts));
});

test('training on gettext pairs (English and German) gives a tokenizer for both sides', async (t) => {
  if (!availableGettextLanguages().includes('de')) {
    t.log('no German gettext catalogs on this machine: skipped');
    t.pass();
    return;
  }
  const { pairs } = loadGettextCorpus({ lang: 'de', maxPairs: 3000, seed: 1 });
  t.true(pairs.length > 500);
  const sp = await SentencePiece.train({
    sentences: pairs.flatMap((p) => [p.src, p.tgt]),
    vocabSize: 1000,
    userDefinedSymbols: ['<en>', '<de>'],
    characterCoverage: 1,
  });
  t.is(sp.vocabSize, 1000);
  for (const p of pairs.slice(0, 50)) {
    t.is(sp.decode(sp.encode(p.tgt)), p.tgt.normalize('NFKC').replace(/\s+/g, ' ').trim());
  }
  t.is(sp.decode(sp.encode('Datei öffnen')), 'Datei öffnen');
});

test('errors: a missing or corrupt model names what was wrong', async (t) => {
  t.throws(() => SentencePiece.load(path.join(tmp, 'missing.model')), {
    message: /SentencePiece\.load: cannot read tokenizer model .*missing\.model.*No such file/,
  });
  t.throws(() => SentencePiece.load(tmp), { message: /is a directory/ });
  const bad = path.join(tmp, 'bad.model');
  fs.writeFileSync(bad, 'this is not a protobuf at all, just some text');
  t.throws(() => SentencePiece.load(bad), { message: /not a valid SentencePiece model/ });
  t.throws(() => SentencePiece.fromBytes(Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02])), { message: /fromBytes: .*not a valid SentencePiece model/ });
  t.throws(() => SentencePiece.fromBytes(new Uint8Array(0)), { instanceOf: TypeError, message: /empty/ });
  // A truncated real model does not parse either.
  const good = (await unigram()).serialize();
  t.throws(() => SentencePiece.fromBytes(good.subarray(0, good.length >> 1)), { message: /not a valid SentencePiece model/ });
});

test('errors: bad training input and options', async (t) => {
  const empty = path.join(tmp, 'empty.txt');
  fs.writeFileSync(empty, '');
  await t.throwsAsync(SentencePiece.train({ input: empty, vocabSize: 50 }), { message: /train: training input .*empty\.txt' is empty/ });
  await t.throwsAsync(SentencePiece.train({ input: path.join(tmp, 'nope.txt'), vocabSize: 50 }), {
    message: /cannot read training input .*No such file/,
  });
  await t.throwsAsync(SentencePiece.train({ sentences: ['', '  ', '\n'], vocabSize: 50 }), { message: /no non-empty sentence/ });
  await t.throwsAsync(SentencePiece.train({ sentences: corpus(200), vocabSize: 5000 }), {
    message: /vocabSize 5000 is too large for this data: at most \d+/,
  });
  await t.throwsAsync(SentencePiece.train({ sentences: corpus(200), vocabSize: 8 }), { message: /vocabSize 8 is too small/ });
  // hardVocabLimit: false trains what the data allows instead.
  const soft = await SentencePiece.train({ sentences: corpus(200), vocabSize: 5000, hardVocabLimit: false });
  t.true(soft.vocabSize < 5000);
  const type = (o: object) => SentencePiece.train({ sentences: corpus(50), vocabSize: 40, ...o });
  await t.throwsAsync(type({ modelType: 'word' }), { instanceOf: TypeError, message: /options\.modelType must be 'bpe' or 'unigram'/ });
  await t.throwsAsync(type({ characterCoverage: 0.5 }), { instanceOf: TypeError, message: /characterCoverage must be a number in \[0\.98, 1\]/ });
  await t.throwsAsync(type({ userDefinedSymbols: ['<en>', '<en>'] }), { message: /listed twice/ });
  await t.throwsAsync(type({ userDefinedSymbols: ['<pad>'] }), { message: /reserved special piece/ });
  await t.throwsAsync(type({ inputSentenceSize: 50 }), { instanceOf: RangeError, message: /inputSentenceSize/ });
  await t.throwsAsync(type({ numThreads: 0 }), { message: /numThreads must be an integer in \[1, 128\]/ });
  await t.throwsAsync(SentencePiece.train({ vocabSize: 40 }), { instanceOf: TypeError, message: /exactly one of 'input'/ });
});

test('errors: bad ids and texts are RangeError/TypeError naming the position', async (t) => {
  const sp = await unigram();
  t.throws(
    () =>
      sp.decode([
        [4, 5],
        [1, 120],
      ]),
    { instanceOf: RangeError, message: /SentencePiece\.decode: argument 'ids\[1\]\[1\]' must be a token id in \[0, 120\)/ }
  );
  t.throws(() => sp.decode([1.5]), { instanceOf: TypeError, message: /integer token id/ });
  t.throws(() => sp.idToPiece(120), { instanceOf: RangeError });
  t.throws(() => sp.idToPiece(2.5), { instanceOf: TypeError });
  t.throws(() => sp.encode(['ok', 3 as unknown as string]), { instanceOf: TypeError, message: /texts\[1\]' must be a string/ });
  await t.throwsAsync(sp.encodeAsync([null as unknown as string]), { instanceOf: TypeError });
});
