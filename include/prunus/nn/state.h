// A module's state as named tensors (all parameters, gates included, and all
// buffers, with full dotted names) and loading it back by name. Loading
// copies values into the existing tensors, so optimizers holding them stay
// valid, and checks everything before it changes anything.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// Parameters first (pre-order), then buffers.
std::vector<std::pair<std::string, Tensor>> state_tensors(const Module& module);

// Every state tensor of the module must be in `state` with the same shape,
// and `state` must hold nothing else; otherwise throws naming the missing,
// unexpected or mismatched entries. Values are converted to each tensor's dtype.
void load_state_tensors(Module& module, const std::map<std::string, Tensor>& state);
void load_state_tensors(Module& module, const std::vector<std::pair<std::string, Tensor>>& state);

}  // namespace nn
}  // namespace prunus
