/**
 * The `--model [NAME=]FILE` flag of `evaluate`, `bench` and `serve`: each model's name in tables and requests.
 * NAME when given; else the run folder for a run's `model.safetensors` (`runs/cut-kd/model.safetensors` ->
 * `cut-kd`), else the file's name without `.safetensors`; names that would still be equal get as much of their
 * path as tells them apart (`a/cut/model.safetensors`, `b/cut/model.safetensors` -> `a/cut`, `b/cut`).
 */
import * as path from 'node:path';
import { UsageError } from './io';

/** One `--model` value: its name and its file. */
export interface NamedModel {
  /** The name in tables and requests. */
  name: string;
  /** The model file. */
  file: string;
}

/** The path segments a name is made from, last first: without `.safetensors`, and without the file for `model.safetensors`. */
function segments(file: string): string[] {
  const parts = path.resolve(file).split(path.sep).filter(Boolean);
  const base = parts.pop() ?? file;
  const rest = base === 'model.safetensors' && parts.length > 0 ? parts : [...parts, base.replace(/\.safetensors$/, '')];
  return rest.reverse();
}

/**
 * Names the `--model` values (see the module comment). Two models given the same NAME are a usage error; the same
 * file twice without names is numbered (`cut`, `cut (2)`).
 */
export function namedModels(values: string[]): NamedModel[] {
  const given = values.map((v) => {
    const eq = v.indexOf('=');
    const file = eq > 0 ? v.slice(eq + 1) : v;
    if (file === '') throw new UsageError(`--model ${v}: no file after '='`);
    return { explicit: eq > 0 ? v.slice(0, eq) : undefined, file, resolved: path.resolve(file), parts: segments(file), depth: 1 };
  });
  const nameOf = (g: (typeof given)[number]) => g.explicit ?? g.parts.slice(0, g.depth).reverse().join('/');
  for (const g of given) {
    if (g.explicit !== undefined && given.some((o) => o !== g && o.explicit === g.explicit)) {
      throw new UsageError(`--model: two models are named '${g.explicit}'; give them different names`);
    }
  }
  // Lengthen the derived names that collide with another file's until they differ (or their paths run out).
  for (;;) {
    const clash = given.filter(
      (g) => g.explicit === undefined && g.depth < g.parts.length && given.some((o) => o.resolved !== g.resolved && nameOf(o) === nameOf(g))
    );
    if (clash.length === 0) break;
    for (const g of clash) g.depth += 1;
  }
  const seen = new Map<string, number>();
  return given.map((g) => {
    const base = nameOf(g);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { name: n === 1 ? base : `${base} (${n})`, file: g.file };
  });
}
