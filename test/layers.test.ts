// The architecture's layer order holds: lib/ by dependency-cruiser's rules (.dependency-cruiser.cjs, also run by
// `npm test` before the tests), native/ by its #include graph against the table below (docs/architecture.md
// draws both). Each check is also shown to fail on a planted back-edge.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');

/** native/'s folders, lowest first: a folder may include its own headers and those of the layers below. */
const NATIVE_LAYERS = [['common'], ['memory', 'tensor', 'inference', 'loss', 'optim', 'tokenizer', 'distributed', 'cuda', 'io'], ['modules']];

function cruise(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(depcruise, ['lib', '--config', '.dependency-cruiser.cjs'], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('lib/: no import points up the layer stack and no module cycle', (t) => {
  const r = cruise(root);
  t.is(r.status, 0, r.out);
  t.regex(r.out, /no dependency violations found/);
});

test('lib/: a planted back-edge (models importing cli) fails the check, naming the rule and both files', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-layers-'));
  try {
    fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true });
    for (const f of ['tsconfig.json', '.dependency-cruiser.cjs']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
    const file = path.join(dir, 'lib', 'models', 'teacher.ts');
    fs.writeFileSync(file, "import { UsageError } from '../cli/io';\nexport const planted = UsageError;\n" + fs.readFileSync(file, 'utf8'));
    const r = cruise(dir);
    t.is(r.status, 1, r.out);
    t.regex(r.out, /error layer-models: lib\/models\/teacher\.ts → lib\/cli\/io\.ts/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Folder-to-folder #include edges of native/ (addon.cc, at the top, is left out). */
function nativeEdges(dir: string): Array<{ from: string; to: string; file: string }> {
  const edges: Array<{ from: string; to: string; file: string }> = [];
  for (const folder of fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const f of fs.readdirSync(path.join(dir, folder.name))) {
      const text = fs.readFileSync(path.join(dir, folder.name, f), 'utf8');
      for (const m of text.matchAll(/^#include "([a-z_]+)\//gm)) {
        if (m[1] !== folder.name) edges.push({ from: folder.name, to: m[1], file: `${folder.name}/${f}` });
      }
    }
  }
  return edges;
}

/** The edges that point sideways or up in `layers`, as messages. */
function violations(edges: Array<{ from: string; to: string; file: string }>, layers: string[][]): string[] {
  const level = new Map(layers.flatMap((l, i) => l.map((f) => [f, i] as const)));
  return edges
    .filter((e) => level.get(e.from) === undefined || level.get(e.to) === undefined || level.get(e.to)! >= level.get(e.from)!)
    .map((e) => `${e.file} includes ${e.to}/ (${e.from} is at layer ${level.get(e.from) ?? '?'}, ${e.to} at ${level.get(e.to) ?? '?'})`);
}

test('native/: every #include between folders points down the layer table, so the folders form no cycle', (t) => {
  const edges = nativeEdges(path.join(root, 'native'));
  t.true(edges.length > 30, `${edges.length} edges read`);
  t.deepEqual(violations(edges, NATIVE_LAYERS), []);
  // Every folder is in the table.
  const folders = fs
    .readdirSync(path.join(root, 'native'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  t.deepEqual(
    folders.filter((f) => !NATIVE_LAYERS.flat().includes(f)),
    []
  );
});

test('native/: a planted back-edge (common including tensor, the old cycle) is reported', (t) => {
  const edges = [...nativeEdges(path.join(root, 'native')), { from: 'common', to: 'tensor', file: 'common/convert.cc' }];
  t.deepEqual(violations(edges, NATIVE_LAYERS), ['common/convert.cc includes tensor/ (common is at layer 0, tensor at 1)']);
});
