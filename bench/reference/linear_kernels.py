"""Times the CPU kernels a decode step's linear layers can run on, for bench/linear-kernels.js: plain float32
(MKL sgemm, which repacks the weight on every call), oneDNN's prepacked float32 (mkldnn::_reorder_linear_weight +
_linear_pointwise: what model.prepack() uses), MKL's prepacked float32 (mkl::_mkl_reorder_linear_weight +
_mkl_linear, packed for one row count: used only when the call has exactly that many rows, else it falls back
to the plain product), and fbgemm's int8 dynamic linear (quantized::linear_dynamic: what model.quantize() uses).
Usage: python linear_kernels.py SPEC.json -> one JSON line {shape: {kernel: microseconds}}.
"""
import json
import sys
import time
import warnings

import torch
import torch.nn.functional as F


def timed(fn, repeats):
    for _ in range(10):
        fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1e6


def main():
    warnings.simplefilter("ignore")
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    out = {}
    for m, k, n in spec["shapes"]:
        x, w, b = torch.randn(m, k), torch.randn(n, k) / k ** 0.5, torch.randn(n)
        onednn = torch.ops.mkldnn._reorder_linear_weight(w, None)
        mkl = torch.ops.mkl._mkl_reorder_linear_weight(w, m)
        mkl_other = torch.ops.mkl._mkl_reorder_linear_weight(w, m + 1)
        s = torch.clamp(w.abs().amax(1) / 127.5, min=torch.finfo(torch.float32).eps)
        q = torch.quantize_per_channel(w, s.double(), torch.zeros(n, dtype=torch.long), 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(q, b)
        r = spec["repeats"]
        out[f"{m}x{k}x{n}"] = {
            "float32": timed(lambda: F.linear(x, w, b), r),
            "onednn": timed(lambda: torch.ops.mkldnn._linear_pointwise(x, onednn, b, "none", [], ""), r),
            "mkl_same_rows": timed(lambda: torch.ops.mkl._mkl_linear(x, mkl, w, b, m), r),
            "mkl_other_rows": timed(lambda: torch.ops.mkl._mkl_linear(x, mkl_other, w, b, m + 1), r),
            "int8": timed(lambda: torch.ops.quantized.linear_dynamic(x, packed, True), r),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
