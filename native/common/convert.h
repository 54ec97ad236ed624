// Argument checking and conversion for native entry points: JS values -> C++/LibTorch values, with
// errors that say which argument was wrong and what was expected. Also dtype/device names both ways.
#pragma once
#include <string>
#include <vector>

#include "common/errors.h"

namespace xkt {

std::string dtypeName(c10::ScalarType t);
c10::ScalarType parseDtype(const std::string& name);  // throws ArgError listing valid names
std::string deviceName(const c10::Device& d);
c10::Device parseDevice(const std::string& name);    // throws ArgError
std::string describeTensor(const torch::Tensor& t);  // "[2, 3] float32 cpu"
std::string jsTypeName(const Napi::Value& v);

// Throws ArgError (a RangeError in JS) with `message` unless every value of `t` lies in [lo, hi). It reads the
// values back, which on a GPU is a sync: per-step decoding calls pass onlyOnHost = true and so check CPU tensors
// alone; ids made on the device by the decoders are in range by construction, and batches are checked once,
// where they enter the model.
void checkValuesInRange(const torch::Tensor& t, int64_t lo, int64_t hi, const std::string& message,
                        bool onlyOnHost = false);

// Arguments of one native call. Every accessor validates and throws ArgError naming the argument; the
// tensors it hands out are remembered so a LibTorch error can say what it was given.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  Napi::Env env() const { return info_.Env(); }
  const char* fn() const { return fn_; }
  size_t size() const { return info_.Length(); }
  bool has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }
  Napi::Value operator[](size_t i) const { return info_[i]; }

  bool isTensor(size_t i) const;
  torch::Tensor tensor(size_t i, const char* name);
  std::optional<torch::Tensor> optTensor(size_t i, const char* name);
  std::vector<torch::Tensor> tensorList(size_t i, const char* name);

  double number(size_t i, const char* name, bool allowNonFinite = false) const;
  int64_t integer(size_t i, const char* name) const;
  int64_t integer(size_t i, const char* name, int64_t fallback) const;
  int64_t positiveInteger(size_t i, const char* name) const;  // >= 1
  int64_t nonNegativeInteger(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name, bool fallback) const;
  std::string string(size_t i, const char* name) const;
  std::vector<int64_t> intList(size_t i, const char* name, bool allowMinusOne = false) const;
  // A tensor argument or a scalar (number/boolean): the scalar form of binary ops.
  bool isScalar(size_t i) const;
  c10::Scalar scalar(size_t i, const char* name) const;
  c10::ScalarType dtype(size_t i, const char* name) const;
  c10::Device device(size_t i, const char* name) const;

  // A dim index, validated against the rank of `t` (negative dims count from the end, as in PyTorch).
  int64_t dim(size_t i, const char* name, const torch::Tensor& t) const;

  std::string context() const;
  [[noreturn]] void fail(size_t i, const char* name, const std::string& expected) const;
  // Remembers a tensor read from an object argument (see ObjectArg), for the error context.
  void saw(const std::string& name, const torch::Tensor& t) { seen_.emplace_back(name, describeTensor(t)); }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
  std::vector<std::pair<std::string, std::string>> seen_;
};

// A JS object argument (an options object, a model config, a batch) read field by field. The values were
// resolved and range-checked in TypeScript: these readers check only that each field has the type native code
// needs, and name it ('options.temperature', 'config.embDim') when it does not.
class ObjectArg {
 public:
  ObjectArg(Args& args, size_t i, const char* name);

  bool has(const char* key) const;
  double number(const char* key) const;
  int64_t integer(const char* key) const;
  bool boolean(const char* key) const;
  std::string string(const char* key) const;
  // The field's string, which must be one of `allowed`.
  std::string oneOf(const char* key, const std::vector<std::string>& allowed) const;
  torch::Tensor tensor(const char* key);
  std::optional<torch::Tensor> optTensor(const char* key);

 private:
  Napi::Value get(const char* key) const;
  [[noreturn]] void fail(const char* key, const std::string& expected) const;
  Args& args_;
  Napi::Object object_;
  std::string name_;
};

}  // namespace xkt
