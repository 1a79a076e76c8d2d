// Decoding one image file with stb_image (JPEG, PNG, BMP), bounded before stb
// allocates anything: files come from users and the web, and a 70-byte BMP can
// claim 2 GB of pixels. Refused with an Error naming the file and the rule:
//   - more than kMaxImageSide pixels on a side or kMaxImagePixels in all;
//   - more decoded bytes than kMaxImageExpansion times the file's size (a
//     decompression bomb, or a file cut short: deflate itself cannot expand
//     more than 1032x, and JPEG a few hundred);
//   - a BMP whose pixel rows do not fit in the file (truncated: stb would fill
//     the rest with black).
// PNG chunks of zero length (IDAT included) hold nothing and are dropped before
// stb sees them (stb copies an empty first IDAT from a null buffer).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prunus {
namespace data {

constexpr int kMaxImageSide = 16384;
constexpr int64_t kMaxImagePixels = int64_t{1} << 25;  // 32 Mpixel
constexpr int64_t kMaxImageExpansion = 4096;
constexpr int64_t kMaxImageFileBytes = int64_t{256} << 20;

// Interleaved HWC uint8 with `channels` channels (1: luminance, 3: RGB).
struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Error naming the file, and stb's reason or the limit it broke.
DecodedImage decode_image(const std::string& path, int channels);
// The same on a file's bytes in memory; `source` names them in messages.
DecodedImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& source, int channels);

}  // namespace data
}  // namespace prunus
