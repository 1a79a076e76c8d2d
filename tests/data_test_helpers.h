// Helpers shared by the data tests (test_data.cpp, test_data_loader.cpp).
#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>

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

}  // namespace data_test
