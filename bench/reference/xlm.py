"""PyTorch reference of XLM's translation transformer (encoder + decoder), fp32.

Owns: the reference math our LibTorch implementation is checked against (1e-4),
the safetensors format for XLM teachers, and a small CLI for parity tests.
Written from the spec in the project brief, not copied from facebookresearch/XLM.

Safetensors convention ("xlm-teacher")
  * Tensor names are XLM's state-dict names under `encoder.` / `decoder.`:
      {encoder,decoder}.embeddings.weight            [V, D]  (pad row zero at init)
      {encoder,decoder}.position_embeddings.weight   [maxPositions, D]  (absent if sinusoidal)
      {encoder,decoder}.lang_embeddings.weight       [nLangs, D]  (only if nLangs > 1)
      {encoder,decoder}.layer_norm_emb.{weight,bias}
      {encoder,decoder}.attentions.{i}.{q_lin,k_lin,v_lin,out_lin}.{weight,bias}
      {encoder,decoder}.layer_norm1.{i}.{weight,bias}
      {encoder,decoder}.ffns.{i}.{lin1,lin2}.{weight,bias}   lin1 [4D, D], lin2 [D, 4D]
      {encoder,decoder}.layer_norm2.{i}.{weight,bias}
      decoder.encoder_attn.{i}.{q_lin,k_lin,v_lin,out_lin}.{weight,bias}
      decoder.layer_norm15.{i}.{weight,bias}
      {encoder,decoder}.pred_layer.proj.{weight,bias}   (the encoder's is unused in MT)
    All float32. Linear weights are [out, in] (PyTorch layout).
  * Tied weights: `X.pred_layer.proj.weight` IS `X.embeddings.weight` in the model.
    safetensors cannot alias, so the file stores it as its own entry holding a copy;
    loaders must check it equals `X.embeddings.weight` bit-for-bit (we raise if not)
    and then tie. Writers must always write both entries.
  * Sinusoidal position embeddings are not stored: the table is computed in float64 as
    pos / 10000^(2*(j//2)/D), sin on even j, cos on odd j, then rounded to float32.
  * `__metadata__` (all values are strings):
      "model_type": "xlm-teacher"
      "config":     JSON of the full config, camelCase keys (see DEFAULTS / REQUIRED)
    optionally written by tools/convert-xlm-checkpoint.py:
      "langs":      JSON list of language codes in id order (XLM's id2lang)
      "source":     "xlm-trainer" | "xlm-mlm"
      "xlm_params": JSON of the original XLM `params` (JSON-able entries only)

Math (post-LayerNorm, every LayerNorm eps=1e-12, batch-first tensors):
  mask[b,t] = t < len[b]
  x = emb(ids) + pos(t) (+ lang(langs) if nLangs>1 and langs given); LN_emb; dropout; x *= mask
  per layer: x = LN1(x + drop(SelfAttn(x)))            (decoder: causal, no key-pad mask)
             x = LN15(x + drop(CrossAttn(x, enc)))     (decoder only; source key-pad mask)
             x = LN2(x + drop(lin2(act(lin1(x)))));  x *= mask
  attention: q = q_lin(x) / sqrt(D/H); scores = q k^T; masked keys -> -inf;
             softmax in float32; attention dropout; weighted sum of v; out_lin
  logits = x @ embeddings.weight^T + pred_layer.proj.bias
  act = GELU erf form 0.5*x*(1+erf(x/sqrt 2)) or ReLU

Batch framing (make_batch, CLI `forward`), </s> = eosIndex = 1, pads = padIndex:
  src = [1] + ids + [1];  tgt_in = [1] + ids;  tgt_out = ids + [1];  right-padded.

CLI (python bench/reference/xlm.py <command> ...):
  init    --config '{"vocabSize":100,...}'|cfg.json --seed 0 --out m.safetensors
  forward --model m.safetensors --batch batch.json --out out.safetensors
      batch.json: {"src": [[ids..],..], "tgt": [[ids..],..], "srcLang": int|null, "tgtLang": int|null}
      out: src, src_len, tgt_in, tgt_out, tgt_len (int64), encoder_out [B,S,D],
           logits [B,T,V], step_logprobs [B,T,V] (teacher-forced decode_step, float32).
      Eval mode. Padded positions: encoder_out is 0, logits equal the bias, step_logprobs are
      whatever decode_step computes for the pad token fed there; compare t < len only.
  train-briefly --model in.safetensors --steps 5 --seed 0 --out out.safetensors [--lr 1e-3]
      Adam on MT cross-entropy (ignore pad) over random batches, dropout as configured.
"""
import argparse
import functools
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_TYPE = "xlm-teacher"
REQUIRED = ("vocabSize", "embDim", "nHeads", "encoderLayers", "decoderLayers")
DEFAULTS = {
    "dropout": 0.1, "attentionDropout": 0.1, "activation": "gelu", "nLangs": 1,
    "padIndex": 2, "eosIndex": 1, "unkIndex": 3, "maxPositions": 512,
    "sinusoidalEmbeddings": False,
}


def normalize_config(config):
    """Fill defaults, reject unknown or missing keys, validate. Returns a new dict."""
    unknown = set(config) - set(REQUIRED) - set(DEFAULTS)
    missing = [k for k in REQUIRED if k not in config]
    if unknown or missing:
        raise ValueError(f"bad XLM config: unknown keys {sorted(unknown)}, missing {missing}")
    c = {**DEFAULTS, **config}
    if c["embDim"] % c["nHeads"]:
        raise ValueError(f"embDim {c['embDim']} not divisible by nHeads {c['nHeads']}")
    if c["activation"] not in ("gelu", "relu"):
        raise ValueError(f"activation must be 'gelu' or 'relu', got {c['activation']!r}")
    for k in ("padIndex", "eosIndex", "unkIndex"):
        if not 0 <= c[k] < c["vocabSize"]:
            raise ValueError(f"{k}={c[k]} outside vocab of {c['vocabSize']}")
    return c


@functools.lru_cache(maxsize=None)
def sinusoidal_table(n_pos, dim):
    """[n_pos, dim] float32; computed in float64 then rounded (as XLM does with numpy)."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    j = torch.arange(dim, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), 2 * torch.div(j, 2, rounding_mode="floor") / dim)
    out = torch.empty(n_pos, dim, dtype=torch.float64)
    out[:, 0::2] = torch.sin(angle[:, 0::2])
    out[:, 1::2] = torch.cos(angle[:, 1::2])
    return out.float()


def length_mask(lengths, max_len):
    """[B, max_len] bool, True on real tokens."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class MultiHeadAttention(nn.Module):
    def __init__(self, n_heads, dim, attention_dropout):
        super().__init__()
        self.n_heads, self.dim, self.attention_dropout = n_heads, dim, attention_dropout
        self.q_lin = nn.Linear(dim, dim)
        self.k_lin = nn.Linear(dim, dim)
        self.v_lin = nn.Linear(dim, dim)
        self.out_lin = nn.Linear(dim, dim)

    def _heads(self, x):  # [B, L, D] -> [B, H, L, dh]
        return x.view(x.shape[0], x.shape[1], self.n_heads, -1).transpose(1, 2)

    def forward(self, x, allowed, kv=None, cache=None, cache_key=None):
        """x [B,Q,D]; allowed: bool broadcastable to [B,H,Q,K] (True = may attend) or None.
        Self-attention if kv is None (with cache: append new k/v); else cross-attention
        over kv [B,K,D] (with cache: k/v computed once and reused)."""
        bs, qlen, dim = x.shape
        dh = dim // self.n_heads
        q = self._heads(self.q_lin(x))
        if kv is None:
            k, v = self._heads(self.k_lin(x)), self._heads(self.v_lin(x))
            if cache is not None:
                if cache_key in cache:
                    k = torch.cat([cache[cache_key][0], k], dim=2)
                    v = torch.cat([cache[cache_key][1], v], dim=2)
                cache[cache_key] = (k, v)
        elif cache is not None and cache_key in cache:
            k, v = cache[cache_key]
        else:
            k, v = self._heads(self.k_lin(kv)), self._heads(self.v_lin(kv))
            if cache is not None:
                cache[cache_key] = (k, v)
        q = q / math.sqrt(dh)
        scores = torch.matmul(q, k.transpose(2, 3))  # [B,H,Q,K]
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        weights = F.dropout(weights, p=self.attention_dropout, training=self.training)
        ctx = torch.matmul(weights, v).transpose(1, 2).reshape(bs, qlen, dim)
        return self.out_lin(ctx)


class TransformerFFN(nn.Module):
    def __init__(self, dim, hidden, dropout, activation):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.dropout = dropout
        self.act = gelu if activation == "gelu" else F.relu

    def forward(self, x):
        return F.dropout(self.lin2(self.act(self.lin1(x))), p=self.dropout, training=self.training)


class PredLayer(nn.Module):
    """Holds `proj` only so state-dict names match XLM (`pred_layer.proj.*`)."""

    def __init__(self, dim, n_words, tied_weight):
        super().__init__()
        self.proj = nn.Linear(dim, n_words)
        self.proj.weight = tied_weight
        nn.init.zeros_(self.proj.bias)


class TransformerModel(nn.Module):
    """XLM TransformerModel; encoder (is_decoder=False) or decoder (is_decoder=True)."""

    def __init__(self, config, is_decoder):
        super().__init__()
        c = config
        self.is_decoder = is_decoder
        self.dim, self.n_heads = c["embDim"], c["nHeads"]
        self.n_layers = c["decoderLayers" if is_decoder else "encoderLayers"]
        self.dropout = c["dropout"]
        self.pad_index, self.n_langs = c["padIndex"], c["nLangs"]
        self.sinusoidal, self.max_positions = c["sinusoidalEmbeddings"], c["maxPositions"]
        dim, std = self.dim, self.dim ** -0.5
        if not self.sinusoidal:
            self.position_embeddings = nn.Embedding(self.max_positions, dim)
            nn.init.normal_(self.position_embeddings.weight, 0, std)
        if self.n_langs > 1:
            self.lang_embeddings = nn.Embedding(self.n_langs, dim)
            nn.init.normal_(self.lang_embeddings.weight, 0, std)
        self.embeddings = nn.Embedding(c["vocabSize"], dim, padding_idx=self.pad_index)
        nn.init.normal_(self.embeddings.weight, 0, std)
        with torch.no_grad():
            self.embeddings.weight[self.pad_index].zero_()
        self.layer_norm_emb = nn.LayerNorm(dim, eps=1e-12)
        self.attentions, self.layer_norm1 = nn.ModuleList(), nn.ModuleList()
        self.ffns, self.layer_norm2 = nn.ModuleList(), nn.ModuleList()
        if is_decoder:
            self.layer_norm15, self.encoder_attn = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.n_layers):
            self.attentions.append(MultiHeadAttention(self.n_heads, dim, c["attentionDropout"]))
            self.layer_norm1.append(nn.LayerNorm(dim, eps=1e-12))
            if is_decoder:
                self.layer_norm15.append(nn.LayerNorm(dim, eps=1e-12))
                self.encoder_attn.append(MultiHeadAttention(self.n_heads, dim, c["attentionDropout"]))
            self.ffns.append(TransformerFFN(dim, 4 * dim, self.dropout, c["activation"]))
            self.layer_norm2.append(nn.LayerNorm(dim, eps=1e-12))
        self.pred_layer = PredLayer(dim, c["vocabSize"], self.embeddings.weight)

    def _embed(self, ids, positions, langs):
        if positions.numel() and int(positions.max()) >= self.max_positions:
            raise ValueError(f"position {int(positions.max())} >= maxPositions {self.max_positions}")
        if self.sinusoidal:
            pos = F.embedding(positions, sinusoidal_table(self.max_positions, self.dim).to(ids.device))
        else:
            pos = self.position_embeddings(positions)
        x = self.embeddings(ids) + pos
        if langs is not None and self.n_langs > 1:
            x = x + self.lang_embeddings(langs)
        x = self.layer_norm_emb(x)
        return F.dropout(x, p=self.dropout, training=self.training)

    def _layers(self, x, self_allowed, src_enc, src_allowed, mask=None, cache=None):
        for i in range(self.n_layers):
            attn = self.attentions[i](x, self_allowed, cache=cache, cache_key=("self", i))
            x = self.layer_norm1[i](x + F.dropout(attn, p=self.dropout, training=self.training))
            if self.is_decoder:
                attn = self.encoder_attn[i](x, src_allowed, kv=src_enc, cache=cache, cache_key=("cross", i))
                x = self.layer_norm15[i](x + F.dropout(attn, p=self.dropout, training=self.training))
            x = self.layer_norm2[i](x + self.ffns[i](x))
            if mask is not None:
                x = x * mask
        return x

    def forward(self, ids, lengths, langs=None, src_enc=None, src_mask=None):
        """Full pass. ids [B,T], lengths [B], langs [B,T] or None; the decoder is causal and
        needs src_enc [B,S,D] and src_mask [B,S] (True on real source tokens). -> [B,T,D]"""
        bs, slen = ids.shape
        mask = length_mask(lengths, slen).unsqueeze(-1).to(torch.float32)
        positions = torch.arange(slen, device=ids.device)[None, :].expand(bs, slen)
        x = self._embed(ids, positions, langs) * mask
        if self.is_decoder:
            ar = torch.arange(slen, device=ids.device)
            self_allowed = (ar[None, :] <= ar[:, None])[None, None]  # [1,1,T,T] causal
            src_allowed = src_mask[:, None, None, :]
        else:
            self_allowed, src_allowed = length_mask(lengths, slen)[:, None, None, :], None
        return self._layers(x, self_allowed, src_enc, src_allowed, mask=mask)

    def step(self, tokens, cache, src_enc, src_mask, step, langs=None):
        """Decoder only: process position `step` for tokens [B]; cache (dict) is updated. -> [B,D]"""
        assert self.is_decoder
        if ("self", 0) in cache and cache[("self", 0)][0].shape[2] != step:
            raise ValueError(f"cache holds {cache[('self', 0)][0].shape[2]} positions but step={step}")
        positions = torch.full_like(tokens, step)[:, None]
        x = self._embed(tokens[:, None], positions, None if langs is None else langs[:, None])
        return self._layers(x, None, src_enc, src_mask[:, None, None, :], cache=cache)[:, 0]


def _lang_tensor(lang, shape, device):
    if lang is None:
        return None
    if isinstance(lang, int):
        return torch.full(shape, lang, dtype=torch.long, device=device)
    return lang if lang.dim() == len(shape) else lang.view(-1, *[1] * (len(shape) - 1)).expand(shape)


class XLMSeq2Seq(nn.Module):
    """Encoder-decoder teacher. Langs may be None, an int, a [B] or a [B,T] LongTensor."""

    def __init__(self, config):
        super().__init__()
        self.config = normalize_config(config)
        self.encoder = TransformerModel(self.config, is_decoder=False)
        self.decoder = TransformerModel(self.config, is_decoder=True)

    def encode(self, src, src_len, src_lang=None):
        return self.encoder(src, src_len, _lang_tensor(src_lang, src.shape, src.device))

    def forward(self, src, src_len, tgt_in, tgt_len, src_lang=None, tgt_lang=None):
        """-> logits [B,T,V] (positions t >= tgt_len hold the bias only)."""
        enc = self.encode(src, src_len, src_lang)
        dec = self.decoder(tgt_in, tgt_len, _lang_tensor(tgt_lang, tgt_in.shape, tgt_in.device),
                           src_enc=enc, src_mask=length_mask(src_len, src.shape[1]))
        return self.decoder.pred_layer.proj(dec)

    def decode_step(self, tokens, cache, encoder_out, src_mask, step, tgt_lang=None):
        """tokens [B] at position `step`; cache: dict (start with {}), mutated in place.
        -> float32 log-probs [B,V] for that position."""
        langs = _lang_tensor(tgt_lang, tokens.shape, tokens.device)
        h = self.decoder.step(tokens, cache, encoder_out, src_mask, step, langs)
        return F.log_softmax(self.decoder.pred_layer.proj(h).float(), dim=-1)

    @staticmethod
    def reorder(cache, indices):
        """index_select every cached k/v along the batch dim (beam search), in place."""
        for key, (k, v) in cache.items():
            cache[key] = (k.index_select(0, indices), v.index_select(0, indices))
        return cache


# ----------------------------------------------------------------------------- io

def read_safetensors(path):
    """-> (tensors dict, metadata dict) without building a model."""
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def read_metadata(path):
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        return dict(f.metadata() or {})


def state_dict_for_save(model):
    """Model state dict with every tensor copied (tied entries become separate equal copies)."""
    return {k: v.detach().to(torch.float32).clone().contiguous() for k, v in model.state_dict().items()}


def save_safetensors(model, config, path, extra_metadata=None):
    from safetensors.torch import save_file
    meta = {"model_type": MODEL_TYPE, "config": json.dumps(normalize_config(config), sort_keys=True)}
    meta.update(extra_metadata or {})
    save_file(state_dict_for_save(model), path, metadata=meta)


def model_from_state_dict(config, tensors, what="checkpoint"):
    """Build XLMSeq2Seq and load tensors strictly (clear errors; tied copies must match)."""
    model = XLMSeq2Seq(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{what}: missing tensors {missing}, unexpected tensors {unexpected}")
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ValueError(f"{what}: {k} has shape {tuple(v.shape)}, config expects {tuple(expected[k].shape)}")
    for side in ("encoder", "decoder"):
        if not torch.equal(tensors[f"{side}.pred_layer.proj.weight"], tensors[f"{side}.embeddings.weight"]):
            raise ValueError(f"{what}: {side}.pred_layer.proj.weight differs from {side}.embeddings.weight "
                             "(weights must be tied)")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    return model.eval()


def load_safetensors(path):
    """-> (XLMSeq2Seq in eval mode, normalized config)."""
    tensors, meta = read_safetensors(path)
    if meta.get("model_type") != MODEL_TYPE or "config" not in meta:
        raise ValueError(f"{path}: not an {MODEL_TYPE} file (metadata {sorted(meta)})")
    config = normalize_config(json.loads(meta["config"]))
    return model_from_state_dict(config, tensors, what=path), config


def init_model(config, seed):
    torch.manual_seed(seed)
    return XLMSeq2Seq(config)


# -------------------------------------------------------------------------- batches

def make_batch(src, tgt, config):
    """Ragged id lists -> padded LongTensors with </s> framing (see module docstring)."""
    eos, pad = config["eosIndex"], config["padIndex"]
    assert len(src) == len(tgt) and len(src) > 0, "src and tgt must be non-empty and aligned"

    def pad_rows(rows):
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
        out = torch.full((len(rows), int(lengths.max())), pad, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        return out, lengths

    s, s_len = pad_rows([[eos] + list(x) + [eos] for x in src])
    t_in, t_len = pad_rows([[eos] + list(y) for y in tgt])
    t_out, _ = pad_rows([list(y) + [eos] for y in tgt])
    return {"src": s, "src_len": s_len, "tgt_in": t_in, "tgt_out": t_out, "tgt_len": t_len}


@torch.no_grad()
def run_forward(model, batch, src_lang=None, tgt_lang=None):
    """-> dict: encoder_out, logits, step_logprobs (teacher-forced decode_step)."""
    model.eval()
    enc = model.encode(batch["src"], batch["src_len"], src_lang)
    logits = model(batch["src"], batch["src_len"], batch["tgt_in"], batch["tgt_len"], src_lang, tgt_lang)
    src_mask = length_mask(batch["src_len"], batch["src"].shape[1])
    cache, steps = {}, []
    for t in range(batch["tgt_in"].shape[1]):
        steps.append(model.decode_step(batch["tgt_in"][:, t], cache, enc, src_mask, t, tgt_lang))
    return {"encoder_out": enc, "logits": logits, "step_logprobs": torch.stack(steps, dim=1)}


def random_batch(config, batch_size, max_len, gen):
    lo = min(4, config["vocabSize"] - 1)  # skip <s> </s> <pad> <unk>

    def sent():
        n = int(torch.randint(1, max_len + 1, (1,), generator=gen))
        return torch.randint(lo, config["vocabSize"], (n,), generator=gen).tolist()
    return make_batch([sent() for _ in range(batch_size)], [sent() for _ in range(batch_size)], config)


def train_briefly(model, steps, seed, lr=1e-3, batch_size=4, max_len=8):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = model.config
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        b = random_batch(cfg, batch_size, max_len, gen)
        langs = [int(torch.randint(cfg["nLangs"], (1,), generator=gen)) for _ in range(2)] if cfg["nLangs"] > 1 else [None, None]
        logits = model(b["src"], b["src_len"], b["tgt_in"], b["tgt_len"], *langs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b["tgt_out"].reshape(-1), ignore_index=cfg["padIndex"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


# ------------------------------------------------------------------------------ cli

def _json_arg(s):
    if s.lstrip().startswith("{"):
        return json.loads(s)
    with open(s) as f:
        return json.load(f)


def main(argv=None):
    from safetensors.torch import save_file
    p = argparse.ArgumentParser(description="XLM translation-transformer reference (see module docstring)")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("init", help="random XLM init")
    a.add_argument("--config", required=True, help="JSON string or path to a JSON file")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", required=True)
    a = sub.add_parser("forward", help="encoder out, logits, incremental log-probs for a batch")
    a.add_argument("--model", required=True)
    a.add_argument("--batch", required=True, help="batch.json (or inline JSON)")
    a.add_argument("--out", required=True)
    a = sub.add_parser("train-briefly", help="a few Adam steps on random data")
    a.add_argument("--model", required=True)
    a.add_argument("--steps", type=int, default=5)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--lr", type=float, default=1e-3)
    a.add_argument("--out", required=True)
    args = p.parse_args(argv)

    if args.cmd == "init":
        config = normalize_config(_json_arg(args.config))
        save_safetensors(init_model(config, args.seed), config, args.out)
    elif args.cmd == "forward":
        model, config = load_safetensors(args.model)
        spec = _json_arg(args.batch)
        batch = make_batch(spec["src"], spec["tgt"], config)
        out = run_forward(model, batch, spec.get("srcLang"), spec.get("tgtLang"))
        save_file({k: v.contiguous() for k, v in {**batch, **out}.items()}, args.out)
    elif args.cmd == "train-briefly":
        model, config = load_safetensors(args.model)
        extra = {k: v for k, v in read_metadata(args.model).items() if k not in ("model_type", "config")}
        save_safetensors(train_briefly(model, args.steps, args.seed, args.lr), config, args.out, extra)


if __name__ == "__main__":
    sys.exit(main())
