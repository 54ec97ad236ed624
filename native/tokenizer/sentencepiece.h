// SentencePiece (Debian's libsentencepiece 0.1.97) for the tokenizer: a JS handle around a loaded
// processor, and the entry points to load, encode/decode, inspect, serialize and train models. Training
// always uses XLM's special ids (<s>=0, </s>=1, <pad>=2, <unk>=3), so a trained model frames like XLM.
#pragma once
#include <memory>

#include "common/handle_wrap.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace xkt {

// The tokenizer handle ("NativeSentencePiece"); shared so an encodeAsync in flight keeps the processor alive
// after JS drops the handle.
using SentencePieceWrap = HandleWrap<const sentencepiece::SentencePieceProcessor>;

void registerTokenizer(Napi::Env env, Napi::Object exports);

}  // namespace xkt
