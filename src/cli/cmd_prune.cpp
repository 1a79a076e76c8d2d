// prunus prune --config FILE [--set KEY=VALUE]... [--analyze]
#include <cstdio>

#include "commands.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/app/prune_pipeline.h"
#include "prunus/train/run_setup.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& prune_spec() {
  static const app::CommandSpec spec{
      "prune",
      "Runs the pruning pipeline of PRUNING.md as the config's [prune] section says: analyze (print the\n"
      "dimension-matching convs D) -> baseline (train, or load prune.baseline_checkpoint) -> sparse training\n"
      "with the L1 on the gates -> coarse prune + top-up to prune.flops_target -> fine prune -> fine-tune\n"
      "with masks fixed -> compact -> check and time -> report. Each stage ends with out.dir/stage_<name>.bin;\n"
      "running the same command again resumes at the first unfinished stage (and epoch).",
      "prunus prune --config FILE [--set KEY=VALUE]... [--analyze]",
      {{"config", "FILE", "config file (keys: experiments/configs/README.md)"},
       {"set", "KEY=VALUE", "override one key, e.g. --set prune.flops_target=0.6 (repeatable)", true},
       {"analyze", "", "only trace the model and print the dimension-matching convs, then stop"},
       {"device", "DEVICE", "cpu (the trainer's only device for now)"}},
      "prune.method: full (filter + stripe gates, adaptive L1), full_plain_l1 (constant L1), slimming\n"
      "(BN-gamma filter gates), swp (stripe gates, threshold 0.01), l1norm (one-shot filter L1 norm, no sparse\n"
      "training). Outputs in out.dir: analysis.txt, log.csv, stage_*.bin, compact.bin (evaluate it with\n"
      "`prunus eval --checkpoint`), report.md/.json/.svg, summary.json.\n"};
  return spec;
}

int cmd_prune(const Args& words) {
  const auto& spec = prune_spec();
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
  app::PipelineOptions options;
  options.analyze_only = args.has("analyze");
  // --analyze needs only the image shape: the (small) test split gives it.
  const app::DataSplits data = app::load_data_splits(
      settings, {/*train=*/!options.analyze_only, /*val=*/!options.analyze_only, /*test=*/true});
  app::ProgressReporter progress;
  options.progress = &progress;
  app::run_prune_pipeline(config, data, options);
  return 0;
}

}  // namespace cli
}  // namespace prunus
