// SentencePiece (Debian's libsentencepiece 0.1.97) for the tokenizer: a JS handle around a loaded
// processor, and the entry points to load, encode/decode, inspect, serialize and train models. Training
// always uses XLM's special ids (<s>=0, </s>=1, <pad>=2, <unk>=3), so a trained model frames like XLM.
#pragma once
#include <memory>

#include "common/errors.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace xkt {

class SentencePieceWrap : public Napi::ObjectWrap<SentencePieceWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<const sentencepiece::SentencePieceProcessor> p);
  explicit SentencePieceWrap(const Napi::CallbackInfo& info);
  // Shared so an encodeAsync in flight keeps the processor alive after JS drops the handle.
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor;
};

void registerTokenizer(Napi::Env env, Napi::Object exports);

}  // namespace xkt
