// `prunus compare`: every pruning method of compare.methods at every FLOPs
// target of compare.flops_targets, all from one shared baseline checkpoint
// and with the same total epochs, next to the two controls that say whether
// pruning helped at all:
//   dense    the unpruned network trained for the pipeline's total epochs
//            (baseline + sparse + fine-tune), from scratch;
//   scratch  each target's `full` compact architecture, re-initialized and
//            trained for the same total epochs (Liu et al., ICLR 2019).
// Each row is an ordinary `prunus prune` or `prunus train` run in its own
// folder under out.dir, with its command line recorded; a finished row
// leaves row.txt, which is what the table reads. Re-running the command skips
// finished rows and resumes the others where they stopped; several compare
// processes may run at once (each row is locked while one of them runs it).
// The table: out.dir/comparison.md, .json and .svg (accuracy vs FLOPs kept).
#pragma once
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "prunus/io/config.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/progress.h"

namespace prunus {
namespace app {

using namespace train;  // the app layer builds on the training library

// The [compare] section, read from the config once.
struct CompareSettings {
  std::vector<std::string> methods;  // registered method names
  std::vector<double> flops_targets;
  std::vector<int64_t> seeds;
  std::vector<std::string> every_seed;  // rows repeated for every seed; empty = all
  double plain_lambda0 = 0;             // > 0: lambda0 of the methods with a constant L1 strength
  bool dense = true, scratch = true;

  static CompareSettings from_config(const io::Config& config);
};

struct ComparisonRow {
  std::string kind;    // "baseline", "prune", "dense" or "scratch"
  std::string method;  // prune.method for "prune" rows, else the kind
  double target = 0;   // FLOPs target (0 for baseline and dense)
  int64_t seed = 0;
  std::string dir;     // under out.dir
  std::vector<std::pair<std::string, std::string>> overrides;  // applied to the comparison's config
  std::string requires_dir;  // a row that must be finished first ("" = only the baseline)
};

// In running order: the baseline, then per seed: the first method at the
// first target, the dense control, the other methods and the scratch row of
// each target.
std::vector<ComparisonRow> comparison_rows(const io::Config& config);

struct ComparisonOptions {
  std::string invocation;                // "prunus prune --config F" prefix for the rows' commands
  ProgressReporter* progress = nullptr;  // may be null
  std::FILE* log = stdout;               // one line per row; each row's own log goes to its log.txt
  double timing_seconds = 1.0;           // for the compact stage's inference timing
  // Only these rows (a folder or a folder above it: "flops70/full" is both of its seeds), plus the
  // baseline when a chosen row prunes from it. Empty: every row.
  std::vector<std::string> only_rows;
};

// Whether `dir` (a row's folder) is `selector` or lies under it.
bool row_selected(const std::string& dir, const std::vector<std::string>& selectors);

struct ComparisonResult {
  int rows = 0, finished = 0, skipped_locked = 0, waiting = 0;
};

ComparisonResult run_comparison(const io::Config& config, const DataSplits& data, const ComparisonOptions& options);

// Writes comparison.md/.json/.svg from the row.txt files found (unfinished
// rows are listed as pending). Called by run_comparison at its end.
void write_comparison_table(const io::Config& config, const std::vector<ComparisonRow>& rows);

// row.txt: `key = value` lines, read back exactly.
std::map<std::string, std::string> read_row_record(const std::string& path);

}  // namespace app
}  // namespace prunus
