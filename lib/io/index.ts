// Public entry point of the I/O layer: safetensors reading/writing and the
// atomic file writers shared with checkpoints, metrics and data folders.

export * from './safetensors';
export * from './atomic-write';
export * from './tensor-io';
export * from './text-writer';
