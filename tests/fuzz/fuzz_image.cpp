// An image file (JPEG, PNG, BMP) decoded to RGB and to grey.
#include "prunus/data/image_decode.h"
#include "prunus/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  for (int channels : {3, 1}) try {
      prunus::data::decode_image_bytes(bytes, "fuzz.img", channels);
    } catch (const prunus::Error&) {
    }
  return 0;
}
