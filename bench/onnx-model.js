// An exported model (bench/reference/onnx_export.py: an XLM transformer or a BiGRU student) run by ONNX Runtime for
// Node behind the Seq2Seq decoding interface, so the very same beamSearch / greedy of lib/decode drive it: encode
// runs encoder.onnx, each decodeStep runs step.onnx once, and reorder only records which rows continue — the
// next step gathers them inside the graph (beam_idx), as ORT beam-search setups do. Log-probs come back as our
// tensors. Both exports follow one naming rule (every step input but tokens / step / beam_idx is decoder state
// and comes back as next_<name>), so one adapter drives either kind.
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
    if (!fs.existsSync(path.join(ORT_DIR, 'package.json')))
      fs.writeFileSync(path.join(ORT_DIR, 'package.json'), '{"name":"bench-ort","private":true}\n');
    console.log(`installing onnxruntime-node@${ORT_VERSION} into ${path.relative(ROOT, ORT_DIR)} ...`);
    const r = spawnSync('npm', ['install', `onnxruntime-node@${ORT_VERSION}`, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], {
      cwd: ORT_DIR,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`npm install onnxruntime-node failed:\n${r.stderr}`);
  }
  return require(entry);
}

/** Step inputs that are not decoder state: the tokens, the transformer's position, the rows to continue. */
const CONTROLS = new Set(['tokens', 'step', 'beam_idx']);

/** The step output carrying state input `name` on (the transformer's past_self_* come back as next_self_*). */
const nextName = (name) => `next_${name.replace(/^past_/, '')}`;

class OrtState {
  constructor(feeds, rows) {
    this.feeds = feeds; // the step's state inputs as ORT tensors (M rows)
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
    const [encoder, step] = await Promise.all([
      ort.InferenceSession.create(path.join(dir, 'encoder.onnx'), opts),
      ort.InferenceSession.create(path.join(dir, 'step.onnx'), opts),
    ]);
    return new OrtSeq2Seq(ort, encoder, step, { vocabSize, eosIndex, padIndex });
  }

  constructor(ort, encoder, step, { vocabSize, eosIndex, padIndex }) {
    Object.assign(this, { ort, encoder, stepSession: step, vocabSize, eosIndex, padIndex, kind: 'onnxruntime' });
    this.stateNames = step.inputNames.filter((n) => !CONTROLS.has(n));
    this.positional = step.inputNames.includes('step'); // the transformer's position embeddings need it
  }

  async encodeAsync(src, srcLen) {
    const [B, S] = src.shape;
    const out = await this.encoder.run({
      src: new this.ort.Tensor('int64', src.toArray(), [B, S]),
      src_len: new this.ort.Tensor('int64', srcLen.toArray(), [B]),
    });
    const feeds = {};
    for (const n of this.stateNames) feeds[n] = out[n] ?? this.emptyCache(out, B);
    return new OrtState(feeds, B);
  }

  /** A state input the encoder does not give is a transformer self-attention cache, empty before the first step. */
  emptyCache(out, B) {
    const [, H, , dh] = out.cross_k_0.dims;
    return new this.ort.Tensor('float32', new Float32Array(0), [B, H, 0, dh]);
  }

  reorder(state, indices) {
    const idx = Array.from(indices.toArray(), Number);
    state.pending = state.pending ? idx.map((i) => state.pending[i]) : idx;
  }

  async decodeStepAsync(state, tokens) {
    const N = tokens.shape[0];
    const rows = state.pending ?? Array.from({ length: state.rows }, (_, i) => i);
    const feeds = {
      ...state.feeds,
      tokens: new this.ort.Tensor('int64', tokens.toArray(), [N]),
      beam_idx: new this.ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [N]),
    };
    if (this.positional) feeds.step = new this.ort.Tensor('int64', BigInt64Array.of(BigInt(state.step)), []);
    const out = await this.stepSession.run(feeds);
    state.feeds = Object.fromEntries(this.stateNames.map((n) => [n, out[nextName(n)]]));
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
