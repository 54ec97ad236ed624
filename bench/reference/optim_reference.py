"""PyTorch reference of lib/train/optimizer.ts (native/optim), for test/optimizer.test.ts.

Usage: python optim_reference.py IN.safetensors OUT.safetensors

IN holds the initial parameters `param.I`, the gradients `grad.S.I` of every step S (0-based) and, in its
metadata, "config": {"kind": "adam"|"adamw", "lr": [per step], "betas": [b1, b2], "eps", "weightDecay",
"maxNorm": number | null, "steps"}. Runs torch.optim.Adam/AdamW (its default implementation for CPU
tensors) with torch.nn.utils.clip_grad_norm_ before each step when maxNorm is set, and writes the final
parameters `param.I`, the moments `exp_avg.I` / `exp_avg_sq.I` and the norms `norms` to OUT.
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def main(src, dst):
    with safe_open(src, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    n = sum(1 for k in tensors if k.startswith("param."))
    params = [tensors[f"param.{i}"].clone().requires_grad_() for i in range(n)]
    cls = torch.optim.AdamW if cfg["kind"] == "adamw" else torch.optim.Adam
    opt = cls(params, lr=cfg["lr"][0], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weightDecay"])
    norms = []
    for s in range(cfg["steps"]):
        for i, p in enumerate(params):
            p.grad = tensors[f"grad.{s}.{i}"].clone()
        if cfg["maxNorm"] is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, cfg["maxNorm"])))
        for group in opt.param_groups:
            group["lr"] = cfg["lr"][s]
        opt.step()
        opt.zero_grad()
    out = {f"param.{i}": p.detach() for i, p in enumerate(params)}
    for i, p in enumerate(params):
        out[f"exp_avg.{i}"] = opt.state[p]["exp_avg"]
        out[f"exp_avg_sq.{i}"] = opt.state[p]["exp_avg_sq"]
    out["norms"] = torch.tensor(norms, dtype=torch.float64)
    save_file(out, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
