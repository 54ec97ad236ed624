// An exported XLM model (bench/reference/onnx_export.py) run by ONNX Runtime for Node behind the Seq2Seq
// decoding interface, so the very same beamSearch / greedy of lib/decode drive it: encode runs encoder.onnx,
// each decodeStep runs step.onnx once, and reorder only records which rows continue — the next step gathers
// them inside the graph (beam_idx), as ORT beam-search setups do. Log-probs come back as our tensors.
// onnxruntime-node is installed on first use into build/bench/ort (it is a benchmark tool, not a dependency).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, DIST } = require('./common');

const { tensor } = require(DIST);

const ORT_DIR = path.join(ROOT, 'build', 'bench', 'ort');
const ORT_VERSION = '1.30.0';

/** onnxruntime-node, installed into build/bench/ort when missing (its CUDA download skipped). */
function loadOrt() {
  const entry = path.join(ORT_DIR, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(entry)) {
    fs.mkdirSync(ORT_DIR, { recursive: true });
    if (!fs.existsSync(path.join(ORT_DIR, 'package.json'))) fs.writeFileSync(path.join(ORT_DIR, 'package.json'), '{"name":"bench-ort","private":true}\n');
    console.log(`installing onnxruntime-node@${ORT_VERSION} into ${path.relative(ROOT, ORT_DIR)} ...`);
    const r = spawnSync('npm', ['install', `onnxruntime-node@${ORT_VERSION}`, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], { cwd: ORT_DIR, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm install onnxruntime-node failed:\n${r.stderr}`);
  }
  return require(entry);
}

class OrtState {
  constructor(feeds, rows) {
    this.feeds = feeds; // src_mask, cross_*, past_self_* as ORT tensors (M rows)
    this.rows = rows; // M
    this.pending = null; // rows to continue (indices into the M rows), set by reorder
    this.step = 0;
  }
  get size() {
    return this.pending ? this.pending.length : this.rows;
  }
}

/** A Seq2Seq over encoder.onnx + step.onnx of one exported model. */
class OrtSeq2Seq {
  static async create(dir, { vocabSize, eosIndex, padIndex, threads }) {
    const ort = loadOrt();
    const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
    const [encoder, step] = await Promise.all([ort.InferenceSession.create(path.join(dir, 'encoder.onnx'), opts), ort.InferenceSession.create(path.join(dir, 'step.onnx'), opts)]);
    return new OrtSeq2Seq(ort, encoder, step, { vocabSize, eosIndex, padIndex });
  }

  constructor(ort, encoder, step, { vocabSize, eosIndex, padIndex }) {
    Object.assign(this, { ort, encoder, stepSession: step, vocabSize, eosIndex, padIndex, kind: 'onnxruntime' });
    this.crossNames = encoder.outputNames.slice(1);
    this.selfNames = step.inputNames.filter((n) => n.startsWith('past_self_')).map((n) => n.slice('past_'.length));
  }

  async encodeAsync(src, srcLen) {
    const [B, S] = src.shape;
    const out = await this.encoder.run({
      src: new this.ort.Tensor('int64', src.toArray(), [B, S]),
      src_len: new this.ort.Tensor('int64', srcLen.toArray(), [B]),
    });
    const feeds = { src_mask: out.src_mask };
    for (const n of this.crossNames) feeds[n] = out[n];
    const [, H, , dh] = out[this.crossNames[0]].dims;
    for (const n of this.selfNames) feeds[`past_${n}`] = new this.ort.Tensor('float32', new Float32Array(0), [B, H, 0, dh]);
    return new OrtState(feeds, B);
  }

  reorder(state, indices) {
    const idx = Array.from(indices.toArray(), Number);
    state.pending = state.pending ? idx.map((i) => state.pending[i]) : idx;
  }

  async decodeStepAsync(state, tokens) {
    const N = tokens.shape[0];
    const rows = state.pending ?? Array.from({ length: state.rows }, (_, i) => i);
    const out = await this.stepSession.run({
      ...state.feeds,
      tokens: new this.ort.Tensor('int64', tokens.toArray(), [N]),
      step: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(state.step)), []),
      beam_idx: new this.ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [N]),
    });
    const feeds = { src_mask: out.next_src_mask };
    for (const n of this.crossNames) feeds[n] = out[`next_${n}`];
    for (const n of this.selfNames) feeds[`past_${n}`] = out[`next_${n}`];
    state.feeds = feeds;
    state.rows = N;
    state.pending = null;
    state.step += 1;
    const lp = out.log_probs;
    return tensor(lp.data, { dtype: 'float32' }).view(N, lp.dims[1]);
  }

  eval() {
    return this;
  }
}

module.exports = { OrtSeq2Seq, loadOrt, ORT_VERSION };
