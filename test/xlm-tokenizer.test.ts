// XLM's tokenizer as one Tokenizer: Moses + fastBPE + the dictionary composed (ids of the golden BPE output),
// decode as merge + detokenize, async = sync (worker threads), its files beside a model and loading them back,
// languages as codes and ids, and the errors a user can cause.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTokenizer, MosesTokenizer, resolveLanguage, saveTokenizerBeside, tokenizerFileBeside, XlmDictionary, XlmTokenizer } from '../lib';

const GOLDEN = path.join(__dirname, '..', '..', 'test', 'golden', 'fast-bpe');
const golden = (name: string) => fs.readFileSync(path.join(GOLDEN, name), 'utf8');
const goldenLines = (name: string) => golden(name).split('\n').slice(0, -1);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-xlmtok-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tokenizer(languages: string[] = ['de', 'en'], lowercaseAndStripAccents = false): XlmTokenizer {
  return XlmTokenizer.fromFiles({
    codes: { text: golden('codes'), name: 'codes' },
    vocab: { text: golden('vocab'), name: 'vocab' },
    languages,
    lowercaseAndStripAccents,
  });
}

test('encode = Moses tokenization, then fastBPE with the vocabulary, then the dictionary: the golden BPE lines as ids', (t) => {
  const tok = tokenizer();
  const dict = XlmDictionary.load(path.join(GOLDEN, 'vocab'));
  const sources = goldenLines('en.tok');
  const bpe = goldenLines('en.bpe');
  const en = new MosesTokenizer('en');
  let compared = 0;
  sources.forEach((line, i) => {
    // The golden .tok lines are Moses' output already; tokenizing them again leaves them as they are for most lines.
    if (en.tokenize(line) !== line) return;
    const want = bpe[i] === '' ? [] : bpe[i].split(' ').map((w) => dict.id(w));
    t.deepEqual(tok.encode(line, { lang: 'en' }), want, `line ${i + 1}`);
    compared++;
  });
  t.true(compared > 900, `${compared} lines compared`);
});

test('the specials are XLM dictionary ids 0-3, the vocabulary is 14 specials plus the words', (t) => {
  const tok = tokenizer();
  t.deepEqual(tok.specialIds, { bos: 0, eos: 1, pad: 2, unk: 3 });
  t.is(tok.vocabSize, 14 + goldenLines('vocab').length);
  t.is(tok.idToPiece(4), '<special0>');
  t.is(tok.pieceToId('<special9>'), 13);
  t.is(tok.pieceToId('no-such-word-in-vocab'), 3);
});

test('decode merges @@ and detokenizes as Moses; control ids decode to nothing', (t) => {
  const tok = tokenizer();
  // (Not '"report.txt",': Moses' English normalisation moves a comma inside the quotes.)
  const text = 'Open the file "report.txt" and close it, then save (all) files.';
  const ids = tok.encode(text, { lang: 'en' });
  t.is(tok.segment(text, { lang: 'en' }).split(' ').length, ids.length);
  t.false(ids.includes(3), 'every word is in the vocabulary');
  t.is(tok.decode([0, ...ids, 1, 2, 2], { lang: 'en' }), text);
  t.deepEqual(tok.decode([ids, []], { lang: 'en' }), [tok.decode(ids, { lang: 'en' }), '']);
});

test('encodeAsync, encodeFlatAsync and decodeAsync (worker threads) give what encode and decode give, in order', async (t) => {
  const tok = tokenizer();
  const lines = goldenLines('de.tok').slice(0, 500);
  const sync = tok.encode(lines, { lang: 'de' });
  t.deepEqual(await tok.encodeAsync(lines, { lang: 'de' }), sync);
  const flat = await tok.encodeFlatAsync(lines, { lang: 'de' });
  t.deepEqual(
    Array.from(flat.sizes),
    sync.map((r) => r.length)
  );
  t.deepEqual(Array.from(flat.ids), sync.flat());
  t.deepEqual(await tok.decodeAsync(sync, { lang: 'de' }), tok.decode(sync, { lang: 'de' }));
  t.deepEqual(await tok.decodeAsync(sync.slice(0, 3), { lang: 'de' }), tok.decode(sync.slice(0, 3), { lang: 'de' }));
  t.deepEqual(await tok.encodeAsync('Hallo Welt', { lang: 'de' }), tok.encode('Hallo Welt', { lang: 'de' }));
  const err = await t.throwsAsync(tok.encodeFlatAsync(lines, { lang: 'fr' }));
  t.regex(err.message, /language 'fr' is not one of the model's \(de, en\)/);
});

test('lowercasing and accent stripping, as a release says, apply after tokenization', (t) => {
  const tok = tokenizer(['de', 'en'], true);
  t.is(tok.segment('Über DAS Haus', { lang: 'de' }), tokenizer().segment('uber das haus', { lang: 'de' }));
});

test('files beside a model: tokenizer.json, codes and vocab; loaded back by the file, the folder or the model', async (t) => {
  const tok = tokenizer();
  const model = path.join(tmp, 'm', 'model.safetensors');
  await saveTokenizerBeside(tok, model);
  t.deepEqual(fs.readdirSync(path.dirname(model)).sort(), ['codes', 'tokenizer.json', 'vocab']);
  t.is(tokenizerFileBeside(model), path.join(tmp, 'm', 'tokenizer.json'));
  for (const from of [path.join(tmp, 'm', 'tokenizer.json'), path.join(tmp, 'm')]) {
    const back = loadTokenizer(from);
    t.is(back.kind, 'xlm-bpe');
    t.is(back.hash, tok.hash);
    t.deepEqual(back.languages, ['de', 'en']);
    t.deepEqual(back.encode('Save the file.', { lang: 'en' }), tok.encode('Save the file.', { lang: 'en' }));
  }
  // A folder with both kinds is ambiguous, one with neither is named.
  fs.writeFileSync(path.join(tmp, 'm', 'tokenizer.model'), 'x');
  t.throws(() => tokenizerFileBeside(model), { message: /holds both tokenizer\.model and tokenizer\.json/ });
  t.throws(() => tokenizerFileBeside(path.join(tmp, 'none', 'model.safetensors')), {
    message: /no tokenizer beside .*expected tokenizer\.model, or tokenizer\.json/,
  });
});

test('languages: a code gives the id through the list, an id gives the code; unknown ones are errors naming them', (t) => {
  const tok = tokenizer();
  t.deepEqual(resolveLanguage(tok, 'en', 'x'), { code: 'en', id: 1 });
  t.deepEqual(resolveLanguage(tok, 0, 'x'), { code: 'de', id: 0 });
  t.deepEqual(resolveLanguage(tok, undefined, 'x'), {});
  t.throws(() => resolveLanguage(tok, 'fr', '--src-lang'), { message: "--src-lang 'fr' is not one of the model's languages (de, en)" });
  t.throws(() => resolveLanguage(tok, 2, '--tgt-lang'), { message: '--tgt-lang 2 is not a language id of the model (0-1: de, en)' });
  t.deepEqual(resolveLanguage(tokenizer([]), 'fr', 'x'), { code: 'fr' });
});

test('errors: no language, a malformed settings file, missing files, codes that are not codes', (t) => {
  const tok = tokenizer();
  t.throws(() => tok.encode('Hello'), { instanceOf: TypeError, message: /option 'lang' must name the text's language/ });
  t.throws(() => tok.decode([5, 6]), { instanceOf: TypeError, message: /option 'lang'/ });
  const dir = path.join(tmp, 'bad');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"kind": "sentencepiece"}');
  t.throws(() => XlmTokenizer.load(dir), { message: /not an XLM tokenizer \(expected "kind": "xlm-bpe"\)/ });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"kind": "xlm-bpe"');
  t.throws(() => XlmTokenizer.load(dir), { message: /tokenizer\.json: not valid JSON/ });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"kind": "xlm-bpe"}');
  t.throws(() => XlmTokenizer.load(dir), { message: /its BPE codes .*codes does not exist/ });
  fs.writeFileSync(path.join(dir, 'codes'), 'a b 3\nthis is not a code line\n');
  fs.writeFileSync(path.join(dir, 'vocab'), golden('vocab'));
  t.throws(() => XlmTokenizer.load(dir), { message: /codes:2: expected a BPE code "left right count"/ });
  t.throws(() => loadTokenizer(path.join(dir, 'nothing.model')), { message: /cannot read tokenizer .*nothing\.model: no such file/ });
});
