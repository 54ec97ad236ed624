// Loading a Facebook XLM checkpoint: tools/convert-xlm-checkpoint.py turns an XLM `.pth` (a trainer/MT
// checkpoint with `encoder` + `decoder`, or an MLM one with `model`) into an "xlm-teacher" safetensors file and
// a vocab.txt; Teacher.load reads it. Shown: the config taken from the weights, the parameter names (XLM's own,
// with `module.` stripped) and values equal to the checkpoint's, a forward pass and a greedy translation.
// Without a path, a small synthetic checkpoint in Facebook's layout (random weights, so the "translation"
// is noise) is written first with PyTorch.
//
//   node examples/load-xlm-checkpoint.js [CHECKPOINT.pth] [--sentence TEXT] [--src-lang en --tgt-lang fr]
//        [--trust-pickle] [--quick] [--out DIR]
// Needs a Python with torch: the project's .venv (scripts/setup.sh makes it), else python3 on PATH.
// Real XLM checkpoints hold an argparse Namespace, which torch.load(weights_only=True) refuses: pass
// --trust-pickle for a file you trust. The sentence is looked up word by word in the vocabulary (no BPE).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Teacher, Batch, greedy, noGrad, tidy } = require('..');
const { log, fmt, parseArgs, outDir, run } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const CONVERTER = path.join(ROOT, 'tools', 'convert-xlm-checkpoint.py');
const USAGE =
  'usage: node examples/load-xlm-checkpoint.js [CHECKPOINT.pth] [--sentence TEXT] [--src-lang L --tgt-lang L] [--trust-pickle] [--quick] [--out DIR]';

/** The first Python that has torch: the project's .venv, then python3 (checked without importing torch). */
function findPython() {
  const probe = 'import importlib.metadata as m, importlib.util as u, sys; sys.exit(u.find_spec("torch") is None or print(m.version("torch")))';
  for (const py of [path.join(ROOT, '.venv', 'bin', 'python'), 'python3']) {
    const r = spawnSync(py, ['-c', probe], { encoding: 'utf8' });
    if (r.status === 0) return { py, torch: r.stdout.trim() };
  }
  return undefined;
}

function python(py, args, what) {
  const r = spawnSync(py, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  return r.stdout;
}

// Names (`module.` stripped) and the sum of every tensor of a checkpoint's two sides: what the converted file
// must hold. An MLM checkpoint's one "model" stands for both sides.
const SUMS = String.raw`
def sums(ckpt):
    sides = {"encoder": ckpt["encoder"], "decoder": ckpt["decoder"]} if "encoder" in ckpt else {"encoder": ckpt["model"], "decoder": ckpt["model"]}
    out = {}
    for side, sd in sides.items():
        strip = all(k.startswith("module.") for k in sd)
        for k, v in sd.items():
            out[side + "." + (k[7:] if strip else k)] = v.double().sum().item()
    return out
`;

// Writes a checkpoint as XLM's trainer saves one for MT: {"encoder", "decoder"} state dicts of
// TransformerModel (keys prefixed "module." as under DistributedDataParallel; each side's output layer
// pred_layer.proj.weight shares storage with its embeddings), "params" and "dico_id2word".
const MAKE_CHECKPOINT =
  SUMS +
  String.raw`
import json, sys, torch
out, cfg = sys.argv[1], json.loads(sys.argv[2])
V, D, H, P, langs, words = cfg["vocab"], cfg["dim"], cfg["heads"], cfg["positions"], cfg["langs"], cfg["words"]
torch.manual_seed(0)
def linear(sd, name, o, i):
    sd[name + ".weight"] = torch.randn(o, i) * i ** -0.5
    sd[name + ".bias"] = torch.randn(o) * 0.02
def norm(sd, name):
    sd[name + ".weight"] = 1 + 0.1 * torch.randn(D)
    sd[name + ".bias"] = 0.1 * torch.randn(D)
def transformer(layers, is_decoder):
    sd = {}
    emb = torch.randn(V, D) * D ** -0.5
    emb[2] = 0  # <pad>
    sd["position_embeddings.weight"] = torch.randn(P, D) * D ** -0.5
    if len(langs) > 1:
        sd["lang_embeddings.weight"] = torch.randn(len(langs), D) * D ** -0.5
    sd["embeddings.weight"] = emb
    norm(sd, "layer_norm_emb")
    for i in range(layers):
        for lin in ("q_lin", "k_lin", "v_lin", "out_lin"):
            linear(sd, f"attentions.{i}.{lin}", D, D)
        norm(sd, f"layer_norm1.{i}")
        if is_decoder:
            for lin in ("q_lin", "k_lin", "v_lin", "out_lin"):
                linear(sd, f"encoder_attn.{i}.{lin}", D, D)
            norm(sd, f"layer_norm15.{i}")
        linear(sd, f"ffns.{i}.lin1", 4 * D, D)
        linear(sd, f"ffns.{i}.lin2", D, 4 * D)
        norm(sd, f"layer_norm2.{i}")
    sd["pred_layer.proj.weight"] = emb  # tied: the same tensor
    sd["pred_layer.proj.bias"] = 0.01 * torch.randn(V)
    return {"module." + k: v for k, v in sd.items()}
vocab = ["<s>", "</s>", "<pad>", "<unk>"] + words
vocab += [f"w{i}@@" for i in range(V - len(vocab))]
params = {
    "n_words": V, "emb_dim": D, "n_heads": H, "n_layers": cfg["enc"], "n_enc_layers": cfg["enc"], "n_dec_layers": cfg["dec"],
    "dropout": 0.1, "attention_dropout": 0.1, "gelu_activation": True, "sinusoidal_embeddings": False, "share_inout_emb": True,
    "bos_index": 0, "eos_index": 1, "pad_index": 2, "unk_index": 3, "n_langs": len(langs), "use_lang_emb": True,
    "id2lang": dict(enumerate(langs)), "lang2id": {l: i for i, l in enumerate(langs)}, "mt_steps": [(langs[0], langs[-1])],
    "max_vocab": -1, "dump_path": "/checkpoints/synthetic",
}
ckpt = {"encoder": transformer(cfg["enc"], False), "decoder": transformer(cfg["dec"], True), "params": params,
        "dico_id2word": dict(enumerate(vocab)), "epoch": 0}
torch.save(ckpt, out)
print(f"wrote {out}: {V} words, {D} wide, {cfg['enc']}+{cfg['dec']} layers, languages {langs}")
print(json.dumps(sums(ckpt)))
`;

const INSPECT =
  SUMS +
  String.raw`
import json, sys, torch
print(json.dumps(sums(torch.load(sys.argv[1], map_location="cpu", weights_only=sys.argv[2] != "trust"))))
`;

run(async () => {
  const args = parseArgs(
    USAGE,
    {
      sentence: { type: 'string' },
      'src-lang': { type: 'string' },
      'tgt-lang': { type: 'string' },
      'trust-pickle': { type: 'boolean', default: false },
    },
    { positionals: true, trains: false }
  );
  const found = findPython();
  if (!found) {
    console.error('No Python with torch found (tried .venv/bin/python and python3): run scripts/setup.sh, or pip install torch safetensors');
    process.exit(3);
  }
  log(`Python: ${found.py} (torch ${found.torch})`);
  const out = outDir(args, 'load-xlm-checkpoint');
  log(`output folder: ${out}`);

  // 1. The checkpoint: the one given, or a synthetic one in Facebook's layout.
  let pth = args.positionals[0] && path.resolve(args.positionals[0]);
  const synthetic = !pth;
  let expected; // name -> sum of the checkpoint's tensors
  if (synthetic) {
    pth = path.join(out, 'synthetic-xlm.pth');
    const words = [
      'the@@',
      'the',
      'file',
      'could',
      'not',
      'be',
      'opened',
      'open',
      'save',
      '.',
      'le',
      'fichier',
      'ouvrir',
      "n'a",
      'pas',
      'pu',
      'être',
      'ouvert',
    ];
    const cfg = args.quick
      ? { vocab: 120, dim: 32, heads: 4, enc: 2, dec: 2, positions: 64, langs: ['en', 'fr'], words }
      : { vocab: 1000, dim: 128, heads: 8, enc: 3, dec: 3, positions: 256, langs: ['en', 'fr'], words };
    const lines = python(found.py, ['-c', MAKE_CHECKPOINT, pth, JSON.stringify(cfg)], 'writing the synthetic checkpoint')
      .trim()
      .split('\n');
    log(lines[0]);
    expected = JSON.parse(lines[1]);
  }
  if (!fs.existsSync(pth)) throw new Error(`no such checkpoint: ${pth}`);

  // 2. Convert (the command a user runs) and load.
  const file = path.join(out, 'xlm-teacher.safetensors');
  const vocabFile = path.join(out, 'xlm-vocab.txt');
  const convertArgs = [CONVERTER, pth, file, '--vocab', vocabFile, ...(args['trust-pickle'] ? ['--trust-pickle'] : [])];
  log(`$ ${path.basename(found.py)} ${path.relative(process.cwd(), CONVERTER) || CONVERTER} ${convertArgs.slice(1).join(' ')}`);
  for (const line of python(found.py, convertArgs, 'convert-xlm-checkpoint.py').trim().split('\n')) log(`  ${line}`);
  const teacher = await Teacher.load(file);
  const c = teacher.config;
  console.log(
    `\nTeacher.load: ${c.encoderLayers}+${c.decoderLayers} layers, ${c.embDim} wide, ${c.nHeads} heads, vocabulary ${c.vocabSize}, ` +
      `${c.nLangs} language embedding(s), ${c.activation}, ${(teacher.numParameters() / 1e6).toFixed(2)}M parameters`
  );
  console.log(`  metadata: source ${teacher.extraMetadata.source}, languages ${teacher.extraMetadata.langs ?? '–'}`);

  // 3. The names are XLM's, the values the checkpoint's.
  expected ??= JSON.parse(python(found.py, ['-c', INSPECT, pth, args['trust-pickle'] ? 'trust' : 'safe'], 'reading the checkpoint'));
  const sd = teacher.stateDict();
  const ours = [...sd.keys()];
  const missing = Object.keys(expected).filter((k) => !sd.has(k));
  const extra = ours.filter((k) => !(k in expected));
  let worst = 0;
  for (const [name, t] of sd) {
    if (!(name in expected)) continue;
    const sum = tidy(() => Number(t.to('float64').sum().item()));
    worst = Math.max(worst, Math.abs(sum - expected[name]) / Math.max(1, Math.abs(expected[name])));
  }
  console.log(
    `\nParameter names: ${ours.length} in the teacher's state dict, ${Object.keys(expected).length} in the checkpoint; ` +
      `missing ${missing.length}, extra ${extra.length}${missing.length + extra.length ? ` (${[...missing, ...extra].slice(0, 5).join(', ')})` : ''}`
  );
  const show = [
    'encoder.embeddings.weight',
    'encoder.position_embeddings.weight',
    'encoder.lang_embeddings.weight',
    'encoder.layer_norm_emb.weight',
    'encoder.attentions.0.q_lin.weight',
    'encoder.ffns.0.lin1.weight',
    'decoder.encoder_attn.0.k_lin.weight',
    'decoder.layer_norm15.0.weight',
    'decoder.pred_layer.proj.weight',
    'decoder.pred_layer.proj.bias',
  ];
  for (const n of show.filter((k) => sd.has(k))) {
    console.log(`  ${n.padEnd(40)} ${JSON.stringify(sd.get(n).shape)}`);
  }
  console.log(`  largest relative difference of a tensor sum against the checkpoint: ${worst.toExponential(2)}`);

  // 4. A forward pass and a greedy translation (words looked up in vocab.txt; XLM's BPE joins pieces with "@@ ").
  const vocab = fs.readFileSync(vocabFile, 'utf8').split('\n').slice(0, c.vocabSize);
  const index = new Map(vocab.map((w, i) => [w, i]));
  const sentence = args.sentence ?? 'the file could not be opened .';
  const src = sentence
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => index.get(w) ?? c.unkIndex);
  const langs = teacher.extraMetadata.langs ? JSON.parse(teacher.extraMetadata.langs) : [];
  const langId = (name, fallback) => {
    if (c.nLangs <= 1) return undefined;
    const i = name === undefined ? fallback : langs.indexOf(name);
    if (i < 0) throw new Error(`unknown language '${name}'; the checkpoint has ${langs.join(', ')}`);
    return i;
  };
  const srcLang = langId(args['src-lang'], 0);
  const tgtLang = langId(args['tgt-lang'], Math.min(1, c.nLangs - 1));
  const batch = Batch.from({ src: [src], tgt: [src], srcLang, tgtLang });
  const stats = noGrad(() =>
    tidy(() => {
      const logits = teacher.forward(batch);
      return { shape: logits.shape, finite: Boolean(logits.abs().max().item() < Infinity), mean: Number(logits.mean().item()) };
    })
  );
  console.log(
    `\nforward (teacher-forced, target = source): logits ${JSON.stringify(stats.shape)}, all finite: ${stats.finite}, mean ${fmt(stats.mean, 4)}`
  );
  const [[hyp]] = await greedy(teacher, batch, { tgtLang, maxLength: 2 * src.length + 5 });
  batch.dispose();
  const text = hyp.tokens
    .map((id) => vocab[id])
    .join(' ')
    .replace(/@@ /g, '')
    .replace(/@@$/, '');
  console.log(
    `greedy ${langs[srcLang] ?? 'src'} -> ${langs[tgtLang] ?? 'tgt'}: "${sentence}" -> ids [${src.join(', ')}] -> [${hyp.tokens.join(', ')}] -> "${text}"`
  );
  if (synthetic) console.log('(random weights: the output is noise; pass a real XLM MT checkpoint to see a translation)');
  console.log(`\nteacher file: ${file}\nvocabulary: ${vocabFile}`);
});
