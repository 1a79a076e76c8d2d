// An IDX image file and label file, raw or gzip: a 4-byte little-endian length
// of the image file, its bytes, then the label file's.
#include "fuzz_input.h"
#include "prunus/data/idx.h"
#include "prunus/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t images = size_t(data[0]) | size_t(data[1]) << 8 | size_t(data[2]) << 16 | size_t(data[3]) << 24;
  if (images > size - 4) images = size - 4;
  try {
    const std::string image_path = fuzz::as_file(data + 4, images, "images.idx");
    const std::string label_path = fuzz::as_file(data + 4 + images, size - 4 - images, "labels.idx");
    prunus::data::load_idx(image_path, label_path);
  } catch (const prunus::Error&) {
  }
  return 0;
}
