// A checkpoint file's bytes; one that parses is rebuilt into its model, as
// `prunus info` and `prunus eval` would.
#include "prunus/io/checkpoint.h"
#include "prunus/train/run_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const prunus::io::Checkpoint checkpoint =
        prunus::io::parse_checkpoint(std::vector<uint8_t>(data, data + size), "fuzz.bin");
    if (checkpoint.has_string("architecture")) prunus::train::load_model(checkpoint);
  } catch (const prunus::Error&) {
  }
  return 0;
}
