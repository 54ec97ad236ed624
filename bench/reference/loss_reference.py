"""PyTorch reference of the knowledge-distillation loss of lib/loss (native/loss), for test/loss.test.ts.

    L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE_eps(s, y)

per target token whose label is not ignoreIndex; 'mean' averages over those tokens (0 when there are
none), 'sum' adds them, 'none' keeps one value per token (0 for pad tokens). CE_eps is
F.cross_entropy(..., label_smoothing=eps). The KD part is not computed (reported 0) when alpha == 0, the CE
part when alpha == 1 (labels are then only the pad mask), as in the native loss.

Sparse teacher (top-k indices + logProbs): q = softmax(logProbs / T) over the k entries, i.e. the tail
outside the top-k gets probability 0 (the missing mass is renormalised over the k).

Usage: python bench/reference/loss_reference.py IN.safetensors OUT.safetensors

IN holds, for each case NAME listed in the metadata entry "cases" (a JSON list of
{"name", "form": "dense"|"sparse"|"chunked", "teacher": "logits"|"sparse"|"hidden", "temperature",
"alpha", "labelSmoothing", "ignoreIndex", "reduction"}), the tensors NAME.student (dense/sparse forms) or
NAME.hidden, NAME.weight[, NAME.bias] (chunked form); the teacher as NAME.teacher (logits),
NAME.indices + NAME.logProbs (sparse) or NAME.teacherHidden, NAME.teacherWeight[, NAME.teacherBias];
NAME.targets (optional when alpha == 1); NAME.gradOutput (optional; the upstream gradient for 'none').
Everything is computed in float64. OUT gets NAME.loss, NAME.kd, NAME.ce and the gradients NAME.grad
(w.r.t. the student logits), or NAME.gradHidden, NAME.gradWeight[, NAME.gradBias] (chunked form).
"""
import json
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file


def distill_loss(s, teacher, y, o):
    """s: [.., V] float64 student logits (requires grad). Returns (loss, kd, ce)."""
    T = float(o["temperature"])
    alpha = float(o["alpha"])
    eps = float(o.get("labelSmoothing", 0.0))
    ign = int(o.get("ignoreIndex", 2))
    red = o.get("reduction", "mean")
    V = s.shape[-1]
    lead = s.shape[:-1]
    s2 = s.reshape(-1, V)
    N = s2.shape[0]
    y2 = y.reshape(-1).long() if y is not None else None
    mask = (y2 != ign) if y2 is not None else torch.ones(N, dtype=torch.bool)
    zeros = s2.new_zeros(N)
    kd = zeros
    if alpha > 0:
        logp_T = F.log_softmax(s2 / T, dim=-1)
        if teacher["kind"] == "logits":
            logq_T = F.log_softmax(teacher["logits"].reshape(-1, V).double() / T, dim=-1)
            kd = F.kl_div(logp_T, logq_T, reduction="none", log_target=True).sum(-1) * T * T
        else:
            k = teacher["indices"].shape[-1]
            idx = teacher["indices"].reshape(-1, k).long()
            lq = F.log_softmax(teacher["logProbs"].reshape(-1, k).double() / T, dim=-1)
            q = lq.exp()
            term = torch.where(q > 0, q * (lq - logp_T.gather(1, idx)), torch.zeros_like(q))
            kd = term.sum(-1) * T * T
        kd = torch.where(mask, kd, zeros)
    ce = zeros
    if alpha < 1:
        ce = F.cross_entropy(s2, y2, reduction="none", ignore_index=ign, label_smoothing=eps)
    rows = alpha * kd + (1 - alpha) * ce
    if red == "mean":
        count = max(int(mask.sum()), 1)
        return rows.sum() / count, kd.sum() / count, ce.sum() / count
    if red == "sum":
        return rows.sum(), kd.sum(), ce.sum()
    return rows.reshape(lead), kd.reshape(lead), ce.reshape(lead)


def main(inp, out):
    tensors = {}
    with safe_open(inp, framework="pt") as f:
        cases = json.loads(f.metadata()["cases"])
        for key in f.keys():
            tensors[key] = f.get_tensor(key)
    results = {}
    for o in cases:
        name = o["name"]
        get = lambda k: tensors.get(f"{name}.{k}")  # noqa: E731
        kind = o.get("teacher", "logits")
        y = get("targets")
        if kind == "sparse":
            teacher = {"kind": "sparse", "indices": get("indices"), "logProbs": get("logProbs")}
        elif kind == "hidden":
            tl = get("teacherHidden").double() @ get("teacherWeight").double().t()
            if get("teacherBias") is not None:
                tl = tl + get("teacherBias").double()
            teacher = {"kind": "logits", "logits": tl}
        else:
            teacher = {"kind": "logits", "logits": get("teacher")}
        if o.get("form", "dense") == "chunked":
            h = get("hidden").double().requires_grad_()
            w = get("weight").double().requires_grad_()
            b = get("bias").double().requires_grad_() if get("bias") is not None else None
            logits = h @ w.t() + (b if b is not None else 0)
            loss, kd, ce = distill_loss(logits, teacher, y, o)
            loss.backward()
            results[f"{name}.gradHidden"] = h.grad
            results[f"{name}.gradWeight"] = w.grad
            if b is not None:
                results[f"{name}.gradBias"] = b.grad
        else:
            s = get("student").double().requires_grad_()
            loss, kd, ce = distill_loss(s, teacher, y, o)
            go = get("gradOutput")
            if loss.dim() == 0:
                loss.backward()
            else:
                loss.backward(go.double() if go is not None else torch.ones_like(loss))
            results[f"{name}.grad"] = s.grad
        results[f"{name}.loss"] = loss.detach().reshape(-1)
        results[f"{name}.kd"] = kd.detach().reshape(-1)
        results[f"{name}.ce"] = ce.detach().reshape(-1)
    save_file({k: v.contiguous() for k, v in results.items()}, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: loss_reference.py IN.safetensors OUT.safetensors")
    main(sys.argv[1], sys.argv[2])
