// See sentencepiece.h. Every util::Status SentencePiece returns is checked and turned into a JS error
// without the library's "./src/file.cc(123) [condition]" prefix; the training errors a user can cause
// (no sentences, vocabulary too large or too small) are reworded to say what to change.
#include "tokenizer/sentencepiece.h"

#include <dlfcn.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include "common/async.h"
#include "common/define.h"

// Exported by libsentencepiece 0.1.97 but missing from its public headers.
namespace sentencepiece {
namespace logging {
int GetMinLogLevel();
void SetMinLogLevel(int v);
}  // namespace logging
}  // namespace sentencepiece

// Defined by libsentencepiece (a 32-byte flag object) and by libc10 (a 4-byte int), both reached through
// the GOT. Declared only to ask which library the dynamic linker picked: see linkOrderError().
extern char FLAGS_minloglevel;

namespace xkt {

namespace {

using Processor = sentencepiece::SentencePieceProcessor;
using Status = sentencepiece::util::Status;

// Every library of the addon binds FLAGS_minloglevel to the first definition in load order. If libc10
// came first, SentencePiece's static initialiser would write its 32-byte flag over libc10's int and the
// globals after it; with SentencePiece first, libc10 only reads the flag when parsing command-line flags,
// which never happens here. So the addon must list SentencePiece before LibTorch (CMakeLists.txt and
// binding.gyp do); this turns a wrong build into a clear error instead of silent memory corruption.
const std::string& linkOrderError() {
  static const std::string error = [] {
    Dl_info info{};
    if (dladdr(static_cast<void*>(&FLAGS_minloglevel), &info) == 0 || info.dli_fname == nullptr) return std::string();
    std::string owner = info.dli_fname;
    if (owner.find("sentencepiece") != std::string::npos) return std::string();
    return "this addon build links LibTorch before SentencePiece (FLAGS_minloglevel resolves to " + owner +
           "), which corrupts memory: rebuild it with -lsentencepiece before the LibTorch libraries";
  }();
  return error;
}

void checkLinked() {
  if (!linkOrderError().empty()) throw std::runtime_error(linkOrderError());
}

// "./src/trainer_interface.cc(428) [!sentences_.empty()] text" -> "text", or the condition without text.
std::string statusText(const Status& s) {
  std::string msg = s.error_message();
  auto src = msg.find(".cc(");
  if (src != std::string::npos) {
    auto open = msg.find(" [", src);
    auto close = msg.find("] ", open == std::string::npos ? src : open);
    if (open != std::string::npos && close != std::string::npos) {
      std::string rest = msg.substr(close + 2);
      while (!rest.empty() && rest.back() == ' ') rest.pop_back();
      msg = rest.empty() ? "check failed: " + msg.substr(open + 2, close - open - 2) : rest;
    }
  }
  return msg;
}

std::vector<std::string> stringList(Args& a, size_t i, const char* name) {
  if (!a.has(i) || !a[i].IsArray()) a.fail(i, name, "an array of strings");
  auto arr = a[i].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsString()) {
      throw ArgError("argument '" + std::string(name) + "[" + std::to_string(k) + "]' must be a string, got " +
                     jsTypeName(v));
    }
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

bool isIntegerIn(const Napi::Value& v, double lo, double hi) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return std::isfinite(d) && std::floor(d) == d && d >= lo && d <= hi;
}

std::vector<std::vector<int>> idRows(Args& a, size_t i, int vocab) {
  if (!a.has(i) || !a[i].IsArray()) a.fail(i, "ids", "an array of token id arrays");
  auto rows = a[i].As<Napi::Array>();
  std::vector<std::vector<int>> out(rows.Length());
  for (uint32_t r = 0; r < rows.Length(); ++r) {
    Napi::Value row = rows.Get(r);
    if (!row.IsArray())
      throw ArgError("argument 'ids[" + std::to_string(r) + "]' must be an array of token ids, got " + jsTypeName(row));
    auto arr = row.As<Napi::Array>();
    out[r].reserve(arr.Length());
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value v = arr.Get(k);
      if (!isIntegerIn(v, 0, vocab - 1)) {
        std::string where = "argument 'ids[" + std::to_string(r) + "][" + std::to_string(k) + "]'";
        if (isIntegerIn(v, -1e15, 1e15))
          throw ArgError(where + " must be a token id in [0, " + std::to_string(vocab) + "), got " + jsTypeName(v),
                         ArgError::Kind::Range);
        throw ArgError(where + " must be an integer token id, got " + jsTypeName(v));
      }
      out[r].push_back(static_cast<int>(v.As<Napi::Number>().Int32Value()));
    }
  }
  return out;
}

// Encoding is const on a loaded processor and safe to share between threads, so big inputs are split over
// LibTorch's intra-op pool.
std::vector<std::vector<int>> encodeAll(const Processor& p, const std::vector<std::string>& texts) {
  std::vector<std::vector<int>> out(texts.size());
  std::vector<std::string> errors(texts.size());
  at::parallel_for(0, static_cast<int64_t>(texts.size()), 256, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      Status st = p.Encode(texts[k], &out[k]);
      if (!st.ok()) errors[k] = statusText(st);
    }
  });
  for (size_t k = 0; k < errors.size(); ++k) {
    if (!errors[k].empty()) throw std::runtime_error("cannot encode texts[" + std::to_string(k) + "]: " + errors[k]);
  }
  return out;
}

Napi::Array idsToJs(Napi::Env env, const std::vector<std::vector<int>>& rows) {
  auto out = Napi::Array::New(env, rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    auto row = Napi::Array::New(env, rows[r].size());
    for (size_t k = 0; k < rows[r].size(); ++k) row.Set(static_cast<uint32_t>(k), Napi::Number::New(env, rows[r][k]));
    out.Set(static_cast<uint32_t>(r), row);
  }
  return out;
}

// { ids: Int32Array, sizes: Int32Array }: the rows concatenated, and each row's length.
Napi::Object flatIdsToJs(Napi::Env env, const std::vector<std::vector<int>>& rows) {
  size_t total = 0;
  for (const auto& r : rows) total += r.size();
  auto ids = Napi::Int32Array::New(env, total);
  auto sizes = Napi::Int32Array::New(env, rows.size());
  int32_t* out = ids.Data();
  for (size_t r = 0; r < rows.size(); ++r) {
    std::memcpy(out, rows[r].data(), rows[r].size() * sizeof(int32_t));
    out += rows[r].size();
    sizes[r] = static_cast<int32_t>(rows[r].size());
  }
  auto o = Napi::Object::New(env);
  o.Set("ids", ids);
  o.Set("sizes", sizes);
  return o;
}

std::shared_ptr<const Processor> loaded(std::unique_ptr<Processor> p, const Status& st, const std::string& what) {
  if (!st.ok()) {
    std::string raw = st.error_message();
    std::string why = raw.find("ParseFromArray") != std::string::npos
                          ? "the bytes do not parse as a model protobuf (corrupt or truncated)"
                          : statusText(st);
    throw std::runtime_error(what + " is not a valid SentencePiece model: " + why);
  }
  // An empty or foreign protobuf can parse without error and still leave no usable model.
  if (p->GetPieceSize() <= 0) throw std::runtime_error(what + " is not a valid SentencePiece model: it has no pieces");
  return std::shared_ptr<const Processor>(std::move(p));
}

// ---- training ----------------------------------------------------------------------------------------------

const char* kSpecialPieces[] = {"<s>", "</s>", "<pad>", "<unk>"};

Napi::Value option(const Napi::Object& o, const char* key) { return o.Get(key); }

[[noreturn]] void badOption(const char* key, const std::string& expected, const Napi::Value& v) {
  throw ArgError(std::string("options.") + key + " must be " + expected + ", got " + jsTypeName(v));
}

int64_t intOption(const Napi::Object& o, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  Napi::Value v = option(o, key);
  if (v.IsUndefined()) return fallback;
  if (!isIntegerIn(v, static_cast<double>(lo), static_cast<double>(hi))) {
    badOption(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
  }
  return static_cast<int64_t>(v.As<Napi::Number>().DoubleValue());
}

bool boolOption(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = option(o, key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) badOption(key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

struct TrainSpec {
  std::string input;
  std::unordered_map<std::string, std::string> kwargs;
  int64_t vocabSize = 0;
  std::optional<uint32_t> seed;
  bool verbose = false;
};

TrainSpec readTrainSpec(Args& a) {
  if (!a.has(0) || !a[0].IsObject()) a.fail(0, "options", "an options object");
  auto o = a[0].As<Napi::Object>();
  TrainSpec spec;
  Napi::Value input = option(o, "input");
  if (!input.IsString() || input.As<Napi::String>().Utf8Value().empty())
    badOption("input", "a training text file path", input);
  spec.input = input.As<Napi::String>().Utf8Value();
  if (spec.input.find(',') != std::string::npos) {
    // SentencePiece splits 'input' on commas into several files.
    throw ArgError("options.input must not contain ',' (SentencePiece reads it as a list of files): " + spec.input);
  }
  Napi::Value vocab = option(o, "vocabSize");
  if (!isIntegerIn(vocab, 5, 1 << 24)) badOption("vocabSize", "an integer in [5, 16777216]", vocab);
  spec.vocabSize = static_cast<int64_t>(vocab.As<Napi::Number>().DoubleValue());

  std::string modelType = "unigram";
  Napi::Value mt = option(o, "modelType");
  if (!mt.IsUndefined()) {
    modelType = mt.IsString() ? mt.As<Napi::String>().Utf8Value() : "";
    if (modelType != "bpe" && modelType != "unigram") badOption("modelType", "'bpe' or 'unigram'", mt);
  }
  double coverage = 0.9995;
  Napi::Value cov = option(o, "characterCoverage");
  if (!cov.IsUndefined()) {
    coverage = cov.IsNumber() ? cov.As<Napi::Number>().DoubleValue() : NAN;
    // SentencePiece's own bounds; outside them it fails with a bare check message.
    if (!(coverage >= 0.98 && coverage <= 1.0)) badOption("characterCoverage", "a number in [0.98, 1]", cov);
  }
  std::string symbols;
  Napi::Value uds = option(o, "userDefinedSymbols");
  if (!uds.IsUndefined()) {
    if (!uds.IsArray()) badOption("userDefinedSymbols", "an array of strings", uds);
    auto arr = uds.As<Napi::Array>();
    std::set<std::string> seen;
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value v = arr.Get(k);
      std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
      std::string where = "options.userDefinedSymbols[" + std::to_string(k) + "]";
      if (!v.IsString() || s.empty()) throw ArgError(where + " must be a non-empty string, got " + jsTypeName(v));
      if (s.find_first_of(", \t\n\r") != std::string::npos)
        throw ArgError(where + " must not contain commas or whitespace: '" + s + "'");
      for (const char* special : kSpecialPieces) {
        if (s == special) throw ArgError(where + " '" + s + "' is a reserved special piece (<s>, </s>, <pad>, <unk>)");
      }
      if (!seen.insert(s).second) throw ArgError(where + " '" + s + "' is listed twice");
      symbols += (symbols.empty() ? "" : ",") + s;
    }
  }
  int64_t sentenceSize = intOption(o, "inputSentenceSize", 0, 0, 1LL << 40);
  if (sentenceSize > 0 && sentenceSize <= 100) {
    throw ArgError("options.inputSentenceSize must be 0 (use every sentence) or more than 100, got " +
                       std::to_string(sentenceSize),
                   ArgError::Kind::Range);
  }
  bool shuffle = boolOption(o, "shuffle", true);
  int64_t threads = intOption(o, "numThreads", 1, 1, 128);
  int64_t maxLen = intOption(o, "maxSentenceLength", 4192, 1, 1 << 30);
  bool hardLimit = boolOption(o, "hardVocabLimit", true);
  spec.verbose = boolOption(o, "verbose", false);
  // (uint32)-1 is SentencePiece's "seed from std::random_device", so it is not a valid seed.
  if (!option(o, "seed").IsUndefined()) spec.seed = static_cast<uint32_t>(intOption(o, "seed", 0, 0, 0xFFFFFFFELL));

  spec.kwargs = {
      {"input", spec.input},
      {"vocab_size", std::to_string(spec.vocabSize)},
      {"model_type", modelType},
      {"character_coverage", std::to_string(coverage)},
      {"input_sentence_size", std::to_string(sentenceSize)},
      {"shuffle_input_sentence", shuffle ? "true" : "false"},
      {"num_threads", std::to_string(threads)},
      {"max_sentence_length", std::to_string(maxLen)},
      {"hard_vocab_limit", hardLimit ? "true" : "false"},
      // XLM's dictionary layout: <s>=0, </s>=1, <pad>=2, <unk>=3.
      {"bos_id", "0"},
      {"eos_id", "1"},
      {"pad_id", "2"},
      {"unk_id", "3"},
      {"bos_piece", "<s>"},
      {"eos_piece", "</s>"},
      {"pad_piece", "<pad>"},
      {"unk_piece", "<unk>"},
  };
  if (!symbols.empty()) spec.kwargs["user_defined_symbols"] = symbols;
  return spec;
}

std::string trainError(const TrainSpec& spec, const Status& st) {
  std::string raw = st.error_message();
  std::string text = statusText(st);
  if (raw.find("!sentences_.empty()") != std::string::npos) {
    return "no training sentences in '" + spec.input +
           "' (the file is empty, or every line is longer than maxSentenceLength)";
  }
  if (raw.find("Vocabulary size too high") != std::string::npos) {
    auto pos = raw.find("<= ");
    std::string most = pos == std::string::npos ? "?" : raw.substr(pos + 3, raw.find('.', pos) - pos - 3);
    return "vocabSize " + std::to_string(spec.vocabSize) + " is too large for this data: at most " + most +
           " pieces can be learnt from it (lower vocabSize, give more text, or set hardVocabLimit: false)";
  }
  if (raw.find("smaller than required_chars") != std::string::npos) {
    auto vs = raw.find(" vs ");
    std::string need = vs == std::string::npos ? "?" : raw.substr(vs + 4, raw.find('.', vs) - vs - 4);
    return "vocabSize " + std::to_string(spec.vocabSize) +
           " is too small: the data's characters and the special pieces need " + need +
           " (raise vocabSize or lower characterCoverage)";
  }
  if (st.code() == sentencepiece::util::StatusCode::kNotFound) return "cannot read training input: " + text;
  return text;
}

// The trainer's random seed and log level are process-wide, so trainings run one at a time.
std::mutex& trainMutex() {
  static std::mutex m;
  return m;
}

std::string train(const TrainSpec& spec) {
  struct stat sb {};
  if (stat(spec.input.c_str(), &sb) != 0) {
    throw std::runtime_error("cannot read training input '" + spec.input + "': " + std::strerror(errno));
  }
  if (S_ISDIR(sb.st_mode))
    throw std::runtime_error("training input '" + spec.input + "' is a directory, not a text file");
  if (sb.st_size == 0) throw std::runtime_error("training input '" + spec.input + "' is empty");

  std::lock_guard<std::mutex> lock(trainMutex());
  int previousLevel = sentencepiece::logging::GetMinLogLevel();
  sentencepiece::logging::SetMinLogLevel(spec.verbose ? 0 : 3);
  sentencepiece::SetRandomGeneratorSeed(spec.seed.value_or(static_cast<unsigned int>(-1)));
  std::string model;
  Status st = sentencepiece::SentencePieceTrainer::Train(spec.kwargs, nullptr, &model);
  sentencepiece::logging::SetMinLogLevel(previousLevel);
  if (!st.ok()) throw std::runtime_error(trainError(spec, st));
  return model;
}

}  // namespace

// ---- the handle ------------------------------------------------------------------------------------------------

// ---- entry points --------------------------------------------------------------------------------------------

void registerTokenizer(Napi::Env env, Napi::Object exports) {
  SentencePieceWrap::init(env, exports, "NativeSentencePiece", "a SentencePiece handle from spmLoad/spmFromBytes");

  define(env, exports, "spmLoad", [](Args& a) {
    checkLinked();
    std::string path = a.string(0, "path");
    struct stat sb {};
    if (stat(path.c_str(), &sb) != 0)
      throw std::runtime_error("cannot read tokenizer model '" + path + "': " + std::strerror(errno));
    if (S_ISDIR(sb.st_mode))
      throw std::runtime_error("tokenizer model '" + path + "' is a directory, not a .model file");
    auto p = std::make_unique<Processor>();
    Status st = p->Load(path);
    return SentencePieceWrap::wrap(a.env(), loaded(std::move(p), st, "'" + path + "'"));
  });
  define(env, exports, "spmFromBytes", [](Args& a) {
    checkLinked();
    const char* data = nullptr;
    size_t size = 0;
    if (a.has(0) && a[0].IsTypedArray()) {
      auto t = a[0].As<Napi::TypedArray>();
      data = static_cast<const char*>(t.ArrayBuffer().Data()) + t.ByteOffset();
      size = t.ByteLength();
    } else if (a.has(0) && a[0].IsArrayBuffer()) {
      auto b = a[0].As<Napi::ArrayBuffer>();
      data = static_cast<const char*>(b.Data());
      size = b.ByteLength();
    } else {
      a.fail(0, "bytes", "a Buffer, Uint8Array or ArrayBuffer");
    }
    if (size == 0) throw ArgError("argument 'bytes' is empty: not a SentencePiece model");
    auto p = std::make_unique<Processor>();
    Status st = p->LoadFromSerializedProto(std::string_view(data, size));
    return SentencePieceWrap::wrap(a.env(), loaded(std::move(p), st, "the given bytes"));
  });
  defineSyncAndAsync(
      env, exports, "spmEncode",
      [](Args& a) {
        auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
        return std::make_pair(p, stringList(a, 1, "texts"));
      },
      [](const auto& in) { return encodeAll(*in.first, in.second); },
      [](Napi::Env env, std::vector<std::vector<int>>& ids) -> Napi::Value { return idsToJs(env, ids); });
  // The same ids flat, for the token store: one Int32Array of every sentence's ids and one of their sizes, so a
  // million sentences cost two allocations instead of a million JS arrays.
  defineSyncAndAsync(
      env, exports, "spmEncodeFlat",
      [](Args& a) {
        auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
        return std::make_pair(p, stringList(a, 1, "texts"));
      },
      [](const auto& in) { return encodeAll(*in.first, in.second); },
      [](Napi::Env env, std::vector<std::vector<int>>& rows) -> Napi::Value { return flatIdsToJs(env, rows); });
  defineSyncAndAsync(
      env, exports, "spmDecode",
      [](Args& a) {
        auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
        return std::make_pair(p, idRows(a, 1, p->GetPieceSize()));
      },
      [](const auto& in) {
        std::vector<std::string> texts(in.second.size());
        for (size_t r = 0; r < in.second.size(); ++r) {
          Status st = in.first->Decode(in.second[r], &texts[r]);
          if (!st.ok()) throw std::runtime_error("cannot decode ids[" + std::to_string(r) + "]: " + statusText(st));
        }
        return texts;
      },
      [](Napi::Env env, std::vector<std::string>& texts) -> Napi::Value {
        auto out = Napi::Array::New(env, texts.size());
        for (size_t r = 0; r < texts.size(); ++r) out.Set(static_cast<uint32_t>(r), Napi::String::New(env, texts[r]));
        return out;
      });
  define(env, exports, "spmPieceToId", [](Args& a) {
    auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
    return Napi::Number::New(a.env(), p->PieceToId(a.string(1, "piece")));
  });
  define(env, exports, "spmIdToPiece", [](Args& a) {
    auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
    int vocab = p->GetPieceSize();
    if (!isIntegerIn(a[1], 0, vocab - 1)) {
      std::string got = jsTypeName(a[1]);
      if (isIntegerIn(a[1], -1e15, 1e15))
        throw ArgError("argument 'id' must be a token id in [0, " + std::to_string(vocab) + "), got " + got,
                       ArgError::Kind::Range);
      a.fail(1, "id", "an integer token id");
    }
    return Napi::String::New(a.env(), p->IdToPiece(a[1].As<Napi::Number>().Int32Value()));
  });
  define(env, exports, "spmVocabSize", [](Args& a) {
    return Napi::Number::New(a.env(), SentencePieceWrap::unwrap(a, 0, "tokenizer")->GetPieceSize());
  });
  define(env, exports, "spmSpecialIds", [](Args& a) {
    auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
    auto o = Napi::Object::New(a.env());
    o.Set("bos", p->bos_id());
    o.Set("eos", p->eos_id());
    o.Set("pad", p->pad_id());
    o.Set("unk", p->unk_id());
    return o;
  });
  define(env, exports, "spmSerializedModel", [](Args& a) {
    auto p = SentencePieceWrap::unwrap(a, 0, "tokenizer");
    std::string bytes = p->serialized_model_proto();
    return Napi::Buffer<char>::Copy(a.env(), bytes.data(), bytes.size());
  });
  define(env, exports, "spmTrain", [](Args& a) -> Napi::Value {
    checkLinked();
    auto spec = std::make_shared<TrainSpec>(readTrainSpec(a));
    return AsyncTask<std::string>::start(
        a.env(), "spmTrain", [spec] { return train(*spec); },
        [](Napi::Env env, std::string& model) -> Napi::Value {
          return Napi::Buffer<char>::Copy(env, model.data(), model.size());
        });
  });
}

}  // namespace xkt
