"""A copy task that gives the decoding benchmark models which stop on their own.

Owns: the benchmark's synthetic data and its short training. Random weights never emit </s>, so every
hypothesis would run to the length cap and a decoding benchmark would only time max-length loops. A model
trained for a few hundred steps to copy its source (tokens drawn Zipf-like over the whole vocabulary, as
BPE tokens are, lengths 3-30) ends its outputs with </s> at about the source length, with the spread of
lengths and early/late finishing that real translation has.

CLI:
  python bench/reference/copy_task.py train --model m.safetensors --steps 500 [--seed 0] --out trained.safetensors
      any of our XLM model files (teacher or cut student); Adam, inverse-sqrt warm-up, batches of 32;
      the file's metadata (model_type, config, layer_map) is kept.
  python bench/reference/copy_task.py sample --vocab 8000 --n 500 [--seed 1] --out src.json
      sentences from the same distribution, as a JSON list of id lists.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from models import load_model
import xlm

MIN_LEN, MAX_LEN, FIRST_WORD = 3, 30, 4  # ids below 4 are <s> </s> <pad> <unk>


class Sampler:
    def __init__(self, vocab, seed):
        self.weights = 1.0 / torch.arange(1, vocab - FIRST_WORD + 1, dtype=torch.float64) ** 1.1
        self.gen = torch.Generator().manual_seed(seed)

    def sentence(self):
        n = int(torch.randint(MIN_LEN, MAX_LEN + 1, (1,), generator=self.gen))
        return (FIRST_WORD + torch.multinomial(self.weights, n, replacement=True, generator=self.gen)).tolist()


def train(path, steps, seed, out, batch_size=32, lr=1e-3, warmup=100):
    torch.manual_seed(seed)
    m = load_model(path)
    model, V = m.model, m.model.config["vocabSize"]
    _, meta = xlm.read_safetensors(path)
    sampler = Sampler(V, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warmup, (warmup / (s + 1)) ** 0.5))
    model.train()
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        rows = [sampler.sentence() for _ in range(batch_size)]
        b = xlm.make_batch(rows, rows, model.config)
        logits = m.forward(b["src"], b["src_len"], b["tgt_in"], b["tgt_len"])
        loss = F.cross_entropy(logits.reshape(-1, V), b["tgt_out"].reshape(-1), ignore_index=m.pad)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps:
            print(f"step {step}/{steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    model.eval()
    save_file(xlm.state_dict_for_save(model), out, metadata=meta)
    print(json.dumps({"loss": loss.item(), "seconds": time.perf_counter() - t0}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("train")
    a.add_argument("--model", required=True)
    a.add_argument("--steps", type=int, default=500)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", required=True)
    a = sub.add_parser("sample")
    a.add_argument("--vocab", type=int, required=True)
    a.add_argument("--n", type=int, default=500)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.cmd == "train":
        train(args.model, args.steps, args.seed, args.out)
    else:
        s = Sampler(args.vocab, args.seed)
        with open(args.out, "w") as f:
            json.dump([s.sentence() for _ in range(args.n)], f)


if __name__ == "__main__":
    main()
