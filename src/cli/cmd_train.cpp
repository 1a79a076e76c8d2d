// prunus train --config FILE [--set KEY=VALUE]... [--resume | --overwrite] [--device cpu]
#include <cstdio>

#include "commands.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/run_setup.h"
#include "prunus/app/training_run.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& train_spec() {
  static const app::CommandSpec spec{
      "train",
      "Trains model.arch on data.dataset with SGD as the config says, writing into out.dir: config.conf (the\n"
      "effective config), log.csv (one line per epoch), checkpoint.bin (run state after every\n"
      "out.checkpoint_every epochs), final.bin (the trained model) and summary.json. Ctrl-C or SIGTERM\n"
      "finishes the step, saves checkpoint.bin mid-epoch and exits 130/143 (again: quit at once); a NaN or\n"
      "exploding loss stops with the model as it stood in diverged.bin.",
      "prunus train --config FILE [--set KEY=VALUE]... [--resume | --overwrite] [--device cpu]",
      {{"config", "FILE", "config file (keys: experiments/configs/README.md)"},
       {"set", "KEY=VALUE", "override one key, e.g. --set train.epochs=5 (repeatable)", true},
       {"resume", "", "continue from out.dir/checkpoint.bin (bit-identical result, same threads)"},
       {"overwrite", "", "train from the start even if out.dir already holds a run (without it, that is an error)"},
       {"device", "DEVICE", "cpu (the trainer's only device for now); same as --set train.device=..."}},
      "datasets (data.dataset, files in data.path):\n"
      "  cifar10        train data_batch_1..4, val data_batch_5, test test_batch_first1000.bin or test_batch.bin\n"
      "  mnist,         train-*-idx*-ubyte[.gz] for training; t10k-* as test, and also as val since there is\n"
      "  fashion_mnist  no separate validation split (said in the output)\n"
      "  image_folder   data.path/train, val, test with one subfolder per class\n"
      "data.train_files / val_files / test_files override the defaults. Progress goes to stderr (a bar on a\n"
      "terminal, a line every 15 s otherwise); per-epoch summaries go to stdout.\n"};
  return spec;
}

int cmd_train(const Args& words) {
  const auto& spec = train_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "config");
  io::Config config = app::config_from_args(args);
  if (args.has("device")) config.set("train.device", args.get("device"), "--device");
  const app::RunSettings settings = app::RunSettings::from_config(config);
  app::check_device(settings.train);
  const app::DataSplits data = app::load_data_splits(settings);
  app::ProgressReporter progress;
  app::TrainRunOptions options;
  options.resume = args.has("resume");
  options.overwrite = args.has("overwrite");
  if (options.resume && options.overwrite) throw app::UsageError("'prunus train': --resume and --overwrite exclude each other");
  options.progress = &progress;
  app::run_training(config, data, options);
  return 0;
}

}  // namespace cli
}  // namespace prunus
