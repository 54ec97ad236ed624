"""Any of our model files in the PyTorch reference, behind one small interface.

Owns: loading a safetensors model file by its `model_type` (an XLM teacher or cut student through xlm.py,
a BiGRU student through bigru.py) and the adapter that beam.py and the benchmarks drive:

  encode(src, src_len) -> state        step(state, tokens, step) -> log-probs [N, V]
  reorder(state, idx)                  forward(src, src_len, tgt_in, tgt_len) -> logits [B, T, V]
  eos, pad, model (the nn.Module, eval mode)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xlm  # noqa: E402
import bigru  # noqa: E402


def load_model(path):
    """-> adapter for the model in `path` (model_type 'xlm-teacher', 'xlm-student', 'xlm-scratch-student' or
    'bigru-student')."""
    kind = xlm.read_metadata(path).get("model_type")
    # A student from scratch is an XLM transformer of its own depth and width: the same model class.
    if kind in ("xlm-teacher", "xlm-student", "xlm-scratch-student"):
        tensors, meta = xlm.read_safetensors(path)
        saved = json.loads(meta["config"])
        # A cut student's config is the teacher's with fewer layers; keys only our side knows are dropped.
        config = xlm.normalize_config({k: v for k, v in saved.items() if k in xlm.REQUIRED or k in xlm.DEFAULTS})
        return XlmAdapter(xlm.model_from_state_dict(config, tensors, what=path), config)
    if kind == "bigru-student":
        model = bigru.load(path)
        return BiGruAdapter(model, model.config)
    raise ValueError(f"{path}: unknown model_type {kind!r}")


class XlmAdapter:
    def __init__(self, model, config):
        self.model, self.eos, self.pad = model.eval(), config["eosIndex"], config["padIndex"]

    def encode(self, src, src_len):
        return {"enc": self.model.encode(src, src_len), "mask": xlm.length_mask(src_len, src.shape[1]), "cache": {}}

    def step(self, state, tokens, step):
        return self.model.decode_step(tokens, state["cache"], state["enc"], state["mask"], step)

    def reorder(self, state, idx):
        state["enc"], state["mask"] = state["enc"].index_select(0, idx), state["mask"].index_select(0, idx)
        self.model.reorder(state["cache"], idx)

    def forward(self, src, src_len, tgt_in, tgt_len):
        return self.model(src, src_len, tgt_in, tgt_len)


class BiGruAdapter:
    def __init__(self, model, config):
        self.model, self.eos, self.pad = model.eval(), config["eosIndex"], config["padIndex"]

    def encode(self, src, src_len):
        return self.model.encode(src, src_len)

    def step(self, state, tokens, step):
        return self.model.decode_step(state, tokens)

    def reorder(self, state, idx):
        state.reorder(idx)

    def forward(self, src, src_len, tgt_in, tgt_len):
        return self.model(src, src_len, tgt_in)


def frame(rows, eos, pad):
    """Ragged source id lists -> ([B, S] LongTensor framed `</s> w... </s>` and padded, lengths)."""
    import torch
    src = [[eos] + list(r) + [eos] for r in rows]
    lens = torch.tensor([len(r) for r in src])
    out = torch.full((len(src), int(lens.max())), pad, dtype=torch.long)
    for i, r in enumerate(src):
        out[i, :len(r)] = torch.tensor(r)
    return out, lens
