#!/usr/bin/env node
// A WMT-sized parallel corpus made from this machine's gettext catalogs, for benchmarking the data path (the
// tokenizer, data preparation, batching) at the scale of a real training set (issue 31): each line joins 2–6
// random gettext messages, English on the source side and their translations, in the same order, on the
// target side, both joined with a space. With messages of at most 100 characters (31 on average in English) a
// line is about 4 messages, ~130 characters and ~20 words: close to WMT14 en-de's sentences, and every line far
// below SentencePiece's 4,192-byte limit. Seeded (the same seed and catalogs give the same files) and streamed:
// lines are drawn and written a block at a time, so memory is the catalogs' whatever --lines is. Writes
// DIR/corpus.en and DIR/corpus.<lang> (.gz with --gzip) and nothing else; prints the lines, bytes and time.
//
// Usage: npm run bench:make-corpus -- --out DIR [--lines 4500000] [--seed 0] [--lang de] [--max-chars 100] [--gzip]
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { pipeline } = require('stream/promises');
const { DIST, arg, intArg, usageError, runMain } = require('./common');
const { loadGettextCorpus, SeededRandom } = require(DIST);

const USAGE = `Usage: npm run bench:make-corpus -- --out DIR [options]

Writes DIR/corpus.en and DIR/corpus.LANG, line N of one translated by line N of the other: each line is 2-6
random gettext messages of this machine joined with a space, their translations joined in the same order.

Options:
  --out DIR         where the two files go; required
  --lines N         lines to write (default 4500000, the size of WMT14 en-de)
  --seed N          which messages are drawn (default 0)
  --lang L          the target language's gettext catalogs (default de)
  --max-chars N     use messages of at most N characters on each side (default 100)
  --gzip            write corpus.en.gz and corpus.LANG.gz
  -h, --help        show this help
`;

function options() {
  const out = arg('--out', undefined);
  if (out === undefined) usageError('--out DIR is required');
  return {
    out: path.resolve(out),
    lines: intArg('--lines', 4_500_000, 1),
    seed: intArg('--seed', 0, -Number.MAX_SAFE_INTEGER),
    lang: arg('--lang', 'de'),
    maxChars: intArg('--max-chars', 100, 2),
    gzip: process.argv.includes('--gzip'),
  };
}

/** A file written as a stream (through gzip with `gzip`), with backpressure, counting the bytes given to it. */
function openOutput(file, gzip) {
  const disk = fs.createWriteStream(file);
  const head = gzip ? zlib.createGzip() : disk;
  const done = gzip ? pipeline(head, disk) : new Promise((resolve, reject) => disk.on('finish', resolve).on('error', reject));
  // Without gzip, `done` is the only listener for an error; with it, pipeline's. Either way it rejects.
  done.catch(() => {});
  let bytes = 0;
  return {
    file,
    get bytes() {
      return bytes;
    },
    /** Resolves when the stream can take more (at once unless its buffer is full). */
    write(text) {
      bytes += Buffer.byteLength(text);
      if (head.write(text)) return Promise.resolve();
      return Promise.race([new Promise((resolve) => head.once('drain', resolve)), done]);
    },
    async end() {
      head.end();
      await done;
    },
  };
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const count = (n) => n.toLocaleString('en-US');

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) return void process.stdout.write(USAGE);
  const o = options();
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;

  const { pairs } = loadGettextCorpus({ lang: o.lang, maxChars: o.maxChars });
  if (pairs.length < 2)
    throw new Error(`bench/make-corpus.js: only ${pairs.length} gettext messages for '${o.lang}' of at most ${o.maxChars} characters`);
  const src = pairs.map((p) => p.src);
  const tgt = pairs.map((p) => p.tgt);
  const reading = seconds();
  console.log(
    `make-corpus: ${count(pairs.length)} en -> ${o.lang} gettext messages of at most ${o.maxChars} characters (read in ${reading.toFixed(1)} s), ` +
      `${count(o.lines)} lines of 2-6 of them, seed ${o.seed}`
  );

  fs.mkdirSync(o.out, { recursive: true });
  const ext = o.gzip ? '.gz' : '';
  const outs = [openOutput(path.join(o.out, `corpus.en${ext}`), o.gzip), openOutput(path.join(o.out, `corpus.${o.lang}${ext}`), o.gzip)];
  const rng = new SeededRandom(o.seed);
  const tty = process.stderr.isTTY;
  let lastShown = 0;
  const progress = (done, final = false) => {
    const s = seconds();
    if (!final && s - lastShown < (tty ? 0.25 : 10)) return;
    lastShown = s;
    const line = `make-corpus: ${count(done)} / ${count(o.lines)} lines (${((100 * done) / o.lines).toFixed(0)} %), ${mb(outs[0].bytes + outs[1].bytes)} of text, ${s.toFixed(1)} s`;
    process.stderr.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
  };

  // A block of lines per write: few large writes, and the memory of one block, whatever --lines is.
  const BLOCK = 8192;
  const ids = new Array(6);
  try {
    for (let done = 0; done < o.lines;) {
      const n = Math.min(BLOCK, o.lines - done);
      let a = '';
      let b = '';
      for (let i = 0; i < n; i++) {
        const k = 2 + rng.int(5);
        for (let j = 0; j < k; j++) ids[j] = rng.int(src.length);
        let s = src[ids[0]];
        let t = tgt[ids[0]];
        for (let j = 1; j < k; j++) {
          s += ' ' + src[ids[j]];
          t += ' ' + tgt[ids[j]];
        }
        a += s + '\n';
        b += t + '\n';
      }
      await Promise.all([outs[0].write(a), outs[1].write(b)]);
      done += n;
      progress(done, done === o.lines);
    }
  } finally {
    await Promise.all(outs.map((w) => w.end()));
  }

  const total = seconds();
  const took = total - reading;
  const sizes = outs.map((w) => fs.statSync(w.file).size);
  const text = outs[0].bytes + outs[1].bytes;
  console.log(
    `wrote ${count(o.lines)} lines in ${took.toFixed(1)} s (${count(Math.round(o.lines / took))} lines/s, ${mb(text / took)}/s of text; ` +
      `${total.toFixed(1)} s with reading the catalogs): ` +
      outs.map((w, i) => `${w.file} ${mb(sizes[i])}${o.gzip ? ` (${mb(w.bytes)} of text)` : ''}`).join(', ') +
      `; ${count(sizes[0] + sizes[1])} bytes on disk`
  );
}

runMain(main);
