#!/usr/bin/env node
// Fast CPU inference of the quality run's students (runs/quality-v2/full-de): sentences/s and BLEU of greedy and
// beam-5 decoding for float32 (as trained), prepacked float32, int8, and int8 + a vocabulary shortlist — ours
// (lib/decode on model.prepack() / model.quantize(), DecodeOptions.shortlist) against the plain-PyTorch
// decoder (bench/reference/beam.py) in float32 and with torch.ao's quantize_dynamic on the same layers — on
// the same test sentences, length-sorted batches of 32, threads and allocator settings (the tuned reference),
// rounds alternating; and against ONNX Runtime for Node (each student exported by bench/reference/onnx_export.py:
// the encoder, and one decoder step with its caches or recurrent state as inputs and outputs, driven by the same
// lib/decode beam search through bench/onnx-model.js). BLEU (sacreBLEU 13a) of the detokenized best hypotheses
// against the references.
// Writes BENCHMARKS.md section "fast-inference".
//
// Usage: node bench/fast-inference.js [--run DIR] [--rounds N] [--quick]
//        (--quick: the first 64 test sentences, the cut student only, one round, writes nothing)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const {
  ROOT,
  DIST,
  PY,
  REFERENCE,
  QUICK,
  SKIPPED,
  arg,
  median,
  spread,
  machineLine,
  referenceEnvs,
  describeEnv,
  runMain,
  report,
} = require('./common');
const { decodeOurs, decodeReference } = require('./decoding');
const { OrtSeq2Seq, ORT_VERSION } = require('./onnx-model');

const { DEFAULT_RUN, runFiles } = require('./quality');

const { SentencePiece, Shortlist, loadModel, readSplit, bleu, version, allocatorInfo } = require(DIST);

const RUN = path.resolve(arg('--run', DEFAULT_RUN));
const FILES = runFiles(RUN);
const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const SENTENCES = QUICK ? 64 : Infinity;
const MODELS = QUICK ? ['cut-ce-s1'] : ['cut-ce-s1', 'bigru-lr2-ce-s1'];
const BATCH = 32;
const BEAM = 5;
const SHORTLIST = { perSource: Number(arg('--per-source', '20')), frequent: Number(arg('--frequent', '100')) };

const ORT = { id: 'ort', label: 'ONNX Runtime float32' };
const OURS = [
  { id: 'fp32', label: 'float32' },
  { id: 'packed', label: 'prepacked float32', prepare: (m) => m.prepack() },
  { id: 'int8', label: 'int8', prepare: (m) => m.quantize({ dtype: 'int8' }) },
  { id: 'int8-shortlist', label: 'int8 + shortlist', prepare: (m) => m.quantize({ dtype: 'int8' }), shortlist: true },
];
/** The model exported to ONNX (bench/reference/onnx_export.py; installs the onnx package into .venv if missing). */
function exportOnnx(file, dir) {
  if (spawnSync(PY, ['-c', 'import onnx']).status !== 0) {
    const r = spawnSync(PY, ['-m', 'pip', 'install', '--retries', '0', '--timeout', '15', '-q', 'onnx'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pip install onnx failed (the ONNX export needs it):\n${r.stderr}`);
  }
  const r = spawnSync(PY, [path.join(REFERENCE, 'onnx_export.py'), file, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx_export.py ${file} failed:\n${r.stderr}`);
}

const REFS = [
  { id: 'ref-fp32', label: 'PyTorch float32', int8: false },
  { id: 'ref-int8', label: 'PyTorch int8 (quantize_dynamic)', int8: true },
];

/** The shortlist of the run's training split, built once and kept in the run folder. */
async function shortlistOf(tok, train, vocabSize, eos) {
  const file = path.join(RUN, `shortlist-${SHORTLIST.perSource}-${SHORTLIST.frequent}.safetensors`);
  if (fs.existsSync(file)) return Shortlist.load(file);
  const t0 = Date.now();
  const src = await tok.encodeAsync(train.map((p) => p.src));
  const tgt = await tok.encodeAsync(train.map((p) => p.tgt));
  const list = Shortlist.build(
    src.map((s, i) => ({ src: s, tgt: tgt[i] })),
    { vocabSize, ...SHORTLIST, always: [eos, 3] }
  );
  await list.save(file);
  console.log(
    `shortlist: ${train.length} training pairs, ${SHORTLIST.perSource} per source token + ${SHORTLIST.frequent} frequent, built in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.relative(ROOT, file)}`
  );
  return list;
}

async function main() {
  if (!fs.existsSync(path.join(FILES.data, 'data.json')) || !MODELS.every((m) => fs.existsSync(path.join(FILES.models, `${m}.safetensors`)))) {
    console.log(`fast-inference needs the quality run's students (${MODELS.join(', ')}): make them with \`npm run bench:quality\`.`);
    console.log(`fast-inference: skipped: ${path.relative(ROOT, RUN)} lacks them`);
    process.exit(SKIPPED);
  }
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-inference-'));
  try {
    const corpus = { train: await readSplit(FILES.data, 'train'), test: await readSplit(FILES.data, 'test') };
    const tok = await SentencePiece.load(FILES.tokenizer);
    const test = corpus.test.slice(0, SENTENCES);
    const encoded = await tok.encodeAsync(test.map((x) => x.src));
    const keep = encoded.map((ids, i) => i).filter((i) => encoded[i].length > 0);
    const sources = keep.map((i) => encoded[i]);
    const refs = keep.map((i) => test[i].tgt);
    const srcFile = path.join(dir, 'sources.json');
    fs.writeFileSync(srcFile, JSON.stringify(sources));
    const info = version();
    const alloc = allocatorInfo();
    const envs = referenceEnvs(alloc);
    const loadBefore = os.loadavg()[0];
    const score = (hyps) => bleu(tok.decode(hyps), refs).score;
    const rows = [];
    for (const name of MODELS) {
      const file = path.join(FILES.models, `${name}.safetensors`);
      const base = await loadModel(file);
      vocabSize = base.vocabSize;
      const list = await shortlistOf(tok, corpus.train, base.vocabSize, base.eosIndex);
      const batches = [];
      for (let s = 0; s < sources.length; s += BATCH) batches.push(list.candidates(sources.slice(s, s + BATCH)).length);
      const models = {};
      for (const v of OURS) models[v.id] = v.prepare ? v.prepare(await loadModel(file)) : base;
      const onnxDir = path.join(dir, `onnx-${name}`);
      exportOnnx(file, onnxDir);
      models.ort = await OrtSeq2Seq.create(onnxDir, {
        vocabSize: base.vocabSize,
        eosIndex: base.eosIndex,
        padIndex: base.padIndex,
        threads: info.threads,
      });
      const ours = [...OURS, ORT];
      for (const beam of [1, BEAM]) {
        const search = beam === 1 ? 'greedy' : `beam ${beam}`;
        const runs = Object.fromEntries([...ours, ...REFS].map((v) => [v.id, []]));
        const runOurs = (v, these = sources) => decodeOurs(models[v.id], these, beam, BATCH, { shortlist: v.shortlist ? list : false });
        for (const v of ours) await runOurs(v, sources.slice(0, BATCH)); // warm-up
        for (let r = 0; r < ROUNDS; r++) {
          const sides = [
            ...ours.map((v) => async () => runs[v.id].push(await runOurs(v))),
            ...REFS.map(
              (v) => async () =>
                runs[v.id].push(decodeReference(file, srcFile, beam, dir, envs.tuned, { batchSize: BATCH, threads: info.threads, int8: v.int8 }))
            ),
          ];
          if (r % 2) sides.reverse();
          for (const side of sides) await side();
        }
        const fp32 = runs.fp32[0];
        const row = { name, search, cells: {} };
        for (const v of [...ours, ...REFS]) {
          const first = runs[v.id][0];
          row.cells[v.id] = {
            rate: runs[v.id].map((x) => sources.length / x.seconds),
            bleu: score(first.hyps),
            same: first.hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(fp32.hyps[i])).length,
          };
        }
        rows.push(row);
        console.log(
          `${name} ${search}: ` +
            [...ours, ...REFS]
              .map((v) => `${v.id} ${median(row.cells[v.id].rate).toFixed(1)} sent/s BLEU ${row.cells[v.id].bleu.toFixed(2)}`)
              .join('; ')
        );
      }
      rows.filter((r) => r.name === name).forEach((r) => (r.candidates = batches));
    }
    const speed = (c, ref) => `${spread(c.rate)} (${(median(c.rate) / ref).toFixed(2)}×)`;
    const md = [
      '## Fast CPU inference of the students (`node bench/fast-inference.js`)',
      '',
      `The quality run's students (${path.relative(ROOT, RUN)}) on its ${sources.length} non-empty test sentences, SentencePiece ids ` +
        `in memory, length-sorted batches of ${BATCH}, greedy and beam ${BEAM} (length penalty 1, max length 1.5·|src| + 10), ` +
        `${info.threads} threads. Ours: float32 as trained; \`model.prepack()\` (decoder linear layers and output layer reordered ` +
        'once for oneDNN); `model.quantize({ dtype: "int8" })` (the same layers int8 per output channel, activations quantized per ' +
        'call by fbgemm); and int8 with a vocabulary shortlist (`Shortlist.build` on the training split: ' +
        `${SHORTLIST.perSource} target tokens per source token by Dice co-occurrence, the ${SHORTLIST.frequent} most frequent target ` +
        'tokens, `</s>` and `<unk>`; per batch the union). Reference: bench/reference/beam.py, plain PyTorch eager in float32, and ' +
        'with `torch.ao.quantization.quantize_dynamic` (per_channel_dynamic_qconfig) on the same layers; run tuned ' +
        `(${describeEnv(envs.tuned)}). ONNX Runtime: onnxruntime-node ${ORT_VERSION} on the student exported by ` +
        "bench/reference/onnx_export.py (the encoder, and one decoder step with its state in and out; the BiGRU's encoder GRU " +
        `masked instead of packed), driven by our greedy and beam search. ${ROUNDS} round(s), the order of the seven runs ` +
        'reversed every other round; median sent/s (slowest–fastest), × = against PyTorch float32. BLEU: sacreBLEU 13a of the ' +
        'first round\'s hypotheses; "same" = best hypothesis equal to our float32 one. Sentences/s count decoding only.',
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': alloc.cpu })}; 1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
      '',
      '| model | search | PyTorch float32 | PyTorch int8 | ONNX Runtime float32 | ours float32 | ours prepacked | ours int8 | ours int8 + shortlist |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const ref = median(r.cells['ref-fp32'].rate);
        const ids = ['ref-fp32', 'ref-int8', 'ort', 'fp32', 'packed', 'int8', 'int8-shortlist'];
        return `| ${r.name} | ${r.search} | ${ids.map((id) => (r.cells[id] ? speed(r.cells[id], ref) : '–')).join(' | ')} |`;
      }),
      '',
      '| model | search | BLEU: PyTorch float32 | PyTorch int8 | ONNX Runtime float32 | ours float32 | ours prepacked | ours int8 | ours int8 + shortlist | same as our float32 (ONNX Runtime / prepacked / int8 / int8 + shortlist) | shortlist candidates per batch |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const ids = ['ref-fp32', 'ref-int8', 'ort', 'fp32', 'packed', 'int8', 'int8-shortlist'];
        const c = r.candidates;
        const same = ['ort', 'packed', 'int8', 'int8-shortlist'].map((id) => (r.cells[id] ? r.cells[id].same : '–')).join(' / ');
        return `| ${r.name} | ${r.search} | ${ids.map((id) => (r.cells[id] ? r.cells[id].bleu.toFixed(2) : '–')).join(' | ')} | ${same} of ${sources.length} | ${median(c)} (${Math.min(...c)}–${Math.max(...c)}) of ${vocabSize} |`;
      }),
      '',
    ].join('\n');
    report('fast-inference', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let vocabSize = 0;

runMain(main);
