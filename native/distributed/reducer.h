// Data-parallel gradients on c10d's own Reducer, set up the way torch/nn/parallel/distributed.py does:
// parameters broadcast from rank 0 (broadcast_coalesced), checked to be the same model on every rank, one
// bucket until the first backward has shown the order in which gradients become ready, then buckets rebuilt
// in that order (1 MiB first, 25 MiB after) whose allreduce overlaps the rest of backward; gradients come out
// averaged over the ranks. The training loop calls prepare before the backward of each synchronised batch.
#pragma once
#include "common/errors.h"

namespace xkt {

void registerReducer(Napi::Env env, Napi::Object exports);

}  // namespace xkt
