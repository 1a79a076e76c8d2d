#include "prunus/app/comparison.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "prunus/io/checkpoint.h"
#include "prunus/io/config.h"
#include "prunus/prune/method.h"
#include "prunus/app/pipeline_records.h"
#include "prunus/app/prune_settings.h"
#include "prunus/app/prune_pipeline.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/training_phase.h"
#include "prunus/app/training_run.h"

namespace fs = std::filesystem;

namespace prunus {
namespace app {
namespace {

std::string target_tag(double target) { return "flops" + std::to_string(int(std::lround(target * 100))); }

// The comparison's config and what the rows are made from, read from it once.
struct Comparison {
  const io::Config& config;  // each row's config is this one with the row's overrides
  RunSettings run;
  PruneSettings prune;
  CompareSettings compare;

  explicit Comparison(const io::Config& c)
      : config(c),
        run(RunSettings::from_config(c)),
        prune(PruneSettings::from_config(c)),
        compare(CompareSettings::from_config(c)) {}

  int total_epochs() const { return prune.baseline_epochs + prune.sparse_epochs + prune.finetune_epochs; }
  std::string path(const std::string& dir, const std::string& file = "") const {
    const fs::path p = fs::path(run.out.dir) / dir;
    return (file.empty() ? p : p / file).string();
  }
  std::string row_path(const ComparisonRow& row, const std::string& file = "") const { return path(row.dir, file); }
};

io::Config row_config(const Comparison& base, const ComparisonRow& row) {
  io::Config c = base.config;
  for (const auto& [key, value] : row.overrides) c.set(key, value, "compare");
  c.set("out.dir", base.row_path(row), "compare");
  return c;
}

std::string row_command(const Comparison& base, const ComparisonRow& row, const std::string& invocation) {
  std::string command = std::string("prunus ") + (row.kind == "prune" ? "prune" : "train") + " " + invocation;
  for (const auto& [key, value] : row.overrides) command += " --set " + key + "=" + value;
  command += " --set out.dir=" + base.row_path(row);
  if (row.kind != "prune") command += " --resume";
  return command;
}

// An exclusive lock on a row's folder, released when the process ends however it ends.
class RowLock {
 public:
  RowLock(const std::string& dir, bool wait) {
    fs::create_directories(dir);
    const std::string path = (fs::path(dir) / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    PRUNUS_CHECK(fd_ >= 0, "compare: cannot open the lock file ", path);
    held_ = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0;
  }
  ~RowLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  RowLock(const RowLock&) = delete;
  RowLock& operator=(const RowLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

class RowRecord {
 public:
  RowRecord& set(const std::string& key, const std::string& value) {
    PRUNUS_CHECK(value.find('\n') == std::string::npos, "row record: value of ", key, " has a newline");
    text_ += key + " = " + value + "\n";
    return *this;
  }
  RowRecord& number(const std::string& key, double value) { return set(key, exact_number(value)); }
  void write(const std::string& path) const { io::write_file_atomic(path, text_); }

 private:
  std::string text_;
};

RowRecord record_head(const ComparisonRow& row, const std::string& command, int64_t epochs) {
  RowRecord r;
  r.set("kind", row.kind).set("method", row.method).number("target", row.target);
  r.set("seed", std::to_string(row.seed)).set("epochs", std::to_string(epochs)).set("command", command);
  return r;
}

// The intermediate checkpoints of a finished row: reproducible from its
// command, and several megabytes each. compact.bin and final.bin stay.
void remove_intermediate_checkpoints(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name == "checkpoint.bin" || (name.rfind("stage_", 0) == 0 && entry.path().extension() == ".bin"))
      fs::remove(entry.path());
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

std::unique_ptr<std::FILE, FileCloser> open_row_log(const std::string& dir) {
  const std::string path = (fs::path(dir) / "log.txt").string();
  std::FILE* f = std::fopen(path.c_str(), "a");
  PRUNUS_CHECK(f, "compare: cannot open ", path, " for appending");
  return std::unique_ptr<std::FILE, FileCloser>(f);
}

void run_prune_row(const Comparison& base, const ComparisonRow& row, const DataSplits& data,
                   const ComparisonOptions& options, const std::string& command) {
  const io::Config config = row_config(base, row);
  const std::string dir = base.row_path(row);
  auto log = open_row_log(dir);
  PipelineOptions po;
  po.log = log.get();
  po.progress = options.progress;
  po.timing_seconds = options.timing_seconds;
  const PipelineResult r = run_prune_pipeline(config, data, po);
  PRUNUS_CHECK(r.finished, "compare: row ", row.dir, " did not finish (see ", dir, "/log.txt)");
  RowRecord record = record_head(row, command, base.total_epochs());
  record.number("flops_reduction", r.flops_reduction).number("params_reduction", r.params_reduction);
  const StageResult* last = nullptr;
  for (const auto& s : r.stages) {
    record.number("stage." + s.stage + ".val", s.val.accuracy).number("stage." + s.stage + ".test", s.test.accuracy);
    if (s.stage == "prune" || s.stage == "finetune") last = &s;
  }
  PRUNUS_CHECK(last, "compare: row ", row.dir, " has no prune stage result");
  record.number("val_accuracy", last->val.accuracy).number("test_accuracy", last->test.accuracy);
  record.number("speedup", r.compact_images_per_second / r.dense_images_per_second);
  record.write(base.row_path(row, "row.txt"));
  remove_intermediate_checkpoints(dir);
}

// A row is done when its row.txt exists, except a baseline whose final.bin is
// gone (checkpoints are not committed: a fresh clone has only the record).
// Every pruned row starts from that file, so it is trained again.
bool row_finished(const Comparison& comparison, const ComparisonRow& row) {
  if (!fs::exists(comparison.row_path(row, "row.txt"))) return false;
  return row.kind != "baseline" || fs::exists(comparison.row_path(row, "final.bin"));
}

void run_train_row(const Comparison& base, const ComparisonRow& row, const DataSplits& data,
                   const ComparisonOptions& options, const std::string& command) {
  const io::Config config = row_config(base, row);
  const RunSettings settings = RunSettings::from_config(config);
  const std::string dir = base.row_path(row);
  RowRecord record = record_head(row, command, settings.train.epochs);
  std::string recorded_val;  // a baseline trained again: does it reproduce its record?
  if (row.kind == "baseline" && fs::exists(base.row_path(row, "row.txt")))
    recorded_val = read_row_record(base.row_path(row, "row.txt")).at("val_accuracy");
  EvalResult val, test;
  if (row.kind == "baseline" && fs::exists(base.row_path(row, "final.bin"))) {
    // Trained before (by this command or by `prunus train` with the same recipe): measure it.
    auto model = load_model(io::read_checkpoint(base.row_path(row, "final.bin")));
    const int batch = settings.train.batch_size;
    val = evaluate(*model, data.val, batch, data.normalization);
    test = evaluate(*model, data.test, batch, data.normalization);
  } else {
    auto log = open_row_log(dir);
    TrainRunOptions to;
    to.resume = true;
    to.log = log.get();
    to.progress = options.progress;
    const TrainRunResult r = run_training(config, data, to);
    PRUNUS_CHECK(r.finished, "compare: row ", row.dir, " did not finish (see ", dir, "/log.txt)");
    val = r.val;
    test = r.test;
  }
  double flops = 0, params = 0, speedup = 1;
  if (row.kind == "scratch") {
    // The architecture of the `full` row it was taken from: the same counts and speed.
    const auto full = read_row_record(base.path(row.requires_dir, "row.txt"));
    flops = parse_exact_number(full.at("flops_reduction"), "flops_reduction");
    params = parse_exact_number(full.at("params_reduction"), "params_reduction");
    speedup = parse_exact_number(full.at("speedup"), "speedup");
  }
  record.number("flops_reduction", flops).number("params_reduction", params).number("speedup", speedup);
  record.number("val_accuracy", val.accuracy).number("test_accuracy", test.accuracy);
  if (!recorded_val.empty() && options.log) {
    const bool same = exact_number(val.accuracy) == recorded_val;
    std::fprintf(options.log, "compare: %s trained again: val %s, recorded %s (%s)\n", row.dir.c_str(),
                 exact_number(val.accuracy).c_str(), recorded_val.c_str(),
                 same ? "reproduced" : "differs: other CPU or build; the rows finished before used the old one");
  }
  record.write(base.row_path(row, "row.txt"));
  if (row.kind != "baseline") remove_intermediate_checkpoints(dir);
}

}  // namespace

std::map<std::string, std::string> read_row_record(const std::string& path) {
  std::ifstream in(path);
  PRUNUS_CHECK(in, "compare: cannot read ", path);
  std::map<std::string, std::string> record;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const size_t eq = line.find(" = ");
    PRUNUS_CHECK(eq != std::string::npos, path, ":", number, ": expected `key = value`, got '", line, "'");
    record[line.substr(0, eq)] = line.substr(eq + 3);
  }
  for (const char* key : {"kind", "method", "target", "seed", "val_accuracy", "test_accuracy", "flops_reduction"})
    PRUNUS_CHECK(record.count(key), path, ": the key '", key, "' is missing (a truncated or foreign file?)");
  return record;
}

CompareSettings CompareSettings::from_config(const io::Config& config) {
  CompareSettings s;
  s.methods = config.get_list("compare.methods");
  s.flops_targets = config.get_float_list("compare.flops_targets");
  s.seeds = config.get_int_list("compare.seeds");
  s.every_seed = config.get_list("compare.every_seed");
  s.plain_lambda0 = config.get_float("compare.plain_lambda0");
  s.dense = config.get_bool("compare.dense");
  s.scratch = config.get_bool("compare.scratch");
  return s;
}

std::vector<ComparisonRow> comparison_rows(const io::Config& config) {
  const Comparison c(config);
  const std::string baseline_dir = "baseline";
  const std::string baseline_file =
      c.prune.baseline_checkpoint.empty() ? c.path(baseline_dir, "final.bin") : c.prune.baseline_checkpoint;
  const std::vector<std::string>& methods = c.compare.methods;
  const std::vector<double>& targets = c.compare.flops_targets;
  const std::string total = std::to_string(c.total_epochs());
  std::vector<ComparisonRow> rows;
  if (c.prune.baseline_checkpoint.empty()) {
    ComparisonRow b;
    b.kind = b.method = "baseline";
    b.seed = static_cast<int64_t>(c.run.train.seed);
    b.dir = baseline_dir;
    b.overrides = {{"train.epochs", std::to_string(c.prune.baseline_epochs)}};
    rows.push_back(b);
  }
  const std::vector<int64_t>& seeds = c.compare.seeds;
  const std::vector<std::string>& every_seed = c.compare.every_seed;
  for (const int64_t seed : seeds) {
    const std::string s = "seed" + std::to_string(seed);
    std::vector<ComparisonRow> per_seed;
    // Repetitions cost a full row each; compare.every_seed names the rows worth a spread.
    auto wanted = [&](const std::string& row_method) {
      return seed == seeds.front() || every_seed.empty() ||
             std::find(every_seed.begin(), every_seed.end(), row_method) != every_seed.end();
    };
    for (const double target : targets) {
      for (const std::string& method : methods) {
        ComparisonRow r;
        r.kind = "prune";
        r.method = method;
        r.target = target;
        r.seed = seed;
        r.dir = target_tag(target) + "/" + method + "/" + s;
        r.overrides = {{"prune.method", method},
                       {"prune.flops_target", exact_number(target)},
                       {"train.seed", std::to_string(seed)},
                       {"prune.baseline_checkpoint", baseline_file}};
        // A constant L1 strength needs to be about the adaptive one's mean to make any zeros at all.
        const prune::MethodPreset preset = prune::method_preset(method);
        const double plain = c.compare.plain_lambda0;
        if (plain > 0 && preset.sparse_training && !preset.adaptive)
          r.overrides.push_back({"prune.lambda0", exact_number(plain)});
        // No sparse phase: its epochs go to fine-tuning, so every method trains as long.
        if (!preset.sparse_training)
          r.overrides.push_back(
              {"prune.finetune_epochs", std::to_string(c.prune.sparse_epochs + c.prune.finetune_epochs)});
        if (wanted(method)) per_seed.push_back(r);
      }
      if (c.compare.scratch && wanted("scratch")) {
        ComparisonRow r;
        r.kind = r.method = "scratch";
        r.target = target;
        r.seed = seed;
        r.dir = target_tag(target) + "/scratch/" + s;
        r.requires_dir = target_tag(target) + "/full/" + s;
        r.overrides = {{"model.architecture_from", c.path(r.requires_dir, "compact.bin")},
                       {"train.epochs", total},
                       {"train.seed", std::to_string(seed)}};
        per_seed.push_back(r);
      }
    }
    if (c.compare.dense && wanted("dense")) {
      ComparisonRow r;
      r.kind = r.method = "dense";
      r.seed = seed;
      r.dir = "dense/" + s;
      r.overrides = {{"train.epochs", total}, {"train.seed", std::to_string(seed)}};
      per_seed.insert(per_seed.begin() + std::min<size_t>(1, per_seed.size()), r);
    }
    rows.insert(rows.end(), per_seed.begin(), per_seed.end());
  }
  return rows;
}

bool row_selected(const std::string& dir, const std::vector<std::string>& selectors) {
  if (selectors.empty()) return true;
  for (std::string s : selectors) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    if (dir == s || dir.rfind(s + "/", 0) == 0) return true;
  }
  return false;
}

ComparisonResult run_comparison(const io::Config& config, const DataSplits& data, const ComparisonOptions& options) {
  const Comparison comparison(config);
  const std::vector<ComparisonRow> rows = comparison_rows(config);
  std::vector<const ComparisonRow*> chosen;
  bool prunes = false;
  for (const ComparisonRow& row : rows)
    if (row_selected(row.dir, options.only_rows)) {
      chosen.push_back(&row);
      prunes = prunes || row.kind == "prune";
    }
  PRUNUS_CHECK(!chosen.empty(), "compare: no row matches the chosen rows; the rows are ", [&] {
    std::string names;
    for (const ComparisonRow& row : rows) names += (names.empty() ? "" : ", ") + row.dir;
    return names;
  }());
  if (prunes && rows.front().kind == "baseline" && chosen.front()->kind != "baseline")
    chosen.insert(chosen.begin(), &rows.front());
  PRUNUS_CHECK(data.val.size() > 0 && !data.val_is_test,
               "compare: the data has no validation split separate from the test set; set data.val_files");
  PRUNUS_CHECK(!comparison.compare.methods.empty(), "compare: compare.methods is empty");
  fs::create_directories(comparison.run.out.dir);
  io::write_file_atomic(comparison.path("compare.conf"), config.dump());
  ComparisonResult result;
  result.rows = int(chosen.size());
  auto say = [&](const char* what, const ComparisonRow& row) {
    if (!options.log) return;
    std::fprintf(options.log, "compare: %-8s %s\n", what, row.dir.c_str());
    std::fflush(options.log);
  };
  // Passes until one runs nothing: a scratch row waits for its `full` row,
  // which a later pass (or another process) may have finished.
  for (bool ran = true; ran;) {
    ran = false;
    result.finished = result.skipped_locked = result.waiting = 0;
    for (const ComparisonRow* chosen_row : chosen) {
      const ComparisonRow& row = *chosen_row;
      if (row_finished(comparison, row)) {
        ++result.finished;
        continue;
      }
      if (!row.requires_dir.empty() && !fs::exists(comparison.path(row.requires_dir, "row.txt"))) {
        ++result.waiting;
        continue;
      }
      // Everything needs the baseline: wait for it; skip other rows another process is running.
      RowLock lock(comparison.row_path(row), /*wait=*/row.kind == "baseline");
      if (!lock.held()) {
        say("busy", row);
        ++result.skipped_locked;
        continue;
      }
      if (row_finished(comparison, row)) {  // finished while we waited
        ++result.finished;
        continue;
      }
      const std::string command = row_command(comparison, row, options.invocation);
      say("running", row);
      io::write_file_atomic(comparison.row_path(row, "COMMAND"), command + "\n");
      if (row.kind == "prune")
        run_prune_row(comparison, row, data, options, command);
      else
        run_train_row(comparison, row, data, options, command);
      ++result.finished;
      ran = true;
      say("finished", row);
      write_comparison_table(config, rows);
    }
  }
  write_comparison_table(config, rows);
  if (options.log)
    std::fprintf(options.log, "compare: %d of %d rows finished (%d running elsewhere, %d waiting for another row)\n",
                 result.finished, result.rows, result.skipped_locked, result.waiting);
  return result;
}

}  // namespace app
}  // namespace prunus
