// prunus demo [--train-images N] [--set KEY=VALUE]... [--resume]
// The whole pipeline on Fashion-MNIST with the small CNN, in a few minutes.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "commands.h"
#include "prunus/data/dataset.h"
#include "prunus/train/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/demo_config.h"
#include "prunus/train/prune_pipeline.h"
#include "prunus/train/run_setup.h"

namespace fs = std::filesystem;

namespace prunus {
namespace cli {


constexpr int64_t kDefaultTrainImages = 20000;

static const train::CommandSpec& demo_spec() {
  static const train::CommandSpec spec{
      "demo",
      "The whole pruning pipeline in a few minutes: the small CNN (lenet) on Fashion-MNIST, baseline 2 epochs,\n"
      "sparse training 2 epochs with the adaptive L1, pruning to a 50% FLOPs reduction (filters + stripes),\n"
      "fine-tuning 1 epoch, compaction, timing and a report in runs/demo. Test accuracy is printed after\n"
      "each stage. Starts afresh each time unless --resume is given.",
      "prunus demo [--train-images N] [--set KEY=VALUE]... [--resume]",
      {{"train-images", "N", "train on the first N of the 60,000 training images (default 20000; 0 = all)"},
       {"set", "KEY=VALUE", "override a key of the demo config, e.g. --set prune.flops_target=0.7", true},
       {"resume", "", "continue an interrupted demo in out.dir instead of starting afresh"}},
      "The config is experiments/configs/fashion_lenet_demo.conf. Fashion-MNIST is read from\n"
      "data/fashion-mnist or /usr/share/datasets/fashion-mnist; `make deps` installs Debian's\n"
      "dataset-fashion-mnist package there. Fashion-MNIST has no validation split: the 10,000 test images\n"
      "are the val and test set.\n"};
  return spec;
}

int cmd_demo(const Args& words) {
  const auto& spec = demo_spec();
  const train::ParsedArgs args = train::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(train::command_help(spec).c_str(), stdout);
    return 0;
  }
  int64_t train_images = kDefaultTrainImages;
  if (args.has("train-images")) {
    const std::string text = args.get("train-images");
    char* end = nullptr;
    train_images = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || train_images < 0)
      throw train::UsageError("demo: --train-images '" + text + "' is not a non-negative integer");
  }
  io::Config config(io::prunus_schema());
  config.load_text(train::demo_config_text(), "demo config");
  const std::string found = data::find_fashion_mnist_dir();
  PRUNUS_CHECK(!found.empty(),
               "the demo needs Fashion-MNIST, found neither in data/fashion-mnist nor in "
               "/usr/share/datasets/fashion-mnist; `make deps` installs it (Debian package dataset-fashion-mnist)");
  config.set("data.path", found, "demo");
  for (const auto& assignment : args.all("set")) config.apply_override(assignment);

  const std::string out_dir = config.get_string("out.dir");
  if (!args.has("resume") && fs::is_directory(out_dir)) {
    // Only what the pipeline itself wrote: a fresh demo must not resume old stages.
    for (const auto& entry : fs::directory_iterator(out_dir)) {
      const std::string name = entry.path().filename().string();
      if (name == "checkpoint.bin" || (name.rfind("stage_", 0) == 0 && entry.path().extension() == ".bin"))
        fs::remove(entry.path());
    }
  }
  train::DataSplits data = train::load_data_splits(config);
  const int64_t available = data.train.size();
  if (train_images > 0 && train_images < available) {
    data.train = data::subset(data.train, 0, train_images);
    std::printf("demo: training on the first %lld of the %lld training images, to keep the demo to about\n"
                "      5 minutes on 2 cores (--train-images 0 uses all of them)\n",
                static_cast<long long>(train_images), static_cast<long long>(available));
  }
  train::ProgressReporter progress;
  train::PipelineOptions options;
  options.progress = &progress;
  const train::PipelineResult result = train::run_prune_pipeline(config, data, options);
  if (result.finished) {
    std::printf("\ndemo: done. %s accuracy by stage (%s, %lld images):\n",
                data.val_is_test ? "Test" : "Validation", data.val_source.c_str(),
                static_cast<long long>(data.val.size()));
    for (const auto& s : result.stages)
      std::printf("  %-9s %6.2f%%  %6.2f M MACs\n", s.stage.c_str(), 100 * s.val.accuracy, s.macs / 1e6);
    std::printf("FLOPs -%.1f%%, compact model %.2fx the dense model's CPU inference speed. Report: %s/report.md\n",
                100 * result.flops_reduction, result.compact_images_per_second / result.dense_images_per_second,
                out_dir.c_str());
  }
  return 0;
}

}  // namespace cli
}  // namespace prunus
