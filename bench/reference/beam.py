"""Reference decoding in plain PyTorch: greedy and batched beam search written the usual way.

Owns: the Python side of the decoding benchmark (bench/decode.js). It follows the same rules as our
TypeScript beam search (XLM's generate_beam: top-2K over K*V, a hypothesis finishes on </s>, score =
sum log-prob / (len+1)^lp, a sentence is done when it holds K finished hypotheses and no live one can
beat the worst, </s> forced at max length) but in the common PyTorch style: all B*K rows stay in the
batch until every sentence is done, and bookkeeping is a Python loop over hypotheses.

Models: any of our model files, through the adapters of bench/reference/models.py (encode, step,
reorder).

CLI:
  python bench/reference/beam.py --model m.safetensors --src src.json --beam 5 [--greedy] [--int8] --out out.json
      src.json: [[ids..], ...] (no framing); out.json: {"hyps": [[ids..], ...], "scores": [...],
      "seconds": decode time (model load excluded)}; batch size --batch-size (default 32), sentences are
      length-sorted into batches as our side does. --int8: the layers our model.quantize() converts (the
      decoder's linear layers and output layer; the BiGRU's decoder GRU, combine and output layer) go through
      torch.ao.quantization.quantize_dynamic with per_channel_dynamic_qconfig, the rest stays float32.
      --device cuda[:N]: the model and batches on that GPU (float32).
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import BiGruAdapter, frame, load_model  # noqa: E402


def quantize_like_ours(m):
    """The int8 reference: torch.ao's dynamic quantization of the same layers as model.quantize()."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = m.model
    if isinstance(m, BiGruAdapter):
        # The output layer is a bare weight (maybe tied to the embeddings): an nn.Linear copy is quantized.
        proj = torch.nn.Linear(model.decoder.proj.weight.shape[1], model.decoder.proj.weight.shape[0])
        proj.weight.data.copy_(model.decoder.proj.weight.data)
        proj.bias.data.copy_(model.decoder.proj.bias.data)
        model.project = quantize_dynamic(torch.nn.Sequential(proj), {"0": per_channel_dynamic_qconfig}, dtype=torch.qint8)[0]
        names = ["decoder.combine", "decoder.rnn"]
    else:
        names = [n for n, mod in model.named_modules() if isinstance(mod, torch.nn.Linear) and n.startswith("decoder.")]
    m.model = quantize_dynamic(model, {n: per_channel_dynamic_qconfig for n in names}, dtype=torch.qint8)
    return m


@torch.no_grad()
def greedy(m, src, src_len, max_lens):
    B = src.shape[0]
    state = m.encode(src, src_len)
    tokens = torch.full((B,), m.eos, dtype=torch.long, device=src.device)
    out = [[] for _ in range(B)]
    scores = [0.0] * B
    done = [False] * B
    for step in range(max(max_lens)):
        lp = m.step(state, tokens, step)
        for b in range(B):
            if step + 1 >= max_lens[b]:
                keep = lp[b, m.eos].clone()
                lp[b].fill_(-math.inf)
                lp[b, m.eos] = keep
        best, tokens = lp.max(dim=-1)
        for b in range(B):
            if done[b]:
                continue
            scores[b] += best[b].item()
            if tokens[b].item() == m.eos:
                done[b] = True
            else:
                out[b].append(tokens[b].item())
        if all(done):
            break
    return out, [s / (len(o) + 1) for s, o in zip(scores, out)]


@torch.no_grad()
def beam_search(m, src, src_len, max_lens, K, lp_pow=1.0):
    B = src.shape[0]
    dev = src.device
    state = m.encode(src, src_len)
    m.reorder(state, torch.arange(B, device=dev).repeat_interleave(K))
    V = None
    beam_scores = torch.zeros(B, K, device=dev)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    tokens = torch.full((B * K,), m.eos, dtype=torch.long, device=dev)
    hist = [[] for _ in range(B * K)]
    finished = [[] for _ in range(B)]  # (score, tokens)
    done = [False] * B
    for step in range(max(max_lens)):
        lp = m.step(state, tokens, step)
        V = lp.shape[-1]
        for b in range(B):
            if step + 1 >= max_lens[b]:
                rows = slice(b * K, (b + 1) * K)
                keep = lp[rows, m.eos].clone()
                lp[rows] = -math.inf
                lp[rows, m.eos] = keep
        scores = (lp + beam_scores[:, None]).view(B, K * V)
        top_v, top_i = scores.topk(2 * K, dim=1)
        next_scores, next_tokens, next_rows = [], [], []
        for b in range(B):
            if done[b]:
                next_scores += [0.0] * K
                next_tokens += [m.pad] * K
                next_rows += [b * K] * K
                continue
            chosen = []
            for v, i in zip(top_v[b].tolist(), top_i[b].tolist()):
                beam, word = divmod(i, V)
                row = b * K + beam
                if word == m.eos or step + 1 >= max_lens[b]:
                    finished[b].append((v / (len(hist[row]) + 1) ** lp_pow, hist[row]))
                    finished[b].sort(key=lambda x: -x[0])
                    del finished[b][K:]
                else:
                    chosen.append((v, word, row))
                if len(chosen) == K:
                    break
            best = top_v[b, 0].item()
            full = len(finished[b]) >= K
            if step + 1 >= max_lens[b] or (full and finished[b][-1][0] >= best / max_lens[b] ** lp_pow):
                done[b] = True
            while len(chosen) < K:
                chosen.append((-1e9, m.pad, b * K))
            for v, word, row in chosen:
                next_scores.append(v)
                next_tokens.append(word)
                next_rows.append(row)
        if all(done):
            break
        idx = torch.tensor(next_rows, device=dev)
        m.reorder(state, idx)
        hist = [hist[r] + [w] for r, w in zip(next_rows, next_tokens)]
        beam_scores = torch.tensor(next_scores, device=dev)
        tokens = torch.tensor(next_tokens, device=dev)
    best = [f[0] for f in finished]
    return [b[1] for b in best], [b[0] for b in best]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--int8", action="store_true")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]: where the model and the batches go")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    m = load_model(args.model)
    if args.int8:
        m = quantize_like_ours(m)
    device = torch.device(args.device)
    m.model.to(device)
    with open(args.src) as f:
        sources = json.load(f)
    order = sorted(range(len(sources)), key=lambda i: (len(sources[i]), i))
    hyps, scores = [None] * len(sources), [None] * len(sources)
    t0 = time.perf_counter()
    for start in range(0, len(order), args.batch_size):
        ids = order[start:start + args.batch_size]
        src, lens = frame([sources[i] for i in ids], m.eos, m.pad)
        src, lens = src.to(device), lens.to(device)
        max_lens = [min(500, int(1.5 * int(n) + 10)) for n in lens]
        if args.greedy:
            out, sc = greedy(m, src, lens, max_lens)
        else:
            out, sc = beam_search(m, src, lens, max_lens, args.beam)
        for k, i in enumerate(ids):
            hyps[i], scores[i] = out[k], sc[k]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    with open(args.out, "w") as f:
        json.dump({"hyps": hyps, "scores": scores, "seconds": seconds}, f)
    print(f"{len(sources)} sentences in {seconds:.2f} s ({len(sources) / seconds:.1f} sent/s)")


if __name__ == "__main__":
    main()
