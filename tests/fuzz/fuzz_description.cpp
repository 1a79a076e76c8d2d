// An architecture description, with the cap a 32 MiB file would give it.
#include "prunus/nn/description.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    prunus::nn::build_from_description(std::string(reinterpret_cast<const char*>(data), size), 0,
                                       prunus::nn::allocation_limit_for_file(size_t{32} << 20));
  } catch (const prunus::Error&) {
  }
  return 0;
}
