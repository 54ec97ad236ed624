// The .mo parser on hand-built files (both byte orders, plurals, contexts, charsets, corrupt ones), the
// cleaning rules of loadGettextCorpus on a hand-built locale tree, and a real /usr/share/locale catalog.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  availableGettextLanguages,
  gettextDomains,
  hasWords,
  loadGettextCorpus,
  MoCharsetError,
  MoFormatError,
  parseMo,
  stripAccelerators,
} from '../lib';

const UTF8_HEADER = 'Project-Id-Version: test\nLanguage: de\nContent-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n';

/** Builds a .mo file: entries as [msgid, msgstr] with raw bytes or strings (NULs and \x04 as written). */
function buildMo(
  entries: Array<[string | Buffer, string | Buffer]>,
  opts: { littleEndian?: boolean; header?: string | Buffer | null; revision?: number } = {}
): Buffer {
  const le = opts.littleEndian ?? true;
  const all: Array<[Buffer, Buffer]> = [];
  if (opts.header !== null) all.push([Buffer.alloc(0), Buffer.from(opts.header ?? UTF8_HEADER)]);
  for (const [id, str] of entries) all.push([Buffer.from(id), Buffer.from(str)]);
  const n = all.length;
  const origTable = 28;
  const transTable = origTable + n * 8;
  let offset = transTable + n * 8;
  const head = Buffer.alloc(offset);
  const u32 = (v: number, at: number) => (le ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
  u32(0x950412de, 0);
  u32(opts.revision ?? 0, 4);
  u32(n, 8);
  u32(origTable, 12);
  u32(transTable, 16);
  u32(0, 20);
  u32(offset, 24);
  const chunks: Buffer[] = [head];
  const place = (b: Buffer, table: number, i: number) => {
    u32(b.length, table + i * 8);
    u32(offset, table + i * 8 + 4);
    chunks.push(b, Buffer.from([0]));
    offset += b.length + 1;
  };
  all.forEach(([id], i) => place(id, origTable, i));
  all.forEach(([, str], i) => place(str, transTable, i));
  return Buffer.concat(chunks);
}

const SAMPLE: Array<[string, string]> = [
  ['Open', 'Öffnen'],
  ['file\0files', 'Datei\0Dateien'],
  ['menu\x04Quit', 'Beenden'],
  ['Untranslated', ''],
];

test('parseMo reads both byte orders the same: header, plurals, contexts', (t) => {
  const le = parseMo(buildMo(SAMPLE, { littleEndian: true }));
  const be = parseMo(buildMo(SAMPLE, { littleEndian: false }));
  t.true(le.littleEndian);
  t.false(be.littleEndian);
  t.deepEqual(be.entries, le.entries);
  t.is(le.charset, 'utf-8');
  t.is(le.headers['Language'], 'de');
  t.is(le.headers['Plural-Forms'], 'nplurals=2; plural=(n != 1);');
  t.deepEqual(le.entries, [
    { msgid: 'Open', msgstr: ['Öffnen'] },
    { msgid: 'file', msgidPlural: 'files', msgstr: ['Datei', 'Dateien'] },
    { msgid: 'Quit', context: 'menu', msgstr: ['Beenden'] },
    { msgid: 'Untranslated', msgstr: [''] },
  ]);
});

test('parseMo decodes other charsets from the header, and rejects ones it cannot decode', (t) => {
  const latin1 = buildMo([['Greetings', Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65])]], {
    header: 'Content-Type: text/plain; charset=ISO-8859-1\n',
  });
  const cat = parseMo(latin1);
  t.is(cat.charset, 'iso-8859-1');
  t.is(cat.entries[0].msgstr[0], 'Grüße');
  // No header at all: UTF-8.
  t.is(parseMo(buildMo([['a', 'ä']], { header: null })).entries[0].msgstr[0], 'ä');
  const klingon = buildMo([['a', 'b']], { header: 'Content-Type: text/plain; charset=x-klingon\n' });
  t.throws(() => parseMo(klingon, { source: 'k.mo' }), { instanceOf: MoCharsetError, message: /k\.mo: charset 'x-klingon' is not supported/ });
  const badUtf8 = buildMo([['a', Buffer.from([0xc3, 0x28])]]);
  t.throws(() => parseMo(badUtf8), { instanceOf: MoFormatError, message: /not valid utf-8/ });
});

test('parseMo: corrupt and truncated files are MoFormatErrors naming the file', (t) => {
  const good = buildMo(SAMPLE);
  const wrongMagic = Buffer.from(good);
  wrongMagic.writeUInt32LE(0x12345678, 0);
  t.throws(() => parseMo(wrongMagic, { source: 'x.mo' }), { instanceOf: MoFormatError, message: /^gettext: x\.mo: not a \.mo file/ });
  t.throws(() => parseMo(good.subarray(0, 20), { source: 'x.mo' }), { message: /x\.mo: truncated: 20 bytes/ });
  t.throws(() => parseMo(good.subarray(0, 60), { source: 'x.mo' }), { message: /x\.mo: truncated: the original table/ });
  t.throws(() => parseMo(good.subarray(0, good.length - 12), { source: 'x.mo' }), { message: /x\.mo: truncated: string \d+/ });
  const future = Buffer.from(good);
  future.writeUInt32LE(2 << 16, 4);
  t.throws(() => parseMo(future), { message: /unsupported major revision 2/ });
  // Revision 1 (system-dependent strings) keeps its static strings readable.
  t.is(parseMo(buildMo(SAMPLE, { revision: 1 })).entries.length, 4);
});

test('stripAccelerators removes mnemonics on both sides or neither', (t) => {
  const cases: Array<[string, string, string, string]> = [
    ['_File', '_Datei', 'File', 'Datei'],
    ['S_ave As…', '_Speichern unter…', 'Save As…', 'Speichern unter…'],
    ['&Open', 'Ö&ffnen', 'Open', 'Öffnen'],
    ['_File', 'ファイル(_F)', 'File', 'ファイル'],
    ['_Help', 'Hilfe', 'Help', 'Hilfe'],
    // not mnemonics: identifiers, escapes, entities, several candidates
    ['LC_ALL is not set', 'LC_ALL ist nicht gesetzt', 'LC_ALL is not set', 'LC_ALL ist nicht gesetzt'],
    ['bad file_name', 'falscher file_name', 'bad file_name', 'falscher file_name'],
    ['_NET_WM_NAME', '_NET_WM_NAME', '_NET_WM_NAME', '_NET_WM_NAME'],
    ['Tom & Jerry', 'Tom & Jerry', 'Tom & Jerry', 'Tom & Jerry'],
    ['a &amp; b', 'a &amp; b', 'a &amp; b', 'a &amp; b'],
    ['__init__', '__init__', '__init__', '__init__'],
    ['_Open _Save', '_Öffnen _Speichern', '_Open _Save', '_Öffnen _Speichern'],
  ];
  for (const [src, tgt, s, g] of cases) t.deepEqual(stripAccelerators(src, tgt), { src: s, tgt: g }, `${src} / ${tgt}`);
});

test('hasWords ignores printf, strftime and brace specifiers', (t) => {
  t.false(hasWords('%s: %d'));
  t.false(hasWords('%1$s (%2$lu)'));
  t.false(hasWords('%a %b %e %H:%M:%S %Z %Y'));
  t.false(hasWords('{0} / {name} ${x} …'));
  t.true(hasWords('%s files'));
  t.true(hasWords('Dateien'));
});

/** A locale tree under a temp root: lang -> domain -> .mo bytes. */
function localeTree(files: Record<string, Record<string, Buffer>>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-locale-'));
  for (const [lang, domains] of Object.entries(files)) {
    const dir = path.join(root, lang, 'LC_MESSAGES');
    fs.mkdirSync(dir, { recursive: true });
    for (const [d, bytes] of Object.entries(domains)) fs.writeFileSync(path.join(dir, `${d}.mo`), bytes);
  }
  return root;
}

test('loadGettextCorpus applies every cleaning rule and counts each drop', (t) => {
  const app = buildMo([
    ['_Open', '_Öffnen'],
    ['Save _As', 'Speichern _unter'],
    ['file\0files', 'Datei\0Dateien'],
    ['menu\x04Quit', 'Beenden'],
    ['Untranslated', ''],
    ['Two\nlines', 'Zwei\nZeilen'],
    ['%s: %d', '%s: %d'],
    ['GNOME', 'GNOME'],
    ['Too   many    spaces', 'Zu  viele Leerzeichen'],
    ['A', 'B'],
    ['x'.repeat(300), 'y'.repeat(300)],
  ]);
  const other = buildMo([
    ['_Open', '_Öffnen'],
    ['Close', 'Schließen'],
  ]);
  const root = localeTree({ de: { app, other }, fr: { app: buildMo([['Open', 'Ouvrir']]) } });
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

  const { pairs, stats } = loadGettextCorpus({ lang: 'de', root });
  t.deepEqual(pairs, [
    { src: 'Open', tgt: 'Öffnen', domain: 'app' },
    { src: 'Save As', tgt: 'Speichern unter', domain: 'app' },
    { src: 'file', tgt: 'Datei', domain: 'app' },
    { src: 'Quit', tgt: 'Beenden', domain: 'app' },
    { src: 'Too many spaces', tgt: 'Zu viele Leerzeichen', domain: 'app' },
    { src: 'Close', tgt: 'Schließen', domain: 'other' },
  ]);
  t.is(stats.files, 2);
  t.is(stats.entries, 13);
  t.is(stats.pairs, 6);
  t.deepEqual(stats.dropped, { untranslated: 1, multiline: 1, noLetters: 1, identical: 1, tooShort: 1, tooLong: 1, duplicate: 1, overLimit: 0 });
  t.deepEqual(stats.perDomain, { app: 5, other: 1 });

  const plural = loadGettextCorpus({ lang: 'de', root, includePlurals: true, domains: ['app'] });
  t.true(plural.pairs.some((p) => p.src === 'files' && p.tgt === 'Dateien'));
  const noDedupe = loadGettextCorpus({ lang: 'de', root, dedupe: false, minChars: 1 });
  t.is(noDedupe.pairs.filter((p) => p.src === 'Open').length, 2);
  t.true(noDedupe.pairs.some((p) => p.src === 'A'));
});

test('loadGettextCorpus: maxPairs is a seeded sample in corpus order', (t) => {
  const entries: Array<[string, string]> = Array.from({ length: 50 }, (_, i) => [`Message number ${i}`, `Nachricht Nummer ${i}`]);
  const root = localeTree({ de: { big: buildMo(entries) } });
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const a = loadGettextCorpus({ lang: 'de', root, maxPairs: 10, seed: 1 });
  const b = loadGettextCorpus({ lang: 'de', root, maxPairs: 10, seed: 1 });
  const c = loadGettextCorpus({ lang: 'de', root, maxPairs: 10, seed: 2 });
  t.is(a.pairs.length, 10);
  t.deepEqual(a.pairs, b.pairs);
  t.notDeepEqual(a.pairs, c.pairs);
  t.is(a.stats.dropped.overLimit, 40);
  const index = (p: { src: string }) => Number(p.src.split(' ').pop());
  t.deepEqual(
    a.pairs.map(index),
    [...a.pairs.map(index)].sort((x, y) => x - y),
    'kept in corpus order'
  );
});

test('loadGettextCorpus: a corrupt catalog is skipped and counted, or an error with onBadFile "error"', (t) => {
  const good = buildMo([['Open', 'Öffnen']]);
  const root = localeTree({
    de: { good, broken: good.subarray(0, good.length - 10), junk: Buffer.from('not a catalog at all, only some plain text') },
  });
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const warnings: string[] = [];
  const { pairs, stats } = loadGettextCorpus({ lang: 'de', root, onWarning: (m) => warnings.push(m) });
  t.deepEqual(
    pairs.map((p) => p.src),
    ['Open']
  );
  t.is(stats.files, 1);
  t.deepEqual(
    stats.skippedFiles.map((f) => path.basename(f.file)),
    ['broken.mo', 'junk.mo']
  );
  t.regex(stats.skippedFiles[0].reason, /truncated/);
  t.regex(stats.skippedFiles[1].reason, /not a \.mo file/);
  t.is(warnings.length, 2);
  t.throws(() => loadGettextCorpus({ lang: 'de', root, onBadFile: 'error' }), { instanceOf: MoFormatError, message: /broken\.mo: truncated/ });
});

test('loadGettextCorpus: unknown languages and domains are errors listing what exists', (t) => {
  const root = localeTree({ de: { app: buildMo([['Open', 'Öffnen']]) }, fr: { app: buildMo([['Open', 'Ouvrir']]) } });
  fs.mkdirSync(path.join(root, 'xx', 'LC_MESSAGES'), { recursive: true }); // a language without catalogs
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  t.deepEqual(availableGettextLanguages(root), ['de', 'fr']);
  t.deepEqual(gettextDomains('de', root), ['app']);
  t.throws(() => loadGettextCorpus({ lang: 'tlh', root }), { message: /no gettext catalogs for language 'tlh' under .*; available: de, fr$/ });
  t.throws(() => loadGettextCorpus({ lang: 'xx', root }), { message: /available: de, fr/ });
  t.throws(() => loadGettextCorpus({ lang: 'de', root, domains: ['app', 'nope'] }), { message: /no catalog 'nope' for 'de'; available: app/ });
  t.throws(() => loadGettextCorpus({ lang: 'de', root, maxChars: 0 }), { instanceOf: RangeError });
});

test('a real catalog from /usr/share/locale parses and cleans', (t) => {
  const langs = availableGettextLanguages();
  const lang = ['de', 'fr', 'es'].find((l) => langs.includes(l));
  if (lang === undefined) {
    t.log('no de/fr/es gettext catalogs on this machine: skipped');
    t.pass();
    return;
  }
  const domain =
    gettextDomains(lang).find((d) => fs.statSync(`/usr/share/locale/${lang}/LC_MESSAGES/${d}.mo`).size > 10000) ?? gettextDomains(lang)[0];
  const cat = parseMo(fs.readFileSync(`/usr/share/locale/${lang}/LC_MESSAGES/${domain}.mo`));
  t.true(cat.entries.length > 10, `${domain}: ${cat.entries.length} entries`);
  t.is(cat.charset, 'utf-8');
  const { pairs, stats } = loadGettextCorpus({ lang });
  t.log(`${lang}: ${stats.pairs} pairs from ${stats.files} catalogs (${stats.entries} entries)`);
  t.true(pairs.length > 100);
  for (const p of pairs) {
    t.false(/\n/.test(p.src) || /\n/.test(p.tgt), 'no multi-line pair');
    t.not(p.src, p.tgt);
    t.true(Array.from(p.src).length <= 200 && Array.from(p.tgt).length <= 200);
    if (p.src !== p.src.trim() || /\s{2}/.test(p.src)) t.fail(`whitespace not collapsed: ${JSON.stringify(p.src)}`);
  }
});
