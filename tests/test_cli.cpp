// The command line: argument parsing (usage errors are exit status 2, other
// user errors 1), and the built `prunus` binary itself when it sits next to
// this test binary (`make` builds both; `make test` alone may not, then those
// checks are skipped with a message).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data_test_helpers.h"
#include "prunus/train/config_schema.h"
#include "prunus/autograd.h"
#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/data/image_folder.h"
#include "prunus/io/checkpoint.h"
#include "prunus/models/summary.h"
#include "prunus/models/zoo.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/app/demo_config.h"
#include "prunus/train/run_checkpoint.h"

using namespace prunus;
namespace fs = std::filesystem;

namespace {

app::CommandSpec sample_spec() {
  return {"train",
          "Trains.",
          "prunus train --config FILE",
          {{"config", "FILE", "config file"}, {"set", "KEY=VALUE", "override", true}, {"resume", "", "continue"}},
          ""};
}

// The prunus binary next to this test binary, when it is at least as new as
// the library it was linked from; "" otherwise.
std::string prunus_binary() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "";
  const fs::path binary = self.parent_path() / "prunus", library = self.parent_path() / "libprunus.a";
  if (!fs::exists(binary)) return "";
  if (fs::exists(library) && fs::last_write_time(binary) < fs::last_write_time(library)) return "";
  return binary.string();
}

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Outcome run_prunus(const std::string& binary, const std::string& arguments) {
  const fs::path dir = fs::temp_directory_path() / ("prunus_test_cli_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "out").string(), err = (dir / "err").string();
  const int raw = std::system((binary + " " + arguments + " >" + out + " 2>" + err).c_str());
  Outcome o;
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  o.out = read_all(out);
  o.err = read_all(err);
  fs::remove_all(dir);
  return o;
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("args: values, inline values, repeatable options and flags") {
    const auto args = app::parse_command_line(
        sample_spec(), {"--config", "a.conf", "--set", "train.lr=0.1", "--set=train.epochs=3", "--resume"});
    CHECK(args.get("config") == "a.conf");
    CHECK(args.all("set") == std::vector<std::string>{"train.lr=0.1", "train.epochs=3"});
    CHECK(args.has("resume"));
    CHECK_FALSE(args.help);
    CHECK(args.get("missing", "fallback") == "fallback");
    CHECK(app::parse_command_line(sample_spec(), {"--help"}).help);
  }

  TEST_CASE("args: command-line mistakes are usage errors naming the option") {
    const auto spec = sample_spec();
    auto usage_error = [&](std::vector<std::string> words, const std::string& expected) {
      try {
        app::parse_command_line(spec, words);
        FAIL("accepted: ", expected);
      } catch (const app::UsageError& e) {
        CHECK_MESSAGE(std::string(e.what()).find(expected) != std::string::npos, e.what());
      }
    };
    usage_error({"--bogus"}, "unknown option '--bogus' for 'prunus train'");
    usage_error({"--config"}, "--config of 'prunus train' needs a value (FILE)");
    usage_error({"--resume=yes"}, "--resume of 'prunus train' takes no value");
    usage_error({"--config", "a", "--config", "b"}, "given twice");
    usage_error({"extra.conf"}, "unexpected argument 'extra.conf'");
    const auto parsed = app::parse_command_line(spec, {});
    CHECK_THROWS_AS(app::require_option(spec, parsed, "config"), app::UsageError);
  }

  TEST_CASE("args: config keys from --set are checked (plain errors, not usage errors)") {
    const auto spec = sample_spec();
    auto bad_key = app::parse_command_line(spec, {"--set", "train.epoch=3"});
    try {
      app::config_from_args(bad_key);
      FAIL("unknown key accepted");
    } catch (const app::UsageError&) {
      FAIL("a config mistake must not be a usage error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("train.epochs") != std::string::npos);  // the suggestion
    }
    auto bad_value = app::parse_command_line(spec, {"--set", "train.epochs=-1"});
    CHECK_THROWS_AS(app::config_from_args(bad_value), Error);
    auto good = app::parse_command_line(spec, {"--set", "train.epochs=3", "--set", "train.epochs=4"});
    CHECK(app::config_from_args(good).get_int("train.epochs") == 4);
    CHECK_THROWS_AS(app::config_from_args(app::parse_command_line(spec, {"--config", "/nonexistent.conf"})),
                    Error);
  }

  TEST_CASE("args: --help text lists every option") {
    const std::string help = app::command_help(sample_spec());
    CHECK(help.find("usage: prunus train --config FILE") == 0);
    for (const char* option : {"--config FILE", "--set KEY=VALUE", "--resume", "--help"})
      CHECK(help.find(option) != std::string::npos);
  }

  TEST_CASE("binary: exit statuses and one-line errors of the built prunus") {
    const std::string prunus = prunus_binary();
    if (prunus.empty()) {
      MESSAGE("skipped: no up-to-date prunus binary next to the test binary (run `make`, not only `make test`)");
      return;
    }
    Outcome o = run_prunus(prunus, "");
    CHECK(o.status == 2);
    o = run_prunus(prunus, "--help");
    CHECK(o.status == 0);
    CHECK(o.out.find("usage: prunus <command>") == 0);
    o = run_prunus(prunus, "frobnicate");
    CHECK(o.status == 2);
    CHECK(o.err.find("prunus: error: unknown command 'frobnicate'") == 0);
    o = run_prunus(prunus, "train --epochs 3");
    CHECK(o.status == 2);
    CHECK(o.err.find("prunus: error: unknown option '--epochs'") == 0);
    o = run_prunus(prunus, "train");
    CHECK(o.status == 2);
    o = run_prunus(prunus, "train --config /nonexistent/run.conf");
    CHECK(o.status == 1);
    CHECK(o.err.find("prunus: error: ") == 0);
    CHECK(o.err.find("/nonexistent/run.conf") != std::string::npos);
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    o = run_prunus(prunus, "train --set train.epoch=3 --config /dev/null");
    CHECK(o.status == 1);
    CHECK(o.err.find("unknown key") != std::string::npos);
    o = run_prunus(prunus, "eval --checkpoint /nonexistent/final.bin");
    CHECK(o.status == 1);
    o = run_prunus(prunus, "info --model resnet20");
    CHECK(o.status == 0);
    CHECK(o.out.find("40.55 M") != std::string::npos);
    o = run_prunus(prunus, "info --model resnet21");
    CHECK(o.status == 1);
    o = run_prunus(prunus, "info --model resnet20 --checkpoint x.bin");
    CHECK(o.status == 2);
    for (const char* command : {"train", "eval", "info", "prune", "compare", "import", "export", "predict", "demo"}) {
      o = run_prunus(prunus, std::string(command) + " --help");
      CHECK_MESSAGE(o.status == 0, std::string(command));
      CHECK_MESSAGE(o.out.find("usage: prunus " + std::string(command)) == 0, std::string(command));
    }
  }

  TEST_CASE("predict: top-1 of each image equals the model's own forward; a bad file is named, the rest classified") {
    const std::string prunus = prunus_binary();
    if (prunus.empty()) {
      MESSAGE("skipped: no up-to-date prunus binary next to the test binary (run `make`, not only `make test`)");
      return;
    }
    data_test::TempDir dir;
    io::Config config(train::prunus_schema());
    config.set("model.arch", "lenet", "test");
    config.set("data.dataset", "fashion_mnist", "test");
    auto model = models::make_model("lenet", 10, 1, 28, 3);
    io::Checkpoint checkpoint;
    train::put_model(checkpoint, *model, "lenet", {1, 28, 28});
    train::put_run_position(checkpoint, "model", "test", 0);
    checkpoint.put_string("config", config.dump());
    io::write_checkpoint(dir / "model.bin", checkpoint);

    // Two RGB images of other sizes (converted to grey, resized, cropped) and a file that is no image.
    Rng rng(5);
    const std::vector<std::pair<int, int>> sizes = {{40, 31}, {17, 23}};
    std::vector<std::string> images;
    for (size_t i = 0; i < sizes.size(); ++i) {
      images.push_back(dir / ("image" + std::to_string(i) + ".png"));
      data_test::write_png(images.back(), sizes[i].first, sizes[i].second, 3,
                           data_test::random_bytes(size_t(sizes[i].first) * sizes[i].second * 3, rng));
    }
    data_test::write_file(dir / "notes.png", data_test::Bytes{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});

    const Outcome o = run_prunus(prunus, "predict --checkpoint " + (dir / "model.bin") + " --top 3 " + images[0] + " " +
                                             (dir / "notes.png") + " " + images[1]);
    CHECK(o.status == 1);
    CHECK(o.err.find(dir / "notes.png") != std::string::npos);
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    const std::vector<std::string> names = data::known_class_names("fashion_mnist");
    REQUIRE(names.size() == 10);
    model->train(false);
    for (const std::string& image : images) {
      const data::DecodedImage decoded = data::decode_image(image, 1);
      const std::vector<uint8_t> chw = data::resize_and_center_crop(decoded.pixels.data(), decoded.width,
                                                                    decoded.height, 1, 28);
      std::vector<float> x(chw.size());
      data::augment_image(chw.data(), 1, 28, 28, train::normalization_for("fashion_mnist", 1), data::AugmentChoice{},
                          x.data());
      NoGradGuard no_grad;
      const Tensor logits = (*model)(Tensor::from_vector({1, 1, 28, 28}, x));
      const int best = int(std::max_element(logits.f32(), logits.f32() + 10) - logits.f32());
      const std::string expected = image + ":  " + names[best] + " ";
      CHECK_MESSAGE(o.out.find(expected) != std::string::npos, o.out);
    }
    CHECK(std::count(o.out.begin(), o.out.end(), '\n') == 2);
    CHECK(std::count(o.out.begin(), o.out.end(), '%') == 6);  // --top 3
    // Nothing to classify, or no image given: errors, not crashes.
    CHECK(run_prunus(prunus, "predict --checkpoint " + (dir / "model.bin") + " " + (dir / "notes.png")).status == 1);
    CHECK(run_prunus(prunus, "predict --checkpoint " + (dir / "model.bin")).status == 2);
    CHECK(run_prunus(prunus, "predict --checkpoint " + (dir / "missing.bin") + " " + images[0]).status == 1);
  }

  TEST_CASE("demo: the built-in config equals experiments/configs/fashion_lenet_demo.conf") {
    io::Config built_in(train::prunus_schema()), file(train::prunus_schema());
    built_in.load_text(app::demo_config_text(), "built-in");
    const std::string path = "experiments/configs/fashion_lenet_demo.conf";
    if (!fs::exists(path)) {
      MESSAGE("skipped: run the tests from the repository root to compare with ", path);
      return;
    }
    file.load_file(path);
    const auto diff = train::config_differences(file, built_in, {});
    CHECK_MESSAGE(diff.empty(), (diff.empty() ? std::string() : diff[0]));
    CHECK(built_in.get_string("model.arch") == "lenet");
    CHECK(built_in.get_float("prune.flops_target") > 0);
  }

  TEST_CASE("configs: every file in experiments/configs loads against the schema") {
    const std::string dir = "experiments/configs";
    if (!fs::is_directory(dir)) {
      MESSAGE("skipped: run the tests from the repository root");
      return;
    }
    int loaded = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".conf") continue;
      io::Config c(train::prunus_schema());
      CHECK_NOTHROW_MESSAGE(c.load_file(entry.path().string()), entry.path().string());
      ++loaded;
    }
    CHECK(loaded >= 1);
  }

  TEST_CASE("config: differences between a stored and a current config are listed by key") {
    io::Config a(train::prunus_schema()), b(train::prunus_schema());
    b.set("train.lr", "0.05", "test");
    b.set("train.threads", "1", "test");
    const auto diff = train::config_differences(a, b, train::keys_free_on_resume());
    REQUIRE(diff.size() == 1);
    CHECK(diff[0].find("train.lr") == 0);
    CHECK(train::config_differences(a, a, {}).empty());
  }

  TEST_CASE("info: ResNet-20 counts 40.55 M MACs and 0.27 M parameters") {
    auto model = models::make_model("resnet20", 10, 3, 32, 0);
    const auto s = models::summarize(*model, {3, 32, 32});
    CHECK(s.total_macs == 40551040);
    CHECK(s.total_params == 269722);
  }
}
