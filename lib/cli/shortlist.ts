/**
 * `xlm-kd shortlist`: builds a model's vocabulary shortlist from a data folder's training split (lib/decode/
 * shortlist.ts), writes it beside the model and names it in the model file, so `translate`, `evaluate` and
 * `bench` (and `loadModel` in code) decode over it by default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Shortlist, SHORTLIST_DEFAULTS } from '../data/shortlist';
import { loadModel } from '../models/load';
import { NativeSeq2Seq, type BaseModelConfig } from '../models/native-model';
import { int, parseFlags, required } from './args';
import { readDataInfo } from '../pipeline/data-folder';
import { openSplitStore } from '../pipeline/token-store';
import type { CliIO } from './io';
import { tokenizerFlag, tokenizerFlagHelp } from './language-flags';

const shortlistUsage = `Usage: xlm-kd shortlist --model MODEL.safetensors --data DIR [options]

Builds a vocabulary shortlist: for each source token the target tokens that co-occur with it most
(Dice, over the training split), plus the most frequent target tokens. Decoding a batch then scores only
the union of its tokens' lists. Written beside the model (MODEL.shortlist.safetensors) and recorded in
the model file; decoding uses it unless given --no-shortlist.

Options:
  -m, --model FILE         the model file; required (rewritten with the shortlist's name in its metadata)
  -d, --data DIR           a data folder from 'xlm-kd data' (its train split); required
${tokenizerFlagHelp}      --per-source N       target tokens kept per source token (default ${SHORTLIST_DEFAULTS.perSource})
      --frequent N         most frequent target tokens kept always (default ${SHORTLIST_DEFAULTS.frequent})
  -h, --help               show this help
`;

/** Runs `xlm-kd shortlist`. */
export async function runShortlist(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      model: { type: 'string', short: 'm' },
      data: { type: 'string', short: 'd' },
      tokenizer: { type: 'string', short: 't' },
      'per-source': { type: 'string' },
      frequent: { type: 'string' },
    },
    shortlistUsage,
    io
  );
  if (!v) return 0;
  const modelFile = required(v, 'model');
  const data = required(v, 'data');
  if (!fs.existsSync(modelFile)) throw new Error(`cannot read --model ${modelFile}: no such file`);
  if (!fs.existsSync(data)) throw new Error(`cannot read --data ${data}: no such folder`);
  const tokenizer = tokenizerFlag(v, modelFile);
  const model = await loadModel(modelFile);
  if (!(model instanceof NativeSeq2Seq)) throw new Error(`${modelFile}: this kind of model cannot record a shortlist`);
  readDataInfo(data);
  // From the data folder's token store (built here when missing), so the corpus is never held in memory.
  const pairs = await openSplitStore(data, 'train', tokenizer, { log: (l) => io.stderr.write(`${l}\n`) });
  if (pairs.size === 0) throw new Error(`${data} has no training pairs`);
  const list = Shortlist.build(pairs, {
    vocabSize: model.vocabSize,
    perSource: int(v, 'per-source'),
    frequent: int(v, 'frequent'),
    always: [model.eosIndex, tokenizer.specialIds.unk],
  });
  const file = modelFile.replace(/(\.safetensors)?$/, '.shortlist.safetensors');
  await list.save(file);
  const m = model as NativeSeq2Seq<BaseModelConfig>;
  m.shortlist = list;
  m.shortlistFile = path.basename(file);
  await m.save(modelFile);
  const sample = Array.from({ length: Math.min(32, pairs.size) }, (_, i) => pairs.pair(i).src);
  io.stdout.write(
    `${file}: ${pairs.size} training pairs, ${list.perSource} per source token, ${list.always.length} always; ` +
      `a batch of 32 training sources decodes over ${list.candidates(sample).length} of ${model.vocabSize} ids; ${modelFile} now names it\n`
  );
  return 0;
}
