// The JS entry points of a model's inference form: prepacking or quantizing its decode-time linear layers
// (native/inference has the kernels), the int8 weights in and out (for model files), and a decoder state's
// vocabulary shortlist.
#include "modules/inference_wrap.h"

#include "common/define.h"
#include "modules/module_wrap.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {

InferenceLinear findLinear(Seq2SeqModule& m, const std::string& name) {
  for (auto& l : m.inferenceLinears()) {
    if (l.name == name) return l;
  }
  throw ArgError("this " + m.kind() + " model has no linear layer '" + name + "' that inference can quantize");
}

}  // namespace

void registerInference(Napi::Env env, Napi::Object exports) {
  // moduleSetLinearKernels(model, decoderKind, encoderKind), each 'packed' | 'int8' | 'none' | 'keep': the
  // decode-step layers and the encoder's from their current weights ('keep': as they are).
  define(env, exports, "moduleSetLinearKernels", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    std::string kinds[2] = {a.string(1, "decoderKind"), a.string(2, "encoderKind")};
    for (const auto& k : kinds) {
      if (k != "packed" && k != "int8" && k != "none" && k != "keep")
        throw ArgError("a kind must be 'packed', 'int8', 'none' or 'keep', got '" + k + "'");
    }
    // Built aside first: a failure leaves the model as it was.
    std::vector<std::pair<torch::Tensor, std::shared_ptr<LinearKernel>>> made;
    for (auto& l : m->inferenceLinears()) {
      const auto& kind = kinds[l.encoder ? 1 : 0];
      if (kind == "keep") {
        if (auto k = m->kernels->find(l.weight)) made.emplace_back(l.weight, k);
      } else if (kind != "none") {
        made.emplace_back(
            l.weight, kind == "int8" ? LinearKernel::int8(l.weight, l.bias) : LinearKernel::packed(l.weight, l.bias));
      }
    }
    // Replaced in place: the submodules hold the same table object.
    m->kernels->clear();
    for (auto& [w, k] : made) m->kernels->set(w, k);
    m->kernels->fuse(m->fusableLinears());
    ModuleWrap::refresh(a, 0, "model");
    return a.env().Undefined();
  });
  // moduleLinearKernels(model) -> [{ name, kind, qweight?, scales? }]
  define(env, exports, "moduleLinearKernels", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    auto out = Napi::Array::New(a.env());
    uint32_t i = 0;
    std::unordered_map<const void*, int> uses;
    for (const auto& p : m->named_parameters(true)) uses[p.value().unsafeGetTensorImpl()] += 1;
    for (auto& l : m->inferenceLinears()) {
      auto k = m->kernels->find(l.weight);
      if (!k) continue;
      auto o = Napi::Object::New(a.env());
      o.Set("name", l.name);
      o.Set("kind", k->kind() == LinearKernel::Kind::Int8 ? "int8" : "packed");
      o.Set("tied", uses[l.weight.unsafeGetTensorImpl()] > 1);
      if (k->kind() == LinearKernel::Kind::Int8) {
        o.Set("qweight", TensorWrap::wrap(a.env(), k->qweight()));
        o.Set("scales", TensorWrap::wrap(a.env(), k->scales()));
      }
      out.Set(i++, o);
    }
    return out;
  });
  // moduleLoadInt8(model, name, qweight, scales, setWeight): the named layer from saved int8 data; with
  // setWeight its float32 parameter becomes the dequantized weight (not for a weight tied to embeddings).
  define(env, exports, "moduleLoadInt8", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    auto l = findLinear(*m, a.string(1, "name"));
    auto q = a.tensor(2, "qweight");
    auto s = a.tensor(3, "scales");
    bool setWeight = a.boolean(4, "setWeight", true);
    if (!q.sizes().equals(l.weight.sizes()))
      throw ArgError("argument 'qweight' of '" + l.name + "' must be " +
                     describeTensor(l.weight).substr(0, describeTensor(l.weight).find(']') + 1) + ", got " +
                     describeTensor(q));
    auto k = LinearKernel::int8FromSaved(q, s, l.bias);
    if (setWeight) {
      torch::NoGradGuard noGrad;
      l.weight.copy_(k->dequantized());
    }
    m->kernels->set(l.weight, k);
    ModuleWrap::refresh(a, 0, "model");
    return a.env().Undefined();
  });
  define(env, exports, "stateRestrictVocabulary", [](Args& a) {
    auto m = ModuleWrap::unwrap(a, 0, "model");
    auto state = StateWrap::unwrap(a, 1, "state");
    m->restrictVocabulary(*state, a.tensor(2, "ids"));
    StateWrap::refresh(a, 1, "state");
    return a.env().Undefined();
  });
}

}  // namespace xkt
