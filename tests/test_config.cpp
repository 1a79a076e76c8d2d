#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>

#include "error_of.h"
#include "prunus/train/config_schema.h"
#include "prunus/io/number_text.h"
#include "prunus/io/config.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::io;
using prunus::train::prunus_schema;

namespace {

// A fresh directory under /tmp, removed with its (flat) contents at the end.
struct ConfigTempDir {
  std::string path;
  std::vector<std::string> files;
  ConfigTempDir() {
    char name[] = "/tmp/prunus_config_XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~ConfigTempDir() {
    for (const std::string& f : files) std::remove(f.c_str());
    rmdir(path.c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string file = path + "/" + name;
    std::ofstream(file, std::ios::binary) << text;
    files.push_back(file);
    return file;
  }
};

using test_errors::contains;
using test_errors::error_of;

std::string load_error(const std::string& text) {
  Config c(prunus_schema());
  return error_of([&] { c.load_text(text, "exp.ini"); });
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("number text: the exact forms read back as the same value, the shortest is shortest") {
    for (double v : {0.1, 1.0 / 3.0, 5e-3, -2.5e-300, 123456789.125, 0.0}) {
      CHECK(std::strtod(io::round_trip_decimal(v).c_str(), nullptr) == v);
      CHECK(std::strtod(io::shortest_round_trip_decimal(v).c_str(), nullptr) == v);
      const float f = float(v);
      CHECK(float(std::strtod(io::float_round_trip_decimal(f).c_str(), nullptr)) == f);
    }
    CHECK(io::shortest_round_trip_decimal(0.1) == "0.1");
    CHECK(io::round_trip_decimal(0.1) == "0.10000000000000001");
    CHECK(io::readable_decimal(1.0 / 3.0) == "0.3333333333");
  }
  TEST_CASE("config: defaults and typed getters of prunus_schema") {
    Config c(prunus_schema());
    CHECK(c.get_int("train.epochs") == 160);
    CHECK(c.get_float("train.lr") == 0.1);
    CHECK(c.get_float("train.epochs") == 160.0);  // ints read as floats too
    CHECK(c.get_bool("data.augment"));
    CHECK(c.get_string("model.arch") == "resnet20");
    CHECK(c.get_list("prune.granularities") == std::vector<std::string>{"filter", "stripe"});
    CHECK(c.get_float_list("train.milestones") == std::vector<double>{0.5, 0.75});
    CHECK(c.get_list("data.train_files").empty());
    CHECK(c.get_float("prune.bn_gate_init") == 0.5);
    CHECK(c.get_float("prune.topup_step") == 0.02);
    CHECK(c.is_default("train.epochs"));
    CHECK(c.origin("train.epochs") == "default");
    for (const char* key : {"model.num_classes", "data.dataset", "data.path", "data.val_files", "data.test_files",
                            "train.batch_size", "train.momentum", "train.nesterov", "train.weight_decay",
                            "train.schedule", "train.gamma", "train.warmup_epochs", "train.seed",
                            "train.threads", "train.device", "out.dir", "out.checkpoint_every", "prune.method",
                            "prune.flops_target", "prune.lambda0", "prune.adaptive", "prune.sparse_epochs",
                            "prune.finetune_epochs", "prune.sparse_lr", "prune.finetune_lr",
                            "prune.baseline_checkpoint", "prune.baseline_epochs", "prune.exclude_first_conv",
                            "prune.exclude_classifier", "prune.threshold"})
      CHECK_MESSAGE(prunus_schema().find(key) != nullptr, key);
    // Wrong type or unknown key in a getter is refused.
    CHECK(contains(error_of([&] { c.get_int("train.lr"); }), "declared as float"));
    CHECK(contains(error_of([&] { c.get_bool("train.epoch"); }), "did you mean 'train.epochs'"));
  }

  TEST_CASE("config: file with comments, blank lines, quotes, CRLF and inline comments") {
    ConfigTempDir dir;
    const std::string file = dir.write("exp.ini",
                                       "# experiment\n"
                                       "\n"
                                       "[model]\n"
                                       "  arch   =  resnet56   # inline comment\n"
                                       "[train]\r\n"
                                       "epochs = 7\r\n"
                                       "lr = 2.5e-2\n"
                                       "nesterov = YES\n"
                                       "milestones = 0.3,0.6 , 0.9\n"
                                       "[data]\n"
                                       "path = \"my data # 1\"  # a quoted '#' is kept\n"
                                       "train_files = a.bin, b.bin\n"
                                       "[prune] # section comment\n"
                                       "granularities = stripe\n"
                                       "baseline_checkpoint =\n");
    Config c(prunus_schema());
    c.load_file(file);
    CHECK(c.get_string("model.arch") == "resnet56");
    CHECK(c.get_int("train.epochs") == 7);
    CHECK(c.get_float("train.lr") == 0.025);
    CHECK(c.get_bool("train.nesterov"));
    CHECK(c.get_float_list("train.milestones") == std::vector<double>{0.3, 0.6, 0.9});
    CHECK(c.get_string("data.path") == "my data # 1");
    CHECK(c.get_list("data.train_files") == std::vector<std::string>{"a.bin", "b.bin"});
    CHECK(c.get_list("prune.granularities") == std::vector<std::string>{"stripe"});
    CHECK(c.get_string("prune.baseline_checkpoint").empty());
    CHECK(c.origin("train.epochs") == file + ":6");
    CHECK_FALSE(c.is_default("train.epochs"));
    CHECK(c.is_default("train.batch_size"));
  }

  TEST_CASE("config: --set overrides replace file values and are validated") {
    Config c(prunus_schema());
    c.load_text("[train]\nepochs = 7\nlr = 0.1\n", "exp.ini");
    c.apply_override("train.epochs=13");
    c.apply_override(" train.lr = 0.05 ");
    c.apply_override("out.dir=\"runs/with # hash\"");
    c.apply_override("prune.granularities=filter,channel,stripe,weight");
    CHECK(c.get_int("train.epochs") == 13);
    CHECK(c.get_float("train.lr") == 0.05);
    CHECK(c.get_string("out.dir") == "runs/with # hash");
    CHECK(c.get_list("prune.granularities").size() == 4);
    CHECK(c.origin("train.epochs") == "--set train.epochs=13");
    std::string e = error_of([&] { c.apply_override("train.epochs"); });
    CHECK(contains(e, "expected section.key=value"));
    e = error_of([&] { c.apply_override("train.batch_size=-4"); });
    CHECK(contains(e, "--set train.batch_size=-4"));
    CHECK(contains(e, "expected an integer in [1, 65536]"));
    c.apply_override("data.path=runs/a #b");  // the shell split the words: no comment in a --set value
    CHECK(c.get_string("data.path") == "runs/a #b");
    e = error_of([&] { c.apply_override("out.dir=a\nb"); });
    CHECK(contains(e, "newline or another control character"));
    e = error_of([&] { c.apply_override("epochs=3"); });
    CHECK(contains(e, "did you mean 'train.epochs'"));
    CHECK(contains(e, "valid keys: model.arch"));
    CHECK(c.get_int("train.batch_size") == 128);  // a refused value changes nothing
  }

  TEST_CASE("config: unknown keys and sections list the valid ones") {
    std::string e = load_error("[train]\nepoch = 3\n");
    CHECK(contains(e, "exp.ini:2"));
    CHECK(contains(e, "unknown key 'train.epoch'"));
    CHECK(contains(e, "did you mean 'train.epochs'"));
    CHECK(contains(e, "valid keys in [train]: epochs, batch_size, lr"));
    CHECK_FALSE(contains(e, "model.arch"));
    e = load_error("\n[trian]\nepochs = 3\n");
    CHECK(contains(e, "exp.ini:2: unknown section [trian]"));
    CHECK(contains(e, "did you mean 'train'"));
    CHECK(contains(e, "valid keys: model.arch, model.num_classes, model.architecture_from, data.dataset"));
    CHECK(contains(e, "prune.threshold"));
  }

  TEST_CASE("config: bad values name file:line, key, value and expected form") {
    struct Case { const char* text; const char* expected; };
    const Case cases[] = {
        {"[train]\nepochs = abc\n", "exp.ini:2: bad value 'abc' for train.epochs: expected an integer in [1, 100000]"},
        {"[train]\nepochs = 3.5\n", "'3.5' for train.epochs: expected an integer in [1, 100000]"},
        {"[train]\nepochs = 0\n", "'0' for train.epochs: expected an integer in [1, 100000]"},
        {"[train]\nepochs = 99999999999999999999\n", "expected an integer in [1, 100000]"},
        {"[train]\nepochs = 4294967297\n", "'4294967297' for train.epochs: expected an integer in [1, 100000]"},
        {"[train]\nthreads = 100000\n", "'100000' for train.threads: expected an integer in [0, 1024]"},
        {"[train]\nlr = 0x10\n", "'0x10' for train.lr: expected a positive number"},
        {"[train]\nlr = .\n", "expected a positive number"},
        {"[train]\nlr = 1e\n", "expected a positive number"},
        {"[data]\npath = \"a\" b\n", "unexpected text 'b' after the quoted value"},
        {"[train]\nepochs =\n", "'' for train.epochs"},
        {"[train]\nlr = 0.1x\n", "'0.1x' for train.lr: expected a positive number"},
        {"[train]\nlr = nan\n", "expected a positive number"},
        {"[train]\nlr = inf\n", "expected a positive number"},
        {"[train]\nlr = -0.1\n", "expected a positive number"},
        {"[train]\nmomentum = 1\n", "train.momentum: expected a number in [0, 1)"},
        {"[train]\nweight_decay = -1e-4\n", "expected a non-negative number"},
        {"[train]\ngamma = 0\n", "train.gamma: expected a number in (0, 1]"},
        {"[train]\nthreads = -1\n", "expected an integer in [0, 1024]"},
        {"[train]\nnesterov = maybe\n", "'maybe' for train.nesterov: expected true or false"},
        {"[train]\ndevice = gpu\n", "'gpu' for train.device: expected one of: cpu, cuda"},
        {"[model]\narch = resnet99\n", "expected one of: lenet, vgg16, resnet20"},
        {"[prune]\nflops_target = 1\n", "prune.flops_target: expected a number in [0, 1)"},
        {"[prune]\ngranularities = filter,,stripe\n", "(item 2 is empty)"},
        {"[prune]\ngranularities = filter, block\n", "(item 'block' is not valid)"},
        {"[prune]\ngranularities =\n", "(the list is empty)"},
        {"[train]\nmilestones = 0.75, 0.5\n", "strictly increasing"},
        {"[train]\nmilestones = 0.5, 1.5\n", "(item '1.5' is not valid)"},
        {"[data]\npath = \"unterminated\n", "unterminated quote"},
    };
    for (const Case& c : cases) {
      const std::string e = load_error(c.text);
      CHECK_MESSAGE(contains(e, c.expected), "input: ", c.text, "\nmessage: ", e);
    }
  }

  TEST_CASE("config: duplicate keys, malformed lines and missing files are refused") {
    std::string e = load_error("[train]\nepochs = 3\nlr = 0.1\nepochs = 4\n");
    CHECK(contains(e, "exp.ini:4: duplicate key train.epochs (already set at line 2)"));
    e = load_error("[train]\nlr = 0.1\n[train]\nlr = 0.2\n");  // reopening a section does not hide it
    CHECK(contains(e, "duplicate key train.lr"));
    CHECK(contains(load_error("[train]\njust some words\n"), "exp.ini:2: malformed line 'just some words'"));
    CHECK(contains(load_error("[train\nepochs = 3\n"), "exp.ini:1: malformed section header"));
    CHECK(contains(load_error("epochs = 3\n"), "exp.ini:1: key 'epochs' appears before any [section]"));
    CHECK(contains(load_error("[train]\nbatch size = 3\n"), "exp.ini:2: malformed key 'batch size'"));
    CHECK(contains(load_error("[train]\n= 3\n"), "malformed key ''"));
    Config c(prunus_schema());
    e = error_of([&] { c.load_file("/nonexistent/prunus/exp.ini"); });
    CHECK(contains(e, "cannot open '/nonexistent/prunus/exp.ini'"));
    CHECK(contains(e, "No such file"));
    ConfigTempDir dir;
    CHECK(contains(error_of([&] { c.load_file(dir.path); }), "is a directory"));
    // The same key in two files is not a duplicate: the later file wins.
    c.load_text("[train]\nepochs = 3\n", "a.ini");
    c.load_text("[train]\nepochs = 5\n", "b.ini");
    CHECK(c.get_int("train.epochs") == 5);
    CHECK(c.origin("train.epochs") == "b.ini:2");
  }

  TEST_CASE("config: dump marks defaults and loads back to the same values") {
    Config c(prunus_schema());
    c.load_text("[train]\nepochs = 7\nmilestones = 0.25,0.5\n[data]\npath = \"a # b\"\n", "exp.ini");
    c.apply_override("model.arch=vgg16");
    const std::string text = c.dump();
    CHECK(contains(text, "[train]\n"));
    CHECK(contains(text, "# from exp.ini:2"));
    CHECK(contains(text, "# from --set model.arch=vgg16"));
    std::istringstream lines(text);
    std::string line;
    int defaults = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("batch_size", 0) == 0) CHECK(contains(line, "# default"));
      if (line.rfind("epochs", 0) == 0) CHECK_FALSE(contains(line, "# default"));
      if (!line.empty() && line[0] != '#') defaults += contains(line, "# default");
    }
    CHECK(defaults == static_cast<int>(prunus_schema().keys().size()) - 4);
    Config reloaded(prunus_schema());
    reloaded.load_text(text, "dump.ini");
    for (const KeySpec& k : prunus_schema().keys())
      CHECK_MESSAGE(reloaded.value_text(k.full_name()) == c.value_text(k.full_name()), k.full_name());
    CHECK(reloaded.get_string("data.path") == "a # b");
  }

  // A random text of the characters that quoting must handle, or a random
  // valid value for the key (a number in its range, one of its choices).
  std::string random_value(Rng& rng, const KeySpec& k) {
    const bool numeric = k.type == ValueType::Int || k.type == ValueType::Float || k.type == ValueType::IntList ||
                         k.type == ValueType::FloatList;
    const bool integer = k.type == ValueType::Int || k.type == ValueType::IntList;
    const bool list = k.type == ValueType::IntList || k.type == ValueType::FloatList || k.type == ValueType::StringList;
    auto item = [&](double lo, double hi) -> std::string {
      if (numeric) {
        char text[40];
        const double v = rng.uniform(lo, hi);
        std::snprintf(text, sizeof text, integer ? "%.0f" : "%.17g", integer ? std::floor(v) : v);
        return text;
      }
      if (k.type == ValueType::Bool) return rng.below(2) ? "yes" : "Off";
      if (const auto choices = k.allowed_choices(); !choices.empty()) return choices[rng.below(choices.size())];
      static const char alphabet[] = "ab #\"\\\t=x[]{};'";
      std::string text;
      for (uint64_t n = rng.below(12); n > 0; --n) text += alphabet[rng.below(sizeof alphabet - 1)];
      return text;
    };
    const double lo = k.range.min.value_or(-1e6), hi = std::min(k.range.max.value_or(1e6), lo + 1e6);
    if (!list) return item(lo, hi);
    std::string text;
    const uint64_t n = 1 + rng.below(3);
    for (uint64_t i = 0; i < n; ++i)  // increasing, for the keys that need it
      text += (i ? ", " : "") + item(lo + (hi - lo) * i / n, lo + (hi - lo) * (i + 1) / n);
    return text;
  }

  TEST_CASE("config: property: loading a dump gives back every value, over random configs") {
    Rng rng(77);
    int set_values = 0;
    for (int round = 0; round < 200; ++round) {
      Config c(prunus_schema());
      for (const KeySpec& k : prunus_schema().keys()) {
        if (rng.below(2)) continue;
        try {
          c.set(k.full_name(), random_value(rng, k), "--set " + k.full_name() + "=\"#\n");
          ++set_values;
        } catch (const Error&) {  // a value the key refuses (an exclusive bound, an empty item): skip it
        }
      }
      Config reloaded(prunus_schema());
      const std::string text = c.dump();
      reloaded.load_text(text, "dump.ini");
      for (const KeySpec& k : prunus_schema().keys())
        CHECK_MESSAGE(reloaded.value_text(k.full_name()) == c.value_text(k.full_name()), k.full_name(), "\n",
                      text);
    }
    CHECK(set_values > 200 * static_cast<int>(prunus_schema().keys().size()) / 3);
  }

  TEST_CASE("config: random numbers survive set and get exactly") {
    Rng rng(1234);
    Config c(prunus_schema());
    for (int i = 0; i < 57; ++i) {
      const double lr = std::exp(rng.uniform(-20.0, 5.0));
      char text[40];
      std::snprintf(text, sizeof text, "%.17g", lr);
      c.set("train.lr", text, "test");
      CHECK(c.get_float("train.lr") == lr);
      const int64_t seed = static_cast<int64_t>(rng.next_u64() % 2147483648u);
      c.set("train.seed", std::to_string(seed), "test");
      CHECK(c.get_int("train.seed") == seed);
      CHECK(c.value_text("train.seed") == std::to_string(seed));
    }
  }

  TEST_CASE("config: custom schema with int lists, ranges and bad declarations") {
    Schema s;
    s.add_int_list("net.widths", "16, 32, 64", "channel widths", Range::between(1, 4096), true, false)
        .add_int("net.depth", 5, "depth", Range::between(1, 9))
        .add_float("net.ratio", 0.5, "ratio", Range::above_to(0, 1))
        .add_string("net.name", "x", "free text");
    Config c(s);
    CHECK(c.get_int_list("net.widths") == std::vector<int64_t>{16, 32, 64});
    CHECK(c.get_float_list("net.widths") == std::vector<double>{16, 32, 64});
    c.set("net.widths", "+3,5 ,7", "t");
    CHECK(c.value_text("net.widths") == "3, 5, 7");
    CHECK(contains(error_of([&] { c.set("net.depth", "10", "t"); }), "expected an integer in [1, 9]"));
    CHECK(contains(error_of([&] { c.set("net.widths", "3, 3", "t"); }), "strictly increasing"));
    CHECK(contains(error_of([&] { c.set("net.widths", "3, 0", "t"); }), "(item '0' is not valid)"));
    CHECK(contains(error_of([&] { c.set("net.widths", "", "t"); }), "at least one item"));
    CHECK(s.find("net.ratio")->expected_form() == "a number in (0, 1]");
    CHECK(contains(error_of([&] { Schema().add_int("a.b", 0, "d", Range::positive()); }), "default '0'"));
    CHECK(contains(error_of([&] { Schema().add_bool("a.b", true, "").add_bool("a.b", false, ""); }),
                   "declared twice"));
    CHECK(contains(error_of([&] { Schema().add_int("nodot", 1, ""); }), "section.key"));
    CHECK(contains(s.describe_markdown(), "| `net.depth` | int | `5` | an integer in [1, 9] | depth |"));
  }

  TEST_CASE("config: experiments/configs/README.md documents every key as the schema states it") {
    std::ifstream in("experiments/configs/README.md");
    if (!in) {
      MESSAGE("experiments/configs/README.md not found from this directory: run from the repository root");
      return;
    }
    std::stringstream text;
    text << in.rdbuf();
    // Each key's row is the one the schema writes: type, default, allowed values and description.
    std::istringstream rows(prunus_schema().describe_markdown());
    for (std::string row; std::getline(rows, row);)
      if (row.rfind("| `", 0) == 0) CHECK_MESSAGE(contains(text.str(), row + "\n"), "stale or missing row: ", row);
  }
}
