// A CIFAR-10 binary batch file.
#include "fuzz_input.h"
#include "prunus/data/cifar10.h"
#include "prunus/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    prunus::data::load_cifar10({fuzz::as_file(data, size, "batch.bin")});
  } catch (const prunus::Error&) {
  }
  return 0;
}
