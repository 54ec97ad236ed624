// The fused loss's tensor checks (validate.cc), shared by its three forms in distill_loss.cc.
#pragma once
#include <optional>
#include <string>

#include "common/errors.h"
#include "loss/distill_loss.h"

namespace xkt::loss {

std::string shapeStr(at::IntArrayRef s);
[[noreturn]] void typeError(const std::string& msg);
[[noreturn]] void rangeError(const std::string& msg);

void checkFloating(const at::Tensor& t, const char* name);
void checkSameDevice(const at::Tensor& t, const char* name, const at::Tensor& ref, const char* refName);
// `t` must have the leading shape `lead` plus one last dim; returns that last dim.
int64_t checkLeading(const at::Tensor& t, const char* name, at::IntArrayRef lead, const char* refName,
                     at::IntArrayRef refShape);
// Student logits (or hidden states): floating, [N, X] or [B, T, X] (any number of leading dims).
void checkRowsTensor(const at::Tensor& t, const char* name, const char* what);
// Dense teacher logits of the student's shape, device and a floating dtype.
void checkDenseTeacher(const at::Tensor& teacher, const at::Tensor& student);
// A top-k teacher over the leading shape `lead`: integer ids in [0, V), finite or -Infinity log-probs, and at
// least one finite entry per row.
void checkSparseTeacher(const Teacher& t, at::IntArrayRef lead, int64_t V, const at::Tensor& ref, const char* refName,
                        at::IntArrayRef refShape);
// Labels: integer, the leading shape, in [0, V) or ignoreIndex. Absent only when alpha == 1.
void checkTargets(const std::optional<at::Tensor>& targets, at::IntArrayRef lead, int64_t V, const at::Tensor& ref,
                  const char* refName, const LossConfig& cfg);

struct ProjectionNames {
  const char* hidden;
  const char* weight;
  const char* bias;
};
// A linear output layer (hidden [.., H], weight [V, H], optional bias [V], one dtype and device); returns V.
int64_t checkProjection(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                        const ProjectionNames& names);
// The chunked form's teacher: logits [.., V] over `lead`, or hidden states with their own projection to V.
void checkChunkedTeacher(const Teacher& teacher, at::IntArrayRef lead, int64_t V, const at::Tensor& hidden);

}  // namespace xkt::loss
