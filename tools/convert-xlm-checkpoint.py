"""Convert Facebook XLM checkpoints (.pth) to our "xlm-teacher" safetensors, and back.

Owns the mapping between XLM's checkpoint layout and bench/reference/xlm.py's format
(the safetensors naming / metadata convention is documented at the top of xlm.py).

  python tools/convert-xlm-checkpoint.py in.pth out.safetensors [--vocab out_vocab.txt] [--seed 0]
  python tools/convert-xlm-checkpoint.py --to-xlm in.safetensors out.pth --vocab vocab.txt

XLM -> safetensors accepts
  * a trainer / MT checkpoint: {"encoder": sd, "decoder": sd, "params": {...}, "dico_id2word": {...}}
  * an MLM-pretrained checkpoint: {"model": sd, "params": {...}, "dico_id2word": {...}}; the
    state dict initialises BOTH encoder and decoder, as XLM's --reload_model does; the decoder's
    cross-attention (encoder_attn.*, layer_norm15.*) stays at the fresh init of
    XLMSeq2Seq(config) after torch.manual_seed(--seed), and a note is printed.
  State-dict keys may carry a `module.` prefix (stripped when every key has it).
  The architecture comes from the weights (vocab/dim/layers/langs/positions) cross-checked with
  `params` (n_heads, gelu_activation, dropout, attention_dropout, *_index, sinusoidal_embeddings,
  n_words, emb_dim). Tensors are stored as float32. The vocabulary is written one token per line in
  id order (default: vocab.txt next to the output). Metadata gets "source", "langs" (from
  params.id2lang) and "xlm_params" (the JSON-able part of params, used by --to-xlm).

--to-xlm writes a trainer-style .pth: encoder, decoder (XLM key names, pred_layer.proj.weight
sharing storage with embeddings.weight, position_embeddings.weight filled with the sinusoidal
table when sinusoidal), params (plain dict), dico_id2word, dico_word2id, dico_counts (zeros).

Checkpoints that fail torch.load(weights_only=True) need --trust-pickle (runs pickle code:
only for files you trust). numpy arrays are allowed with weights_only (a release's params.mask_scores is one;
numpy_safe_globals), so Facebook's released checkpoints load without --trust-pickle.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "reference"))
import xlm  # noqa: E402

DECODER_ONLY = ("encoder_attn.", "layer_norm15.")
SIDES = ("encoder", "decoder")


class ConversionError(Exception):
    pass


def strip_module(sd):
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return dict(sd)


def count_layers(sd):
    idx = [int(m.group(1)) for k in sd for m in [re.match(r"attentions\.(\d+)\.", k)] if m]
    return max(idx) + 1 if idx else 0


def _jsonable(v):
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def numpy_safe_globals():
    """What a numpy array's pickle names (numpy 1.x: numpy.core.multiarray, 2.x: numpy._core.multiarray).

    Releases' params hold one: Trainer.__init__ sets params.mask_scores = np.maximum(counts, 1) ** -sample_alpha.
    Allowing these (and numpy 2's numeric dtype classes) lets weights_only=True rebuild numeric arrays; any other
    global (object arrays' contents included) stays refused."""
    try:
        import numpy as np
    except ImportError:
        return []
    rebuild = (getattr(np, "_core", None) or np.core).multiarray._reconstruct
    numeric = list(dict.fromkeys(type(np.dtype(c)) for c in np.typecodes["AllInteger"] + np.typecodes["AllFloat"] + "?"))
    return [(rebuild, "numpy.core.multiarray._reconstruct"), (rebuild, "numpy._core.multiarray._reconstruct"),
            np.ndarray, np.dtype, *numeric]


def load_pth(path, trust_pickle):
    try:
        with torch.serialization.safe_globals(numpy_safe_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - re-raised with advice
        if trust_pickle:
            raise
        why = next((l.strip() for l in str(e).splitlines() if "Unsupported global" in l), str(e).splitlines()[0])
        raise ConversionError(f"{path}: torch.load(weights_only=True) failed ({why}); "
                              "rerun with --trust-pickle if you trust this file") from e
    if not isinstance(ckpt, dict):
        raise ConversionError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return ckpt


def config_from_checkpoint(params, enc, dec, notes):
    def need(sd, key, side):
        if key not in sd:
            raise ConversionError(f"{side} state dict has no '{key}'")
        return sd[key]

    n_words, dim = need(enc, "embeddings.weight", "encoder").shape
    for key, actual in (("n_words", n_words), ("emb_dim", dim)):
        if key in params and int(params[key]) != actual:
            raise ConversionError(f"params.{key}={params[key]} but embeddings.weight is [{n_words}, {dim}]")
    if tuple(need(dec, "embeddings.weight", "decoder").shape) != (n_words, dim):
        raise ConversionError(f"decoder embeddings {tuple(dec['embeddings.weight'].shape)} != encoder's {(n_words, dim)}")
    if "n_heads" not in params:
        raise ConversionError("params has no n_heads")
    sinusoidal = bool(params.get("sinusoidal_embeddings", False))
    langs = enc.get("lang_embeddings.weight")
    n_langs = int(langs.shape[0]) if langs is not None else 1
    if langs is None and int(params.get("n_langs", 1)) > 1:
        notes.append(f"params.n_langs={params['n_langs']} but no lang_embeddings (use_lang_emb=False): nLangs=1")
    pos = enc.get("position_embeddings.weight")
    layers = {}
    for side, sd, keys in (("encoder", enc, ("n_enc_layers", "n_layers")), ("decoder", dec, ("n_dec_layers", "n_layers"))):
        layers[side] = count_layers(sd)
        declared = next((params[k] for k in keys if k in params), None)
        if declared is not None and int(declared) != layers[side]:
            notes.append(f"{side}: params say {declared} layers, weights have {layers[side]} (using weights)")
    return xlm.normalize_config({
        "vocabSize": int(n_words), "embDim": int(dim), "nHeads": int(params["n_heads"]),
        "encoderLayers": layers["encoder"], "decoderLayers": layers["decoder"],
        "dropout": float(params.get("dropout", 0.0)),
        "attentionDropout": float(params.get("attention_dropout", 0.0)),
        "activation": "gelu" if params.get("gelu_activation", False) else "relu",
        "nLangs": n_langs,
        "padIndex": int(params.get("pad_index", 2)), "eosIndex": int(params.get("eos_index", 1)),
        "unkIndex": int(params.get("unk_index", 3)),
        "maxPositions": int(pos.shape[0]) if pos is not None else 512,
        "sinusoidalEmbeddings": sinusoidal,
    })


def xlm_to_ours(ckpt, seed=0):
    """-> (model, config, extra_metadata, vocab list or None, notes)."""
    notes = []
    params = ckpt.get("params")
    if params is None:
        raise ConversionError(f"checkpoint has no 'params' (top-level keys: {sorted(ckpt)})")
    params = dict(vars(params) if isinstance(params, argparse.Namespace) else params)
    if "encoder" in ckpt and "decoder" in ckpt:
        source, enc, dec = "xlm-trainer", strip_module(ckpt["encoder"]), strip_module(ckpt["decoder"])
    elif "model" in ckpt:
        source = "xlm-mlm"
        enc = strip_module(ckpt["model"])
        dec = dict(enc)
    else:
        raise ConversionError(f"need 'encoder'+'decoder' or 'model' in checkpoint, found {sorted(ckpt)}")
    if params.get("share_inout_emb", True) is False:
        raise ConversionError("params.share_inout_emb=False: untied output projections are not supported")
    config = config_from_checkpoint(params, enc, dec, notes)

    if config["sinusoidalEmbeddings"]:
        table = xlm.sinusoidal_table(config["maxPositions"], config["embDim"])
        for side, sd in (("encoder", enc), ("decoder", dec)):
            w = sd.pop("position_embeddings.weight", None)
            if w is not None and (w.shape != table.shape or not torch.allclose(w.float(), table, atol=1e-5)):
                notes.append(f"{side}.position_embeddings.weight differs from the sinusoidal table (dropped)")

    model = xlm.init_model(config, seed)
    fresh = model.state_dict()
    tensors = {}
    for side, sd in (("encoder", enc), ("decoder", dec)):
        expected = {k[len(side) + 1:] for k in fresh if k.startswith(side + ".")}
        missing = sorted(expected - set(sd))
        unexpected = sorted(set(sd) - expected)
        kept_fresh = [k for k in missing if source == "xlm-mlm" and side == "decoder" and k.startswith(DECODER_ONLY)]
        missing = [k for k in missing if k not in kept_fresh]
        if missing or unexpected:
            raise ConversionError(f"{side}: missing {missing}, unexpected {unexpected}")
        if kept_fresh:
            notes.append(f"MLM checkpoint: decoder {', '.join(sorted({k.split('.')[0] for k in kept_fresh}))} "
                         f"({len(kept_fresh)} tensors) left at fresh init (seed {seed})")
        for k in expected:
            src = sd[k] if k in sd else fresh[f"{side}.{k}"]
            if src.dtype != torch.float32:
                notes.append(f"{side}.{k}: {src.dtype} cast to float32")
            tensors[f"{side}.{k}"] = src.detach().to(torch.float32).clone()
    try:
        model = xlm.model_from_state_dict(config, tensors, what="converted checkpoint")
    except ValueError as e:
        raise ConversionError(str(e)) from e

    extra = {"source": source,
             "xlm_params": json.dumps({k: v for k, v in params.items() if _jsonable(v)}, sort_keys=True)}
    id2lang = params.get("id2lang")
    if isinstance(id2lang, dict) and id2lang:
        extra["langs"] = json.dumps([id2lang[i] for i in sorted(id2lang, key=int)])
    elif isinstance(params.get("langs"), (list, tuple)):
        extra["langs"] = json.dumps(list(params["langs"]))

    vocab = None
    id2word = ckpt.get("dico_id2word")
    if id2word is None:
        notes.append("no dico_id2word in checkpoint: vocabulary not written")
    else:
        if sorted(int(i) for i in id2word) != list(range(config["vocabSize"])):
            raise ConversionError(f"dico_id2word has {len(id2word)} ids, expected 0..{config['vocabSize'] - 1}")
        vocab = [id2word[i] for i in sorted(id2word, key=int)]
    return model, config, extra, vocab, notes


def ours_to_xlm(tensors, meta, vocab):
    if meta.get("model_type") != xlm.MODEL_TYPE or "config" not in meta:
        raise ConversionError(f"not an {xlm.MODEL_TYPE} safetensors file (metadata {sorted(meta)})")
    config = xlm.normalize_config(json.loads(meta["config"]))
    try:
        xlm.model_from_state_dict(config, tensors, what="safetensors")  # validates names, shapes, ties
    except ValueError as e:
        raise ConversionError(str(e)) from e
    if len(vocab) != config["vocabSize"]:
        raise ConversionError(f"vocab has {len(vocab)} tokens, model has vocabSize {config['vocabSize']}")
    out = {}
    for side in SIDES:
        sd = {k[len(side) + 1:]: v for k, v in tensors.items() if k.startswith(side + ".")}
        sd["pred_layer.proj.weight"] = sd["embeddings.weight"]  # tied, as in XLM's state dicts
        if config["sinusoidalEmbeddings"]:
            sd["position_embeddings.weight"] = xlm.sinusoidal_table(config["maxPositions"], config["embDim"]).clone()
        out[side] = sd
    params = json.loads(meta.get("xlm_params", "{}"))
    if isinstance(params.get("id2lang"), dict):
        params["id2lang"] = {int(k): v for k, v in params["id2lang"].items()}
    if "langs" in meta and "id2lang" not in params:
        langs = json.loads(meta["langs"])
        params.update(id2lang=dict(enumerate(langs)), lang2id={l: i for i, l in enumerate(langs)})
    c = config
    params.update({
        "n_words": c["vocabSize"], "emb_dim": c["embDim"], "n_heads": c["nHeads"],
        "n_layers": c["encoderLayers"], "n_enc_layers": c["encoderLayers"], "n_dec_layers": c["decoderLayers"],
        "dropout": c["dropout"], "attention_dropout": c["attentionDropout"],
        "gelu_activation": c["activation"] == "gelu", "sinusoidal_embeddings": c["sinusoidalEmbeddings"],
        "pad_index": c["padIndex"], "eos_index": c["eosIndex"], "unk_index": c["unkIndex"],
        "share_inout_emb": True, "asm": False, "encoder_only": False,
    })
    if c["nLangs"] > 1:
        params.update(n_langs=c["nLangs"], use_lang_emb=True)
    else:
        params.setdefault("n_langs", 1)
        params["use_lang_emb"] = params.get("use_lang_emb", True) if params["n_langs"] == 1 else False
    out.update(params=params, dico_id2word=dict(enumerate(vocab)),
               dico_word2id={w: i for i, w in enumerate(vocab)}, dico_counts={w: 0 for w in vocab})
    return out


def read_vocab(path):
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def write_vocab(vocab, path):
    bad = [i for i, w in enumerate(vocab) if not isinstance(w, str) or "\n" in w or "\r" in w]
    if bad:
        raise ConversionError(f"vocab tokens {bad[:5]} contain newlines or are not strings")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(w + "\n" for w in vocab))


def main(argv=None):
    p = argparse.ArgumentParser(description="XLM .pth <-> xlm-teacher safetensors (see module docstring)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--to-xlm", action="store_true", help="safetensors -> trainer-style XLM .pth")
    p.add_argument("--vocab", help="vocab.txt to write (from XLM) or read (--to-xlm, required)")
    p.add_argument("--seed", type=int, default=0, help="seed for freshly initialised tensors (MLM input)")
    p.add_argument("--trust-pickle", action="store_true", help="torch.load with weights_only=False")
    args = p.parse_args(argv)
    try:
        if args.to_xlm:
            if not args.vocab:
                p.error("--to-xlm needs --vocab vocab.txt")
            tensors, meta = xlm.read_safetensors(args.input)
            torch.save(ours_to_xlm(tensors, meta, read_vocab(args.vocab)), args.output)
            print(f"wrote {args.output}")
        else:
            model, config, extra, vocab, notes = xlm_to_ours(load_pth(args.input, args.trust_pickle), args.seed)
            for n in notes:
                print(f"note: {n}")
            xlm.save_safetensors(model, config, args.output, extra)
            print(f"wrote {args.output} ({extra['source']}): {json.dumps(config, sort_keys=True)}")
            if vocab is not None:
                vocab_path = args.vocab or os.path.join(os.path.dirname(args.output) or ".", "vocab.txt")
                write_vocab(vocab, vocab_path)
                print(f"wrote {vocab_path} ({len(vocab)} tokens)")
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
