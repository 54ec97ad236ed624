/**
 * Finding and loading a model's tokenizer: the files beside a model file say which one it is (`tokenizer.model`:
 * SentencePiece; `tokenizer.json` with `codes` and `vocab`: XLM's Moses + fastBPE), and deriving a model (cut,
 * distilled, trained) copies them beside the new file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';
import { SentencePiece } from './sentencepiece';
import type { Tokenizer } from './tokenizer';
import { XLM_TOKENIZER_FILE, XlmTokenizer } from './xlm-tokenizer';

const SENTENCEPIECE_FILE = 'tokenizer.model';

/**
 * Loads a tokenizer from its file: a SentencePiece `.model`, or an XLM tokenizer's `tokenizer.json` (or a folder
 * holding one).
 * @throws Error naming the file when it is missing or is neither.
 */
export function loadTokenizer(file: string): Tokenizer {
  if (typeof file !== 'string' || file === '') throw new TypeError("loadTokenizer: argument 'file' must be a path string");
  if (!fs.existsSync(file)) throw new Error(`cannot read tokenizer ${file}: no such file`);
  if (fs.statSync(file).isDirectory()) {
    if (fs.existsSync(path.join(file, XLM_TOKENIZER_FILE))) return XlmTokenizer.load(path.join(file, XLM_TOKENIZER_FILE));
    if (fs.existsSync(path.join(file, SENTENCEPIECE_FILE))) return SentencePiece.load(path.join(file, SENTENCEPIECE_FILE));
    throw new Error(`${file}: holds neither ${SENTENCEPIECE_FILE} nor ${XLM_TOKENIZER_FILE}`);
  }
  if (file.endsWith('.json')) return XlmTokenizer.load(file);
  return SentencePiece.load(file);
}

/**
 * The tokenizer file beside `modelFile` (`tokenizer.json` or `tokenizer.model`, whichever is there).
 * @throws Error when neither, or both, are there.
 */
export function tokenizerFileBeside(modelFile: string): string {
  const dir = path.dirname(path.resolve(modelFile));
  const found = tokenizerFilesIn(dir);
  if (found.length === 0)
    throw new Error(`no tokenizer beside ${modelFile}: expected ${SENTENCEPIECE_FILE}, or ${XLM_TOKENIZER_FILE} with codes and vocab, in ${dir}`);
  if (found.length > 1)
    throw new Error(
      `${dir} holds both ${SENTENCEPIECE_FILE} and ${XLM_TOKENIZER_FILE}: remove the one ${path.basename(modelFile)} was not trained with`
    );
  return found[0];
}

/** Whether a tokenizer (either kind) sits beside `modelFile`. */
export function hasTokenizerBeside(modelFile: string): boolean {
  return tokenizerFilesIn(path.dirname(path.resolve(modelFile))).length > 0;
}

/** The tokenizer files (either kind) in `dir`. */
function tokenizerFilesIn(dir: string): string[] {
  return [XLM_TOKENIZER_FILE, SENTENCEPIECE_FILE].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
}

/** The tokenizer `explicit` names, else the one beside `modelFile`. */
export function tokenizerFor(modelFile: string, explicit?: string): Tokenizer {
  return loadTokenizer(explicit ?? tokenizerFileBeside(modelFile));
}

/** Writes the tokenizer's files beside `modelFile` (each atomically), so that the model's folder is self-contained. */
export async function saveTokenizerBeside(tokenizer: Tokenizer, modelFile: string): Promise<void> {
  const dir = path.dirname(path.resolve(modelFile));
  await fs.promises.mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(tokenizer.files())) {
    const target = path.join(dir, name);
    if (fs.existsSync(target) && fs.readFileSync(target).equals(bytes)) continue;
    await writeFileAtomic(target, bytes);
  }
}
