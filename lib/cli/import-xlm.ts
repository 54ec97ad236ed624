/**
 * `xlm-kd import-xlm`: converts a Facebook XLM checkpoint (.pth, a Python pickle) into a Teacher file with
 * XLM's parameter names, and its vocabulary, by running tools/convert-xlm-checkpoint.py with a Python that
 * has PyTorch (reading a pickle needs Python; everything after it runs in Node).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Teacher } from '../models/teacher';
import { parseFlags, required, str } from './args';
import type { CliIO } from './io';
import { packageRoot } from './package';

const importXlmUsage = `Usage: xlm-kd import-xlm --checkpoint MODEL.pth --out TEACHER.safetensors [options]

Converts a Facebook XLM checkpoint (trainer/MT or MLM-pretrained) into a Teacher file (safetensors,
XLM's parameter names) and writes its vocabulary one token per line. Needs a Python with torch:
--python, else the package's .venv, else python3 on PATH.

Options:
  -c, --checkpoint FILE  the .pth checkpoint; required
  -o, --out FILE         the teacher file; required
      --vocab FILE       vocabulary output (default: vocab.txt next to --out)
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

/** Runs `xlm-kd import-xlm`. */
export async function runImportXlm(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      checkpoint: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o' },
      vocab: { type: 'string' },
      python: { type: 'string' },
      'trust-pickle': { type: 'boolean' },
    },
    importXlmUsage,
    io
  );
  if (!v) return 0;
  const checkpoint = required(v, 'checkpoint');
  const out = required(v, 'out');
  if (!fs.existsSync(checkpoint)) throw new Error(`cannot read --checkpoint ${checkpoint}: no such file`);
  const python = findTorchPython(str(v, 'python'));
  const vocab = str(v, 'vocab') ?? path.join(path.dirname(path.resolve(out)), 'vocab.txt');
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const script = path.join(packageRoot, 'tools', 'convert-xlm-checkpoint.py');
  const argv = [script, checkpoint, out, '--vocab', vocab, ...(v['trust-pickle'] ? ['--trust-pickle'] : [])];
  const r = spawnSync(python, argv, { encoding: 'utf8' });
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ''}`.trim().split('\n');
    throw new Error(`the converter failed: ${lines[lines.length - 1] || `exit ${r.status}`}`);
  }
  if (r.stdout) io.stderr.write(r.stdout);
  const teacher = await Teacher.load(out);
  const c = teacher.config;
  io.stdout.write(
    `${out}: XLM teacher, ${c.encoderLayers}-${c.decoderLayers} layers, ${c.embDim} wide, ${c.nHeads} heads, ${c.vocabSize} words, ` +
      `${(teacher.numParameters() / 1e6).toFixed(1)}M parameters; vocabulary in ${vocab}\n`
  );
  return 0;
}
