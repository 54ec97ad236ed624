/**
 * The translation service: `serve(models, options)` and its options. The HTTP stack (fastify, prom-client)
 * loads on the first serve() call, so importing the package does not pay for it.
 */
import type { ModelSource, ServeHandle } from './server';
import type { ServeOptions } from './options';

export { SERVE_DEFAULTS, resolveServeOptions } from './options';
export type { BatchingMode, ServeOptions, ResolvedServeOptions } from './options';
export type { ModelSource, ServeHandle } from './server';
export type { ServeMetrics } from './metrics';

/**
 * Serves `models` (name → a model file with its tokenizer.model beside it, or a loaded `{ model, tokenizer }`;
 * the first is the default) over HTTP: POST /translate, GET /models, /health, /metrics and a page at /.
 * Resolves once the models are loaded and the service listens; see {@link ServeOptions} and {@link ServeHandle}.
 */
export async function serve(models: Record<string, ModelSource>, options: ServeOptions = {}): Promise<ServeHandle> {
  const server = await import('./server');
  return server.serve(models, options);
}
