/**
 * `xlm-kd import-xlm`: turns a Facebook XLM checkpoint (.pth, a Python pickle) and its release's BPE codes and
 * vocabulary into a model folder every other command takes: the Teacher file (XLM's parameter names, converted by
 * tools/convert-xlm-checkpoint.py with a Python that has PyTorch) with XLM's tokenizer beside it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FastBpe } from '../data/fast-bpe';
import { saveTokenizerBeside } from '../data/load-tokenizer';
import { XlmDictionary } from '../data/xlm-dictionary';
import { XlmTokenizer } from '../data/xlm-tokenizer';
import { checkCodesMatchVocab } from '../data/bpe-vocab-check';
import { readModelMetadata } from '../models/load';
import { Teacher } from '../models/teacher';
import { choice, parseFlags, required, str } from './args';
import type { CliIO } from './io';
import { packageRoot } from './package';

const importXlmUsage = `Usage: xlm-kd import-xlm --checkpoint MODEL.pth --codes CODES [--vocab VOCAB] --out DIR [options]

Makes a model folder from a Facebook XLM checkpoint (trainer/MT, or MLM-pretrained: its weights start both
encoder and decoder, cross-attention fresh, as XLM's --reload_model): DIR/model.safetensors (a Teacher,
XLM's parameter names) and XLM's tokenizer beside it (tokenizer.json, codes, vocab: Moses + fastBPE + the
checkpoint's dictionary, languages from its params). Fine-tune it with 'xlm-kd train --init
DIR/model.safetensors'. Needs a Python with torch: --python, else the package's .venv, else python3.

Options:
  -c, --checkpoint FILE  the .pth checkpoint; required
      --codes FILE       the release's BPE codes (fastBPE); without it only the weights are converted
      --vocab FILE       the release's vocabulary ('word count' lines), checked against the checkpoint's
                         dictionary (default: the checkpoint's dictionary)
  -o, --out DIR          the model folder (or a FILE.safetensors, the tokenizer beside it); required
      --lowercase M      yes: lowercase and strip accents as some releases did; no; auto (default):
                         yes when the vocabulary has no uppercase letter
      --python EXE       the Python to run the converter with
      --trust-pickle     allow checkpoints that need full unpickling (runs their code: only files you trust)
  -h, --help             show this help
`;

/** The first Python that imports torch: `explicit`, the package's .venv, python3 on PATH. */
function findTorchPython(explicit?: string): string {
  const candidates = explicit ? [explicit] : [path.join(packageRoot, '.venv', 'bin', 'python'), 'python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new Error(`no Python with torch found (tried ${candidates.join(', ')}); install torch (pip install torch) or pass --python`);
}

/** Runs the converter; resolves to the checkpoint's dictionary (id order). */
function convert(python: string, checkpoint: string, outFile: string, trustPickle: boolean, io: CliIO): string[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlm-kd-import-'));
  try {
    const words = path.join(tmp, 'vocab.txt');
    const script = path.join(packageRoot, 'tools', 'convert-xlm-checkpoint.py');
    const r = spawnSync(python, [script, checkpoint, outFile, '--vocab', words, ...(trustPickle ? ['--trust-pickle'] : [])], { encoding: 'utf8' });
    if (r.status !== 0) {
      const lines = `${r.stderr ?? ''}`.trim().split('\n');
      throw new Error(`the converter failed: ${lines[lines.length - 1] || `exit ${r.status}`}`);
    }
    // The converter's notes (what stayed at fresh init, casts) matter; its lines about files it wrote here do not.
    const notes = `${r.stdout ?? ''}`.split('\n').filter((l) => l !== '' && !l.startsWith('wrote '));
    if (notes.length > 0) io.stderr.write(notes.join('\n') + '\n');
    if (!fs.existsSync(words)) throw new Error(`${checkpoint} has no dictionary (dico_id2word): XLM's tokenizer needs it`);
    const text = fs.readFileSync(words, 'utf8');
    return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What one import takes (the flags, checked). */
interface ImportRequest {
  checkpoint: string;
  /** The release's codes text and file, when given. */
  codes?: { text: string; name: string };
  /** The release's vocabulary file and its dictionary, when given. */
  vocab?: { name: string; dictionary: XlmDictionary };
  lowercase: 'yes' | 'no' | 'auto';
  outFile: string;
  python: string;
  trustPickle: boolean;
}

/**
 * Converts into `file`, checks the dictionary, writes the tokenizer beside `outFile` and moves `file` there last,
 * so that a failed check leaves no model behind. Returns the line to print.
 */
async function importInto(file: string, o: ImportRequest, io: CliIO): Promise<string> {
  const words = convert(o.python, o.checkpoint, file, o.trustPickle, io);
  const dictionary = XlmDictionary.fromWords(words, `${o.checkpoint} (dico_id2word)`);
  o.vocab?.dictionary.assertSameAs(dictionary, `--vocab ${o.vocab.name} and the dictionary of ${o.checkpoint}`);
  const teacher = await Teacher.load(file);
  const c = teacher.config;
  const about =
    `${o.outFile}: XLM teacher, ${c.encoderLayers}-${c.decoderLayers} layers, ${c.embDim} wide, ${c.nHeads} heads, ${c.vocabSize} words, ` +
    `${(teacher.numParameters() / 1e6).toFixed(1)}M parameters`;
  if (o.codes === undefined) {
    fs.renameSync(file, o.outFile);
    return `${about}; no --codes given, so no tokenizer: give the release's BPE codes to translate or fine-tune it`;
  }
  // XLM's tokenizer frames and pads with the dictionary's specials, so a dictionary without them cannot serve it.
  dictionary.assertSpecials();
  const meta = await readModelMetadata(file);
  const languages = meta.langs !== undefined ? (JSON.parse(meta.langs) as string[]) : [];
  const releaseWords = dictionary.words.slice(14);
  const lower = o.lowercase === 'auto' ? !releaseWords.some((w) => /\p{Lu}/u.test(w)) : o.lowercase === 'yes';
  const tokenizer = XlmTokenizer.fromFiles({
    codes: o.codes,
    vocab:
      o.vocab !== undefined
        ? { text: fs.readFileSync(o.vocab.name, 'utf8'), name: o.vocab.name }
        : { text: releaseWords.map((w) => `${w} 0\n`).join(''), name: `${o.checkpoint} (dico_id2word)` },
    lowercaseAndStripAccents: lower,
    languages,
  });
  checkCodesMatchVocab(tokenizer, o.codes.name, o.vocab?.name ?? `the dictionary of ${o.checkpoint}`);
  await saveTokenizerBeside(tokenizer, o.outFile);
  fs.renameSync(file, o.outFile);
  const langs = languages.length > 0 ? `languages ${languages.join(', ')}` : 'no language list';
  const casing = `${lower ? 'lowercased and accents stripped' : 'cased'}${o.lowercase === 'auto' ? ' (from the vocabulary; --lowercase to choose)' : ''}`;
  return `${about}; XLM tokenizer beside it (${langs}, ${casing})`;
}

/** Runs `xlm-kd import-xlm`. */
export async function runImportXlm(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      checkpoint: { type: 'string', short: 'c' },
      codes: { type: 'string' },
      vocab: { type: 'string' },
      out: { type: 'string', short: 'o' },
      lowercase: { type: 'string' },
      python: { type: 'string' },
      'trust-pickle': { type: 'boolean' },
    },
    importXlmUsage,
    io
  );
  if (!v) return 0;
  const checkpoint = required(v, 'checkpoint');
  const out = required(v, 'out');
  const codes = str(v, 'codes');
  const vocab = str(v, 'vocab');
  for (const [flag, f] of [
    ['--checkpoint', checkpoint],
    ['--codes', codes],
    ['--vocab', vocab],
  ] as const) {
    if (f !== undefined && !fs.existsSync(f)) throw new Error(`cannot read ${flag} ${f}: no such file`);
  }
  // The release's files are read before the (slow) conversion, so a malformed one fails at once.
  const codesText = codes !== undefined ? fs.readFileSync(codes, 'utf8') : undefined;
  if (codesText !== undefined) FastBpe.fromText(codesText, undefined, { codes });
  const request: ImportRequest = {
    checkpoint,
    codes: codes !== undefined && codesText !== undefined ? { text: codesText, name: codes } : undefined,
    vocab: vocab !== undefined ? { name: vocab, dictionary: XlmDictionary.load(vocab) } : undefined,
    lowercase: choice(v, 'lowercase', ['yes', 'no', 'auto'] as const) ?? 'auto',
    outFile: out.endsWith('.safetensors') ? out : path.join(out, 'model.safetensors'),
    python: findTorchPython(str(v, 'python')),
    trustPickle: v['trust-pickle'] === true,
  };
  fs.mkdirSync(path.dirname(path.resolve(request.outFile)), { recursive: true });
  const converting = `${request.outFile}.importing`;
  try {
    io.stdout.write(`${await importInto(converting, request, io)}\n`);
  } finally {
    fs.rmSync(converting, { force: true });
  }
  return 0;
}
