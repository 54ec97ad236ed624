"""The PyTorch reference of a training step, for bench/train.js: what a PyTorch user writes.

  teacher CE step:   logits = model(batch); F.cross_entropy(label_smoothing) over non-pad tokens; backward;
                     clip_grad_norm_(5); Adam(betas 0.9/0.98).step(); zero_grad()
  distillation step: teacher logits under no_grad (eval); student logits; alpha * T^2 * KL(log_softmax(t/T) ||
                     log_softmax(s/T)) + (1 - alpha) * CE_ls, summed over non-pad tokens / their count;
                     backward; clip; Adam step; zero_grad()

Usage: python train_step.py SPEC.json   (SPEC: {"mode": "ce"|"kd", "model", "teacher", "batches": [[src rows, tgt rows], ...],
       "rounds", "threads", "alpha", "temperature", "labelSmoothing", "lr", "device" (default "cpu"),
       "precision": "fp32" (default) | "bf16" (the forwards under torch.autocast(device, torch.bfloat16))})
Prints one JSON line: {"times": [ms per step, ...], "tokens": [target tokens per step, ...]}.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

import models


def tensors(rows_src, rows_tgt, eos, pad):
    src, src_len = models.frame(rows_src, eos, pad)
    tin = [[eos] + list(r) for r in rows_tgt]
    tout = [list(r) + [eos] for r in rows_tgt]
    T = max(len(r) for r in tin)
    tgt_in = torch.full((len(tin), T), pad, dtype=torch.long)
    tgt_out = torch.full((len(tin), T), pad, dtype=torch.long)
    for i, (a, b) in enumerate(zip(tin, tout)):
        tgt_in[i, :len(a)] = torch.tensor(a)
        tgt_out[i, :len(b)] = torch.tensor(b)
    tgt_len = torch.tensor([len(r) for r in tin])
    return src, src_len, tgt_in, tgt_len, tgt_out


def main(spec_file):
    spec = json.load(open(spec_file))
    torch.set_num_threads(spec["threads"])
    device = torch.device(spec.get("device", "cpu"))
    autocast = spec.get("precision", "fp32") == "bf16"
    student = models.load_model(spec["model"])
    model = student.model.train().to(device)
    teacher = models.load_model(spec["teacher"]).model.eval().to(device) if spec["mode"] == "kd" else None
    eos, pad = student.eos, student.pad
    batches = [tuple(x.to(device) for x in tensors(s, t, eos, pad)) for s, t in spec["batches"]]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=spec["lr"], betas=(0.9, 0.98))
    T, alpha, ls = spec["temperature"], spec["alpha"], spec["labelSmoothing"]
    times, tokens = [], []
    for r in range(spec["rounds"] + 1):  # the first round warms up
        for src, src_len, tgt_in, tgt_len, tgt_out in batches:
            sync()
            t0 = time.perf_counter()
            # The usual autocast recipe: forward and loss inside the region (autocast keeps softmaxes and
            # losses in float32), backward outside it.
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(src, src_len, tgt_in, tgt_len)
                V = logits.shape[-1]
                s = logits.reshape(-1, V)
                y = tgt_out.reshape(-1)
                mask = y != pad
                n = int(mask.sum())
                ce = F.cross_entropy(s, y, ignore_index=pad, label_smoothing=ls, reduction="sum")
                if teacher is None:
                    loss = ce / n
                else:
                    with torch.no_grad():
                        t = teacher(src, src_len, tgt_in, tgt_len).reshape(-1, V)
                    kd = F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), reduction="none", log_target=True).sum(-1)
                    loss = (alpha * T * T * (kd * mask).sum() + (1 - alpha) * ce) / n
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            opt.zero_grad()
            sync()
            if r > 0:
                times.append((time.perf_counter() - t0) * 1e3)
                tokens.append(n)
    print(json.dumps({"times": times, "tokens": tokens}))


if __name__ == "__main__":
    main(sys.argv[1])
