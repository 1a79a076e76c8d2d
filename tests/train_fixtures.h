// Fixtures of the training tests (test_train.cpp, test_train_interruption.cpp):
// small synthetic datasets, temporary run directories and configs of runs
// that take a second or two.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "prunus/train/config_schema.h"
#include "prunus/io/config.h"
#include "prunus/rng.h"
#include "prunus/train/data_setup.h"

namespace train_fixtures {

using namespace prunus;
namespace fs = std::filesystem;

// Class k lights up a band of rows k; noise elsewhere. 1 x size x size images.
inline data::Dataset synthetic_dataset(int64_t n, int classes, int size, uint64_t seed) {
  data::Dataset d;
  d.name = "synthetic";
  d.channels = 1;
  d.height = d.width = size;
  d.num_classes = classes;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.below(classes));
    d.labels.push_back(label);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const bool band = y * classes / size == label;
        d.pixels.push_back(static_cast<uint8_t>((band ? 150 : 0) + rng.below(100)));
      }
  }
  return d;
}

inline train::DataSplits synthetic_splits(int size = 8) {
  train::DataSplits s;
  s.train = synthetic_dataset(45, 3, size, 1);
  s.val = synthetic_dataset(21, 3, size, 2);
  s.test = synthetic_dataset(15, 3, size, 3);
  s.num_classes = 3;
  s.normalization = train::normalization_for("synthetic", 1);
  s.train_augmentation = s.normalization;
  s.train_augmentation.random_crop = true;
  s.train_augmentation.pad = 1;
  s.train_augmentation.horizontal_flip = true;
  return s;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("prunus_test_train_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::vector<char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline io::Config tiny_run_config(const std::string& out_dir, int epochs) {
  io::Config c(train::prunus_schema());
  c.set("model.arch", "lenet", "test");
  c.set("train.epochs", std::to_string(epochs), "test");
  c.set("train.batch_size", "16", "test");
  c.set("train.lr", "0.05", "test");
  c.set("train.schedule", "multistep", "test");
  c.set("train.milestones", "0.5", "test");
  c.set("train.weight_decay", "5e-4", "test");
  c.set("train.threads", "2", "test");
  c.set("train.seed", "7", "test");
  c.set("out.dir", out_dir, "test");
  return c;
}

// Baseline 1 epoch, sparse 2, prune to -40% FLOPs, fine-tune 1: a few seconds.
inline io::Config tiny_prune_config(const std::string& out_dir) {
  io::Config c = tiny_run_config(out_dir, 1);
  c.set("prune.flops_target", "0.4", "test");
  c.set("prune.sparse_epochs", "2", "test");
  c.set("prune.finetune_epochs", "1", "test");
  c.set("prune.lambda0", "0.5", "test");
  c.set("prune.sparse_lr", "0.02", "test");
  c.set("prune.finetune_lr", "0.01", "test");
  return c;
}

}  // namespace train_fixtures
