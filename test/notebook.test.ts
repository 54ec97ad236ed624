// The quick-start notebook (examples/quickstart.ipynb) executed headless by scripts/run-notebook.sh with
// .venv's Jupyter and tslab's TypeScript kernel: every cell runs, the test-set cell prints finite BLEU and
// chrF for the teacher and the student, the metrics table and both training curves (SVG) are displayed,
// and the temporary run folder is removed. A copy with one broken cell (a library error, a rejected await,
// a TypeScript type error) fails the run, and the error names what broke. Needs scripts/setup.sh (Jupyter
// in .venv, the tslab kernel, examples/node_modules/xlm-kd-torch): without it these tests fail, not skip.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const runner = path.join(root, 'scripts', 'run-notebook.sh');
const quickstart = path.join(root, 'examples', 'quickstart.ipynb');

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
}
interface Cell {
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
}

const join = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join('') : (s ?? ''));

/** What is missing for running notebooks, as a message that says how to fix it; null when all is there. */
function setupProblem(): string | null {
  const missing = [
    ['.venv/bin/jupyter', 'Jupyter in .venv'],
    ['.venv/share/jupyter/kernels/tslab/kernel.json', "tslab's TypeScript kernel registered with .venv's Jupyter"],
    ['examples/node_modules/xlm-kd-torch', 'the link examples/node_modules/xlm-kd-torch -> ../.. (the package name for tslab)'],
    ['node_modules/.bin/tslab', 'tslab (npm devDependency)'],
  ].filter(([file]) => !fs.existsSync(path.join(root, file)));
  if (missing.length === 0) return null;
  return `notebook setup missing: ${missing.map(([file, what]) => `${what} (${file})`).join('; ')}. Run scripts/setup.sh (it runs scripts/setup-notebook.sh).`;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** scripts/run-notebook.sh NOTEBOOK OUT, with TMPDIR set to `tmpdir` so the notebook's run folder lands there. */
function runNotebook(notebook: string, out: string, tmpdir: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const p = spawn('bash', [runner, notebook, out], { cwd: root, env: { ...process.env, TMPDIR: tmpdir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

function requireSetup(t: ExecutionContext): boolean {
  const problem = setupProblem();
  if (problem) t.fail(problem);
  return problem === null;
}

const readNotebook = (file: string): Notebook => JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
const cellById = (nb: Notebook, id: string): Cell => {
  const cell = nb.cells.find((c) => c.id === id);
  if (!cell) throw new Error(`examples/quickstart.ipynb has no cell '${id}'`);
  return cell;
};

test.serial('the quick-start notebook runs headless: finite BLEU/chrF, a metrics table and two SVG curves', async (t) => {
  if (!requireSetup(t)) return;
  const committed = readNotebook(quickstart);
  t.true(
    committed.cells.every((c) => c.cell_type !== 'code' || ((c.outputs ?? []).length === 0 && c.execution_count == null)),
    'the committed notebook has no outputs'
  );
  t.is((committed.metadata.kernelspec as { name?: string } | undefined)?.name, 'tslab');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebook-test-'));
  try {
    const r = await runNotebook(quickstart, path.join(tmp, 'out'), tmp);
    t.log(`notebook executed in ${r.seconds.toFixed(1)} s`);
    t.is(r.status, 0, `run-notebook.sh failed:\n${r.stderr.slice(-4000)}`);
    if (r.status !== 0) return;
    const nb = readNotebook(path.join(tmp, 'out', 'quickstart.ipynb'));
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    t.true(code.length >= 6);
    for (const c of code) {
      // tslab sends no execution counts; every code cell of this notebook prints or displays something.
      t.true((c.outputs ?? []).length > 0, `cell ${c.id} ran and has outputs`);
      t.deepEqual(
        (c.outputs ?? []).filter((o) => o.output_type === 'error').map((o) => o.ename),
        [],
        `cell ${c.id} has no error`
      );
    }
    const stdout = (c: Cell) =>
      (c.outputs ?? [])
        .filter((o) => o.output_type === 'stream' && o.name === 'stdout')
        .map((o) => join(o.text))
        .join('');
    const displays = nb.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'display_data'));

    // Test-set scores of both models, printed by the evaluation cell.
    const scores = stdout(cellById(nb, 'cell-10'));
    for (const model of ['teacher', 'student']) {
      const m = new RegExp(`^${model}: BLEU (\\S+), chrF (\\S+), (\\S+) sentences/s$`, 'm').exec(scores);
      t.truthy(m, `the evaluation cell prints the ${model}'s scores:\n${scores}`);
      if (!m) continue;
      const [bleu, chrf, speed] = m.slice(1).map(Number);
      t.true(Number.isFinite(bleu) && bleu >= 0 && bleu <= 100, `${model} BLEU ${m[1]}`);
      t.true(Number.isFinite(chrf) && chrf >= 0 && chrf <= 100, `${model} chrF ${m[2]}`);
      t.true(Number.isFinite(speed) && speed > 0, `${model} sentences/s ${m[3]}`);
    }
    // The metrics table (markdown) and the two training curves (SVG) are rich outputs.
    const table = displays.map((o) => join(o.data?.['text/markdown'])).find((s) => s.includes('| model |'));
    t.truthy(table, 'a markdown metrics table is displayed');
    t.regex(table ?? '', /^\| teacher \| 2\+2 \| [\d,]+ \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d \|$/m);
    t.regex(table ?? '', /^\| student \| 2\+1 \| [\d,]+ \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d \|$/m);
    const svgs = displays.map((o) => join(o.data?.['image/svg+xml'])).filter((s) => s !== '');
    t.is(svgs.length, 2, 'the teacher and student curves are displayed');
    for (const svg of svgs)
      t.true(svg.startsWith('<svg') && svg.includes('train loss') && svg.includes('BLEU'), 'an SVG with the loss and BLEU curves');
    // The run folder was a temporary one (under TMPDIR) and the last cell removed it.
    const folder = /run folder (\S+)/.exec(stdout(cellById(nb, 'cell-01')))?.[1] ?? '';
    t.true(folder.startsWith(tmp + path.sep), `run folder ${folder} is under TMPDIR`);
    t.false(fs.existsSync(folder), 'the last cell removed the run folder');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/**
 * Copies the quick-start notebook into a fresh temporary folder, with `edit` applied to the source of cell
 * `id`; the folder gets node_modules/xlm-kd-torch -> this repository, as a project that installed it would.
 */
function brokenCopy(id: string, edit: (source: string) => string): { tmp: string; notebook: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebook-test-'));
  const nb = readNotebook(quickstart);
  const cell = cellById(nb, id);
  const source = join(cell.source);
  const changed = edit(source);
  if (changed === source) throw new Error(`the edit changed nothing in cell ${id}:\n${source}`);
  cell.source = changed;
  fs.mkdirSync(path.join(tmp, 'node_modules'));
  fs.symlinkSync(root, path.join(tmp, 'node_modules', 'xlm-kd-torch'));
  const notebook = path.join(tmp, 'broken.ipynb');
  fs.writeFileSync(notebook, JSON.stringify(nb, null, 1));
  return { tmp, notebook };
}

const broken = [
  {
    what: 'a library error (a language without catalogs)',
    cell: 'cell-03',
    edit: (s: string) => s.replace('lang: "de"', 'lang: "xx-none"'),
    error: /Error: loadGettextCorpus: no gettext catalogs for language 'xx-none'/,
  },
  {
    what: 'a rejected await',
    cell: 'cell-04',
    edit: (s: string) => `${s}\nawait Promise.reject(new Error("broken on purpose: notebook.test"));`,
    error: /Error: broken on purpose: notebook\.test/,
  },
  {
    what: 'a TypeScript type error',
    cell: 'cell-03',
    edit: (s: string) => s.replace('maxPairs: 1500', 'maxPairs: "1500"'),
    error: /Type 'string' is not assignable to type 'number'/,
  },
];

for (const b of broken) {
  test.serial(`a failing cell fails the run: ${b.what}`, async (t) => {
    if (!requireSetup(t)) return;
    const { tmp, notebook } = brokenCopy(b.cell, b.edit);
    try {
      const r = await runNotebook(notebook, path.join(tmp, 'out'), tmp);
      t.log(`failed run took ${r.seconds.toFixed(1)} s`);
      t.is(r.status, 1, `run-notebook.sh must exit 1; stdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`);
      t.regex(r.stderr, /CellExecutionError/);
      t.regex(r.stderr, b.error, 'the error of the broken cell is reported');
      const original = join(cellById(readNotebook(quickstart), b.cell).source).split('\n');
      const brokenLine =
        b
          .edit(original.join('\n'))
          .split('\n')
          .find((l) => !original.includes(l)) ?? '';
      t.true(r.stderr.includes(brokenLine), `the broken cell is quoted (${brokenLine})`);
      t.regex(r.stderr, /run-notebook: FAILED/);
      t.false(fs.existsSync(path.join(tmp, 'out', 'broken.ipynb')), 'no executed notebook is written');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
