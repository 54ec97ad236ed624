#!/usr/bin/env python3
"""BiGRU seq2seq reference: the model of native/modules/bigru_seq2seq.{h,cc} in plain PyTorch.

Same architecture, op for op, and the same parameter names, so a safetensors file written by either side
loads in the other and `forward` / `decodeStep` agree within 1e-5 (test/bigru.test.ts):

  encoder  embeddings -> dropout -> nn.GRU(bidirectional, batch_first) over pack_padded_sequence
           (enforce_sorted=False); pad_packed_sequence back to [B, S, 2H].
  bridge   decoder layer l <- tanh(bridge([h_fwd; h_bwd] of encoder layer max(0, Le - Ld + l))).
  decoder  input feeding: GRU([dropout(emb(y_{t-1})); h~_{t-1}]) -> h_t; attention over the encoder
           outputs ('luong' general h^T W s, or 'bahdanau' additive v^T tanh(W_k s + W_q h)), -inf at
           source pads; h~_t = dropout(tanh(combine [c_t; h_t])); logits = proj h~_t (tied to the
           decoder embeddings when tie_embeddings).

Batches use the library's framing (lib/data/batch.ts): source `</s> w... </s>`, target in `</s> w...`,
pad id 2, eos id 1 (from the config).

CLI:
  python bench/reference/bigru.py init --config '{"vocabSize": 50, ...}' --seed 0 --out model.safetensors
  python bench/reference/bigru.py forward --model model.safetensors --batch batch.json --out out.safetensors
     batch.json = {"src": [[ids...], ...], "tgt": [[ids...], ...]} (ragged, unframed)
     out: logits [B, T, V] (teacher-forced forward, float32) and steplogprobs [B, T, V] (encode + one
     decode_step per target position, log_softmax), src/tgt_in/src_len/tgt_len as int64.
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from safetensors import safe_open

MODEL_TYPE = "bigru-student"

DEFAULTS = {
    "embDim": 256,
    "hiddenSize": 256,
    "encoderLayers": 1,
    "decoderLayers": 1,
    "dropout": 0.1,
    "attention": "luong",
    "padIndex": 2,
    "eosIndex": 1,
}


def full_config(cfg):
    c = dict(DEFAULTS)
    c.update(cfg)
    if "vocabSize" not in c:
        raise ValueError("config.vocabSize is required")
    c.setdefault("tieEmbeddings", c["embDim"] == c["hiddenSize"])
    if c["attention"] not in ("luong", "bahdanau"):
        raise ValueError(f"config.attention must be 'luong' or 'bahdanau', got {c['attention']!r}")
    if c["tieEmbeddings"] and c["embDim"] != c["hiddenSize"]:
        raise ValueError("config.tieEmbeddings needs embDim == hiddenSize")
    return c


class Attention(nn.Module):
    def __init__(self, kind, hidden):
        super().__init__()
        self.additive = kind == "bahdanau"
        self.key = nn.Linear(2 * hidden, hidden, bias=False)
        if self.additive:
            self.query = nn.Linear(hidden, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)

    def keys(self, memory):
        return self.key(memory)

    def scores(self, keys, q):
        if self.additive:
            return self.v(torch.tanh(keys + self.query(q).unsqueeze(1))).squeeze(2)
        return torch.bmm(keys, q.unsqueeze(2)).squeeze(2)


class Proj(nn.Module):
    def __init__(self, vocab, hidden, tied_weight=None):
        super().__init__()
        if tied_weight is not None:
            self.weight = tied_weight
        else:
            self.weight = nn.Parameter(torch.empty(vocab, hidden))
            nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        self.bias = nn.Parameter(torch.zeros(vocab))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = nn.Embedding(c["vocabSize"], c["embDim"])
        L = c["encoderLayers"]
        self.rnn = nn.GRU(c["embDim"], c["hiddenSize"], num_layers=L, dropout=c["dropout"] if L > 1 else 0.0,
                          bidirectional=True, batch_first=True)


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, L = c["hiddenSize"], c["decoderLayers"]
        self.embeddings = nn.Embedding(c["vocabSize"], c["embDim"])
        self.rnn = nn.GRU(c["embDim"] + H, H, num_layers=L, dropout=c["dropout"] if L > 1 else 0.0, batch_first=True)
        self.attention = Attention(c["attention"], H)
        self.combine = nn.Linear(3 * H, H, bias=False)
        self.proj = Proj(c["vocabSize"], H, self.embeddings.weight if c["tieEmbeddings"] else None)


class State:
    def __init__(self, memory, keys, pad_mask, hidden, prev_attn):
        self.memory, self.keys, self.pad_mask, self.hidden, self.prev_attn = memory, keys, pad_mask, hidden, prev_attn

    def reorder(self, idx):
        self.memory = self.memory.index_select(0, idx)
        self.keys = self.keys.index_select(0, idx)
        self.pad_mask = self.pad_mask.index_select(0, idx)
        self.prev_attn = self.prev_attn.index_select(0, idx)
        self.hidden = self.hidden.index_select(1, idx)


class BiGruSeq2Seq(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = full_config(cfg)
        self.config = c
        H = c["hiddenSize"]
        self.encoder = Encoder(c)
        self.bridge = nn.Linear(2 * H, H)
        self.decoder = Decoder(c)
        std = c["embDim"] ** -0.5
        with torch.no_grad():
            self.encoder.embeddings.weight.normal_(0.0, std)
            self.decoder.embeddings.weight.normal_(0.0, std)
        Le, Ld = c["encoderLayers"], c["decoderLayers"]
        self.bridge_layers = [max(0, Le - Ld + l) for l in range(Ld)]

    def packed_rnn(self, emb, src_len):
        """The encoder GRU over packed sequences -> memory [B, S, 2H] (zeros at pads), h_n [2 Le, B, H]."""
        packed = nn.utils.rnn.pack_padded_sequence(emb, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, hn = self.encoder.rnn(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, padding_value=0.0, total_length=emb.shape[1])
        return memory, hn

    def encode(self, src, src_len, rnn=None):
        """`rnn` (emb, src_len) -> (memory, h_n) replaces packed_rnn: onnx_export_bigru.py passes its masked
        equivalent, since the ONNX exporter does not take packed sequences."""
        c = self.config
        B, S = src.shape
        H, Le = c["hiddenSize"], c["encoderLayers"]
        emb = F.dropout(self.encoder.embeddings(src), c["dropout"], self.training)
        memory, hn = (rnn or self.packed_rnn)(emb, src_len)
        keys = self.decoder.attention.keys(memory)
        dev = memory.device
        pad_mask = torch.arange(S, device=dev).unsqueeze(0) >= src_len.to(dev).unsqueeze(1)
        finals = hn.view(Le, 2, B, H).permute(0, 2, 1, 3).reshape(Le, B, 2 * H)
        pick = torch.tensor(self.bridge_layers, dtype=torch.long, device=dev)
        hidden = torch.tanh(self.bridge(finals.index_select(0, pick))).contiguous()
        return State(memory, keys, pad_mask, hidden, torch.zeros(B, H, dtype=memory.dtype, device=dev))

    def step(self, s, emb):
        x = torch.cat([emb, s.prev_attn], 1).unsqueeze(1)
        out, s.hidden = self.decoder.rnn(x, s.hidden)
        h = out.squeeze(1)
        scores = self.decoder.attention.scores(s.keys, h).masked_fill(s.pad_mask, float("-inf"))
        align = torch.softmax(scores, -1)
        context = torch.bmm(align.unsqueeze(1), s.memory).squeeze(1)
        attn = torch.tanh(self.decoder.combine(torch.cat([context, h], 1)))
        attn = F.dropout(attn, self.config["dropout"], self.training)
        s.prev_attn = attn
        return attn

    def forward_hidden(self, src, src_len, tgt_in):
        s = self.encode(src, src_len)
        emb = F.dropout(self.decoder.embeddings(tgt_in), self.config["dropout"], self.training)
        return torch.stack([self.step(s, emb[:, t]) for t in range(tgt_in.shape[1])], 1)

    def project(self, h):
        """The output layer (an instance attribute of the same name replaces it: beam.py --int8)."""
        return F.linear(h, self.decoder.proj.weight, self.decoder.proj.bias)

    def forward(self, src, src_len, tgt_in):
        return self.project(self.forward_hidden(src, src_len, tgt_in))

    def decode_step(self, s, tokens):
        emb = F.dropout(self.decoder.embeddings(tokens), self.config["dropout"], self.training)
        return torch.log_softmax(self.project(self.step(s, emb)).float(), -1)


# ---- files ---------------------------------------------------------------------------------------------------


def save(model, path):
    # Tied weights go out under both names, as the native state dict writes them (cloned: safetensors
    # refuses shared storage).
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict(keep_vars=False).items()}
    cfg = {k: model.config[k] for k in sorted(model.config)}
    save_file(tensors, path, metadata={"model_type": MODEL_TYPE, "config": json.dumps(cfg)})


def load(path):
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("model_type") != MODEL_TYPE:
        raise ValueError(f"{path}: model_type is {meta.get('model_type')!r}, expected {MODEL_TYPE!r}")
    model = BiGruSeq2Seq(json.loads(meta["config"]))
    model.load_state_dict(load_file(path), strict=True)
    return model


def frame(batch, c):
    eos, pad = c["eosIndex"], c["padIndex"]
    src = [[eos] + s + [eos] for s in batch["src"]]
    tgt = batch.get("tgt") or [[] for _ in batch["src"]]
    tgt_in = [[eos] + t for t in tgt]

    def padded(rows):
        w = max(len(r) for r in rows)
        return torch.tensor([r + [pad] * (w - len(r)) for r in rows], dtype=torch.long)

    lens = lambda rows: torch.tensor([len(r) for r in rows], dtype=torch.long)  # noqa: E731
    return padded(src), lens(src), padded(tgt_in), lens(tgt_in)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("init", help="a freshly initialised model")
    pi.add_argument("--config", required=True, help="JSON config (camelCase keys as in BiGruConfig)")
    pi.add_argument("--seed", type=int, default=0)
    pi.add_argument("--out", required=True)
    pf = sub.add_parser("forward", help="teacher-forced logits and step-by-step log-probs")
    pf.add_argument("--model", required=True)
    pf.add_argument("--batch", required=True)
    pf.add_argument("--out", required=True)
    a = p.parse_args(argv)

    torch.set_num_threads(1)
    if a.cmd == "init":
        torch.manual_seed(a.seed)
        save(BiGruSeq2Seq(json.loads(a.config)), a.out)
        return
    model = load(a.model).eval()
    with open(a.batch) as f:
        batch = json.load(f)
    src, src_len, tgt_in, tgt_len = frame(batch, model.config)
    with torch.no_grad():
        logits = model(src, src_len, tgt_in)
        s = model.encode(src, src_len)
        steps = torch.stack([model.decode_step(s, tgt_in[:, t]) for t in range(tgt_in.shape[1])], 1)
    save_file({"logits": logits.float().contiguous(), "steplogprobs": steps.contiguous(), "src": src,
               "src_len": src_len, "tgt_in": tgt_in, "tgt_len": tgt_len}, a.out)


if __name__ == "__main__":
    main(sys.argv[1:])
