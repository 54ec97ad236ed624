// The tensor layer's entry points, grouped by file; addon.cc calls each once.
#pragma once
#include "common/define.h"

namespace xkt {
void registerTensorCreate(Napi::Env env, Napi::Object exports);    // create.cc: factories, copies out, runtime info
void registerTensorOps(Napi::Env env, Napi::Object exports);       // ops.cc: math, reductions, indexing
void registerTensorShape(Napi::Env env, Napi::Object exports);     // shape.cc: views, joins, dtype/device moves
void registerTensorAutograd(Napi::Env env, Napi::Object exports);  // autograd.cc: backward, grad, grad mode
void registerTensorSelect(Napi::Env env, Napi::Object exports);    // select.cc: sort, cumsum, multinomial, indexFill
void registerTensorAutocast(Napi::Env env, Napi::Object exports);  // autocast.cc: the thread's autocast state
}  // namespace xkt
