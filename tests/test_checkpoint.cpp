#include <doctest/doctest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "error_of.h"
#include "prunus/io/checkpoint.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::io;

namespace {

// A fresh directory under /tmp; everything in it is removed at the end.
struct CheckpointTempDir {
  std::string path;
  CheckpointTempDir() {
    char name[] = "/tmp/prunus_checkpoint_XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~CheckpointTempDir() {
    for (const std::string& entry : entries()) {
      const std::string full = path + "/" + entry;
      if (std::remove(full.c_str()) != 0) rmdir(full.c_str());
    }
    rmdir(path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
      closedir(d);
    }
    return out;
  }
};

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::vector<uint8_t> data;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  uint8_t buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.insert(data.end(), buffer, buffer + got);
  std::fclose(f);
  return data;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (size) REQUIRE(std::fwrite(data.data(), 1, size, f) == size);
  std::fclose(f);
}

// Rewrites the trailing CRC so a deliberately inconsistent file passes the checksum.
void fix_crc(std::vector<uint8_t>& data) {
  const size_t body = data.size() - 4;
  const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0, nullptr, 0), data.data(), static_cast<uInt>(body)));
  for (int i = 0; i < 4; ++i) data[body + i] = static_cast<uint8_t>(crc >> (8 * i));
}

void put_u64(std::vector<uint8_t>& data, size_t offset, uint64_t value) {
  for (int i = 0; i < 8; ++i) data[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

using test_errors::contains;
using test_errors::error_of;

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

bool file_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// A small checkpoint with every kind of entry, for the byte-by-byte tests.
Checkpoint small_checkpoint(Rng& rng) {
  Checkpoint c;
  c.put_string("arch", "Sequential\n  Conv2d 3 5 3\n");
  c.put_string("meta", std::string("{\"epoch\": 3}\0tail", 17));
  c.put_tensor("w", Tensor::randn({3, 5}, rng));
  c.put_tensor("v", Tensor::randn({7}, rng, 0.0, 1.0, DType::F64));
  c.put_blob("rng", std::vector<uint8_t>{1, 2, 3, 250, 0, 7});
  return c;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("checkpoint: round trip is bit-identical for odd shapes, f32, f64, strings and blobs") {
    CheckpointTempDir dir;
    Rng rng(77);
    Checkpoint c;
    const Shape shapes[] = {{3, 5, 7, 9}, {1}, {}, {0, 4}, {2, 0, 3}, {11}, {5, 1, 3, 1, 2}};
    int index = 0;
    for (const Shape& shape : shapes) {
      c.put_tensor("f32_" + std::to_string(index), Tensor::randn(shape, rng));
      c.put_tensor("f64_" + std::to_string(index++), Tensor::randn(shape, rng, 1.0, 3.0, DType::F64));
    }
    // Special values must survive bit for bit.
    Tensor special = Tensor::from_vector({6}, {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                              std::numeric_limits<float>::quiet_NaN(),
                                              std::numeric_limits<float>::denorm_min(), -1e38f});
    c.put_tensor("layer1.0.conv1.special", special);
    const std::string with_zeros("line one\nline two\n\0\0after zeros\r\n", 32);
    c.put_string("config", with_zeros);
    c.put_string("empty", "");
    c.put_string("name with spaces/and.dots", "x");
    std::vector<uint8_t> all_bytes(256);
    for (int i = 0; i < 256; ++i) all_bytes[i] = static_cast<uint8_t>(255 - i);
    c.put_blob("rng_state", all_bytes);
    c.put_blob("empty_blob", nullptr, 0);
    c.put_tensor("w", Tensor::zeros({2}));  // replaced by the next put
    c.put_tensor("w", Tensor::ones({3}));
    const std::string path = dir.file("model.ckpt");
    write_checkpoint(path, c);
    const Checkpoint back = read_checkpoint(path);
    CHECK(back.source == path);
    REQUIRE(back.tensors.size() == c.tensors.size());
    for (const auto& [name, t] : c.tensors) CHECK_MESSAGE(same_bits(t, back.tensor(name)), name);
    CHECK(back.tensor("f32_2").shape() == Shape{});
    CHECK(back.tensor("f64_3").shape() == Shape{0, 4});
    CHECK(back.tensor("w").shape() == Shape{3});
    CHECK(back.tensor("f32_0").name() == "f32_0");
    CHECK(back.strings == c.strings);
    CHECK(back.string("config").size() == 32);
    CHECK(back.blobs == c.blobs);
    CHECK(contains(back.summary(), "tensor  f32_0  float32 [3, 5, 7, 9]"));
    CHECK(contains(back.summary(), "blob    rng_state  (256 bytes)"));
    // Writing the read-back checkpoint gives the same bytes: the format is canonical.
    write_checkpoint(dir.file("again.ckpt"), back);
    CHECK(read_bytes(dir.file("again.ckpt")) == read_bytes(path));
  }

  TEST_CASE("checkpoint: put_tensor snapshots; missing entries name the entry and the file") {
    Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
    t.requires_grad_(true);
    Checkpoint c;
    c.put_tensor("layer.weight", t);
    t.detach().fill_(9.0);
    CHECK(c.tensor("layer.weight").at({1, 2}) == 6.0);
    CHECK_FALSE(c.tensor("layer.weight").requires_grad());
    CHECK(contains(error_of([&] { c.put_tensor("undefined", Tensor()); }), "'undefined'"));
    Checkpoint direct;  // the maps are public: an undefined tensor put there directly is refused at write
    direct.tensors["hole"] = Tensor();
    CHECK(contains(error_of([&] { write_checkpoint("/tmp/never_written.ckpt", direct); }),
                   "tensor entry 'hole' is undefined"));
    CheckpointTempDir dir;
    write_checkpoint(dir.file("a.ckpt"), c);
    const Checkpoint back = read_checkpoint(dir.file("a.ckpt"));
    std::string e = error_of([&] { back.tensor("layer.bias"); });
    CHECK(contains(e, "checkpoint '" + dir.file("a.ckpt") + "' has no tensor entry 'layer.bias'"));
    CHECK(contains(e, "tensors present: layer.weight"));
    CHECK(contains(error_of([&] { back.string("arch"); }), "no string entry 'arch' (strings present: none)"));
    CHECK(contains(error_of([&] { back.blob("rng"); }), "no blob entry 'rng'"));
  }

  TEST_CASE("checkpoint: a file truncated at any offset is refused as truncated") {
    CheckpointTempDir dir;
    Rng rng(5);
    const std::string path = dir.file("full.ckpt"), cut = dir.file("cut.ckpt");
    write_checkpoint(path, small_checkpoint(rng));
    const std::vector<uint8_t> data = read_bytes(path);
    for (size_t size = 0; size < data.size(); ++size) {
      // Every offset in memory (fast); a few through real files.
      const std::vector<uint8_t> prefix(data.begin(), data.begin() + size);
      const bool on_disk = size % 37 == 0 || size == data.size() - 1;
      if (on_disk) write_bytes(cut, data, size);
      const std::string e = error_of([&] { on_disk ? read_checkpoint(cut) : parse_checkpoint(prefix, cut); });
      CHECK_MESSAGE(contains(e, "checkpoint '" + cut + "' is truncated: expected"), "cut at ", size, ": ", e);
      if (size >= 32)
        CHECK(contains(e, "expected " + std::to_string(data.size()) + " bytes, found " + std::to_string(size)));
    }
  }

  TEST_CASE("checkpoint: a single flipped byte anywhere is refused") {
    CheckpointTempDir dir;
    Rng rng(6);
    const std::string path = dir.file("full.ckpt"), bad = dir.file("bad.ckpt");
    write_checkpoint(path, small_checkpoint(rng));
    const std::vector<uint8_t> data = read_bytes(path);
    CHECK(parse_checkpoint(data, "intact").string("arch") == small_checkpoint(rng).string("arch"));
    int corrupted = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      std::vector<uint8_t> flipped = data;
      flipped[i] ^= static_cast<uint8_t>(1 + rng.below(255));
      const bool on_disk = i % 29 == 0;
      if (on_disk) write_bytes(bad, flipped, flipped.size());
      const std::string e = error_of([&] { on_disk ? read_checkpoint(bad) : parse_checkpoint(flipped, bad); });
      CHECK_MESSAGE(contains(e, "checkpoint '" + bad + "'"), "byte ", i, ": ", e);
      if (i < 8) CHECK(contains(e, "not a prunus checkpoint"));
      corrupted += contains(e, "corrupted: checksum mismatch");
    }
    CHECK(corrupted == static_cast<int>(data.size()) - 28 + 8);  // all but magic, version and size
    // Extra bytes at the end are refused too.
    std::vector<uint8_t> longer = data;
    longer.push_back(0);
    write_bytes(bad, longer, longer.size());
    CHECK(contains(error_of([&] { read_checkpoint(bad); }), "(extra bytes at the end)"));
  }

  TEST_CASE("checkpoint: wrong magic, newer version and missing files are refused clearly") {
    CheckpointTempDir dir;
    const std::string text = dir.file("notes.txt");
    const std::string hello = "hello, this is a text file and not a checkpoint at all\n";
    write_bytes(text, std::vector<uint8_t>(hello.begin(), hello.end()), hello.size());
    CHECK(contains(error_of([&] { read_checkpoint(text); }),
                   "checkpoint '" + text + "' is not a prunus checkpoint"));
    Rng rng(7);
    const std::string path = dir.file("v.ckpt");
    write_checkpoint(path, small_checkpoint(rng));
    std::vector<uint8_t> data = read_bytes(path);
    data[8] = 2;  // version 2, with a valid checksum
    fix_crc(data);
    write_bytes(path, data, data.size());
    CHECK(contains(error_of([&] { read_checkpoint(path); }), "has format version 2, newer than this build"));
    const std::string missing = dir.file("missing.ckpt");
    std::string e = error_of([&] { read_checkpoint(missing); });
    CHECK(contains(e, "cannot open checkpoint '" + missing + "'"));
    CHECK(contains(e, "No such file"));
    CHECK(contains(error_of([&] { read_checkpoint(dir.path); }), "is not a regular file"));
  }

  TEST_CASE("checkpoint: absurd lengths behind a valid checksum are refused without allocating") {
    CheckpointTempDir dir;
    const std::string path = dir.file("evil.ckpt");
    // Layout of a one-entry file: header 28 bytes, kind at 28, name length at 29, name "t" at 33.
    Checkpoint one_tensor;
    one_tensor.put_tensor("t", Tensor::from_vector({3, 5}, std::vector<float>(15, 1.5f)));
    write_checkpoint(path, one_tensor);
    const std::vector<uint8_t> tensor_file = read_bytes(path);
    Checkpoint one_string;
    one_string.put_string("s", "abc");
    write_checkpoint(path, one_string);
    const std::vector<uint8_t> string_file = read_bytes(path);

    auto refused = [&](std::vector<uint8_t> data, const std::function<void(std::vector<uint8_t>&)>& edit) {
      edit(data);
      fix_crc(data);
      write_bytes(path, data, data.size());
      return error_of([&] { read_checkpoint(path); });
    };
    const uint64_t huge = uint64_t(1) << 62;
    // dtype at 34, ndim at 35, dims at 39 and 47, data length at 55.
    CHECK(contains(refused(tensor_file, [&](auto& d) { put_u64(d, 39, huge); }), "larger than the rest"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { put_u64(d, 39, uint64_t(-3)); }), "dimension -3"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { put_u64(d, 55, huge); }), "expected 60"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { d[35] = 0xff; }), "dimensions"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { d[34] = 9; }), "unknown dtype code 9"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { d[28] = 4; }), "unknown kind 4"));
    CHECK(contains(refused(tensor_file, [&](auto& d) { d[32] = 0x7f; }), "entry name at byte 33"));
    // string length at 34.
    CHECK(contains(refused(string_file, [&](auto& d) { put_u64(d, 34, huge); }), "string at byte 42 needs"));
    CHECK(contains(refused(string_file, [&](auto& d) { put_u64(d, 20, huge); }), "entry kind at byte"));
    CHECK(contains(refused(string_file, [&](auto& d) { put_u64(d, 20, 0); }), "unexpected bytes after"));
    std::vector<uint8_t> twice = string_file;  // the same entry twice, sizes patched to match
    const std::vector<uint8_t> entry(string_file.begin() + 28, string_file.end() - 4);
    twice.insert(twice.end() - 4, entry.begin(), entry.end());
    CHECK(contains(refused(twice,
                           [&](auto& d) {
                             put_u64(d, 12, d.size());
                             put_u64(d, 20, 2);
                           }),
                   "entry 's' appears twice"));
    // Random garbage after a valid magic never crashes (ASan watches this loop).
    Rng rng(8);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> garbage(8 + rng.below(120));
      std::memcpy(garbage.data(), "PRUNUSCK", 8);
      for (size_t i = 8; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(rng.below(256));
      if (garbage.size() >= 32 && rng.below(2)) {
        garbage[8] = 1, garbage[9] = garbage[10] = garbage[11] = 0;
        put_u64(garbage, 12, garbage.size());
        fix_crc(garbage);
      }
      CHECK(!error_of([&] { parse_checkpoint(garbage, path); }).empty());
    }
  }

  TEST_CASE("checkpoint: writes are atomic, leave no temp file and overwrite safely") {
    CheckpointTempDir dir;
    Rng rng(9);
    const std::string path = dir.file("run.ckpt");
    Checkpoint first = small_checkpoint(rng);
    first.put_string("which", "first");
    write_checkpoint(path, first);
    CHECK_FALSE(file_exists(path + ".tmp"));
    CHECK(dir.entries() == std::vector<std::string>{"run.ckpt"});
    // A stale temp file from a crashed run is simply replaced.
    write_bytes(path + ".tmp", std::vector<uint8_t>(10, 0xab), 10);
    Checkpoint second;
    second.put_string("which", "second");
    second.put_tensor("x", Tensor::randn({3, 5, 7}, rng));
    write_checkpoint(path, second);
    CHECK_FALSE(file_exists(path + ".tmp"));
    Checkpoint back = read_checkpoint(path);
    CHECK(back.string("which") == "second");
    CHECK(same_bits(back.tensor("x"), second.tensor("x")));
    // A write that fails leaves the previous checkpoint intact.
    REQUIRE(mkdir((path + ".tmp").c_str(), 0700) == 0);
    std::string e = error_of([&] { write_checkpoint(path, first); });
    CHECK(contains(e, "cannot write '" + path + "'"));
    CHECK(read_checkpoint(path).string("which") == "second");
    rmdir((path + ".tmp").c_str());
    e = error_of([&] { write_checkpoint(dir.file("no/such/dir/x.ckpt"), first); });
    CHECK(contains(e, "no/such/dir/x.ckpt"));
    // The same mechanism for plain files.
    write_file_atomic(dir.file("config.ini"), "[train]\nepochs = 3\n");
    std::vector<uint8_t> text = read_bytes(dir.file("config.ini"));
    CHECK(std::string(text.begin(), text.end()) == "[train]\nepochs = 3\n");
    CHECK_FALSE(file_exists(dir.file("config.ini.tmp")));
  }
}
