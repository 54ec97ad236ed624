/**
 * Scoped ownership for tensors: `tidy(fn)` disposes every tensor created inside `fn` except what it
 * returns, so loops that make temporaries do not depend on the garbage collector to free native memory.
 */

/** Anything a scope can own. The Tensor class implements it. */
export interface Disposable {
  /** Frees what it holds now. */
  dispose(): void;
  /** Whether it was freed already. */
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];

/** Called by every new Tensor: the innermost open scope, if any, takes ownership. */
export function track(t: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

/** Takes `t` out of the innermost scope so `tidy` will not dispose it. Returns `t`. */
export function keep<D extends Disposable>(t: D): D {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectReturned(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isDisposable(value)) {
    out.add(value);
    return;
  }
  const children = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of children) collectReturned(v, out, depth + 1);
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && 'isDisposed' in v;
}

/**
 * Runs `fn` and disposes every tensor it created, except those in its return value (a tensor, or
 * tensors inside returned arrays/objects/Maps), which move to the enclosing scope. `fn` must be
 * synchronous: a scope cannot follow an `await`.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy: fn must be synchronous (it returned a Promise); dispose async results yourself');
  }
  const returned = new Set<Disposable>();
  collectReturned(result, returned);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
