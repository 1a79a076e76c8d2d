// Image decoding with its limits checked before stb_image runs (image_decode.h).
#include "prunus/data/image_decode.h"

#include <stb/stb_image.h>

#include <cstring>
#include <memory>

#include "prunus/error.h"
#include "prunus/io/checkpoint.h"

namespace prunus {
namespace data {
namespace {

uint32_t big_endian_u32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint32_t little_endian_u32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }
uint16_t little_endian_u16(const uint8_t* p) { return uint16_t(p[1] << 8 | p[0]); }

bool is_png(const std::vector<uint8_t>& b) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() >= 8 && std::memcmp(b.data(), signature, 8) == 0;
}

// The PNG without its zero-length IDAT chunks; the bytes as they are when it
// has none. A chunk before IEND that claims more bytes than the file holds is
// an Error: stb would allocate that much (up to 4 GB) before finding the file
// short (a fuzz_image finding: 2 GB from 160 bytes).
std::vector<uint8_t> without_empty_idat(const std::vector<uint8_t>& bytes, const std::string& source) {
  std::vector<uint8_t> out(bytes.begin(), bytes.begin() + 8);
  bool dropped = false;
  size_t at = 8;
  while (at < bytes.size()) {
    // A chunk cut off before its CRC (even an empty IDAT) sends stb to memcpy from NULL.
    PRUNUS_CHECK(bytes.size() - at >= 12, source, " is a truncated PNG: the chunk at byte ", at, " is cut off (",
                 bytes.size() - at, " bytes, a chunk has at least 12)");
    const uint32_t length = big_endian_u32(&bytes[at]);
    const std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    PRUNUS_CHECK(length <= bytes.size() - at - 12, source, " is a truncated PNG: its ", type, " chunk claims ", length,
                 " bytes, the file has ", bytes.size() - at - 12, " left");
    const bool empty_idat = length == 0 && type == "IDAT";
    if (!empty_idat) out.insert(out.end(), bytes.begin() + at, bytes.begin() + at + 12 + length);
    dropped = dropped || empty_idat;
    at += 12 + length;
    if (type == "IEND") break;  // what follows is not read by stb
  }
  if (!dropped) return bytes;
  out.insert(out.end(), bytes.begin() + at, bytes.end());
  return out;
}

// A BMP's rows (4-byte aligned, the last one possibly unpadded) must lie in the file.
void check_bmp_fits(const std::vector<uint8_t>& b, const std::string& source) {
  if (b.size() < 30 || b[0] != 'B' || b[1] != 'M') return;  // stb refuses it
  const uint64_t offset = little_endian_u32(&b[10]);
  const uint32_t header = little_endian_u32(&b[14]);
  uint64_t width = 0, height = 0, bits = 0, compression = 0;
  if (header == 12) {
    width = little_endian_u16(&b[18]), height = little_endian_u16(&b[20]), bits = little_endian_u16(&b[24]);
  } else {
    if (b.size() < 34) return;
    const int32_t w = int32_t(little_endian_u32(&b[18])), h = int32_t(little_endian_u32(&b[22]));
    width = uint64_t(w < 0 ? -int64_t(w) : w), height = uint64_t(h < 0 ? -int64_t(h) : h);
    bits = little_endian_u16(&b[28]), compression = little_endian_u32(&b[30]);
  }
  if (compression != 0 && compression != 3) return;  // stb decodes neither RLE nor embedded formats
  if (width == 0 || height == 0 || width > uint64_t(kMaxImageSide) || height > uint64_t(kMaxImageSide)) return;
  const uint64_t stride = (width * bits + 31) / 32 * 4, last_row = (width * bits + 7) / 8;
  const uint64_t needed = offset + stride * (height - 1) + last_row;
  PRUNUS_CHECK(needed <= b.size(), source, " is a truncated BMP: its ", width, "x", height, " pixels at ", bits,
               " bits need ", needed, " bytes, the file has ", b.size());
}

// stb_image 2.26-2.28 (Debian's) builds a JPEG Huffman table from its 16
// code counts without checking that they sum to at most 256, then indexes
// past its arrays (UBSan at stb_image.h:1990, a fuzz_image finding). Walks
// the markers as stb does (fill bytes, stray bytes between markers and
// entropy-coded data skipped, segments skipped by their length) and refuses
// such a table first. A valid JPEG never has one: there are 256 symbols.
void check_jpeg_huffman_tables(const std::vector<uint8_t>& b, const std::string& source) {
  const size_t n = b.size();
  // stb's get_marker: 0xff, any more 0xff fill bytes, then the marker; -1: none here.
  auto marker_at = [&](size_t& at) -> int {
    if (at >= n || b[at] != 0xff) return -1;
    while (at < n && b[at] == 0xff) ++at;
    return at < n ? b[at++] : -1;
  };
  size_t at = 0;
  if (marker_at(at) != 0xd8) return;  // no SOI: not a JPEG to stb
  while (at < n) {
    if (b[at] != 0xff) {
      ++at;
      continue;
    }
    const int marker = marker_at(at);
    if (marker < 0 || marker == 0xd9) return;  // the end, or EOI
    const bool no_length = marker == 0x00 || marker == 0x01 || marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7);
    if (no_length) continue;  // a stuffed byte in entropy data, TEM, SOI, RSTn
    if (at + 2 > n) return;
    const size_t length = size_t(b[at]) << 8 | b[at + 1];
    if (length < 2) return;  // stb refuses it
    if (marker == 0xc4) {
      for (size_t table = at + 2; table < at + length && table < n;) {
        size_t codes = 0;
        for (size_t i = table + 1; i <= table + 16 && i < n; ++i) codes += b[i];
        PRUNUS_CHECK(codes <= 256, source, " is a corrupt JPEG: a Huffman table lists ", codes,
                     " codes, more than the 256 a JPEG can have");
        table += 17 + codes;
      }
    }
    at += length;
  }
}

}  // namespace

DecodedImage decode_image_bytes(const std::vector<uint8_t>& raw, const std::string& source, int channels) {
  PRUNUS_CHECK(channels == 1 || channels == 3, "decode_image: channels must be 1 or 3, got ", channels);
  PRUNUS_CHECK(!raw.empty(), source, " is empty");
  PRUNUS_CHECK(int64_t(raw.size()) <= kMaxImageFileBytes, source, " is ", raw.size(), " bytes, more than the ",
               kMaxImageFileBytes, " an image file may have");
  const std::vector<uint8_t> bytes = is_png(raw) ? without_empty_idat(raw, source) : raw;
  check_jpeg_huffman_tables(bytes, source);  // stbi_info already builds the tables
  const int size = int(bytes.size());
  int width = 0, height = 0, in_file = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &width, &height, &in_file)) {
    const char* reason = stbi_failure_reason();
    throw Error(source + " (" + (reason ? reason : "not a JPEG, PNG or BMP image") + ")");
  }
  PRUNUS_CHECK(width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide &&
                   int64_t(width) * height <= kMaxImagePixels,
               source, " claims ", width, "x", height, " pixels; images may have at most ", kMaxImageSide,
               " on a side and ", kMaxImagePixels, " in all");
  const int64_t decoded_bytes = int64_t(width) * height * in_file;
  PRUNUS_CHECK(decoded_bytes <= kMaxImageExpansion * int64_t(bytes.size()), source, " claims ", width, "x", height,
               "x", in_file, " pixels from ", bytes.size(), " bytes, more than ", kMaxImageExpansion,
               "x its size: a decompression bomb or a truncated file");
  check_bmp_fits(bytes, source);

  DecodedImage out;
  std::unique_ptr<uint8_t, void (*)(void*)> decoded(
      stbi_load_from_memory(bytes.data(), size, &out.width, &out.height, &in_file, channels), stbi_image_free);
  if (!decoded) {
    const char* reason = stbi_failure_reason();
    throw Error(source + " (" + (reason ? reason : "unknown error") + ")");
  }
  out.channels = channels;
  out.pixels.assign(decoded.get(), decoded.get() + size_t(out.width) * out.height * channels);
  return out;
}

DecodedImage decode_image(const std::string& path, int channels) {
  return decode_image_bytes(io::read_file_bytes(path, "image file '" + path + "'"), path, channels);
}

}  // namespace data
}  // namespace prunus
