// Decoder states keep the source side (encoder output, attention keys, pad mask) once per source "slot" and
// let hypothesis n read slot n / group. Beam search keeps a sentence's K hypotheses adjacent, so after its
// reorders group = K and only the sentences that leave the batch cost a copy of the source side; an order
// with no common group falls back to one slot per hypothesis. Shared by the XLM and BiGRU states.
#pragma once
#include <numeric>
#include <vector>

#include "common/pch.h"

namespace xkt {

struct Regrouping {
  torch::Tensor rows;          // the new order as a contiguous int64 CPU tensor (new row -> old row)
  int64_t group = 1;           // hypotheses per slot after the reorder
  std::vector<int64_t> slots;  // old slot of each new slot
  bool sameSlots = false;      // slots == 0..slotCount-1: the source side stays as it is
  bool identity = false;       // rows == 0..N-1: the per-hypothesis state stays as it is
};

// `indices` reorders a state of slotCount slots with `group` hypotheses each.
inline Regrouping regroup(const torch::Tensor& indices, int64_t group, int64_t slotCount) {
  Regrouping r;
  r.rows = indices.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* rows = r.rows.data_ptr<int64_t>();
  const int64_t M = r.rows.numel();
  // The new group: the gcd of the runs of equal slots (a chunk of that size never straddles two slots).
  int64_t g = 0;
  for (int64_t i = 0, run = 0; i < M; ++i) {
    ++run;
    if (i + 1 == M || rows[i + 1] / group != rows[i] / group) {
      g = std::gcd(g, run);
      run = 0;
    }
  }
  r.group = g == 0 ? 1 : g;
  r.sameSlots = M / r.group == slotCount;
  for (int64_t j = 0; j < M / r.group; ++j) {
    r.slots.push_back(rows[j * r.group] / group);
    r.sameSlots = r.sameSlots && r.slots.back() == j;
  }
  r.identity = M == slotCount * group;
  for (int64_t i = 0; r.identity && i < M; ++i) r.identity = rows[i] == i;
  return r;
}

// The slot list as an index tensor on `device`.
inline torch::Tensor slotIndex(const Regrouping& r, const torch::Device& device) {
  return torch::tensor(r.slots, torch::kLong).to(device);
}

// Merging two states (Seq2SeqModule::mergeStates): the common group of states with groups a and b, and how many
// copies of each slot of a state with `group` that takes (its source side is repeat_interleave'd that often).
inline int64_t mergedGroup(int64_t a, int64_t b) { return std::gcd(a, b); }
inline torch::Tensor regroupSlots(const torch::Tensor& sourceSide, int64_t group, int64_t merged) {
  return group == merged ? sourceSide : sourceSide.repeat_interleave(group / merged, 0);
}

}  // namespace xkt
