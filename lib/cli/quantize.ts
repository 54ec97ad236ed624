/** `xlm-kd quantize`: a model file with its decode-time linear layers in int8 (model.quantize()), for serving. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../models/load';
import { parseFlags, required } from './args';
import type { CliIO } from './io';

const quantizeUsage = `Usage: xlm-kd quantize --model MODEL.safetensors --out MODEL.int8.safetensors

Writes the model with the decoder's linear layers and the output layer in int8 (per output channel,
activations quantized per call, as PyTorch's quantize_dynamic): a smaller file that decodes faster. The
encoder and GRU cells stay float32. For decoding only; train the float32 model. A shortlist the model
names is kept (copied beside the output), and so is tokenizer.model.

Options:
  -m, --model FILE         the float32 model; required
  -o, --out FILE           the int8 model to write; required
  -h, --help               show this help
`;

/** Runs `xlm-kd quantize`. */
export async function runQuantize(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, { model: { type: 'string', short: 'm' }, out: { type: 'string', short: 'o' } }, quantizeUsage, io);
  if (!v) return 0;
  const modelFile = required(v, 'model');
  const out = required(v, 'out');
  if (!fs.existsSync(modelFile)) throw new Error(`cannot read --model ${modelFile}: no such file`);
  const model = await loadModel(modelFile, { inference: 'int8' });
  const from = path.dirname(path.resolve(modelFile));
  const to = path.dirname(path.resolve(out));
  fs.mkdirSync(to, { recursive: true });
  const { shortlistFile } = model as { shortlistFile?: string };
  for (const f of ['tokenizer.model', ...(shortlistFile ? [shortlistFile] : [])]) {
    if (from !== to && fs.existsSync(path.join(from, f))) await fs.promises.copyFile(path.join(from, f), path.join(to, f));
  }
  await model.save(out);
  const [a, b] = [fs.statSync(modelFile).size, fs.statSync(out).size];
  io.stdout.write(`${out}: int8, ${(b / 2 ** 20).toFixed(1)} MB (float32 file ${(a / 2 ** 20).toFixed(1)} MB)\n`);
  return 0;
}
