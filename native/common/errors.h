// Turns every C++ failure inside a native entry point into a JS Error that names the function, and
// describes the tensors it was given, so no exception (c10::Error included) ever reaches node and aborts.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>

#include "common/pch.h"

namespace xkt {

// A caller mistake found before LibTorch runs: surfaces as a TypeError (or RangeError) in JS.
class ArgError : public std::runtime_error {
 public:
  enum class Kind { Type, Range };
  explicit ArgError(const std::string& message, Kind kind = Kind::Type) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

// LibTorch's messages end in a C++ backtrace or "Exception raised from ..." lines that mean nothing to a
// JS user: keep the first meaningful line(s).
inline std::string cleanTorchMessage(const std::string& what) {
  std::string msg = what;
  const char* markers[] = {"\nException raised from", "Exception raised from", "\nframe #"};
  for (const char* m : markers) {
    auto pos = msg.find(m);
    if (pos != std::string::npos) msg = msg.substr(0, pos);
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

inline Napi::Error makeJsError(Napi::Env env, const std::string& fn, const std::string& message,
                               const std::string& context, bool typeError = false, bool rangeError = false) {
  std::string full = fn + ": " + message;
  if (!context.empty()) full += " (" + context + ")";
  if (typeError) return Napi::TypeError::New(env, full);
  if (rangeError) return Napi::RangeError::New(env, full);
  return Napi::Error::New(env, full);
}

}  // namespace xkt
