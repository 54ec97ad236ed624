// The addon's entry point: registers every native part on the module's exports.
#include "cuda/runtime.h"
#include "distributed/process_group.h"
#include "distributed/reducer.h"
#include "inference/beam_topk.h"
#include "io/mapped_file.h"
#include "modules/inference_wrap.h"
#include "loss/register.h"
#include "memory/cpu_allocator.h"
#include "modules/bigru_seq2seq.h"
#include "modules/module_wrap.h"
#include "modules/xlm_transformer.h"
#include "optim/adam.h"
#include "optim/ema.h"
#include "tensor/register.h"
#include "common/tensor_wrap.h"
#include "tokenizer/sentencepiece.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // As `import torch` does: OpenMP's pool and MKL agree on the thread count (else they keep resizing it).
  at::init_num_threads();
  // Before the first tensor, so every storage the addon makes comes from the chosen allocator.
  xkt::installCpuAllocator();
  xkt::registerMemory(env, exports);
  xkt::TensorWrap::init(env, exports);
  xkt::registerTensorCreate(env, exports);
  xkt::registerTensorOps(env, exports);
  xkt::registerTensorShape(env, exports);
  xkt::registerTensorAutograd(env, exports);
  xkt::registerTensorSelect(env, exports);
  xkt::registerTensorAutocast(env, exports);
  xkt::registerModules(env, exports);
  xkt::registerBiGruSeq2Seq();
  xkt::registerXlmTransformer();
  xkt::registerLoss(env, exports);
  xkt::optim::registerOptim(env, exports);
  xkt::optim::registerAverage(env, exports);
  xkt::registerTokenizer(env, exports);
  xkt::registerDistributed(env, exports);
  xkt::registerReducer(env, exports);
  xkt::registerInference(env, exports);
  xkt::registerBeamTopk(env, exports);
  xkt::registerCudaRuntime(env, exports);
  xkt::registerMappedFiles(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(xlm_kd_torch, Init)
