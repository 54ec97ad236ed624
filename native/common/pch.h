// Precompiled header: the heavy includes every translation unit shares (LibTorch alone is ~25 s a file).
#pragma once
#include <torch/torch.h>
#include <ATen/Parallel.h>
#include "common/node_api.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
