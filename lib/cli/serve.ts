/**
 * `xlm-kd serve`: saved models as a translation service over HTTP until SIGINT/SIGTERM, which stop it
 * accepting, let requests in flight finish within --close-grace-ms, and exit 0.
 */
import { once } from 'node:events';
import { serve } from '../serve';
import type { ModelSource } from '../serve/server';
import { resolveServeOptions, SERVE_DEFAULTS, type ServeOptions } from '../serve/options';
import { languageFlags, languageFlagSpecs, languageFlagsHelp } from './language-flags';
import { checkFlags, choice, flagNames, type FlagValues, int, num, parseFlags } from './args';
import { decodingFlagSpecs, decodingFlagsHelp } from './decoding-flags';
import { deviceFlags, deviceFlagSpecs, deviceFlagsHelp } from './device-flags';
import { type CliIO, UsageError } from './io';
import { namedModels } from './model-names';

const D = SERVE_DEFAULTS;
const serveUsage = `Usage: xlm-kd serve --model MODEL.safetensors [--model NAME=MODEL ...] [options]

Serves translations over HTTP until Ctrl-C / SIGTERM (then finishes what is in flight and exits 0):
  POST /translate {"q": "text" or ["text", ...], "model"?, "beam"?, "nBest"?}
  GET /models, GET /health, GET /metrics (Prometheus), GET / (a page to try it)
Each model's tokenizer (tokenizer.model, or XLM's tokenizer.json, codes and vocab) must sit beside
it; the first model is the default. Models with XLM's tokenizer need --src-lang and --tgt-lang.

Options:
  -m, --model [NAME=]FILE  a model to serve (repeat for several; NAME defaults to the run
                           folder of a RUN/model.safetensors, else the file's name)
      --host HOST          interface to listen on (default ${D.host}; 0.0.0.0 for every interface)
  -p, --port N             port (default ${D.port}; 0 picks a free one)
  -b, --beam N             beam size when a request gives none; 1 = greedy (default ${D.beam})
      --max-beam N         largest beam a request may ask for (default ${D.maxBeam})
      --batching MODE      request (waiting sentences enter an idle decode as one batch; the next batch
                           gathers while it runs), continuous (they also join the running beam search
                           between steps) or none (each request alone) (default ${D.batching})
      --max-batch-tokens N    padded source tokens in one decoding batch (default ${D.maxBatchTokens})
      --max-batch-sentences N sentences in one decoding batch (default ${D.maxBatchSentences})
      --max-wait-ms N      request batching: how long a batch's first sentence waits for others (default ${D.maxWaitMs})
      --join-ratio X       continuous batching: waiting sentences join the running decode once they are
                           X times as many as it decodes, or one waited --max-wait-ms (default ${D.joinRatio})
      --max-queue N        sentences waiting before requests get 503 (default ${D.maxQueue})
      --max-chars N        characters per sentence; more is 413 (default ${D.maxChars})
      --max-sentences N    sentences per request; more is 413 (default ${D.maxSentences})
      --request-timeout-ms N  answer 504 after this long (default ${D.requestTimeoutMs})
      --receive-timeout-ms N  a client must send its request within this (408; default ${D.receiveTimeoutMs})
      --close-grace-ms N   on shutdown, time for requests in flight (default ${D.closeGraceMs})
${languageFlagsHelp}${decodingFlagsHelp}${deviceFlagsHelp}  -h, --help               show this help
`;

const FRACTIONAL = new Set(['max-wait-ms', 'join-ratio']);
const NUMERIC = [
  'beam',
  'max-beam',
  'max-batch-tokens',
  'max-batch-sentences',
  'max-wait-ms',
  'join-ratio',
  'max-queue',
  'max-chars',
  'max-sentences',
  'request-timeout-ms',
  'receive-timeout-ms',
  'close-grace-ms',
  'port',
] as const;

/** `--model a=x.safetensors --model runs/gru/model.safetensors` -> { a: 'x.safetensors', gru: 'runs/gru/model.safetensors' }. */
function modelFlags(values: string[]): Record<string, ModelSource> {
  if (values.length === 0) throw new UsageError('--model is required');
  return Object.fromEntries(namedModels(values).map((m) => [m.name, m.file]));
}

function serveOptions(values: FlagValues): ServeOptions {
  if (values.int8 === true && values.prepack === true) throw new UsageError('--int8 and --prepack exclude each other');
  const o: ServeOptions = {
    host: typeof values.host === 'string' ? values.host : undefined,
    batching: choice(values, 'batching', ['continuous', 'request', 'none'] as const),
    inference: values.int8 === true ? 'int8' : values.prepack === true ? 'packed' : undefined,
    shortlist: values['no-shortlist'] === true ? false : undefined,
    ...deviceFlags(values),
    ...languageFlags(values),
  };
  const numeric = o as Record<string, unknown>;
  for (const flag of NUMERIC) {
    numeric[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = FRACTIONAL.has(flag) ? num(values, flag) : int(values, flag);
  }
  checkFlags(() => resolveServeOptions('', o, flagNames()));
  return o;
}

/** Runs `xlm-kd serve` with `args` (after the subcommand); resolves to the exit code once the service stops. */
export async function runServe(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(
    args,
    {
      model: { type: 'string', short: 'm', multiple: true },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      beam: { type: 'string', short: 'b' },
      batching: { type: 'string' },
      ...languageFlagSpecs,
      ...Object.fromEntries(NUMERIC.filter((f) => f !== 'beam' && f !== 'port').map((f) => [f, { type: 'string' as const }])),
      ...decodingFlagSpecs,
      ...deviceFlagSpecs,
    },
    serveUsage,
    io
  );
  if (!values) return 0;
  const models = modelFlags((values.model as unknown as string[] | undefined) ?? []);
  const handle = await serve(models, { ...serveOptions(values), log: (line) => io.stderr.write(`${line}\n`) });
  const signal = await Promise.race((['SIGINT', 'SIGTERM'] as const).map((s) => once(process, s).then(() => s)));
  // A second signal while closing means "now": what is still in flight is abandoned.
  const force = () => {
    io.stderr.write('stopped before requests in flight finished\n');
    process.exit(1);
  };
  process.once('SIGINT', force).once('SIGTERM', force);
  io.stderr.write(`${signal}: finishing requests in flight (up to ${handle.closeGraceMs} ms), then stopping\n`);
  await handle.close();
  process.off('SIGINT', force).off('SIGTERM', force);
  return 0;
}
