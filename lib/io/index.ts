// Public entry point of the I/O layer: safetensors reading/writing and the
// atomic file writer shared with checkpoints and metrics.

export * from './safetensors';
export * from './atomic-write';
export * from './tensor-io';
