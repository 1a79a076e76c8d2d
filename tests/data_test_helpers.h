// Helpers shared by the data tests (test_data.cpp, test_data_loader.cpp).
#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "prunus/data/dataset.h"
#include "prunus/rng.h"

namespace data_test {

using Bytes = std::vector<uint8_t>;

// doctest::Contains takes its own string type; this takes std::string too.
inline doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/prunus_data_test_XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

inline Bytes random_bytes(size_t n, prunus::Rng& rng) {
  Bytes out(n);
  for (auto& b : out) b = uint8_t(rng.below(256));
  return out;
}

// Dataset whose image i has every pixel equal to i and label i: a batch shows
// which samples it holds.
inline prunus::data::Dataset numbered_dataset(int n, int channels, int height, int width) {
  prunus::data::Dataset d;
  d.name = "numbered";
  d.channels = channels;
  d.height = height;
  d.width = width;
  d.num_classes = n;
  for (int i = 0; i < n; ++i) {
    d.labels.push_back(i);
    d.pixels.insert(d.pixels.end(), size_t(channels) * height * width, uint8_t(i));
  }
  return d;
}

inline void append_u32_big_endian(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

// A minimal PNG: 8-bit grey (channels 1) or RGB (channels 3), no filtering;
// empty_first_idat puts a zero-length IDAT chunk before the one with the data.
inline Bytes png_bytes(int width, int height, int channels, const Bytes& interleaved, bool empty_first_idat = false) {
  Bytes scanlines;
  for (int y = 0; y < height; ++y) {
    scanlines.push_back(0);  // filter type "none"
    const uint8_t* row = interleaved.data() + size_t(y) * width * channels;
    scanlines.insert(scanlines.end(), row, row + size_t(width) * channels);
  }
  uLongf packed_size = compressBound(uLong(scanlines.size()));
  Bytes packed(packed_size);
  REQUIRE(compress(packed.data(), &packed_size, scanlines.data(), uLong(scanlines.size())) == Z_OK);
  packed.resize(packed_size);

  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&png](const char* type, const Bytes& body) {
    append_u32_big_endian(png, uint32_t(body.size()));
    Bytes typed(type, type + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    png.insert(png.end(), typed.begin(), typed.end());
    append_u32_big_endian(png, uint32_t(crc32(0, typed.data(), uInt(typed.size()))));
  };
  Bytes header;
  append_u32_big_endian(header, uint32_t(width));
  append_u32_big_endian(header, uint32_t(height));
  header.insert(header.end(), {8, uint8_t(channels == 1 ? 0 : 2), 0, 0, 0});
  chunk("IHDR", header);
  if (empty_first_idat) chunk("IDAT", {});
  chunk("IDAT", packed);
  chunk("IEND", {});
  return png;
}

inline void write_png(const std::string& path, int width, int height, int channels, const Bytes& interleaved) {
  write_file(path, png_bytes(width, height, channels, interleaved));
}

// A 24-bit bottom-up BMP of interleaved RGB pixels, rows padded to 4 bytes.
inline Bytes bmp_bytes(int width, int height, const Bytes& rgb) {
  const uint32_t stride = (uint32_t(width) * 3 + 3) / 4 * 4, data_bytes = stride * uint32_t(height);
  Bytes out = {'B', 'M'};
  auto u32 = [&out](uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8) out.push_back(uint8_t(v >> shift));
  };
  auto u16 = [&out](uint16_t v) { out.push_back(uint8_t(v)), out.push_back(uint8_t(v >> 8)); };
  u32(54 + data_bytes), u32(0), u32(54);                         // file size, reserved, pixel offset
  u32(40), u32(uint32_t(width)), u32(uint32_t(height)), u16(1), u16(24);  // BITMAPINFOHEADER
  u32(0), u32(data_bytes), u32(2835), u32(2835), u32(0), u32(0);
  for (int y = height - 1; y >= 0; --y) {
    for (int x = 0; x < width; ++x)
      for (int c = 2; c >= 0; --c) out.push_back(rgb[(size_t(y) * width + x) * 3 + c]);  // BGR
    out.resize(out.size() + (stride - uint32_t(width) * 3), 0);
  }
  return out;
}

}  // namespace data_test
