"""PyTorch's distillation loss on a GPU, eager and torch.compile, for bench/gpu.js: forward + backward time and
peak memory of what a PyTorch user writes,

  alpha * T^2 * KL(log_softmax(t/T) || log_softmax(s/T)) + (1 - alpha) * cross_entropy(label_smoothing)

averaged over the non-pad tokens (logits read in float32, as the fused loss computes).

Usage: python loss_gpu.py N V DTYPE ROUNDS   (DTYPE float32 | bfloat16)
Prints one JSON line: {"eager": {"ms": [...], "peak": bytes}, "compile": {"ms": [...], "peak": bytes}}; peak is the
caching allocator's peak during the loop minus what was allocated before it (the inputs), as on our side.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

T, ALPHA, LS, PAD = 2.0, 0.5, 0.1, 2


def loss_fn(s, t, y):
    s32, t32 = s.float(), t.float()
    mask = y != PAD
    kd = F.kl_div(F.log_softmax(s32 / T, -1), F.log_softmax(t32 / T, -1), reduction="none", log_target=True).sum(-1)
    ce = F.cross_entropy(s32, y, ignore_index=PAD, label_smoothing=LS, reduction="sum")
    return (ALPHA * T * T * (kd * mask).sum() + (1 - ALPHA) * ce) / mask.sum()


def measure(fn, s, t, y, rounds):
    for _ in range(3):  # warm-up (and, for torch.compile, compilation)
        fn(s, t, y).backward()
        s.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times = []
    for _ in range(rounds):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn(s, t, y).backward()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
        s.grad = None
    return {"ms": times, "peak": torch.cuda.max_memory_allocated() - base}


def main(n, v, dtype, rounds):
    torch.manual_seed(0)
    dt = getattr(torch, dtype)
    s = torch.randn(n, v, device="cuda", dtype=dt, requires_grad=True)
    t = torch.randn(n, v, device="cuda", dtype=dt)
    y = torch.randint(0, v, (n,), device="cuda")
    out = {"eager": measure(loss_fn, s, t, y, rounds)}
    torch.cuda.empty_cache()
    out["compile"] = measure(torch.compile(loss_fn), s, t, y, rounds)
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
