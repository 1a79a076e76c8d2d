// prunus demo [--train-images N] [--set KEY=VALUE]... [--resume]
// The whole pipeline on Fashion-MNIST with the small CNN, in a few minutes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "commands.h"
#include "prunus/train/config_schema.h"
#include "prunus/data/dataset.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/app/demo_config.h"
#include "prunus/app/prune_pipeline.h"
#include "prunus/app/prune_settings.h"
#include "prunus/train/run_setup.h"
#include "prunus/app/training_run.h"

namespace fs = std::filesystem;

namespace prunus {
namespace cli {


constexpr int64_t kDefaultTrainImages = 20000;
// Held out from the end of the training set: the demo's validation split.
// Fashion-MNIST has none, and tuning or reporting on the test set would not be honest.
constexpr int64_t kValidationImages = 5000;

static const app::CommandSpec& demo_spec() {
  static const app::CommandSpec spec{
      "demo",
      "The whole pruning pipeline in a few minutes: the small CNN (lenet) on Fashion-MNIST, baseline 2 epochs,\n"
      "sparse training 2 epochs with the adaptive L1, pruning to a 50% FLOPs reduction (filters + stripes),\n"
      "fine-tuning 1 epoch, compaction, timing and a report in runs/demo; then the dense model trained for\n"
      "the same 5 epochs (runs/demo/dense), the reference the pruned model is judged against. Validation\n"
      "(the last 5,000 training images, held out) and test accuracy are printed after each stage. Starts\n"
      "afresh each time unless --resume is given.",
      "prunus demo [--train-images N] [--set KEY=VALUE]... [--resume]",
      {{"train-images", "N", "train on the first N of the 60,000 training images (default 20000; 0 = all)"},
       {"set", "KEY=VALUE", "override a key of the demo config, e.g. --set prune.flops_target=0.7", true},
       {"resume", "", "continue an interrupted demo in out.dir instead of starting afresh"}},
      "The config is experiments/configs/fashion_lenet_demo.conf. Fashion-MNIST is read from\n"
      "data/fashion-mnist or /usr/share/datasets/fashion-mnist; `make deps` installs Debian's\n"
      "dataset-fashion-mnist package there. Fashion-MNIST has no validation split: the demo holds out the\n"
      "last 5,000 of the 60,000 training images; the 10,000 test images are only reported.\n"};
  return spec;
}

int cmd_demo(const Args& words) {
  const auto& spec = demo_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  const int64_t train_images = app::int_option(spec, args, "train-images", kDefaultTrainImages, 0, 1000000000);
  io::Config config(train::prunus_schema());
  config.load_text(app::demo_config_text(), "demo config");
  const std::string found = data::find_fashion_mnist_dir();
  PRUNUS_CHECK(!found.empty(),
               "the demo needs Fashion-MNIST, found neither in data/fashion-mnist nor in "
               "/usr/share/datasets/fashion-mnist; `make deps` installs it (Debian package dataset-fashion-mnist)");
  config.set("data.path", found, "demo");
  for (const auto& assignment : args.all("set")) config.apply_override(assignment);

  const train::RunSettings settings = train::RunSettings::from_config(config);
  const app::PruneSettings prune = app::PruneSettings::from_config(config);
  const std::string& out_dir = settings.out.dir;
  if (!args.has("resume") && fs::is_directory(out_dir)) {
    // Only what the pipeline itself wrote: a fresh demo must not resume old stages.
    for (const auto& entry : fs::directory_iterator(out_dir)) {
      const std::string name = entry.path().filename().string();
      if (name == "checkpoint.bin" || (name.rfind("stage_", 0) == 0 && entry.path().extension() == ".bin"))
        fs::remove(entry.path());
    }
  }
  app::DataSplits data = app::load_data_splits(settings);
  const int64_t available = data.train.size();
  PRUNUS_CHECK(available > 2 * kValidationImages, "demo: ", data.train_source, " has ", available,
               " training images; the demo holds out ", kValidationImages, " for validation and needs more");
  data.val = data::subset(data.train, available - kValidationImages, available);
  data.val_source = "the last " + std::to_string(kValidationImages) + " training images (held out)";
  data.val_is_test = false;
  data.notes.erase(std::remove_if(data.notes.begin(), data.notes.end(),
                                  [](const std::string& n) { return n.find("validation split") != std::string::npos; }),
                   data.notes.end());
  const int64_t usable = available - kValidationImages;
  data.train = data::subset(data.train, 0, train_images > 0 && train_images < usable ? train_images : usable);
  std::printf("demo: training on %lld of the %lld training images%s; validating on the last %lld, held out\n",
              static_cast<long long>(data.train.size()), static_cast<long long>(available),
              data.train.size() < usable ? " (--train-images 0 uses all the others)" : "",
              static_cast<long long>(kValidationImages));
  app::ProgressReporter progress;
  app::PipelineOptions options;
  options.progress = &progress;
  const app::PipelineResult result = app::run_prune_pipeline(config, data, options);
  if (!result.finished) return 0;

  // The fair reference: the dense model trained for the pipeline's total epochs.
  const int64_t epochs = prune.baseline_epochs + prune.sparse_epochs + prune.finetune_epochs;
  io::Config dense_config = config;
  dense_config.set("train.epochs", std::to_string(epochs), "demo");
  dense_config.set("out.dir", (fs::path(out_dir) / "dense").string(), "demo");
  std::printf("\ndemo: the dense reference, %lld epochs like the whole pipeline\n", static_cast<long long>(epochs));
  app::TrainRunOptions dense_options;
  dense_options.resume = args.has("resume");
  dense_options.overwrite = !dense_options.resume;  // the demo starts over unless told to resume
  dense_options.progress = &progress;
  const app::TrainRunResult dense = app::run_training(dense_config, data, dense_options);
  if (!dense.finished) return 0;

  std::printf("\ndemo: done. Accuracy by stage (val: %s; test: %s, reported only):\n", data.val_source.c_str(),
              data.test_source.c_str());
  std::printf("  %-12s %8s %8s %12s\n", "stage", "val", "test", "MACs");
  for (const auto& s : result.stages)
    std::printf("  %-12s %7.2f%% %7.2f%% %10.2f M\n", s.stage.c_str(), 100 * s.val.accuracy, 100 * s.test.accuracy,
                s.macs / 1e6);
  const app::StageResult& pruned = result.stages.back();
  std::printf("  %-12s %7.2f%% %7.2f%%   (dense, %lld epochs)\n", "dense", 100 * dense.val.accuracy,
              100 * dense.test.accuracy, static_cast<long long>(epochs));
  std::printf("Pruned vs dense at equal epochs: val %+.2f points, test %+.2f points; FLOPs -%.1f%%, params -%.1f%%;\n"
              "the compact model runs %.2fx the dense model's CPU inference speed. Report: %s/report.md\n",
              100 * (pruned.val.accuracy - dense.val.accuracy), 100 * (pruned.test.accuracy - dense.test.accuracy),
              100 * result.flops_reduction, 100 * result.params_reduction,
              result.compact_images_per_second / result.dense_images_per_second, out_dir.c_str());
  return 0;
}

}  // namespace cli
}  // namespace prunus
