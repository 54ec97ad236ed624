// XlmDictionary as XLM's Dictionary.read_vocab: the 14 specials, a hand-made vocab's ids and skipped lines,
// the load errors, missing specials, and assertSameAs naming the first differing id.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { XLM_SPECIAL_WORDS, XlmDictionary } from '../lib';
import { referenceUnavailable, runPythonAsync } from './helpers/python';

const golden = path.join(__dirname, '..', '..', 'test', 'golden', 'fast-bpe');
const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures', 'xlm');

test('a hand-made vocab: specials at 0-13, then the words in file order; unknown words get <unk>', (t) => {
  const d = XlmDictionary.fromText('the 10\nHaus 5\n, 3\n', 'hand.vocab');
  t.is(d.size, 17);
  t.deepEqual(d.words.slice(0, 5), ['<s>', '</s>', '<pad>', '<unk>', '<special0>']);
  t.is(d.word(13), '<special9>');
  t.deepEqual([d.id('the'), d.id('Haus'), d.id(','), d.id('Maus'), d.id('<special1>')], [14, 15, 16, 3, 5]);
  t.deepEqual(d.specialIds, { bos: 0, eos: 1, pad: 2, unk: 3 });
  t.deepEqual(d.missingSpecials(), []);
  t.notThrows(() => d.assertSpecials());
  t.throws(() => d.word(17), { instanceOf: RangeError, message: /hand\.vocab: id 17 outside 0\.\.16/ });
  t.throws(() => d.word(-1), { instanceOf: RangeError });
});

test("read_vocab's skips: U+2028, not two fields, words already in (specials too); ids stay dense", (t) => {
  const text = 'the 10\nlonely\n<s> 9\nthe 8\na\u2028b 7\nHaus 5\r\nund 5\rtwo words 4\n\nend 1';
  const d = XlmDictionary.fromText(text, 'skips.vocab');
  t.deepEqual(d.words.slice(14), ['the', 'Haus', 'und', 'end']);
  t.deepEqual(
    d.skipped.map((s) => `${s.line}:${s.reason}`),
    ['2:fields', '3:duplicate', '4:duplicate', '5:u2028', '8:fields', '9:fields']
  );
  // Python's str.split(): a no-break space separates fields too
  t.deepEqual(XlmDictionary.fromText('x\u00a07\n', 'nbsp').words.slice(14), ['x']);
});

test('load errors name the file and the line', (t) => {
  t.throws(() => XlmDictionary.fromText('the 10\nHaus x5\n', 'v.txt'), { message: 'v.txt:2: expected "word count", the count is "x5"' });
  t.throws(() => XlmDictionary.fromText('the 10\nHaus 5\nund 7\nend 1\n', 'v.txt'), { message: /^v\.txt:3: count 7 of "und" exceeds 5 at line 2/ });
  // XLM's check_valid does not look at the last word's count
  t.is(XlmDictionary.fromText('the 10\nHaus 5\nund 7\n', 'v.txt').size, 17);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-dico-'));
  try {
    const file = path.join(dir, 'vocab');
    fs.writeFileSync(file, 'a 3\nb c\n');
    t.throws(() => XlmDictionary.load(file), { message: `${file}:2: expected "word count", the count is "c"` });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => XlmDictionary.fromWords(['<s>', 'a', 'a'], 'ckpt'), { message: 'ckpt: word "a" at ids 1 and 2' });
});

test('the golden fastBPE vocab loads with every line', (t) => {
  const d = XlmDictionary.load(path.join(golden, 'vocab'));
  const n = fs.readFileSync(path.join(golden, 'vocab'), 'utf8').split('\n').length - 1;
  t.is(d.size, 14 + n);
  t.deepEqual(d.skipped, []);
  t.is(d.id(d.word(14 + 100)), 114);
});

test('assertSameAs names the first differing id and both words', (t) => {
  const a = XlmDictionary.fromText('the 10\nHaus 5\n', 'vocab');
  const b = XlmDictionary.fromWords([...XLM_SPECIAL_WORDS, 'the', 'Maus'], 'model.pth');
  t.notThrows(() => a.assertSameAs(XlmDictionary.fromWords(a.words, 'copy'), 'same'));
  t.throws(() => a.assertSameAs(b, 'release vocab vs checkpoint'), {
    message: 'release vocab vs checkpoint: vocab and model.pth differ at id 15: "Haus" vs "Maus"',
  });
  const shorter = XlmDictionary.fromWords([...XLM_SPECIAL_WORDS, 'the'], 'short.pth');
  t.throws(() => a.assertSameAs(shorter, 'x'), { message: 'x: vocab and short.pth differ at id 15: "Haus" vs nothing (15 words)' });
});

test('missingSpecials / assertSpecials for a dictionary without XLM specials', (t) => {
  const d = XlmDictionary.fromWords(['<s>', '</s>', '<unk>', '<pad>', 'hello'], 'other.vocab');
  t.deepEqual(d.specialIds, { bos: 0, eos: 1, pad: 3, unk: 2 });
  t.is(d.id('nope'), 2);
  const missing = d.missingSpecials();
  t.is(missing.length, 12);
  t.deepEqual(missing.slice(0, 3), ['id 2: "<unk>" (expected <pad>)', 'id 3: "<pad>" (expected <unk>)', 'id 4: "hello" (expected <special0>)']);
  t.is(missing[11], 'id 13: absent (expected <special9>)');
  t.throws(() => d.assertSpecials(), { message: /^other\.vocab: not an XLM dictionary, ids 0-13 must be <s> <\/s> <pad> <unk> <special0>/ });
});

test('the XLM fixture converts without --trust-pickle; its dico_id2word (XLM read_vocab) is XlmDictionary.load(vocab)', async (t) => {
  const why = referenceUnavailable();
  if (why) return (t.log(`skipped: ${why}`), t.pass());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-fixture-'));
  try {
    const vocab = path.join(dir, 'vocab.txt');
    const out = await runPythonAsync('tools/convert-xlm-checkpoint.py', [
      path.join(fixtures, 'mlm_ende_tiny.pth'),
      path.join(dir, 't.safetensors'),
      '--vocab',
      vocab,
    ]);
    t.regex(out, /\(xlm-mlm\).*"nLangs": 2/);
    const words = fs.readFileSync(vocab, 'utf8').split('\n').slice(0, -1);
    t.notThrows(() => XlmDictionary.load(path.join(fixtures, 'vocab')).assertSameAs(XlmDictionary.fromWords(words, 'mlm_ende_tiny.pth'), 'fixture'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
