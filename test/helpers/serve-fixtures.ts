// What the translation-service tests share: a small trained tokenizer, seeded models over it (an XLM teacher
// and a BiGRU) saved with the tokenizer beside them, sentences of varied lengths, a model wrapper that slows
// every decode step (to hold requests in flight), and small HTTP helpers.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BiGruStudent, manualSeed, SentencePiece, SeededRandom, Shortlist, Teacher, train } from '../../lib';
import type { Seq2Seq } from '../../lib';
import { startWithoutGrad } from '../../lib/tensor/runtime';

const WORDS = 'open close save file edit view help print window menu house tree river city water bread'.split(' ');

/** `n` sentences of 1 to 12 words. */
export function sentences(n: number, seed: number): string[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(12) }, () => WORDS[rng.int(WORDS.length)]).join(' '));
}

export interface Fixtures {
  dir: string;
  tokenizer: SentencePiece;
  teacher: Seq2Seq;
  bigru: Seq2Seq;
  /** Model files with tokenizer.model beside them. */
  teacherFile: string;
  bigruFile: string;
  /** A shortlist over the copy task (a few candidates per source token), for decoding over a shortlist. */
  shortlist: Shortlist;
}

let fixtures: Promise<Fixtures> | undefined;

/** Built once per test file; removed when the process exits. */
export function serveFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-serve-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const tokenizer = await SentencePiece.train({ sentences: sentences(1500, 1), vocabSize: 48, numThreads: 2 });
    await tokenizer.save(path.join(dir, 'tokenizer.model'));
    // Briefly trained to copy (reversed): untrained models emit one token forever, which would prove little.
    const pairs = (await tokenizer.encodeAsync(sentences(600, 2))).map((src) => ({ src, tgt: [...src].reverse() }));
    const fit = async (model: Seq2Seq & { eval(): unknown }, name: string) => {
      await train(model, {
        data: pairs,
        runDir: path.join(dir, `run-${name}`),
        maxSteps: 120,
        batching: { maxTokens: 600 },
        optimizer: { lr: 5e-3 },
        schedule: () => 5e-3,
        log: null,
      });
      model.eval();
    };
    manualSeed(21);
    const teacher = Teacher.create({ vocabSize: tokenizer.vocabSize, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 1 });
    await fit(teacher, 'teacher');
    manualSeed(22);
    const bigru = BiGruStudent.create({ vocabSize: tokenizer.vocabSize, embDim: 16, hiddenSize: 24 });
    await fit(bigru, 'bigru');
    const teacherFile = path.join(dir, 'teacher.safetensors');
    const bigruFile = path.join(dir, 'bigru.safetensors');
    await teacher.save(teacherFile);
    await bigru.save(bigruFile);
    const shortlist = Shortlist.build(pairs, { vocabSize: tokenizer.vocabSize, perSource: 4, frequent: 4 });
    return { dir, tokenizer, teacher, bigru, teacherFile, bigruFile, shortlist };
  })();
  return fixtures;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `model` with every decode step delayed by `ms` and counted (rows per step in `rows`). */
export function slowed(model: Seq2Seq, ms: number): Seq2Seq & { rows: number[] } {
  const rows: number[] = [];
  return new Proxy(model, {
    get(target, p) {
      if (p === 'rows') return rows;
      if (p === 'decodeStepAsync') {
        return async (...args: Parameters<Seq2Seq['decodeStepAsync']>) => {
          rows.push(args[0].size);
          await sleep(ms);
          return startWithoutGrad(() => target.decodeStepAsync(...args));
        };
      }
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Seq2Seq & { rows: number[] };
}

/** POST /translate with a JSON body; resolves to the status, headers and parsed body. */
export async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/translate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
}

/** Sends raw bytes over a socket and resolves to everything the server answers before closing (or `waitMs`). */
export function rawExchange(port: number, chunks: Array<Buffer | string>, opts: { gapMs?: number; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), opts.waitMs ?? 5000);
    socket.on('data', (d) => (answer += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
    const send = async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        if (opts.gapMs) await sleep(opts.gapMs);
      }
    };
    socket.on('connect', () => {
      send().catch(reject);
    });
  });
}
