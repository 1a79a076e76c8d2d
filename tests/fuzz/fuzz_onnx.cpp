// An ONNX file's bytes (the protobuf subset prunus reads and writes).
#include "prunus/interop/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    prunus::interop::decode_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  } catch (const prunus::Error&) {
  }
  return 0;
}
