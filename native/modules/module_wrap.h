// JS handles for Seq2Seq models and their decoder states, and the entry points every model shares:
// parameters and state dicts, train/eval, device moves, forward, encode, decodeStep, reorder.
#pragma once
#include "modules/seq2seq_module.h"

namespace xkt {

class ModuleWrap : public Napi::ObjectWrap<ModuleWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Seq2SeqModule> m);
  static std::shared_ptr<Seq2SeqModule> unwrap(Args& a, size_t i, const char* name);
  explicit ModuleWrap(const Napi::CallbackInfo& info);
  std::shared_ptr<Seq2SeqModule> module;
};

class StateWrap : public Napi::ObjectWrap<StateWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<DecoderState> s);
  static std::shared_ptr<DecoderState> unwrap(Args& a, size_t i, const char* name);
  explicit StateWrap(const Napi::CallbackInfo& info);
  ~StateWrap() override;
  // Re-reports the state's bytes to V8 after it grew (decode steps) or shrank (pruning).
  static void refresh(Args& a, size_t i);
  std::shared_ptr<DecoderState> state;
  int64_t reported = 0;
};

void registerModules(Napi::Env env, Napi::Object exports);

}  // namespace xkt
