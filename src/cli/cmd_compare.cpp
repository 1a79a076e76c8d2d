// prunus compare --config FILE [--set KEY=VALUE]...
#include <cstdio>

#include "commands.h"
#include "prunus/dist/process_group.h"
#include "prunus/app/cli_args.h"
#include "prunus/app/comparison.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/run_setup.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& compare_spec() {
  static const app::CommandSpec spec{
      "compare",
      "Runs a fair comparison of pruning methods (app/comparison.h): one shared baseline (trained into\n"
      "out.dir/baseline, or prune.baseline_checkpoint), then for every seed of compare.seeds every method of\n"
      "compare.methods pruned to every target of compare.flops_targets with the same total epochs, the dense\n"
      "model trained for those epochs (compare.dense) and each target's `full` architecture trained from\n"
      "scratch (compare.scratch). Each row is a `prunus prune` or `prunus train` run in its own folder; the\n"
      "table is out.dir/comparison.md, .json and .svg. Running the command again skips finished rows and\n"
      "resumes the rest; two processes (e.g. with --set train.threads=1 each) share the rows between them.",
      "prunus compare --config FILE [--set KEY=VALUE]... [--rows DIR,...] [--table]",
      {{"config", "FILE", "a prune config with a [compare] section (experiments/configs/README.md)"},
       {"set", "KEY=VALUE", "override one key, e.g. --set compare.seeds=1,2 (repeatable)", true},
       {"rows", "DIR,...", "run only these rows (e.g. flops70/full = both seeds of it; the baseline first when needed)"},
       {"table", "", "only rewrite the table from the finished rows"}},
      "Rows: baseline; flopsNN/<method>/seedS; dense/seedS; flopsNN/scratch/seedS. Each finished row leaves\n"
      "row.txt (its numbers and exact command) and keeps compact.bin (pruned) or final.bin (trained).\n"};
  return spec;
}

int cmd_compare(const Args& words) {
  const auto& spec = compare_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "config");
  // Its rows are locked per process: several ranks would each take other rows.
  PRUNUS_CHECK(dist::size() == 1, "compare runs as one process (it was started as ", dist::size(),
               " by mpirun); run a row's own `prunus prune` or `prunus train` command (its COMMAND file) under "
               "mpirun instead");
  io::Config config = app::config_from_args(args);
  const app::RunSettings settings = app::RunSettings::from_config(config);
  app::check_device(settings.train);
  if (args.has("table")) {
    app::write_comparison_table(config, app::comparison_rows(config));
    return 0;
  }
  const app::DataSplits data = app::load_data_splits(settings);
  app::ProgressReporter progress;
  app::ComparisonOptions options;
  options.progress = &progress;
  if (args.has("rows")) options.only_rows = io::split_list(args.get("rows"));
  options.invocation = "--config " + args.get("config");
  for (const auto& assignment : args.all("set")) options.invocation += " --set " + assignment;
  app::run_comparison(config, data, options);
  return 0;
}

}  // namespace cli
}  // namespace prunus
