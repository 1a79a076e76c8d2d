// Data tests, part 1: file formats (CIFAR-10, IDX, image folders), subsets, real data.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "data_test_helpers.h"
#include "prunus/data/cifar10.h"
#include "prunus/data/dataset.h"
#include "prunus/data/idx.h"
#include "prunus/data/image_folder.h"
#include "prunus/error.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::data;
using namespace data_test;

namespace {

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

Bytes idx_images(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, const Bytes& pixels) {
  Bytes out;
  for (uint32_t v : {magic, count, rows, cols}) append_u32_big_endian(out, v);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

Bytes idx_labels(uint32_t count, const Bytes& labels) {
  Bytes out;
  append_u32_big_endian(out, 2049);
  append_u32_big_endian(out, count);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}
}  // namespace

TEST_SUITE("data") {
  TEST_CASE("CIFAR-10: records of several files are concatenated with planar RGB pixels") {
    TempDir dir;
    Rng rng(11);
    const int records_per_file[2] = {3, 2};
    std::vector<Bytes> contents;
    for (int f = 0; f < 2; ++f) {
      Bytes content = random_bytes(size_t(records_per_file[f]) * kCifar10RecordBytes, rng);
      for (int r = 0; r < records_per_file[f]; ++r) content[size_t(r) * kCifar10RecordBytes] = uint8_t(rng.below(10));
      write_file(dir / ("batch_" + std::to_string(f) + ".bin"), content);
      contents.push_back(content);
    }
    const Dataset d = load_cifar10({dir / "batch_0.bin", dir / "batch_1.bin"});
    REQUIRE(d.size() == 5);
    CHECK(d.channels == 3);
    CHECK(d.height == 32);
    CHECK(d.width == 32);
    CHECK(d.num_classes == 10);
    CHECK(d.class_names.size() == 10);
    CHECK(d.class_names[3] == "cat");
    CHECK(d.pixels.size() == 5u * 3072);
    int image = 0;
    for (int f = 0; f < 2; ++f) {
      for (int r = 0; r < records_per_file[f]; ++r, ++image) {
        const uint8_t* record = contents[f].data() + size_t(r) * kCifar10RecordBytes;
        CHECK(d.labels[image] == record[0]);
        // Channel 1 (G), row 5, column 17 is byte 1 + 1024 + 5*32 + 17 of the record.
        CHECK(d.image(image)[1024 + 5 * 32 + 17] == record[1 + 1024 + 5 * 32 + 17]);
        CHECK(std::equal(record + 1, record + kCifar10RecordBytes, d.image(image)));
      }
    }
    CHECK(cifar10_batch_files("x", {1, 5}) == std::vector<std::string>{"x/data_batch_1.bin", "x/data_batch_5.bin"});
  }

  TEST_CASE("CIFAR-10: missing file, partial record and bad label are named") {
    TempDir dir;
    Rng rng(12);
    const std::string partial = dir / "partial.bin";
    write_file(partial, Bytes(2 * kCifar10RecordBytes + 5, 1));
    CHECK_THROWS_WITH_AS(load_cifar10({partial}), contains(partial + "' has 6151 bytes"), Error);

    const std::string bad_label = dir / "bad_label.bin";
    Bytes content(3 * kCifar10RecordBytes, 0);
    content[2 * kCifar10RecordBytes] = 10;
    write_file(bad_label, content);
    CHECK_THROWS_WITH_AS(load_cifar10({bad_label}), contains(bad_label + "': record 2 has label 10"), Error);

    const std::string missing = dir / "missing.bin";
    CHECK_THROWS_WITH_AS(load_cifar10({missing}), contains(missing), Error);
    const std::string empty = dir / "empty.bin";
    write_file(empty, {});
    CHECK_THROWS_WITH_AS(load_cifar10({empty}), contains(empty), Error);
    CHECK_THROWS_AS(load_cifar10({}), Error);
  }

  TEST_CASE("IDX: raw and gzip files give the same images and labels") {
    TempDir dir;
    Rng rng(13);
    const uint32_t count = 3, rows = 7, cols = 9;
    const Bytes pixels = random_bytes(count * rows * cols, rng);
    const Bytes labels = {4, 0, 6};
    write_file(dir / "images", idx_images(2051, count, rows, cols, pixels));
    write_file(dir / "labels", idx_labels(count, labels));
    write_gz(dir / "images.gz", idx_images(2051, count, rows, cols, pixels));
    write_gz(dir / "labels.gz", idx_labels(count, labels));

    for (const auto& suffix : {std::string(""), std::string(".gz")}) {
      CAPTURE(suffix);
      const Dataset d = load_idx(dir / ("images" + suffix), dir / ("labels" + suffix));
      CHECK(d.size() == 3);
      CHECK(d.channels == 1);
      CHECK(d.height == 7);
      CHECK(d.width == 9);
      CHECK(d.num_classes == 7);
      CHECK(d.pixels == pixels);
      CHECK(d.labels == std::vector<int>{4, 0, 6});
      CHECK_NOTHROW(validate(d));
    }
  }

  TEST_CASE("IDX: wrong magic, truncation, trailing data and count mismatch are named") {
    TempDir dir;
    Rng rng(14);
    const Bytes pixels = random_bytes(3 * 5 * 4, rng);
    const std::string images = dir / "images.gz", labels = dir / "labels.gz";
    write_gz(images, idx_images(2051, 3, 5, 4, pixels));
    write_gz(labels, idx_labels(3, {1, 2, 3}));
    REQUIRE(load_idx(images, labels).size() == 3);

    CHECK_THROWS_WITH_AS(load_idx(labels, images), contains(labels + "' has magic number 2049, expected 2051"), Error);
    const std::string wrong_magic = dir / "wrong_magic";
    write_file(wrong_magic, idx_images(2052, 3, 5, 4, pixels));
    CHECK_THROWS_WITH_AS(load_idx(wrong_magic, labels), contains(wrong_magic + "' has magic number 2052"), Error);

    const std::string short_images = dir / "short_images.gz";
    Bytes cut = idx_images(2051, 3, 5, 4, pixels);
    cut.resize(cut.size() - 7);
    write_gz(short_images, cut);
    CHECK_THROWS_WITH_AS(load_idx(short_images, labels),
                         contains(short_images + "' is truncated: its header promises 3 images of 5x4"), Error);
    const std::string short_header = dir / "short_header";
    write_file(short_header, Bytes{0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH_AS(load_idx(short_header, labels), contains(short_header + "' is truncated"), Error);
    const std::string short_labels = dir / "short_labels";
    write_file(short_labels, idx_labels(3, {1, 2}));
    CHECK_THROWS_WITH_AS(load_idx(images, short_labels),
                         contains(short_labels + "' is truncated: its header promises 3 labels"), Error);

    const std::string long_labels = dir / "long_labels";
    write_file(long_labels, idx_labels(3, {1, 2, 3, 4}));
    CHECK_THROWS_WITH_AS(load_idx(images, long_labels), contains(long_labels + "' has more data"), Error);

    const std::string four_labels = dir / "four_labels";
    write_file(four_labels, idx_labels(4, {1, 2, 3, 4}));
    CHECK_THROWS_WITH_AS(load_idx(images, four_labels),
                         contains("'" + images + "' has 3 images but '" + four_labels + "' has 4 labels"), Error);

    const std::string zero_rows = dir / "zero_rows";
    write_file(zero_rows, idx_images(2051, 3, 0, 4, {}));
    CHECK_THROWS_WITH_AS(load_idx(zero_rows, labels), contains(zero_rows), Error);

    // A gzip stream cut in the middle: zlib reports it, or the data runs short.
    Bytes gz_bytes;
    {
      std::ifstream in(images, std::ios::binary);
      gz_bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string cut_gz = dir / "cut.gz";
    write_file(cut_gz, Bytes(gz_bytes.begin(), gz_bytes.begin() + gz_bytes.size() / 2));
    CHECK_THROWS_WITH_AS(load_idx(cut_gz, labels), contains(cut_gz), Error);

    const std::string missing = dir / "missing.gz";
    CHECK_THROWS_WITH_AS(load_idx(missing, labels), contains(missing + "' cannot be opened"), Error);
    CHECK_THROWS_WITH_AS(load_idx(images, missing), contains(missing + "' cannot be opened"), Error);
  }

  TEST_CASE("resize_and_center_crop: identity, exact 2x bilinear downscale, centre crop") {
    Rng rng(15);
    // Same size: unchanged, only interleaved -> planar.
    const Bytes square = random_bytes(5 * 5 * 3, rng);
    const Bytes same = resize_and_center_crop(square.data(), 5, 5, 3, 5);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 5; ++x) CHECK(same[(c * 5 + y) * 5 + x] == square[(y * 5 + x) * 3 + c]);

    // 10x10 ramp v = 4x + 8y + c to 5x5: each output averages a 2x2 block,
    // so out = 4(2X + 0.5) + 8(2Y + 0.5) + c.
    Bytes ramp(10 * 10 * 3);
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 10; ++x)
        for (int c = 0; c < 3; ++c) ramp[(y * 10 + x) * 3 + c] = uint8_t(4 * x + 8 * y + c);
    const Bytes half = resize_and_center_crop(ramp.data(), 10, 10, 3, 5);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 5; ++x) CHECK(int(half[(c * 5 + y) * 5 + x]) == 8 * x + 16 * y + 6 + c);

    // Tall 3 wide x 8 high grey image, size 3: no scaling, rows 2..4 kept.
    const Bytes tall = random_bytes(3 * 8, rng);
    const Bytes cropped = resize_and_center_crop(tall.data(), 3, 8, 1, 3);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x) CHECK(cropped[y * 3 + x] == tall[(y + 2) * 3 + x]);

    // Upscaling a constant image keeps it constant.
    const Bytes flat(4 * 2 * 3, 77);
    const Bytes big = resize_and_center_crop(flat.data(), 4, 2, 3, 7);
    CHECK(big == Bytes(3 * 7 * 7, 77));
    CHECK_THROWS_AS(resize_and_center_crop(flat.data(), 4, 2, 3, 0), Error);
  }

  TEST_CASE("image folder: classes from sorted subfolders, PNG decoding, garbage skipped and reported") {
    TempDir dir;
    Rng rng(16);
    std::filesystem::create_directories(dir / "dog");
    std::filesystem::create_directories(dir / "cat");
    std::filesystem::create_directories(dir / ".cache");
    const Bytes square = random_bytes(5 * 5 * 3, rng);
    write_png(dir / "cat/b.png", 5, 5, 3, square);
    Bytes ramp(10 * 10 * 3);
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 10; ++x)
        for (int c = 0; c < 3; ++c) ramp[(y * 10 + x) * 3 + c] = uint8_t(4 * x + 8 * y + c);
    write_png(dir / "cat/a.png", 10, 10, 3, ramp);
    const Bytes wide_grey = random_bytes(8 * 5, rng);
    write_png(dir / "dog/c.png", 8, 5, 1, wide_grey);
    write_file(dir / "dog/garbage.jpg", random_bytes(300, rng));
    write_file(dir / "dog/.hidden.png", random_bytes(30, rng));

    std::vector<std::string> skipped;
    const Dataset d = load_image_folder(dir.path, 5, &skipped);
    CHECK(skipped == std::vector<std::string>{dir / "dog/garbage.jpg"});
    REQUIRE(d.size() == 3);
    CHECK(d.num_classes == 2);
    CHECK(d.class_names == std::vector<std::string>{"cat", "dog"});
    CHECK(d.labels == std::vector<int>{0, 0, 1});
    CHECK(d.channels == 3);
    CHECK(d.height == 5);
    CHECK(d.width == 5);
    CHECK_NOTHROW(validate(d));
    // Without a list to fill, the skipped files are reported on stderr.
    std::ostringstream captured;
    std::streambuf* original = std::cerr.rdbuf(captured.rdbuf());
    const Dataset again = load_image_folder(dir.path, 5);
    std::cerr.rdbuf(original);
    CHECK(again.pixels == d.pixels);
    CHECK(captured.str().find("skipped 1 of 4 files") != std::string::npos);
    CHECK(captured.str().find(dir / "dog/garbage.jpg") != std::string::npos);
    // a.png: the exact 2x downscale of the ramp.
    CHECK(int(d.image(0)[(2 * 5 + 3) * 5 + 1]) == 8 * 1 + 16 * 3 + 6 + 2);
    // b.png: unchanged.
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 5; ++x) CHECK(d.image(1)[(c * 5 + y) * 5 + x] == square[(y * 5 + x) * 3 + c]);
    // c.png: grey replicated to RGB, columns 1..5 of 8 kept.
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 5; ++x) CHECK(d.image(2)[(c * 5 + y) * 5 + x] == wide_grey[y * 8 + x + 1]);
  }

  TEST_CASE("image decoding: limits refuse bombs, huge and truncated files before stb allocates") {
    Rng rng(5);
    const Bytes rgb = random_bytes(7 * 5 * 3, rng);
    // A BMP and a PNG of the same pixels decode to them; so does a PNG with an empty first IDAT.
    CHECK(decode_image_bytes(bmp_bytes(7, 5, rgb), "a.bmp", 3).pixels == rgb);
    CHECK(decode_image_bytes(png_bytes(7, 5, 3, rgb), "a.png", 3).pixels == rgb);
    CHECK(decode_image_bytes(png_bytes(7, 5, 3, rgb, /*empty_first_idat=*/true), "e.png", 3).pixels == rgb);

    CHECK_THROWS_WITH(decode_image_bytes({}, "empty.png", 3), contains("empty.png is empty"));
    Bytes cut = bmp_bytes(7, 5, rgb);
    cut.resize(cut.size() - 10);
    CHECK_THROWS_WITH(decode_image_bytes(cut, "cut.bmp", 3), contains("cut.bmp is a truncated BMP"));
    Bytes claims_huge = bmp_bytes(7, 5, rgb);  // 70 bytes claiming 4000 x 4000 pixels (48 MB)
    for (int at : {18, 22}) claims_huge[at] = 0xa0, claims_huge[at + 1] = 0x0f;
    claims_huge.resize(70);
    CHECK_THROWS_WITH(decode_image_bytes(claims_huge, "bomb.bmp", 3), contains("decompression bomb or a truncated"));
    Bytes too_wide = png_bytes(7, 5, 3, rgb);
    too_wide[16] = 0x00, too_wide[17] = 0x01, too_wide[18] = 0x86, too_wide[19] = 0xa0;  // width 100000
    CHECK_THROWS_WITH(decode_image_bytes(too_wide, "wide.png", 3), contains("at most 16384 on a side"));
    CHECK_THROWS_WITH(decode_image_bytes(Bytes(100, 'x'), "junk.jpg", 3), contains("junk.jpg ("));
    // fuzz_image's finding (68 bytes): SOI, a DHT segment whose second table's counts (the bytes of
    // a PNG signature) sum to 366 codes, which sent Debian's stb_image past its arrays. Refused first.
    Bytes huffman = {0xff, 0xff, 0xd8, 0xff, 0xc4, 0x45};
    huffman.resize(37, 0x00);
    for (char v : std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16)) huffman.push_back(uint8_t(v));
    huffman.resize(68, 0x00);
    CHECK_THROWS_WITH(decode_image_bytes(huffman, "huffman.jpg", 3), contains("huffman.jpg is a corrupt JPEG: a Huffman table"));
    // fuzz_image's second finding: a PNG whose second IDAT claims 2,057,587,771 bytes made stb allocate 2 GB.
    Bytes claims_idat = png_bytes(7, 5, 3, rgb);
    const Bytes idat_header = {0x7a, 0xa4, 0x4c, 0x3b, 'I', 'D', 'A', 'T', 0, 0, 0, 0};
    claims_idat.insert(claims_idat.end() - 12, idat_header.begin(), idat_header.end());  // before IEND
    CHECK_THROWS_WITH(decode_image_bytes(claims_idat, "long.png", 3),
                      contains("long.png is a truncated PNG: its IDAT chunk claims 2057587771 bytes"));
    // Its third: an empty IDAT cut off before its CRC (stb then copies from a null pointer).
    Bytes cut_idat(claims_idat.begin(), claims_idat.begin() + 33);  // signature and IHDR
    for (int b : {0, 0, 0, 0, 0x49, 0x44, 0x41, 0x54, 0x78, 0x7a, 0xa3}) cut_idat.push_back(uint8_t(b));  // IDAT, 3 bytes
    CHECK_THROWS_WITH(decode_image_bytes(cut_idat, "cut.png", 3), contains("cut.png is a truncated PNG: the chunk at byte 33"));
    Bytes trailing = png_bytes(7, 5, 3, rgb);  // bytes after IEND are not chunks
    trailing.insert(trailing.end(), idat_header.begin(), idat_header.end());
    CHECK(decode_image_bytes(trailing, "trailing.png", 3).pixels == rgb);
  }

  TEST_CASE("image folder: missing root, no classes, nothing decodable are errors naming the folder") {
    TempDir dir;
    Rng rng(17);
    CHECK_THROWS_WITH_AS(load_image_folder(dir / "nope", 8), contains(dir / "nope"), Error);
    CHECK_THROWS_WITH_AS(load_image_folder(dir.path, 8), contains("no class subfolders"), Error);
    std::filesystem::create_directories(dir / "only");
    CHECK_THROWS_WITH_AS(load_image_folder(dir.path, 8), contains("no image files"), Error);
    write_file(dir / "only/broken.png", random_bytes(64, rng));
    CHECK_THROWS_WITH_AS(load_image_folder(dir.path, 8), contains(dir / "only/broken.png"), Error);
    CHECK_THROWS_AS(load_image_folder(dir.path, 0), Error);
  }

  TEST_CASE("subset copies a range; find_cifar10_dir returns the first existing candidate") {
    const Dataset d = numbered_dataset(11, 2, 3, 5);
    const Dataset part = subset(d, 4, 9);
    CHECK(part.size() == 5);
    CHECK(part.labels == std::vector<int>{4, 5, 6, 7, 8});
    CHECK(part.pixels.size() == 5u * 30);
    CHECK(part.image(2)[17] == 6);
    CHECK(part.num_classes == 11);
    CHECK_NOTHROW(validate(part));
    CHECK(subset(d, 3, 3).size() == 0);
    CHECK_THROWS_WITH_AS(subset(d, 5, 12), contains("[5, 12)"), Error);
    CHECK_THROWS_AS(subset(d, 6, 5), Error);

    TempDir dir;
    std::filesystem::create_directories(dir / "second");
    write_file(dir / "file", {1});
    CHECK(find_cifar10_dir({dir / "first", dir / "file", dir / "second"}) == dir / "second");
    CHECK(find_cifar10_dir({dir / "first"}).empty());
    CHECK(default_cifar10_dirs() ==
          std::vector<std::string>{"data/cifar-10-batches-bin", "../shared/data/cifar-10-batches-bin"});
  }

  TEST_CASE("real data: CIFAR-10 data_batch_5 and MNIST t10k (skipped when ../shared/data is absent)") {
    const std::string root = find_existing_dir({"../shared/data"});
    if (root.empty()) {
      MESSAGE("skipped: ../shared/data is absent (run from the project root on a machine that has it)");
      return;
    }
    const std::string cifar_dir = root + "/cifar-10-batches-bin";
    if (find_existing_dir({cifar_dir}).empty()) {
      MESSAGE("skipped CIFAR-10: ", cifar_dir, " is absent");
    } else {
      const Dataset cifar = load_cifar10({cifar_dir + "/data_batch_5.bin"});
      CHECK(cifar.size() == 10000);
      std::vector<int> per_class(10, 0);
      int out_of_range = 0;
      for (int label : cifar.labels) {
        if (label < 0 || label >= 10) ++out_of_range;
        else ++per_class[label];
      }
      CHECK(out_of_range == 0);
      CHECK(*std::min_element(per_class.begin(), per_class.end()) > 900);
      CHECK_NOTHROW(validate(cifar));
    }
    const std::string mnist_dir = root + "/mnist";
    if (find_existing_dir({mnist_dir}).empty()) {
      MESSAGE("skipped MNIST: ", mnist_dir, " is absent");
    } else {
      const Dataset mnist = load_idx(mnist_dir + "/t10k-images-idx3-ubyte.gz", mnist_dir + "/t10k-labels-idx1-ubyte.gz");
      CHECK(mnist.size() == 10000);
      CHECK(mnist.height == 28);
      CHECK(mnist.width == 28);
      CHECK(mnist.num_classes == 10);
      CHECK_NOTHROW(validate(mnist));
      CHECK(*std::max_element(mnist.pixels.begin(), mnist.pixels.end()) == 255);
    }
  }
}
