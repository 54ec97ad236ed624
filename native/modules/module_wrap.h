// JS handles for Seq2Seq models and their decoder states, and the entry points every model shares:
// parameters and state dicts, train/eval, device moves, forward, encode, decodeStep, reorder.
#pragma once
#include "common/handle_wrap.h"
#include "modules/seq2seq_module.h"

namespace xkt {

// The model handle ("NativeModule") and the decoder-state handle ("NativeDecoderState"); a state reports its
// caches' bytes to V8 and is re-reported after each step or reorder.
using ModuleWrap = HandleWrap<Seq2SeqModule>;
using StateWrap = HandleWrap<DecoderState>;

void registerModules(Napi::Env env, Napi::Object exports);

}  // namespace xkt
