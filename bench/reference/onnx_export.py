"""Exports one of our model files to ONNX for bench/fast-inference.js's ONNX Runtime side.

Owns the entry point for every kind and the XLM export (teacher or cut student); a BiGRU student goes to
onnx_export_bigru.py, which writes the same two files for its own state.

XLM: two graphs, from the reference modules of xlm.py (the same weights and arithmetic):
  encoder.onnx  src [B,S] int64, src_len [B] int64
                -> src_mask [B,S] bool, then per decoder layer i: cross_k_i, cross_v_i [B,H,S,dh]
  step.onnx     tokens [N] int64, step [] int64, beam_idx [N] int64 (rows of the previous step's caches to
                continue, which is how beam search reorders and prunes), src_mask [M,S], cross_k_i/cross_v_i
                [M,H,S,dh], self_k_i/self_v_i [M,H,t,dh] (t = step; zero-size at step 0)
                -> log_probs [N,V] float32, then src_mask, cross_*, self_* for the N rows (self_* grown by one)
Both kinds: every step input but tokens, step and beam_idx is decoder state, which comes back as output
next_<name> (past_self_* as next_self_*), so bench/onnx-model.js drives either without knowing which.
Usage: python bench/reference/onnx_export.py MODEL.safetensors OUT_DIR
Prints one JSON line: {"kind" (the model_type), "layers", "heads", "dim", "vocab", "eos"} for XLM, {"kind",
"encoderLayers", "decoderLayers", "hidden", "vocab", "eos", "encoderMaxAbsDiff"} for the BiGRU (its masked
encoder against the packed reference).
"""
import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import load_model  # noqa: E402
import bigru  # noqa: E402
import onnx_export_bigru  # noqa: E402
import xlm  # noqa: E402


class Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src, src_len):
        enc = self.model.encoder(src, src_len, None)
        mask = xlm.length_mask(src_len, src.shape[1])
        out = [mask]
        for att in self.model.decoder.encoder_attn:
            out += [att._heads(att.k_lin(enc)), att._heads(att.v_lin(enc))]
        return tuple(out)


def attend(att, x, k, v, allowed):
    q = att._heads(att.q_lin(x)) / math.sqrt(x.shape[-1] // att.n_heads)
    scores = torch.matmul(q, k.transpose(2, 3))
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    ctx = torch.matmul(F.softmax(scores.float(), dim=-1), v).transpose(1, 2).reshape(x.shape[0], 1, x.shape[-1])
    return att.out_lin(ctx)


class Step(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.dec = model.decoder

    def forward(self, tokens, step, beam_idx, src_mask, *caches):
        d = self.dec
        L = d.n_layers
        cross, past = caches[: 2 * L], caches[2 * L:]
        src_mask = src_mask.index_select(0, beam_idx)
        positions = step.expand(tokens.shape[0]).unsqueeze(1)
        x = d.layer_norm_emb(d.embeddings(tokens.unsqueeze(1)) + d.position_embeddings(positions))
        allowed = src_mask[:, None, None, :]
        out_cross, out_self = [], []
        for i in range(L):
            sa = d.attentions[i]
            k = torch.cat([past[2 * i].index_select(0, beam_idx), sa._heads(sa.k_lin(x))], 2)
            v = torch.cat([past[2 * i + 1].index_select(0, beam_idx), sa._heads(sa.v_lin(x))], 2)
            out_self += [k, v]
            x = d.layer_norm1[i](x + attend(sa, x, k, v, None))
            ck, cv = cross[2 * i].index_select(0, beam_idx), cross[2 * i + 1].index_select(0, beam_idx)
            out_cross += [ck, cv]
            x = d.layer_norm15[i](x + attend(d.encoder_attn[i], x, ck, cv, allowed))
            x = d.layer_norm2[i](x + d.ffns[i](x))
        logp = F.log_softmax(d.pred_layer.proj(x[:, 0]).float(), dim=-1)
        return (logp, src_mask, *out_cross, *out_self)


def export_xlm(m, out_dir):
    """Writes encoder.onnx and step.onnx of `m` (xlm.py's model, eval) -> the JSON line's fields."""
    c = m.encoder
    if c.sinusoidal:
        raise SystemExit("onnx_export.py: sinusoidal position embeddings are not exported")
    L, H, D = m.decoder.n_layers, m.decoder.n_heads, m.decoder.dim
    dh = D // H
    B, S = 2, 5
    src = torch.full((B, S), 5, dtype=torch.long)
    src_len = torch.tensor([S, 3])
    cross_names = [f"cross_{kv}_{i}" for i in range(L) for kv in "kv"]
    self_names = [f"self_{kv}_{i}" for i in range(L) for kv in "kv"]
    with torch.no_grad():
        torch.onnx.export(Encoder(m), (src, src_len), os.path.join(out_dir, "encoder.onnx"), dynamo=False,
                          input_names=["src", "src_len"], output_names=["src_mask", *cross_names],
                          dynamic_axes={"src": {0: "B", 1: "S"}, "src_len": {0: "B"}, "src_mask": {0: "B", 1: "S"},
                                        **{n: {0: "B", 2: "S"} for n in cross_names}})
        enc = Encoder(m)(src, src_len)
        step_inputs = (torch.tensor([1, 1]), torch.tensor(1), torch.tensor([0, 1]), enc[0], *enc[1:],
                       *[torch.zeros(B, H, 1, dh) for _ in self_names])
        torch.onnx.export(Step(m), step_inputs, os.path.join(out_dir, "step.onnx"), dynamo=False,
                          input_names=["tokens", "step", "beam_idx", "src_mask", *cross_names, *[f"past_{n}" for n in self_names]],
                          output_names=["log_probs", "next_src_mask", *[f"next_{n}" for n in cross_names], *[f"next_{n}" for n in self_names]],
                          dynamic_axes={"tokens": {0: "N"}, "beam_idx": {0: "N"}, "src_mask": {0: "M", 1: "S"},
                                        **{n: {0: "M", 2: "S"} for n in cross_names},
                                        **{f"past_{n}": {0: "M", 2: "T"} for n in self_names},
                                        "log_probs": {0: "N"}, "next_src_mask": {0: "N", 1: "S"},
                                        **{f"next_{n}": {0: "N", 2: "S"} for n in cross_names},
                                        **{f"next_{n}": {0: "N", 2: "T1"} for n in self_names}})
    return {"layers": L, "heads": H, "dim": D, "vocab": m.decoder.embeddings.num_embeddings, "eos": m.config["eosIndex"]}


def main(path, out_dir):
    warnings.simplefilter("ignore")
    os.makedirs(out_dir, exist_ok=True)
    m = load_model(path).model.eval()
    kind = xlm.read_metadata(path).get("model_type")
    export = onnx_export_bigru.export if kind == bigru.MODEL_TYPE else export_xlm
    print(json.dumps({"kind": kind, **export(m, out_dir)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
