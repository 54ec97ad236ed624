// The Moses/XLM preprocessing port against goldens made by the real perl/python scripts
// (tools/make-moses-golden.sh): every line identical, plus a few hand-worked cases.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  lowercaseAndStripAccents,
  mosesLanguages,
  MosesDetokenizer,
  MosesTokenizer,
  normalizePunctuation,
  normalizeRomanian,
  removeNonPrintingChars,
  removeRomanianDiacritics,
  replaceUnicodePunctuation,
  xlmPreprocess,
} from '../lib/data/moses';

const GOLDEN = path.resolve(__dirname, '..', '..', 'test', 'golden', 'moses');

function lines(name: string): string[] {
  const all = fs.readFileSync(path.join(GOLDEN, name), 'utf8').split('\n');
  all.pop(); // the final newline
  return all;
}

/** Lines where `actual` differs from the golden, with the first few shown. */
function mismatches(expected: string[], actual: (i: number) => string): { count: number; shown: string[] } {
  const shown: string[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const got = actual(i);
    if (got === expected[i]) continue;
    count++;
    if (shown.length < 3) shown.push(`line ${i + 1}: expected ${JSON.stringify(expected[i])}, got ${JSON.stringify(got)}`);
  }
  return { count, shown };
}

for (const lang of ['en', 'de', 'fr', 'ro', 'es']) {
  test(`${lang}: xlmPreprocess and MosesDetokenizer equal the perl chain on every golden line`, (t) => {
    const input = lines(`${lang}.in`);
    const tok = lines(`${lang}.tok`);
    const detok = lines(`${lang}.detok`);
    t.true(input.length >= 1000);
    t.is(tok.length, input.length);
    t.is(detok.length, input.length);
    const tokMiss = mismatches(tok, (i) => xlmPreprocess(input[i], lang));
    t.is(tokMiss.count, 0, tokMiss.shown.join('\n'));
    const detokenizer = new MosesDetokenizer(lang);
    const detokMiss = mismatches(detok, (i) => detokenizer.detokenize(tok[i]));
    t.is(detokMiss.count, 0, detokMiss.shown.join('\n'));
    t.log(`${lang}: ${input.length} lines tokenized and ${tok.length} detokenized, all identical`);
  });
}

test('en: lowercaseAndStripAccents equals lowercase_and_remove_accent.py on every golden line', (t) => {
  const tok = lines('en.tok');
  const lower = lines('en.lower.tok');
  t.is(lower.length, tok.length);
  const miss = mismatches(lower, (i) => lowercaseAndStripAccents(tok[i]));
  t.is(miss.count, 0, miss.shown.join('\n'));
  const input = lines('en.in');
  t.is(xlmPreprocess(input[0], 'en', { lowercaseAndStripAccents: true }), lower[0]);
});

test('hand-worked tokenizer cases', (t) => {
  const en = new MosesTokenizer('en');
  t.is(en.tokenize("Don't stop."), "Don 't stop .");
  t.is(en.tokenize('Mr. Smith paid $1,000.50 (approx.) on 3-4 May...'), 'Mr. Smith paid $ 1,000.50 ( approx . ) on 3-4 May ...');
  // A lowercase next word keeps any period; NUMERIC_ONLY "No" keeps it before a number.
  t.is(en.tokenize('See No. 5, not No. five.'), 'See No. 5 , not No. five .');
  t.is(en.tokenize('See No. 5. No. Five.'), 'See No. 5 . No . Five .');
  t.is(new MosesTokenizer('fr').tokenize("l'homme d'aujourd'hui"), "l' homme d' aujourd' hui");
  t.is(new MosesTokenizer('de').tokenize("z.B. geht's"), "z.B. geht ' s");
  t.is(new MosesTokenizer('fi').tokenize('EU:ssa ja USA: hei'), 'EU:ssa ja USA : hei');
  // perl keeps a trailing space after a final `.'` and returns blank lines untouched.
  t.is(en.tokenize("He said 'hi.'"), "He said ' hi . ' ");
  t.is(en.tokenize('  '), '  ');
});

test('a language without a prefix list falls back to English, as tokenizer.perl does', (t) => {
  t.true(mosesLanguages().includes('en'));
  t.false(mosesLanguages().includes('xx'));
  const xx = new MosesTokenizer('xx');
  t.is(xx.prefixLanguage, 'en');
  t.is(new MosesTokenizer('de').prefixLanguage, 'de');
  // English's "Mr" keeps its period; the apostrophe rule is the generic one (not English's).
  t.is(xx.tokenize("Mr. Smith's car."), "Mr. Smith ' s car .");
});

test('normalisers and detokenizer, hand-worked', (t) => {
  t.is(replaceUnicodePunctuation('你好，世界。 再见！'), '你好,世界. 再见!');
  t.is(normalizePunctuation('«Oui» , dit-il… „ja“ 1\u00a0000', 'fr'), '"Oui" , dit-il... "ja" 1,000');
  t.is(normalizePunctuation('He said "yes."', 'de'), 'He said "yes".');
  t.is(removeNonPrintingChars('a\u200bb\tc'), 'a b c');
  t.is(removeRomanianDiacritics(normalizeRomanian('Ştiinţă şi învăţământ')), 'Stiinta si invatamant');
  t.is(lowercaseAndStripAccents('Éléphant ÇA '), 'elephant ca');
  t.is(new MosesDetokenizer('en').detokenize('" Don \'t stop , " he said .'), '"Don\'t stop," he said.');
  t.is(new MosesDetokenizer('fr').detokenize("l' homme dit : oui !"), "l'homme dit : oui !");
});
