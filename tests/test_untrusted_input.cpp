// Regression tests for what fuzzing found in the parsers of untrusted bytes
// (issue 14): each input here once crashed, overflowed, or asked for gigabytes.
// The fuzz targets themselves are in tests/fuzz/.
#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "error_of.h"
#include "data_test_helpers.h"
#include "prunus/train/config_schema.h"
#include "prunus/data/cifar10.h"
#include "prunus/data/idx.h"
#include "prunus/data/image_decode.h"
#include "prunus/interop/onnx.h"
#include "prunus/interop/state_dict.h"
#include "prunus/io/checkpoint.h"
#include "prunus/io/safetensors.h"
#include "prunus/nn/layers.h"
#include "prunus/nn/state.h"
#include "prunus/io/config.h"
#include "prunus/nn/description.h"
#include "prunus/tensor.h"
#include "prunus/train/run_checkpoint.h"

using namespace prunus;

namespace {
using test_errors::contains;
using test_errors::error_of;
}  // namespace

TEST_SUITE("untrusted input") {
  TEST_CASE("a shape whose element count overflows is an Error, not undefined behaviour") {
    CHECK(contains(error_of([] { shape_numel({16, 4575657222473777152}); }), "more than 2^62 elements"));
    CHECK(contains(error_of([] { Tensor::empty({1 << 30, 1 << 30}); }), "larger than 2^40 elements"));
  }

  TEST_CASE("a tiny checkpoint whose description asks for 16 GiB is refused before allocating it") {
    io::Checkpoint checkpoint;
    checkpoint.source = "tiny.bin";
    checkpoint.put_string("architecture",
                          "prunus-architecture 1\nSequential {\n  fc: Linear in_features=65536 out_features=65536 "
                          "bias=1\n}\n");
    const std::string e = error_of([&] { train::load_model(checkpoint); });
    CHECK(contains(e, "tiny.bin: cannot rebuild the model"));
    CHECK(contains(e, "would allocate more than"));
  }

  TEST_CASE("a description nested 18,000 levels deep is refused, not a stack overflow") {
    std::string text = "prunus-architecture 1\nSequential {\n";
    for (int i = 0; i < 18000; ++i) text += "a: Sequential {\n";
    for (int i = 0; i <= 18000; ++i) text += "}\n";
    CHECK(contains(error_of([&] { nn::build_from_description(text); }), "nest deeper than 64 levels"));
  }

  TEST_CASE("config values that once broke the round trip through config.conf") {
    io::Config config(train::prunus_schema());
    for (const char* value : {"a\"b #c", "\"quoted\"", "back\\slash\\", " spaced ", "#start", "x # y", "\"", "\\\""}) {
      config.set("out.dir", value, "--set out.dir");
      io::Config reloaded(train::prunus_schema());
      reloaded.load_text(config.dump(), "config.conf");
      CHECK_MESSAGE(reloaded.get_string("out.dir") == value, "value: ", value);
    }
    CHECK(contains(error_of([&] { config.set("out.dir", "a\nb", "--set"); }), "newline"));
    CHECK(contains(error_of([&] { config.set("train.epochs", "4294967297", "--set"); }), "[1, 100000]"));
    CHECK(contains(error_of([&] { config.set("train.threads", "100000", "--set"); }), "[0, 1024]"));
    CHECK(contains(error_of([&] { config.set("train.lr", "0x10", "--set"); }), "expected a positive number"));
  }

  // The seed corpus of the fuzz targets (tests/fuzz/): one valid input per
  // format, each checked here to parse. `make fuzz` sets PRUNUS_FUZZ_CORPUS to
  // keep them; otherwise they go to a temporary folder.
  TEST_CASE("fuzz seed corpus: one valid input per parser, each accepted by it") {
    data_test::TempDir temp;
    const char* kept = std::getenv("PRUNUS_FUZZ_CORPUS");
    const std::string root = kept && *kept ? kept : temp.path;
    auto seed = [&](const std::string& target, const std::string& name, const data_test::Bytes& bytes) {
      std::filesystem::create_directories(root + "/" + target);
      data_test::write_file(root + "/" + target + "/" + name, bytes);
    };
    auto text_bytes = [](const std::string& s) { return data_test::Bytes(s.begin(), s.end()); };

    auto model = std::make_shared<nn::Sequential>();
    model->add("conv", std::make_shared<nn::Conv2d>(1, 2, 3, 1, 1, false));
    model->add("bn", std::make_shared<nn::BatchNorm2d>(2));
    model->add("relu", std::make_shared<nn::ReLU>());
    model->add("pool", std::make_shared<nn::GlobalAvgPool>());
    model->add("flatten", std::make_shared<nn::Flatten>());
    model->add("fc", std::make_shared<nn::Linear>(2, 3, true));

    io::Config config(train::prunus_schema());
    config.set("out.dir", "runs/a \"b\" # c", "--set out.dir=...");
    seed("fuzz_config", "dump", text_bytes(std::string(1, '\0') + config.dump()));
    seed("fuzz_config", "set", text_bytes("\x01train.lr=0.05"));

    io::Checkpoint checkpoint;
    train::put_model(checkpoint, *model, "custom", {1, 8, 8});
    const std::string checkpoint_path = temp / "model.bin";
    io::write_checkpoint(checkpoint_path, checkpoint);
    const data_test::Bytes checkpoint_bytes = io::read_file_bytes(checkpoint_path, "seed");
    CHECK(train::load_model(io::parse_checkpoint(checkpoint_bytes, "seed"))->children().size() == 6);
    seed("fuzz_checkpoint", "model.bin", checkpoint_bytes);

    const std::string description = nn::describe(*model);
    CHECK(nn::build_from_description(description)->children().size() == 6);
    seed("fuzz_description", "model.txt", text_bytes(description));

    prunus::Rng rng(3);
    data_test::Bytes records;
    for (int label : {3, 7}) {
      records.push_back(uint8_t(label));
      const data_test::Bytes pixels = data_test::random_bytes(3072, rng);
      records.insert(records.end(), pixels.begin(), pixels.end());
    }
    data_test::write_file(temp / "batch.bin", records);
    CHECK(data::load_cifar10({temp / "batch.bin"}).size() == 2);
    seed("fuzz_cifar10", "batch.bin", records);

    data_test::Bytes images, labels;
    for (uint32_t v : {2051u, 2u, 4u, 4u}) data_test::append_u32_big_endian(images, v);
    const data_test::Bytes image_pixels = data_test::random_bytes(32, rng);
    images.insert(images.end(), image_pixels.begin(), image_pixels.end());
    for (uint32_t v : {2049u, 2u}) data_test::append_u32_big_endian(labels, v);
    labels.insert(labels.end(), {1, 0});
    const std::string gz_path = temp / "images.gz";
    gzFile gz = gzopen(gz_path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    gzwrite(gz, images.data(), unsigned(images.size()));
    gzclose(gz);
    data_test::write_file(temp / "images.idx", images);
    data_test::write_file(temp / "labels.idx", labels);
    CHECK(data::load_idx(temp / "images.idx", temp / "labels.idx").size() == 2);
    CHECK(data::load_idx(gz_path, temp / "labels.idx").size() == 2);
    for (const auto& [name, image_file] : {std::pair<std::string, data_test::Bytes>{"raw", images},
                                           {"gzip", io::read_file_bytes(gz_path, "seed")}}) {
      data_test::Bytes input;
      for (int shift = 0; shift < 32; shift += 8) input.push_back(uint8_t(image_file.size() >> shift));
      input.insert(input.end(), image_file.begin(), image_file.end());
      input.insert(input.end(), labels.begin(), labels.end());
      seed("fuzz_idx", name, input);
    }

    const data_test::Bytes rgb = data_test::random_bytes(6 * 4 * 3, rng);
    for (const auto& [name, bytes] : {std::pair<std::string, data_test::Bytes>{"a.png", data_test::png_bytes(6, 4, 3, rgb)},
                                      {"a.bmp", data_test::bmp_bytes(6, 4, rgb)}}) {
      CHECK(data::decode_image_bytes(bytes, name, 3).pixels == rgb);
      seed("fuzz_image", name, bytes);
    }

    const std::string tensors = io::encode_safetensors(nn::state_tensors(*model),
                                                       {{interop::kArchitectureKey, description}});
    const data_test::Bytes tensor_bytes(tensors.begin(), tensors.end());
    CHECK(interop::model_from_prunus_file(io::parse_safetensors(tensor_bytes, "seed")) != nullptr);
    seed("fuzz_safetensors", "model.safetensors", tensor_bytes);

    const std::string onnx = interop::encode_onnx(interop::onnx_from_model(*model, {1, 8, 8}));
    CHECK(interop::decode_onnx(onnx, "seed").nodes.size() > 0);
    seed("fuzz_onnx", "model.onnx", text_bytes(onnx));
  }
}
