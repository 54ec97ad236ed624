// See module_wrap.h. Models are shared_ptrs so an async call keeps its model alive while it runs.
#include "modules/module_wrap.h"

#include <map>
#include <unordered_set>

#include "common/async.h"
#include "common/define.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {

std::map<std::string, ModuleFactory>& factories() {
  static std::map<std::string, ModuleFactory> f;
  return f;
}

void checkIds(const torch::Tensor& t, const char* name, int64_t rank) {
  if (t.scalar_type() != c10::kLong) {
    throw ArgError(std::string("argument '") + name + "' must be an int64 tensor, got " + describeTensor(t));
  }
  if (t.dim() != rank) {
    throw ArgError(std::string("argument '") + name + "' must have " + std::to_string(rank) + " dims, got " +
                   describeTensor(t));
  }
}

Seq2SeqBatch readBatch(Args& a, size_t i, const Seq2SeqModule& m) {
  ObjectArg o(a, i, "batch");
  Seq2SeqBatch b{o.tensor("src"),
                 o.tensor("srcLen"),
                 o.tensor("tgtIn"),
                 o.tensor("tgtLen"),
                 o.optTensor("srcLang").value_or(torch::Tensor()),
                 o.optTensor("tgtLang").value_or(torch::Tensor())};
  checkIds(b.src, "batch.src", 2);
  checkIds(b.tgtIn, "batch.tgtIn", 2);
  checkIds(b.srcLen, "batch.srcLen", 1);
  checkIds(b.tgtLen, "batch.tgtLen", 1);
  int64_t B = b.src.size(0);
  if (b.tgtIn.size(0) != B || b.srcLen.size(0) != B || b.tgtLen.size(0) != B) {
    throw ArgError("batch fields disagree on the batch size: src " + describeTensor(b.src) + ", tgtIn " +
                   describeTensor(b.tgtIn) + ", srcLen " + describeTensor(b.srcLen) + ", tgtLen " +
                   describeTensor(b.tgtLen));
  }
  int64_t V = m.vocabSize();
  for (auto* t : {&b.src, &b.tgtIn}) {
    checkValuesInRange(*t, 0, V, "batch token ids must lie in [0, " + std::to_string(V) + "), the model's vocabulary");
  }
  return b;
}

// A model and the batch it runs (forward, forwardHidden).
struct ForwardArgs {
  std::shared_ptr<Seq2SeqModule> model;
  Seq2SeqBatch batch;
};

ForwardArgs readForwardArgs(Args& a) {
  auto m = ModuleWrap::unwrap(a, 0, "model");
  return {m, readBatch(a, 1, *m)};
}

Napi::Value tensorToJs(Napi::Env env, torch::Tensor& t) { return TensorWrap::wrap(env, t); }

struct InternalsArgs {
  std::shared_ptr<Seq2SeqModule> model;
  Seq2SeqBatch batch;
  bool hidden, attention;
};

// moduleForwardInternals(model, batch, { hidden, attention })
InternalsArgs readInternalsArgs(Args& a) {
  auto m = ModuleWrap::unwrap(a, 0, "model");
  auto batch = readBatch(a, 1, *m);
  ObjectArg o(a, 2, "what");
  return {m, std::move(batch), o.boolean("hidden"), o.boolean("attention")};
}

struct InternalsOut {
  torch::Tensor logits;
  ForwardInternals internals;
};

Napi::Value internalsToJs(Napi::Env env, InternalsOut& out) {
  auto list = [env](const std::vector<torch::Tensor>& ts) {
    auto arr = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), TensorWrap::wrap(env, ts[i]));
    return arr;
  };
  auto o = Napi::Object::New(env);
  const auto& in = out.internals;
  o.Set("logits", TensorWrap::wrap(env, out.logits));
  o.Set("encoderHidden", list(in.encoderHidden));
  o.Set("decoderHidden", list(in.decoderHidden));
  o.Set("encoderSelfAttention", list(in.encoderSelfAttention));
  o.Set("decoderSelfAttention", list(in.decoderSelfAttention));
  o.Set("crossAttention", list(in.crossAttention));
  return o;
}

// Parameters in registration order, without repeats (tied weights appear once, as in PyTorch).
std::vector<std::pair<std::string, torch::Tensor>> uniqueParameters(Seq2SeqModule& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  std::unordered_set<const void*> seen;
  for (const auto& item : m.named_parameters(true)) {
    if (seen.insert(item.value().unsafeGetTensorImpl()).second) out.emplace_back(item.key(), item.value());
  }
  return out;
}

Napi::Array pairsToJs(Args& a, const std::vector<std::pair<std::string, torch::Tensor>>& items) {
  auto arr = Napi::Array::New(a.env(), items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    auto pair = Napi::Array::New(a.env(), 2);
    pair.Set(0u, Napi::String::New(a.env(), items[k].first));
    pair.Set(1u, TensorWrap::wrap(a.env(), items[k].second));
    arr.Set(static_cast<uint32_t>(k), pair);
  }
  return arr;
}

struct EncodeArgs {
  std::shared_ptr<Seq2SeqModule> model;
  torch::Tensor src, srcLen, srcLang;
};

EncodeArgs readEncodeArgs(Args& a) {
  EncodeArgs in{ModuleWrap::unwrap(a, 0, "model"), a.tensor(1, "src"), a.tensor(2, "srcLen"), torch::Tensor()};
  checkIds(in.src, "src", 2);
  checkIds(in.srcLen, "srcLen", 1);
  if (in.srcLen.size(0) != in.src.size(0)) {
    throw ArgError("arguments 'src' " + describeTensor(in.src) + " and 'srcLen' " + describeTensor(in.srcLen) +
                   " disagree on the batch size");
  }
  if (a.has(3)) in.srcLang = a.tensor(3, "srcLang");
  return in;
}

struct StepArgs {
  std::shared_ptr<Seq2SeqModule> model;
  std::shared_ptr<DecoderState> state;
  torch::Tensor tokens, tgtLang;
};

StepArgs readStepArgs(Args& a) {
  StepArgs in{ModuleWrap::unwrap(a, 0, "model"), StateWrap::unwrap(a, 1, "state"), a.tensor(2, "tokens"),
              torch::Tensor()};
  checkIds(in.tokens, "tokens", 1);
  if (in.tokens.size(0) != in.state->batchSize()) {
    throw ArgError("argument 'tokens' has " + std::to_string(in.tokens.size(0)) + " entries but the state holds " +
                   std::to_string(in.state->batchSize()) + " hypotheses");
  }
  // The ids' range is checked once, by the model's decodeStep (and only for host tensors: see checkValuesInRange).
  if (a.has(3)) in.tgtLang = a.tensor(3, "tgtLang");
  return in;
}

}  // namespace

void registerModuleKind(const std::string& kind, ModuleFactory factory) { factories()[kind] = std::move(factory); }

// ---- entry points -----------------------------------------------------------------------------------------

void registerModules(Napi::Env env, Napi::Object exports) {
  ModuleWrap::init(env, exports, "NativeModule", "a native model");
  StateWrap::init(env, exports, "NativeDecoderState", "a decoder state from encode()");

  define(env, exports, "moduleCreate", [](Args& a) {
    std::string kind = a.string(0, "kind");
    auto it = factories().find(kind);
    if (it == factories().end()) throw ArgError("argument 'kind': unknown model kind '" + kind + "'");
    ObjectArg config(a, 1, "config");
    return ModuleWrap::wrap(a.env(), it->second(config));
  });
  define(env, exports, "moduleKind",
         [](Args& a) { return Napi::String::New(a.env(), ModuleWrap::unwrap(a, 0, "model")->kind()); });
  define(env, exports, "moduleNamedParameters",
         [](Args& a) { return pairsToJs(a, uniqueParameters(*ModuleWrap::unwrap(a, 0, "model"))); });
  // Every named tensor, tied ones under each of their names (XLM stores pred_layer.proj.weight too).
  define(env, exports, "moduleStateDict", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    std::vector<std::pair<std::string, torch::Tensor>> items;
    for (const auto& p : m->named_parameters(true)) items.emplace_back(p.key(), p.value().detach());
    for (const auto& b : m->named_buffers(true)) items.emplace_back(b.key(), b.value().detach());
    return pairsToJs(a, items);
  });
  // loadStateDict(model, names, tensors, strict) -> { missing, unexpected }; copies values in place.
  define(env, exports, "moduleLoadStateDict", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    if (!m->kernels->empty()) {
      throw ArgError(
          "the model's linear layers are prepacked or quantized for inference: load weights into a float32 model, then "
          "prepack or quantize it");
    }
    if (!a.has(1) || !a[1].IsArray()) a.fail(1, "names", "an array of names");
    auto names = a[1].As<Napi::Array>();
    auto tensors = a.tensorList(2, "tensors");
    if (names.Length() != tensors.size()) throw ArgError("arguments 'names' and 'tensors' differ in length");
    bool strict = a.boolean(3, "strict", true);
    std::map<std::string, torch::Tensor> own;
    for (const auto& p : m->named_parameters(true)) own[p.key()] = p.value();
    for (const auto& b : m->named_buffers(true)) own[b.key()] = b.value();
    std::map<std::string, torch::Tensor> given;
    for (uint32_t k = 0; k < names.Length(); ++k) given[names.Get(k).As<Napi::String>().Utf8Value()] = tensors[k];
    std::vector<std::string> missing, unexpected;
    for (const auto& [name, t] : own)
      if (!given.count(name)) missing.push_back(name);
    for (const auto& [name, t] : given)
      if (!own.count(name)) unexpected.push_back(name);
    if (strict && (!missing.empty() || !unexpected.empty())) {
      std::string msg = "state dict does not match the model:";
      auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : " ") + v[i];
        if (v.size() > 8) s += ", ... (" + std::to_string(v.size()) + " in all)";
        return s;
      };
      if (!missing.empty()) msg += " missing" + list(missing) + ";";
      if (!unexpected.empty()) msg += " unexpected" + list(unexpected) + ";";
      throw ArgError(msg + " pass { strict: false } to load what matches");
    }
    // Check every shape before copying anything, so a bad file leaves the model untouched.
    for (const auto& [name, t] : given) {
      auto it = own.find(name);
      if (it != own.end() && !it->second.sizes().equals(t.sizes())) {
        throw ArgError("state dict entry '" + name + "' has shape " + describeTensor(t) + " but the model expects " +
                       describeTensor(it->second));
      }
    }
    torch::NoGradGuard noGrad;
    for (const auto& [name, t] : given) {
      auto it = own.find(name);
      if (it != own.end()) it->second.copy_(t);
    }
    auto result = Napi::Object::New(a.env());
    auto toArr = [&](const std::vector<std::string>& v) {
      auto arr = Napi::Array::New(a.env(), v.size());
      for (size_t k = 0; k < v.size(); ++k) arr.Set(static_cast<uint32_t>(k), Napi::String::New(a.env(), v[k]));
      return arr;
    };
    result.Set("missing", toArr(missing));
    result.Set("unexpected", toArr(unexpected));
    return result;
  });
  define(env, exports, "moduleTrain", [](Args& a) {
    ModuleWrap::unwrap(a, 0, "model")->train(a.boolean(1, "mode", true));
    return a.env().Undefined();
  });
  define(env, exports, "moduleIsTraining",
         [](Args& a) { return Napi::Boolean::New(a.env(), ModuleWrap::unwrap(a, 0, "model")->is_training()); });
  // The device of the model's parameters: where its work runs.
  define(env, exports, "moduleDevice", [](Args& a) {
    auto params = ModuleWrap::unwrap(a, 0, "model")->parameters();
    return Napi::String::New(a.env(), params.empty() ? std::string("cpu") : deviceName(params.front().device()));
  });
  define(env, exports, "moduleTo", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    if (a.has(1)) m->to(a.device(1, "device"));
    if (a.has(2)) m->to(a.dtype(2, "dtype"));
    return a.env().Undefined();
  });
  defineSyncAndAsync(
      env, exports, "moduleForward", readForwardArgs, [](const ForwardArgs& in) { return in.model->forward(in.batch); },
      tensorToJs);
  defineSyncAndAsync(
      env, exports, "moduleForwardInternals", readInternalsArgs,
      [](const InternalsArgs& in) {
        InternalsOut out;
        out.internals.hidden = in.hidden;
        out.internals.attention = in.attention;
        out.logits = in.model->forwardInternals(in.batch, out.internals);
        return out;
      },
      internalsToJs);
  defineSyncAndAsync(
      env, exports, "moduleForwardHidden", readForwardArgs,
      [](const ForwardArgs& in) { return in.model->forwardHidden(in.batch); }, tensorToJs);
  define(env, exports, "moduleOutputProjection", [](Args& a) {
    auto [w, b] = ModuleWrap::unwrap(a, 0, "model")->outputProjection();
    auto arr = Napi::Array::New(a.env(), 2);
    arr.Set(0u, TensorWrap::wrap(a.env(), w));
    arr.Set(1u, b.defined() ? Napi::Value(TensorWrap::wrap(a.env(), b)) : a.env().Null());
    return arr;
  });
  defineSyncAndAsync(
      env, exports, "moduleEncode", readEncodeArgs,
      [](const EncodeArgs& in) { return in.model->encode(in.src, in.srcLen, in.srcLang); },
      [](Napi::Env env, std::shared_ptr<DecoderState>& s) -> Napi::Value { return StateWrap::wrap(env, s); });
  // The state must not be used from JS until the Promise form settles (it is mutated on the compute thread).
  defineSyncAndAsync(
      env, exports, "moduleDecodeStep", readStepArgs,
      [](const StepArgs& in) { return in.model->decodeStep(*in.state, in.tokens, in.tgtLang); }, tensorToJs,
      [](Args& a) { StateWrap::refresh(a, 1, "state"); });
  define(env, exports, "moduleReorder", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    auto state = StateWrap::unwrap(a, 1, "state");
    auto idx = a.tensor(2, "indices");
    checkIds(idx, "indices", 1);
    int64_t n = state->batchSize();
    checkValuesInRange(idx, 0, n,
                       "argument 'indices' must lie in [0, " + std::to_string(n) + "), the state's hypotheses",
                       /*onlyOnHost=*/true);
    m->reorder(*state, idx);
    StateWrap::refresh(a, 1, "state");
    return a.env().Undefined();
  });
  // moduleMergeStates(model, a, b) -> a new state: a's hypotheses, then b's (see Seq2SeqModule::mergeStates).
  define(env, exports, "moduleMergeStates", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    auto first = StateWrap::unwrap(a, 1, "a");
    auto second = StateWrap::unwrap(a, 2, "b");
    return StateWrap::wrap(a.env(), m->mergeStates(*first, *second));
  });
  define(env, exports, "stateDispose", [](Args& a) {
    StateWrap::release(a, 0, "state");
    return a.env().Undefined();
  });
  define(env, exports, "stateEncoderOutput",
         [](Args& a) { return TensorWrap::wrap(a.env(), StateWrap::unwrap(a, 0, "state")->encoderOutput()); });
  define(env, exports, "stateBatchSize", [](Args& a) {
    return Napi::Number::New(a.env(), static_cast<double>(StateWrap::unwrap(a, 0, "state")->batchSize()));
  });
}

}  // namespace xkt
