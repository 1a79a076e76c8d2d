// A safetensors file; one that carries a prunus architecture is rebuilt into
// its model and the tensors loaded into it, as `prunus import` does.
#include "prunus/interop/state_dict.h"
#include "prunus/io/safetensors.h"
#include "prunus/nn/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const prunus::io::SafeTensors file =
        prunus::io::parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    if (auto model = prunus::interop::model_from_prunus_file(file)) {
      std::vector<std::pair<std::string, prunus::Tensor>> state;
      for (const auto& entry : file.tensors) state.emplace_back(entry.name, entry.value);
      prunus::nn::load_state_tensors(*model, state);
    }
  } catch (const prunus::Error&) {
  }
  return 0;
}
