# The reference of bench/distributed.js's allreduce: one rank of torch.distributed with the Gloo backend,
# joined from the same environment variables (torchrun's) as ours, timing in-place sum all_reduce of
# float32 tensors of the spec's sizes. Prints one JSON line on rank 0: {size_mb: [ms, ...]}.
import json
import sys
import time

import torch
import torch.distributed as dist


def main():
    spec = json.load(open(sys.argv[1]))
    dist.init_process_group("gloo")
    out = {}
    for mb in spec["sizesMB"]:
        t = torch.zeros(round(mb * 2**20 / 4), dtype=torch.float32)
        for _ in range(spec["warmup"]):
            dist.all_reduce(t)
        ms = []
        for _ in range(spec["repeats"]):
            s = time.perf_counter()
            dist.all_reduce(t)
            ms.append((time.perf_counter() - s) * 1e3)
        out[str(mb)] = ms
    if dist.get_rank() == 0:
        print(json.dumps(out))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
