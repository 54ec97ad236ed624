// See process_group.h. Rank 0 serves the TCPStore; every rank connects to it, and the Gloo group rendezvous
// through it (under a prefix, so one store can serve several groups). The group's timeout bounds every
// collective: a frozen peer is an error after it, a killed one at once (the socket closes).
#include "distributed/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "common/async.h"
#include "common/define.h"
#include "distributed/group.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {

struct InitOptions {
  int rank = 0;
  int worldSize = 1;
  std::string masterAddr;
  int masterPort = 0;
  int64_t timeoutMs = 0;
};

InitOptions readInit(Args& a) {
  if (!a.has(0) || !a[0].IsObject())
    a.fail(0, "options", "an object { rank, worldSize, masterAddr, masterPort, timeoutMs }");
  auto o = a[0].As<Napi::Object>();
  auto num = [&](const char* key, double min, double max) {
    Napi::Value v = o.Get(key);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!v.IsNumber() || !std::isfinite(d) || std::floor(d) != d || d < min || d > max) {
      throw ArgError(std::string("argument 'options.") + key + "' must be an integer in [" +
                     std::to_string(static_cast<int64_t>(min)) + ", " + std::to_string(static_cast<int64_t>(max)) +
                     "], got " + jsTypeName(v));
    }
    return static_cast<int64_t>(d);
  };
  InitOptions in;
  in.worldSize = static_cast<int>(num("worldSize", 1, 1 << 20));
  in.rank = static_cast<int>(num("rank", 0, in.worldSize - 1));
  in.masterPort = static_cast<int>(num("masterPort", 1, 65535));
  in.timeoutMs = num("timeoutMs", 1, 1e12);
  Napi::Value addr = o.Get("masterAddr");
  if (!addr.IsString() || addr.As<Napi::String>().Utf8Value().empty())
    throw ArgError("argument 'options.masterAddr' must be a host name or address");
  in.masterAddr = addr.As<Napi::String>().Utf8Value();
  return in;
}

// The network device Gloo uses: GLOO_SOCKET_IFNAME as PyTorch honours it, loopback for a local master, else the
// address the host name resolves to.
std::shared_ptr<::gloo::transport::Device> device(const std::string& masterAddr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (masterAddr == "127.0.0.1" || masterAddr == "localhost" || masterAddr == "::1") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::shared_ptr<ProcessGroup> connect(const InitOptions& in) {
  auto timeout = std::chrono::milliseconds(in.timeoutMs);
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(in.masterPort);
  so.isServer = in.rank == 0;
  so.numWorkers = static_cast<std::size_t>(in.worldSize);
  so.waitWorkers = true;
  so.timeout = timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(in.masterAddr, so);
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(device(in.masterAddr));
  auto group = std::make_shared<ProcessGroup>();
  group->rank = in.rank;
  group->worldSize = in.worldSize;
  group->store = store;
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("xlm-kd-torch/default", store);
  group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, in.rank, in.worldSize, options);
  // The whole-group view that the Reducer and broadcast_coalesced take, with Gloo serving CPU tensors.
  group->group = c10::make_intrusive<c10d::ProcessGroup>(prefixed, in.rank, in.worldSize);
  group->group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, group->gloo);
  group->group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  return group;
}

// Runs a collective to completion; failures name the operation and the rank.
void finish(const ProcessGroup& g, const char* op, const c10::intrusive_ptr<c10d::Work>& work) {
  rethrowNamed(g, op, [&] { work->wait(); });
}

c10d::ReduceOp reduceOp(const std::string& name) {
  if (name == "sum" || name == "avg") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw ArgError("argument 'op' must be 'sum', 'avg', 'max', 'min' or 'product', got '" + name + "'");
}

torch::Tensor cpuDense(Args& a, size_t i, const char* name) {
  torch::Tensor t = a.tensor(i, name);
  if (!t.device().is_cpu())
    throw ArgError(std::string("argument '") + name + "' must be a CPU tensor for the Gloo backend, got " +
                   describeTensor(t));
  if (!t.is_contiguous())
    throw ArgError(std::string("argument '") + name + "' must be contiguous, got " + describeTensor(t));
  return t;
}

template <typename Result>
Napi::Value async(Args& a, const char* fn, std::function<Result()> work, typename AsyncTask<Result>::ToJs toJs) {
  return AsyncTask<Result>::start(a.env(), fn, std::move(work), std::move(toJs));
}

Napi::Value undefinedJs(Napi::Env env, bool&) { return env.Undefined(); }

}  // namespace

void rethrowNamed(const ProcessGroup& g, const std::string& op, const std::function<void()>& run) {
  const std::string where =
      op + " failed on rank " + std::to_string(g.rank) + " of " + std::to_string(g.worldSize) + ": ";
  try {
    run();
  } catch (const c10::Error& e) {
    throw std::runtime_error(where + cleanTorchMessage(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw std::runtime_error(where + e.what());
  }
}

void registerDistributed(Napi::Env env, Napi::Object exports) {
  GroupWrap::init(env, exports, "NativeProcessGroup", "a process group from distInitAsync");

  define(env, exports, "distInitAsync", [](Args& a) {
    InitOptions in = readInit(a);
    return async<std::shared_ptr<ProcessGroup>>(
        a, "distInitAsync",
        [in]() {
          try {
            return connect(in);
          } catch (const c10::Error& e) {
            throw std::runtime_error("joining the group (rank " + std::to_string(in.rank) + " of " +
                                     std::to_string(in.worldSize) + ", master " + in.masterAddr + ":" +
                                     std::to_string(in.masterPort) +
                                     ") failed: " + cleanTorchMessage(e.what_without_backtrace()));
          } catch (const std::exception& e) {
            throw std::runtime_error("joining the group (rank " + std::to_string(in.rank) + " of " +
                                     std::to_string(in.worldSize) + ", master " + in.masterAddr + ":" +
                                     std::to_string(in.masterPort) + ") failed: " + e.what());
          }
        },
        [](Napi::Env env, std::shared_ptr<ProcessGroup>& g) -> Napi::Value { return GroupWrap::wrap(env, g); });
  });
  define(env, exports, "distRank",
         [](Args& a) { return Napi::Number::New(a.env(), GroupWrap::unwrap(a, 0, "group")->rank); });
  define(env, exports, "distWorldSize",
         [](Args& a) { return Napi::Number::New(a.env(), GroupWrap::unwrap(a, 0, "group")->worldSize); });
  define(env, exports, "distAllReduceAsync", [](Args& a) {
    auto g = GroupWrap::unwrap(a, 0, "group");
    torch::Tensor t = cpuDense(a, 1, "tensor");
    std::string opName = a.string(2, "op");
    c10d::ReduceOp op = reduceOp(opName);
    return async<bool>(
        a, "distAllReduceAsync",
        [g, t, op, opName]() mutable {
          std::vector<torch::Tensor> ts{t};
          c10d::AllreduceOptions o;
          o.reduceOp = op;
          finish(*g, "allReduce", g->gloo->allreduce(ts, o));
          // Gloo has no average: sum, then divide in place (as DDP does with its gradients).
          if (opName == "avg") t.div_(g->worldSize);
          return true;
        },
        undefinedJs);
  });
  define(env, exports, "distBroadcastAsync", [](Args& a) {
    auto g = GroupWrap::unwrap(a, 0, "group");
    torch::Tensor t = cpuDense(a, 1, "tensor");
    int64_t root = a.integer(2, "root");
    if (root < 0 || root >= g->worldSize)
      throw ArgError("argument 'root' must be a rank in [0, " + std::to_string(g->worldSize) + "), got " +
                     std::to_string(root));
    return async<bool>(
        a, "distBroadcastAsync",
        [g, t, root]() {
          std::vector<torch::Tensor> ts{t};
          c10d::BroadcastOptions o;
          o.rootRank = root;
          finish(*g, "broadcast", g->gloo->broadcast(ts, o));
          return true;
        },
        undefinedJs);
  });
  define(env, exports, "distBarrierAsync", [](Args& a) {
    auto g = GroupWrap::unwrap(a, 0, "group");
    return async<bool>(
        a, "distBarrierAsync",
        [g]() {
          finish(*g, "barrier", g->gloo->barrier());
          return true;
        },
        undefinedJs);
  });
  define(env, exports, "distAllGatherAsync", [](Args& a) {
    auto g = GroupWrap::unwrap(a, 0, "group");
    torch::Tensor t = cpuDense(a, 1, "tensor");
    return async<std::vector<torch::Tensor>>(
        a, "distAllGatherAsync",
        [g, t]() {
          std::vector<std::vector<torch::Tensor>> out(1);
          for (int r = 0; r < g->worldSize; ++r) out[0].push_back(torch::empty_like(t));
          std::vector<torch::Tensor> in{t};
          finish(*g, "allGather", g->gloo->allgather(out, in));
          return out[0];
        },
        [](Napi::Env env, std::vector<torch::Tensor>& ts) -> Napi::Value {
          auto arr = Napi::Array::New(env, ts.size());
          for (size_t k = 0; k < ts.size(); ++k) arr.Set(static_cast<uint32_t>(k), TensorWrap::wrap(env, ts[k]));
          return arr;
        });
  });
  define(env, exports, "distDestroy", [](Args& a) {
    GroupWrap::release(a, 0, "group");
    return a.env().Undefined();
  });
}

}  // namespace xkt
