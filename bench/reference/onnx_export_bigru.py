"""Exports a BiGRU student (bigru.py) to ONNX for bench/fast-inference.js's ONNX Runtime side; onnx_export.py
calls `export` for model_type 'bigru-student'.

Two graphs, from the reference model's own code (the same weights and arithmetic):
  encoder.onnx  src [B,S] int64, src_len [B] int64
                -> memory [B,S,2H] (zeros at pads), keys [B,S,H], pad_mask [B,S] bool, hidden [Ld,B,H],
                   prev_attn [B,H] (zeros)
  step.onnx     tokens [N] int64, beam_idx [N] int64 (rows of the previous state to continue, as the
                transformer's step takes them), memory, keys, pad_mask, hidden, prev_attn of M rows
                -> log_probs [N,V] float32, then next_memory, next_keys, next_pad_mask, next_hidden,
                   next_prev_attn for the N rows
The reference encoder runs its GRU over packed sequences, which the ONNX exporter does not take; the export
runs a masked equivalent (MaskedBiGru), held to the packed run on a batch of mixed lengths before exporting.
"""
import os

import torch
import torch.nn as nn

import bigru

STATE = ("memory", "keys", "pad_mask", "hidden", "prev_attn")
BATCH_AXIS = {"hidden": 1}  # [L, B, H]; the others are batch-first
ENCODER_TOLERANCE = 1e-5


def single_directions(rnn):
    """A bidirectional nn.GRU -> per layer [forward, backward] one-direction GRUs holding its weights."""
    layers = nn.ModuleList()
    for layer in range(rnn.num_layers):
        pair = nn.ModuleList()
        for suffix in ("", "_reverse"):
            g = nn.GRU(rnn.input_size if layer == 0 else 2 * rnn.hidden_size, rnn.hidden_size, batch_first=True)
            g.load_state_dict({f"{w}_l0": getattr(rnn, f"{w}_l{layer}{suffix}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
            pair.append(g)
        layers.append(pair)
    return layers


def within_length_reversal(src_len, S):
    """[B, S] positions t -> len-1-t inside each sentence, pads left where they are (its own inverse)."""
    t = torch.arange(S).unsqueeze(0)
    n = src_len.unsqueeze(1)
    return torch.where(t < n, n - 1 - t, t)


def take(x, positions):
    """x [B, S, F] at positions [B, P] -> [B, P, F]."""
    return x.gather(1, positions.unsqueeze(2).expand(-1, -1, x.shape[2]))


class MaskedBiGru(nn.Module):
    """bigru.py's packed encoder GRU on the padded batch: the forward direction runs over the pads after each
    sentence (they come too late to change it), the backward one over each sentence reversed within its own
    length (pads again last), then reversed back; final states are read at the last real position."""

    def __init__(self, rnn):
        super().__init__()
        self.layers = single_directions(rnn)

    def forward(self, emb, src_len):
        rev = within_length_reversal(src_len, emb.shape[1])
        last = (src_len - 1).unsqueeze(1)
        x, finals = emb, []
        for fwd, bwd in self.layers:
            out_f = fwd(x)[0]
            out_b = take(bwd(take(x, rev))[0], rev)
            finals += [take(out_f, last).squeeze(1), out_b[:, 0]]
            x = torch.cat([out_f, out_b], 2)  # the next layer's input: pads hold garbage it never reads
        pad = torch.arange(emb.shape[1]).unsqueeze(0) >= src_len.unsqueeze(1)
        return x.masked_fill(pad.unsqueeze(2), 0.0), torch.stack(finals)


class Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model, self.rnn = model, MaskedBiGru(model.encoder.rnn)

    def forward(self, src, src_len):
        s = self.model.encode(src, src_len, rnn=self.rnn)
        return tuple(getattr(s, n) for n in STATE)


class Step(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens, beam_idx, *state):
        s = bigru.State(*(t.index_select(BATCH_AXIS.get(n, 0), beam_idx) for n, t in zip(STATE, state)))
        logp = self.model.decode_step(s, tokens)  # advances s.hidden and s.prev_attn
        return (logp, *(getattr(s, n) for n in STATE))


def check_encoder(model, enc):
    """Largest |masked - packed| over the encoder's outputs on a padded batch of mixed lengths; fails above
    ENCODER_TOLERANCE (or when the pad masks differ)."""
    g = torch.Generator().manual_seed(0)
    src_len = torch.tensor([9, 4, 1, 7, 2, 9])
    src = torch.randint(3, model.config["vocabSize"], (len(src_len), int(src_len.max())), generator=g)
    src = src.masked_fill(torch.arange(src.shape[1]).unsqueeze(0) >= src_len.unsqueeze(1), model.config["padIndex"])
    ref, got = model.encode(src, src_len), enc(src, src_len)
    if not torch.equal(ref.pad_mask, got[STATE.index("pad_mask")]):
        raise SystemExit("onnx_export_bigru.py: the masked encoder's pad mask differs from the reference's")
    diff = max((getattr(ref, n) - t).abs().max().item() for n, t in zip(STATE, got) if n != "pad_mask")
    if diff > ENCODER_TOLERANCE:
        raise SystemExit(f"onnx_export_bigru.py: the masked encoder is {diff:.3g} off the packed reference")
    return diff


def axes(names, batch):
    """dynamic_axes of state tensors `names` (maybe next_*): the batch axis named `batch`, and S where they have it."""
    out = {}
    for n in names:
        base = n.removeprefix("next_")
        out[n] = {BATCH_AXIS.get(base, 0): batch, **({1: "S"} if base in ("memory", "keys", "pad_mask") else {})}
    return out


def export(model, out_dir):
    """Writes encoder.onnx and step.onnx of `model` (bigru.BiGruSeq2Seq, eval) -> the JSON line's fields."""
    c = model.config
    enc = Encoder(model).eval()
    with torch.no_grad():
        diff = check_encoder(model, enc)
        src_len = torch.tensor([5, 3])
        src = torch.full((2, 5), 5, dtype=torch.long)
        torch.onnx.export(enc, (src, src_len), os.path.join(out_dir, "encoder.onnx"), dynamo=False,
                          input_names=["src", "src_len"], output_names=list(STATE),
                          dynamic_axes={"src": {0: "B", 1: "S"}, "src_len": {0: "B"}, **axes(STATE, "B")})
        nexts = [f"next_{n}" for n in STATE]
        torch.onnx.export(Step(model).eval(), (torch.tensor([1, 1, 1]), torch.tensor([0, 1, 1]), *enc(src, src_len)),
                          os.path.join(out_dir, "step.onnx"), dynamo=False,
                          input_names=["tokens", "beam_idx", *STATE], output_names=["log_probs", *nexts],
                          dynamic_axes={"tokens": {0: "N"}, "beam_idx": {0: "N"}, "log_probs": {0: "N"},
                                        **axes(STATE, "M"), **axes(nexts, "N")})
    return {"encoderLayers": c["encoderLayers"], "decoderLayers": c["decoderLayers"],
            "hidden": c["hiddenSize"], "vocab": c["vocabSize"], "eos": c["eosIndex"], "encoderMaxAbsDiff": diff}
