// The process group every distributed call shares (process_group.cc makes it, reducer.cc uses it): the
// rendezvous store, the Gloo backend, and the c10d::ProcessGroup that wraps it for the parts of c10d that
// take a whole group (the Reducer, broadcast_coalesced).
#pragma once
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <memory>
#include <string>

#include "common/handle_wrap.h"

namespace xkt {

struct ProcessGroup {
  int rank = 0;
  int worldSize = 1;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};
using GroupWrap = HandleWrap<ProcessGroup>;

// Rethrows what `run` throws (a c10::Error, or gloo's plain std::exception) as one message naming the
// operation and this rank, e.g. "allReduce failed on rank 0 of 2: ...".
void rethrowNamed(const ProcessGroup& g, const std::string& op, const std::function<void()>& run);

}  // namespace xkt
