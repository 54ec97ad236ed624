// The translation service (lib/serve): POST /translate equals translate() for every batching mode, model kind,
// beam and n-best; concurrent requests equal one-by-one decoding and really share batches; every bad input
// gets its JSON error and status while the service keeps serving; queue full, timeouts, disconnects and slow
// clients; graceful close with requests in flight; the metrics; and `xlm-kd serve` with SIGTERM.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { serve, translate } from '../lib';
import type { BatchingMode, Seq2Seq, ServeHandle, ServeOptions, SentencePiece } from '../lib';
import { post, rawExchange, sentences, serveFixtures, slowed } from './helpers/serve-fixtures';

const ROOT = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Resolves once `cond` holds (polled), or rejects after `ms`. */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
}
const CLI = path.join(ROOT, 'dist', 'lib', 'cli', 'index.js');
const MODES: BatchingMode[] = ['continuous', 'request', 'none'];

async function start(models: Record<string, Seq2Seq>, tokenizer: SentencePiece, opts: ServeOptions = {}): Promise<ServeHandle> {
  const sources = Object.fromEntries(Object.entries(models).map(([name, model]) => [name, { model, tokenizer }]));
  return serve(sources, { port: 0, log: null, ...opts });
}

/** translate() of each sentence alone: what the service must answer. */
async function alone(model: Seq2Seq, tokenizer: SentencePiece, texts: string[], beamSize: number, nBest = 1) {
  const out = [];
  for (const text of texts) out.push((await translate(model, [text], { tokenizer, beamSize, nBest }))[0]);
  return out;
}

type Translation = { text: string; score: number; alternatives?: Array<{ text: string; score: number }> };

function sameAsTranslate(t: ExecutionContext, got: Translation[], want: Awaited<ReturnType<typeof alone>>, what: string): void {
  t.is(got.length, want.length, `${what}: one translation per sentence`);
  want.forEach((w, i) => {
    t.is(got[i].text, w.text, `${what}: sentence ${i}`);
    t.true(Math.abs(got[i].score - w.score) < 1e-4, `${what}: sentence ${i} score ${got[i].score} vs ${w.score}`);
    if (w.hypotheses.length > 1)
      t.deepEqual(
        got[i].alternatives?.map((a) => a.text),
        w.hypotheses.slice(1).map((h) => h.text),
        `${what}: sentence ${i} alternatives`
      );
  });
}

for (const batching of MODES) {
  test(`${batching} batching: POST /translate equals translate() (XLM and BiGRU, beam 1 and 4 with 2-best, string and array)`, async (t) => {
    const f = await serveFixtures();
    const s = await start({ xlm: f.teacher, bigru: f.bigru }, f.tokenizer, { batching });
    try {
      const texts = sentences(5, 30);
      for (const [name, model] of [
        ['xlm', f.teacher],
        ['bigru', f.bigru],
      ] as const) {
        for (const [beam, nBest] of [
          [1, 1],
          [4, 2],
        ]) {
          const r = await post(s.url, { q: texts, model: name, beam, nBest });
          t.is(r.status, 200);
          sameAsTranslate(t, r.body.translations as Translation[], await alone(model, f.tokenizer, texts, beam, nBest), `${name} beam ${beam}`);
          t.deepEqual(
            r.body.translatedText,
            (r.body.translations as Translation[]).map((x) => x.text)
          );
        }
      }
      // A string in, a string out (LibreTranslate's shape); the default model is the first.
      const one = await post(s.url, { q: texts[0] });
      t.is(one.body.translatedText, (await alone(f.teacher, f.tokenizer, [texts[0]], 5))[0].text);
      // LibreTranslate's request fields work unchanged; `alternatives` asks for the n-best.
      const libre = await post(s.url, { q: texts[1], source: 'en', target: 'de', format: 'text', api_key: '', alternatives: 2 });
      const five = (await alone(f.teacher, f.tokenizer, [texts[1]], 5, 3))[0];
      t.is(libre.body.translatedText, five.text);
      t.deepEqual(
        libre.body.alternatives,
        five.hypotheses.slice(1).map((h) => h.text)
      );
    } finally {
      await s.close();
    }
  });

  test(`${batching} batching: 24 concurrent requests of varied length answer as one by one`, async (t) => {
    const f = await serveFixtures();
    const s = await start({ xlm: f.teacher }, f.tokenizer, { batching, maxWaitMs: 20 });
    try {
      const texts = sentences(24, 31);
      const want = await alone(f.teacher, f.tokenizer, texts, 3);
      const got = await Promise.all(texts.map((q) => post(s.url, { q, beam: 3 })));
      got.forEach((r, i) => {
        t.is(r.status, 200);
        sameAsTranslate(t, r.body.translations as Translation[], [want[i]], `request ${i}`);
      });
      const m = await (await fetch(`${s.url}/metrics`)).text();
      const sum = Number(/xlmkd_batch_sentences_sum\{model="xlm"\} (\S+)/.exec(m)![1]);
      const count = Number(/xlmkd_batch_sentences_count\{model="xlm"\} (\S+)/.exec(m)![1]);
      if (batching === 'none') t.is(sum / count, 1, 'each request decoded alone');
      else t.true(sum / count > 2, `sentences share batches: ${sum / count} per batch`);
      t.regex(m, /xlmkd_requests_total\{status="200"\} 24/);
      t.regex(m, /xlmkd_sentences_total\{model="xlm"\} 24/);
    } finally {
      await s.close();
    }
  });
}

test("with the model's shortlist: each mode answers a lone request as translate() does over that shortlist", async (t) => {
  const f = await serveFixtures();
  const texts = sentences(4, 40);
  const want = [];
  for (const text of texts) want.push((await translate(f.teacher, [text], { tokenizer: f.tokenizer, beamSize: 3, shortlist: f.shortlist }))[0]);
  const full = await alone(f.teacher, f.tokenizer, texts, 3);
  t.notDeepEqual(
    want.map((w) => w.score),
    full.map((w) => w.score),
    'the shortlist changes the scores (it restricts)'
  );
  for (const batching of MODES) {
    const model = new Proxy(f.teacher, { get: (m, p) => (p === 'shortlist' ? f.shortlist : (Reflect.get(m, p, m) as unknown)) });
    const s = await start({ xlm: model }, f.tokenizer, { batching });
    try {
      for (let i = 0; i < texts.length; i++) {
        const r = await post(s.url, { q: texts[i], beam: 3 });
        sameAsTranslate(t, r.body.translations as Translation[], [want[i]], `${batching}, sentence ${i}`);
      }
    } finally {
      await s.close();
    }
  }
});

test.serial('continuous batching: a request arriving mid-decode joins the running beam search and finishes first', async (t) => {
  const f = await serveFixtures();
  const model = slowed(f.teacher, 15);
  const s = await start({ xlm: model }, f.tokenizer, { batching: 'continuous', maxWaitMs: 0 });
  try {
    const long = post(s.url, {
      q: sentences(40, 32)
        .filter((x) => x.split(' ').length > 8)
        .slice(0, 6),
      beam: 2,
    });
    await until(() => model.rows.length > 1);
    const stepsBefore = model.rows.length;
    const short = await post(s.url, { q: 'open', beam: 2 });
    const stepsForShort = model.rows.length - stepsBefore;
    t.is(short.status, 200);
    t.is((short.body.translations as Translation[])[0].text, (await alone(f.teacher, f.tokenizer, ['open'], 2))[0].text);
    const longDone = await long;
    t.is(longDone.status, 200);
    // The short request was decoded inside the long one's batch (more rows than the long one's 12)...
    t.true(
      model.rows.slice(stepsBefore, stepsBefore + stepsForShort).some((n) => n > 12),
      `rows per step: ${model.rows.join(',')}`
    );
    // ...and answered before it, not after it.
    t.true(model.rows.length > stepsBefore + stepsForShort, 'the long request was still decoding');
  } finally {
    await s.close();
  }
});

test.serial('request batching: a batch answers each request as its sentences finish, not when the batch ends', async (t) => {
  const f = await serveFixtures();
  const model = slowed(f.teacher, 15);
  const s = await start({ xlm: model }, f.tokenizer, { batching: 'request', maxWaitMs: 200 });
  try {
    // Both arrive within the 200 ms gathering window: one batch.
    const long = post(s.url, {
      q: sentences(40, 32)
        .filter((x) => x.split(' ').length > 8)
        .slice(0, 6),
      beam: 2,
    });
    const short = await post(s.url, { q: 'open', beam: 2 });
    const stepsAtShort = model.rows.length;
    t.is(short.status, 200);
    t.is(model.rows[0], 14, 'one batch of 7 sentences x 2 beams');
    t.is((await long).status, 200);
    t.true(model.rows.length > stepsAtShort, `the long request decoded on after the short one was answered (${model.rows.join(',')})`);
  } finally {
    await s.close();
  }
});

test('every bad request gets a JSON error with its status, and the service keeps serving', async (t) => {
  const f = await serveFixtures();
  const s = await start({ xlm: f.teacher }, f.tokenizer, { maxChars: 50, maxSentences: 3, maxBeam: 6 });
  try {
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['wrong type of q', { q: 5 }, 400, /q/],
      ['q missing', { text: 'open' }, 400, /q/],
      ['empty list', { q: [] }, 400, /q/],
      ['empty text', { q: ['open', '  '] }, 400, /sentence 1 is empty/],
      ['over-long text', { q: 'open '.repeat(20) }, 413, /at most 50/],
      ['too many sentences', { q: ['a', 'b', 'c', 'd'] }, 413, /at most 3 sentences/],
      ['unknown model', { q: 'open', model: 'nope' }, 404, /unknown model 'nope'.*xlm/],
      ['beam not an integer', { q: 'open', beam: 'five' }, 400, /beam/],
      ['beam too large', { q: 'open', beam: 7 }, 400, /at most 6/],
      ['nBest above beam', { q: 'open', beam: 2, nBest: 3 }, 400, /nBest \(3\) must not exceed beam \(2\)/],
      ['unknown field', { q: 'open', colour: 'red' }, 400, /additional/],
    ];
    for (const [what, body, status, message] of cases) {
      const r = await post(s.url, body);
      t.is(r.status, status, what);
      t.regex(String(r.body.error), message, what);
      t.is(typeof r.body.kind, 'string', what);
    }
    const raw = async (body: string | Buffer, type = 'application/json') => {
      const r = await fetch(`${s.url}/translate`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: r.status, body: (await r.json()) as { error: string; kind: string } };
    };
    const bad = await raw('{"q": "open"');
    t.is(bad.status, 400);
    t.is(bad.body.kind, 'invalid-json');
    const utf8 = await raw(Buffer.concat([Buffer.from('{"q": "op'), Buffer.from([0xc3, 0x28]), Buffer.from('en"}')]));
    t.is(utf8.status, 400);
    t.is(utf8.body.kind, 'invalid-utf8');
    t.is((await raw('q=open', 'application/x-www-form-urlencoded')).status, 415);
    t.is((await fetch(`${s.url}/nowhere`)).status, 404);
    // Still serving, and the errors were counted by kind.
    t.is((await post(s.url, { q: 'open file' })).status, 200);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    t.regex(m, /xlmkd_errors_total\{kind="invalid-utf8"\} 1/);
    t.regex(m, /xlmkd_errors_total\{kind="unknown-model"\} 1/);
  } finally {
    await s.close();
  }
});

test('GET /models, /health and /metrics describe the service', async (t) => {
  const f = await serveFixtures();
  const s = await start({ xlm: f.teacher, bigru: f.bigru }, f.tokenizer);
  try {
    const models = (await (await fetch(`${s.url}/models`)).json()) as {
      models: Array<{ name: string; kind: string; default: boolean; parameters: number }>;
    };
    t.deepEqual(
      models.models.map((m) => [m.name, m.kind, m.default]),
      [
        ['xlm', f.teacher.kind, true],
        ['bigru', f.bigru.kind, false],
      ]
    );
    t.true(models.models.every((m) => m.parameters > 0));
    const health = await fetch(`${s.url}/health`);
    t.is(health.status, 200);
    t.deepEqual(await health.json(), { status: 'ok', models: ['xlm', 'bigru'] });
    const metrics = await fetch(`${s.url}/metrics`);
    t.regex(metrics.headers.get('content-type')!, /text\/plain/);
    const text = await metrics.text();
    for (const name of ['xlmkd_requests_total', 'xlmkd_queue_sentences', 'xlmkd_batch_sentences', 'xlmkd_request_seconds', 'xlmkd_errors_total']) {
      t.regex(text, new RegExp(`# TYPE ${name} `), name);
    }
    const page = await fetch(s.url);
    t.regex(page.headers.get('content-type')!, /text\/html/);
    t.regex(await page.text(), /<button id="go">Translate<\/button>/);
  } finally {
    await s.close();
  }
});

test.serial('a full queue answers 503 with Retry-After, and what was queued is still answered', async (t) => {
  const f = await serveFixtures();
  const s = await start({ xlm: slowed(f.teacher, 5) }, f.tokenizer, { maxQueue: 4, maxBatchSentences: 2, maxWaitMs: 0 });
  try {
    const texts = sentences(12, 33);
    const answers = await Promise.all(texts.map((q) => post(s.url, { q, beam: 2 })));
    const full = answers.filter((r) => r.status === 503);
    const ok = answers.filter((r) => r.status === 200);
    t.true(full.length > 0, 'some requests found the queue full');
    t.true(ok.length >= 4, `${ok.length} answered`);
    t.is(full.length + ok.length, texts.length);
    for (const r of full) {
      t.is(r.body.kind, 'queue-full');
      t.true(Number(r.headers.get('retry-after')) >= 1);
    }
    // Too many sentences for the queue in one request is refused as a whole.
    t.is((await post(s.url, { q: sentences(5, 34) })).status, 503);
    t.is((await post(s.url, { q: 'open' })).status, 200);
  } finally {
    await s.close();
  }
});

// Timing tests run serially: decode steps are slowed so that requests are surely in flight, whatever the load.
test.serial('a request not answered in time gets 504, and its sentences leave the decode', async (t) => {
  const f = await serveFixtures();
  // Beam 4 needs at least two steps to finish a sentence: 2 x 100 ms > the 150 ms allowed.
  const model = slowed(f.teacher, 100);
  const s = await start({ xlm: model }, f.tokenizer, { requestTimeoutMs: 150, maxWaitMs: 0 });
  try {
    const r = await post(s.url, { q: sentences(6, 35), beam: 4 });
    t.is(r.status, 504);
    t.is(r.body.kind, 'timeout');
    const steps = model.rows.length;
    await sleep(600);
    t.true(model.rows.length - steps <= 1, `decode steps after the timeout: ${model.rows.length - steps}`);
    t.is((await fetch(`${s.url}/health`)).status, 200);
    t.regex(await (await fetch(`${s.url}/metrics`)).text(), /xlmkd_errors_total\{kind="timeout"\} 1/);
  } finally {
    await s.close();
  }
});

for (const batching of MODES) {
  test.serial(`${batching} batching: a client that disconnects mid-request has its sentences dropped from the running batch`, async (t) => {
    const f = await serveFixtures();
    const model = slowed(f.teacher, 100);
    const s = await start({ xlm: model }, f.tokenizer, { batching, maxWaitMs: 0 });
    try {
      const body = JSON.stringify({ q: sentences(6, 36), beam: 4 });
      const req = http.request(`${s.url}/translate`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => undefined);
      req.end(body);
      await until(() => model.rows.length > 0);
      t.is(model.rows[0], 24, 'decoding the 6 sentences x 4 beams');
      req.destroy();
      await sleep(50);
      const steps = model.rows.length;
      await sleep(600);
      t.true(model.rows.length - steps <= 1, `decode steps after the disconnect: ${model.rows.length - steps}`);
      t.is((await post(s.url, { q: 'open' })).status, 200);
    } finally {
      await s.close();
    }
  });
}

test.serial('a client that sends its request too slowly gets 408 and the connection is closed', async (t) => {
  const f = await serveFixtures();
  const s = await start({ xlm: f.teacher }, f.tokenizer, { receiveTimeoutMs: 300 });
  try {
    const body = JSON.stringify({ q: 'open file' });
    const head = `POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const answer = await rawExchange(s.port, [head, body.slice(0, 5)], { waitMs: 3000 });
    t.regex(answer, /^HTTP\/1\.1 408/);
    t.is((await post(s.url, { q: 'open' })).status, 200);
  } finally {
    await s.close();
  }
});

test.serial('close() lets requests in flight finish, refuses new ones, and answers 503 what outlives the grace period', async (t) => {
  const f = await serveFixtures();
  const model = slowed(f.teacher, 30);
  const s = await start({ xlm: model }, f.tokenizer, { maxWaitMs: 0 });
  const inFlight = post(s.url, { q: sentences(3, 37), beam: 2 });
  await until(() => model.rows.length > 0);
  const closed = s.close();
  await sleep(10);
  // Refused while closing: 503 (return503OnClosing) or no connection at all once it stopped listening.
  const refused = await post(s.url, { q: 'open' }).then(
    (r) => r.status,
    () => 'no connection'
  );
  t.true(refused === 503 || refused === 'no connection', String(refused));
  t.is((await inFlight).status, 200);
  await closed;
  await t.throwsAsync(() => fetch(`${s.url}/health`));

  const slow = slowed(f.teacher, 100);
  const g = await start({ xlm: slow }, f.tokenizer, { maxWaitMs: 0, closeGraceMs: 150, maxBatchSentences: 1 });
  const late = post(g.url, { q: sentences(4, 38), beam: 4 });
  await until(() => slow.rows.length > 0);
  const t0 = Date.now();
  await g.close();
  const r = await late;
  t.true(Date.now() - t0 < 5000, 'close did not wait for the whole decode');
  t.is(r.status, 503);
  t.is(r.body.kind, 'closing');
});

test('serve refuses bad options and unreadable model files with clear errors', async (t) => {
  const f = await serveFixtures();
  await t.throwsAsync(() => serve({}, { port: 0, log: null }), { message: /at least one model/ });
  await t.throwsAsync(() => serve({ a: path.join(f.dir, 'nope.safetensors') }, { port: 0, log: null }), { message: /model 'a'.*no such file/ });
  await t.throwsAsync(() => serve({ a: f.teacherFile }, { port: 0, batching: 'eager' as BatchingMode, log: null }), {
    message: /batching.*'continuous', 'request', 'none'/,
  });
  await t.throwsAsync(() => serve({ a: f.teacherFile }, { port: 0, beam: 9, log: null }), { message: /beam/ });
  const lonely = path.join(f.dir, 'lonely');
  fs.mkdirSync(lonely, { recursive: true });
  fs.copyFileSync(f.teacherFile, path.join(lonely, 'm.safetensors'));
  await t.throwsAsync(() => serve({ a: path.join(lonely, 'm.safetensors') }, { port: 0, log: null }), {
    message: /serve: model 'a': no tokenizer beside .*m\.safetensors: expected tokenizer\.model, or tokenizer\.json with codes and vocab/,
  });
});

test.serial('xlm-kd serve: model files by name, a request, SIGTERM finishes in flight and exits 0', async (t) => {
  const f = await serveFixtures();
  const child = spawn(process.execPath, [CLI, 'serve', '--model', `tiny=${f.teacherFile}`, '--model', f.bigruFile, '--port', '0', '--beam', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setInterval(() => {
      const m = /at (http:\/\/\S+) /.exec(err);
      if (m) {
        clearInterval(timer);
        res(m[1]);
      }
    }, 50);
    void exited.then(() => rej(new Error(`serve exited early: ${err}`)));
  });
  t.regex(err, /serving tiny, bigru at/);
  const r = await post(url, { q: ['open file', 'save'], model: 'bigru' });
  t.is(r.status, 200);
  const want = await alone(f.bigru, f.tokenizer, ['open file', 'save'], 2);
  t.deepEqual(
    (r.body.translations as Translation[]).map((x) => x.text),
    want.map((w) => w.text)
  );
  const pending = post(url, { q: sentences(8, 39) });
  await sleep(500);
  child.kill('SIGTERM');
  t.is((await pending).status, 200);
  t.is(await exited, 0);
  t.regex(err, /SIGTERM: finishing requests in flight/);
});

test('xlm-kd serve rejects bad flags with exit 2 and names the flag', (t) => {
  return new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--model', 'x.safetensors', '--max-queue', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      t.is(code, 2);
      t.regex(err, /--max-queue/);
      resolve();
    });
  });
});
