#include "prunus/app/prune_pipeline.h"

#include <cstdarg>
#include <filesystem>
#include <optional>

#include "prunus/app/prune_settings.h"
#include "prunus/models/summary.h"
#include "prunus/nn/conv2d.h"
#include "prunus/prune/baselines.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/pruner.h"
#include "prunus/prune/regularizer.h"
#include "prunus/train/bn_recalibration.h"
#include "prunus/train/inference_timing.h"
#include "prunus/app/pipeline_records.h"
#include "prunus/app/pipeline_report.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"
#include "prunus/train/training_phase.h"

namespace fs = std::filesystem;

namespace prunus {
namespace app {

const std::vector<Stage>& pipeline_stages() {
  static const std::vector<Stage> stages = {Stage::Baseline, Stage::Sparse, Stage::Prune, Stage::Finetune,
                                            Stage::Compact};
  return stages;
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::Baseline: return "baseline";
    case Stage::Sparse: return "sparse";
    case Stage::Prune: return "prune";
    case Stage::Finetune: return "finetune";
    case Stage::Compact: return "compact";
  }
  return "?";
}

namespace {

class Pipeline {
 public:
  Pipeline(const io::Config& config, const DataSplits& data, const PipelineOptions& options)
      : config_(config),
        run_(RunSettings::from_config(config)),
        settings_(PruneSettings::from_config(config)),
        data_(data),
        options_(options),
        budget_(options.max_epochs) {
    ctx_.config = &config;
    ctx_.settings = &run_;
    ctx_.data = &data;
    ctx_.out_dir = run_.out.dir;
    ctx_.progress = options.progress;
    ctx_.log = options.log;
    batch_size_ = run_.train.batch_size;
  }

  PipelineResult run();

 private:
  std::string path(const std::string& file) const { return (fs::path(ctx_.out_dir) / file).string(); }
  std::string stage_path(Stage stage) const { return path(std::string("stage_") + stage_name(stage) + ".bin"); }
  void say(const char* format, ...) __attribute__((format(printf, 2, 3)));

  bool skipped(Stage stage) const;
  Stage previous_stage(Stage stage) const;  // the last one before it that is not skipped
  std::shared_ptr<nn::Module> dense_model();
  std::shared_ptr<nn::Module> load_stage(Stage stage, bool restore_records);
  void finish_stage(Stage stage, nn::Module& model, const StageResult& result, const CompactTimings* timings = nullptr);
  // Evaluates the model; the validation pass is skipped when the phase that
  // just ended already evaluated this very model (fresh_val_).
  StageResult measure(const std::string& stage, nn::Module& model, bool compact);
  void print_result(const StageResult& r);
  // Where a phase's run checkpoint left it; found == false: start afresh.
  struct Resumed {
    bool found = false;
    int epoch = 0;          // epochs done
    EpochProgress within;   // steps done in the next epoch (mid-epoch checkpoints)
    io::Checkpoint checkpoint;
  };
  Resumed resume_point(Stage phase, std::shared_ptr<nn::Module>& model);
  bool train(const std::string& phase, nn::Module& model, optim::SGD& optimizer, int epochs, double lr, bool warmup,
             const Resumed& start, const PhaseHooks& hooks = {});

  bool run_baseline();
  bool run_sparse();
  void run_prune();
  bool run_finetune();
  void run_compact();

  const io::Config& config_;  // the record: config.conf and every checkpoint's stored config
  const RunSettings run_;
  const PruneSettings settings_;
  const DataSplits& data_;
  const PipelineOptions& options_;
  RunContext ctx_;
  int budget_;
  int batch_size_ = 128;
  const prune::MethodPreset& preset_ = settings_.method;
  prune::PruneState state_;
  PipelineResult result_;
  std::vector<prune::LambdaTraceEntry> trace_;
  std::string prune_log_;
  CompactTimings compact_timings_;
  bool has_fresh_val_ = false;
  EvalResult fresh_val_;
};

void Pipeline::say(const char* format, ...) {
  if (!ctx_.log) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(ctx_.log, format, args);
  va_end(args);
  std::fflush(ctx_.log);
}

bool Pipeline::skipped(Stage stage) const {
  if (stage == Stage::Sparse) return !preset_.sparse_training || settings_.sparse_epochs == 0;
  if (stage == Stage::Finetune) return settings_.finetune_epochs == 0;
  return false;
}

Stage Pipeline::previous_stage(Stage stage) const {
  PRUNUS_CHECK(stage != Stage::Baseline, "pipeline: the baseline stage has no previous stage");
  Stage previous = Stage::Baseline;  // never skipped
  for (Stage s : pipeline_stages()) {
    if (s == stage) break;
    if (!skipped(s)) previous = s;
  }
  return previous;
}

std::shared_ptr<nn::Module> Pipeline::dense_model() {
  const std::string& baseline = settings_.baseline_checkpoint;
  if (baseline.empty()) return build_model(run_, data_);
  const io::Checkpoint checkpoint = io::read_checkpoint(baseline);
  auto model = load_model(checkpoint);
  PRUNUS_CHECK(checkpoint_input_shape(checkpoint) == data_.input_shape(), "prune.baseline_checkpoint ", baseline,
               " holds a model for ", shape_str(checkpoint_input_shape(checkpoint)), " images, but the data has ",
               shape_str(data_.input_shape()));
  for (const auto& [name, module] : model->named_modules())
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get()))
      PRUNUS_CHECK(!conv->has_pruning_state(),
                   "prune.baseline_checkpoint ", baseline, " holds a pruned model (conv '", name,
                   "' has masks or gates); the pipeline starts from a dense one");
  return model;
}

// Keys that act only after `stage`: its checkpoint does not depend on them, so
// a run may branch from it with other values (copy stage_baseline.bin and
// stage_sparse.bin into a new out.dir to try other prune-step settings on the
// same sparse model; stage_baseline.bin alone to try other sparse-training settings).
static std::set<std::string> keys_acting_after(Stage stage) {
  std::set<std::string> keys;
  if (stage == Stage::Baseline || stage == Stage::Sparse || stage == Stage::Prune)
    keys.insert({"prune.finetune_epochs", "prune.finetune_lr"});
  if (stage == Stage::Baseline || stage == Stage::Sparse)
    keys.insert({"prune.topup_step", "prune.topup_ranking", "prune.threshold", "prune.bn_recalibration_batches"});
  if (stage == Stage::Baseline)
    keys.insert({"prune.l1_step", "prune.lambda0", "prune.sparse_lr", "prune.sparse_epochs", "prune.bn_gate_init",
                 "prune.controller_reach", "prune.controller_max_factor"});
  return keys;
}

std::shared_ptr<nn::Module> Pipeline::load_stage(Stage stage, bool restore_records) {
  const io::Checkpoint checkpoint = io::read_checkpoint(stage_path(stage));
  PRUNUS_CHECK(checkpoint_kind(checkpoint) == "stage" && checkpoint_phase(checkpoint) == stage_name(stage),
               checkpoint.source, " is not the '", stage_name(stage), "' stage of a prunus prune run");
  require_same_config(checkpoint, config_, keys_acting_after(stage));
  if (restore_records) {
    ctx_.history = checkpoint_history(checkpoint);
    result_.stages = parse_stage_results(checkpoint.string("pipeline.stages"), checkpoint.source);
    trace_ = parse_lambda_trace(checkpoint.string("pipeline.lambda_trace"), checkpoint.source);
    prune_log_ = checkpoint.has_string("pipeline.prune_log") ? checkpoint.string("pipeline.prune_log") : "";
    compact_timings_ = CompactTimings::from_checkpoint(checkpoint);
  }
  return load_model(checkpoint);
}

void Pipeline::finish_stage(Stage stage, nn::Module& model, const StageResult& result,
                            const CompactTimings* timings) {
  result_.stages.push_back(result);
  io::Checkpoint checkpoint;
  put_model(checkpoint, model, run_.model.arch, data_.input_shape());
  put_run_position(checkpoint, "stage", stage_name(stage), 0);
  checkpoint.put_string("config", config_.dump());
  put_history(checkpoint, ctx_.history, true);
  checkpoint.put_string("pipeline.stages", stage_results_csv(result_.stages));
  checkpoint.put_string("pipeline.lambda_trace", lambda_trace_csv(trace_));
  checkpoint.put_string("pipeline.prune_log", prune_log_);
  if (timings) timings->put(checkpoint);
  io::write_checkpoint(stage_path(stage), checkpoint);
}

StageResult Pipeline::measure(const std::string& stage, nn::Module& model, bool compact) {
  StageResult r;
  r.stage = stage;
  if (has_fresh_val_)
    r.val = fresh_val_;
  else
    r.val = data_.val.size() ? evaluate(model, data_.val, batch_size_, data_.normalization)
                             : EvalResult{kNoValue, kNoValue};
  has_fresh_val_ = false;
  r.test = data_.test.size() && !data_.val_is_test ? evaluate(model, data_.test, batch_size_, data_.normalization)
                                                   : EvalResult{kNoValue, kNoValue};
  if (compact) {
    r.macs = models::summarize(model, data_.input_shape()).total_macs;
    r.params = models::count_parameters(model);
  } else {
    const prune::ModelCount count = prune::count_model(model, result_.analysis);
    r.macs = count.macs;
    r.params = count.params;
  }
  return r;
}

void Pipeline::print_result(const StageResult& r) {
  const double dense = static_cast<double>(result_.analysis.dense_macs());
  say("== %s: %s acc %s", r.stage.c_str(), data_.val_is_test ? "test (= val)" : "val", percent(r.val.accuracy).c_str());
  if (!std::isnan(r.test.accuracy)) say(", test acc %s", percent(r.test.accuracy).c_str());
  say(", %.2f M MACs (%s of dense), %.3f M params\n", r.macs / 1e6, percent(r.macs / dense).c_str(), r.params / 1e6);
}

Pipeline::Resumed Pipeline::resume_point(Stage phase, std::shared_ptr<nn::Module>& model) {
  const std::string path = this->path("checkpoint.bin");
  Resumed resumed;
  if (!fs::exists(path)) return resumed;
  io::Checkpoint c = io::read_checkpoint(path);
  if (checkpoint_kind(c) != "run" || checkpoint_phase(c) != stage_name(phase)) return resumed;
  // A phase's state does not depend on the keys that act only after it.
  require_same_config(c, config_, keys_acting_after(phase == Stage::Finetune ? Stage::Prune : phase));
  model = load_model(c);
  ctx_.history = checkpoint_history(c);
  resumed.found = true;
  resumed.epoch = checkpoint_epoch(c);
  resumed.within = checkpoint_epoch_progress(c);
  say("%s: resuming from %s (%s)\n", stage_name(phase), path.c_str(), describe_checkpoint(c).c_str());
  resumed.checkpoint = std::move(c);
  return resumed;
}

bool Pipeline::train(const std::string& phase, nn::Module& model, optim::SGD& optimizer, int epochs, double lr,
                     bool warmup, const Resumed& start, const PhaseHooks& hooks) {
  const int start_epoch = start.epoch;
  PRUNUS_CHECK(start.within.steps == 0 || start_epoch < epochs, "phase '", phase, "': ", path("checkpoint.bin"),
               " stopped inside epoch ", start_epoch + 1, " of ", epochs);
  if (start_epoch >= epochs) return true;
  if (options_.max_epochs > 0 && budget_ <= 0) return false;
  PhaseSpec spec;
  spec.name = phase;
  spec.epochs = epochs;
  spec.base_lr = lr;
  spec.warmup = warmup;
  spec.checkpoint_path = path("checkpoint.bin");
  spec.checkpoint_every = run_.out.checkpoint_every;
  spec.stop_after = options_.max_epochs > 0 ? budget_ : 0;
  PhaseHooks observed = hooks;
  if (options_.after_step) observed.train.after_step = options_.after_step;  // the pipeline sets none of its own
  const PhaseResult r = run_phase(ctx_, model, optimizer, spec, start_epoch, observed, start.within);
  budget_ -= r.epochs_run;
  has_fresh_val_ = r.epochs_run > 0 && data_.val.size() > 0;
  fresh_val_ = r.last_val;
  if (start_epoch + r.epochs_run < epochs) {
    say("stopped in %s after epoch %d of %d; run the same command again to continue\n", phase.c_str(),
        start_epoch + r.epochs_run, epochs);
    return false;
  }
  return true;
}

bool Pipeline::run_baseline() {
  std::shared_ptr<nn::Module> model;
  const std::string& given = settings_.baseline_checkpoint;
  if (!given.empty()) {
    model = dense_model();
    say("baseline: loaded %s\n", given.c_str());
  } else {
    const Resumed start = resume_point(Stage::Baseline, model);
    if (!start.found) model = build_model(run_, data_);
    auto optimizer = make_optimizer(*model, run_.train, run_.train.lr);
    if (start.found) load_optimizer(*optimizer, start.checkpoint);
    if (!train("baseline", *model, *optimizer, settings_.baseline_epochs, run_.train.lr, true, start))
      return false;
  }
  const StageResult r = measure("baseline", *model, false);
  print_result(r);
  finish_stage(Stage::Baseline, *model, r);
  return true;
}

bool Pipeline::run_sparse() {
  std::shared_ptr<nn::Module> model = load_stage(previous_stage(Stage::Sparse), true);
  const Resumed start = resume_point(Stage::Sparse, model);
  if (!start.found) {
    prune::enable_gates(*model, state_);
    prune::initialize_gates(*model, state_, settings_.bn_gate_init);
  }
  const double lr = settings_.sparse_lr;
  auto optimizer = make_optimizer(*model, run_.train, lr);
  if (settings_.l1_step == L1Step::Constant) optimizer->set_l1_step_size(lr);
  prune::RegularizerOptions options;
  options.adaptive = preset_.adaptive;
  options.lambda0 = settings_.lambda0;
  options.target_flops_reduction = settings_.flops_target;
  options.sparse_epochs = settings_.sparse_epochs;
  options.controller_reach = settings_.controller_reach;
  options.controller_max_factor = settings_.controller_max_factor;
  prune::AdaptiveL1 regularizer(*model, result_.analysis, state_, options);
  std::vector<prune::LambdaTraceEntry> earlier;
  if (start.found) {
    const io::Checkpoint& checkpoint = start.checkpoint;
    regularizer.set_lambda0(parse_exact_number(checkpoint.string("regularizer.lambda0"), checkpoint.source));
    earlier = parse_lambda_trace(checkpoint.string("regularizer.trace"), checkpoint.source);
    regularizer.apply(*optimizer);
    // After apply: the strengths stored are those chosen from the model at the
    // start of the epoch in progress, not from the model as it stands now.
    load_optimizer(*optimizer, checkpoint);
  } else {
    say("sparse: %s; lambda0 %g%s; L1 step %s\n", preset_.description.c_str(), options.lambda0,
        options.adaptive && options.target_flops_reduction > 0 ? ", adapted each epoch toward the FLOPs target" : "",
        settings_.l1_step == L1Step::Constant ? "prune.sparse_lr throughout" : "the scheduled lr");
    regularizer.apply(*optimizer);
  }
  auto full_trace = [&] {
    auto t = earlier;
    t.insert(t.end(), regularizer.trace().begin(), regularizer.trace().end());
    return t;
  };
  PhaseHooks hooks;
  hooks.end_of_epoch = [&](int epoch, EpochRecord& record) {
    record.lambda0 = regularizer.lambda0();
    record.flops_reduction = regularizer.end_epoch(epoch, *optimizer);
  };
  hooks.save_extra = [&](io::Checkpoint& c) {
    c.put_string("regularizer.lambda0", exact_number(regularizer.lambda0()));
    c.put_string("regularizer.trace", lambda_trace_csv(full_trace()));
  };
  if (!train("sparse", *model, *optimizer, options.sparse_epochs, lr, false, start, hooks)) return false;
  trace_ = full_trace();
  const StageResult r = measure("sparse", *model, false);
  print_result(r);
  finish_stage(Stage::Sparse, *model, r);
  return true;
}

void Pipeline::run_prune() {
  std::shared_ptr<nn::Module> model = load_stage(previous_stage(Stage::Prune), true);
  const double target = settings_.flops_target;
  const double step = settings_.topup_step;
  // Measured after each step, so a drop shows where it happens: "zeroed"
  // (gates zeroed, BN statistics as sparse training left them), then
  // "recalibrated", then "prune" (filters removed with their constants
  // folded, stripes masked: the same function as "recalibrated").
  auto measure_step = [&](const std::string& name) {
    const StageResult r = measure(name, *model, false);
    print_result(r);
    result_.stages.push_back(r);
  };
  prune::PrunerOptions options;
  options.target_flops_reduction = target;
  options.top_up_step = step;
  options.top_up_ranking = settings_.top_up_normalization();
  const double threshold = settings_.threshold;
  options.use_thresholds = preset_.use_thresholds || threshold > 0;
  for (const prune::Granularity* kind : prune::granularities())
    options.thresholds[kind->name()] = threshold > 0 ? threshold : preset_.threshold(*kind);
  prune::PruneOutcome outcome = preset_.method->zero_for_target(*model, result_.analysis, state_, options);
  say("prune (%s):\n%s", preset_.name.c_str(), outcome.log.c_str());
  const int batches = settings_.bn_recalibration_batches;
  if (batches > 0) {
    measure_step("zeroed");
    const RecalibrationResult recalibrated =
        recalibrate_batch_norm(*model, data_.train, batches, batch_size_, data_.normalization,
                               run_.train.seed);
    char line[200];
    std::snprintf(line, sizeof line,
                  "BN recalibration: %lld BN layers, running statistics from %lld training images (%lld batches)\n",
                  static_cast<long long>(recalibrated.batch_norms), static_cast<long long>(recalibrated.images),
                  static_cast<long long>(recalibrated.batches));
    say("%s", line);
    outcome.log += line;
    measure_step("recalibrated");
  }
  const size_t logged = outcome.log.size();
  preset_.method->remove_zeroed(*model, result_.analysis, state_, outcome);
  say("%s", outcome.log.c_str() + logged);
  prune_log_ = outcome.log;
  const StageResult r = measure("prune", *model, false);
  print_result(r);
  finish_stage(Stage::Prune, *model, r);
}

bool Pipeline::run_finetune() {
  std::shared_ptr<nn::Module> model = load_stage(Stage::Prune, true);
  const Resumed start = resume_point(Stage::Finetune, model);
  const double lr = settings_.finetune_lr;
  auto optimizer = make_optimizer(*model, run_.train, lr);
  if (start.found) load_optimizer(*optimizer, start.checkpoint);
  prune::register_masks(*optimizer, *model, result_.analysis);
  if (!train("finetune", *model, *optimizer, settings_.finetune_epochs, lr, false,
             start))
    return false;
  const StageResult r = measure("finetune", *model, false);
  print_result(r);
  finish_stage(Stage::Finetune, *model, r);
  return true;
}

void Pipeline::run_compact() {
  std::shared_ptr<nn::Module> masked = load_stage(previous_stage(Stage::Compact), true);
  std::shared_ptr<nn::Module> dense = load_stage(Stage::Baseline, false);
  const prune::CompactResult compacted = prune::compact_model(*masked, result_.analysis);
  nn::Module& compact = *compacted.model;
  const data::Dataset& probe = data_.val.size() ? data_.val : (data_.test.size() ? data_.test : data_.train);
  const double difference = relative_output_difference(*masked, compact, probe, data_.normalization);
  say("compact: outputs differ from the masked model's by %.3g (relative, max over 64 images)\n", difference);
  constexpr double kCompactionTolerance = 1e-3;  // relative, over all logits: float rounding of folded constants
  PRUNUS_CHECK(difference <= kCompactionTolerance, "compaction changed the model's outputs: relative difference ",
               difference, " against the masked model (expected <= ", kCompactionTolerance,
               "); this is a bug in prune::compact_model");
  const StageResult r = measure("compact", compact, true);
  print_result(r);
  const StageResult& masked_result = result_.stages.back();
  if (std::fabs(r.val.accuracy - masked_result.val.accuracy) > 1e-3)
    say("warning: compact val accuracy %s differs from the masked model's %s\n", percent(r.val.accuracy).c_str(),
        percent(masked_result.val.accuracy).c_str());
  say("timing CPU inference (batch %d, eval mode)...\n", batch_size_);
  // Three interleaved rounds, best of each: other processes on the machine
  // slow some rounds down, never speed one up.
  double dense_speed = 0, masked_speed = 0, compact_speed = 0;
  for (int round = 0; round < 3; ++round)
    for (auto [model, best] : {std::pair<nn::Module*, double*>{dense.get(), &dense_speed},
                               {masked.get(), &masked_speed}, {&compact, &compact_speed}})
      *best = std::max(*best, time_inference(*model, probe, data_.normalization, batch_size_, 1024,
                                             options_.timing_seconds / 3)
                                  .images_per_second);
  say("inference: dense %.0f img/s, masked %.0f img/s, compact %.0f img/s (%.2fx the dense model)\n", dense_speed,
      masked_speed, compact_speed, compact_speed / dense_speed);
  compact_timings_.output_difference = difference;
  compact_timings_.dense_images_per_second = dense_speed;
  compact_timings_.masked_images_per_second = masked_speed;
  compact_timings_.compact_images_per_second = compact_speed;
  finish_stage(Stage::Compact, compact, r, &compact_timings_);
  io::Checkpoint deployable;
  put_model(deployable, compact, run_.model.arch, data_.input_shape());
  put_run_position(deployable, "model", "compact", 0);
  deployable.put_string("config", config_.dump());
  io::write_checkpoint(path("compact.bin"), deployable);
}

PipelineResult Pipeline::run() {
  check_device(run_.train);
  const int threads = configure_threads(run_.train);
  fs::create_directories(ctx_.out_dir);
  io::remove_stale_temporaries(ctx_.out_dir);  // left by a killed run
  io::write_file_atomic(path("config.conf"), config_.dump());
  for (const auto& note : data_.notes) say("note: %s\n", note.c_str());
  say("prune: %s on %s, method %s: %s; %d threads\n", run_.model.arch.c_str(),
      dataset_name(run_.data.dataset), preset_.name.c_str(), preset_.description.c_str(), threads);

  {
    auto dense = dense_model();
    result_.analysis = prune::analyze_model(*dense, data_.input_shape());
  }
  const std::string analysis_text = result_.analysis.report();
  io::write_file_atomic(path("analysis.txt"), analysis_text);
  say("== analyze: %zu convs, %zu dimension-matching (D); dense %.2f M MACs per image\n%s",
      result_.analysis.convs.size(), result_.analysis.dimension_matching().size(),
      result_.analysis.dense_macs() / 1e6, analysis_text.c_str());
  if (options_.analyze_only) return result_;

  prune::GateOptions gate_options;
  gate_options.granularities = preset_.granularities;
  gate_options.exclude_first_conv = settings_.exclude_first_conv;
  // The classifier is gated only when it is a conv (no linear layer at the end).
  if (settings_.exclude_classifier && result_.analysis.linears.empty() &&
      !result_.analysis.convs.empty())
    gate_options.excluded_convs.push_back(result_.analysis.convs.back().name);
  state_ = prune::plan_gates(result_.analysis, gate_options);

  std::optional<Stage> first;
  for (Stage stage : pipeline_stages())
    if (!skipped(stage) && !fs::exists(stage_path(stage))) {
      first = stage;
      break;
    }
  for (Stage stage : pipeline_stages()) {
    if (stage == first) break;
    if (!skipped(stage)) say("== %s: done before (%s)\n", stage_name(stage), stage_path(stage).c_str());
  }
  result_.started_at = first ? stage_name(*first) : "";
  if (first) {
    bool running = false;
    for (Stage stage : pipeline_stages()) {
      if (stage == first) running = true;
      if (!running || skipped(stage)) continue;
      bool done = true;
      switch (stage) {
        case Stage::Baseline: done = run_baseline(); break;
        case Stage::Sparse: done = run_sparse(); break;
        case Stage::Prune: run_prune(); break;
        case Stage::Finetune: done = run_finetune(); break;
        case Stage::Compact: run_compact(); break;
      }
      if (!done) return result_;
    }
  } else {
    load_stage(Stage::Compact, true);
  }
  PipelineReportInput input{run_, settings_, data_, result_.analysis, result_.stages, trace_, prune_log_,
                            compact_timings_};
  std::shared_ptr<nn::Module> masked = load_stage(previous_stage(Stage::Compact), false);
  write_pipeline_report(input, *masked, ctx_.log);
  const prune::ModelCount count = prune::count_model(*masked, result_.analysis);
  result_.flops_reduction = count.flops_reduction();
  result_.params_reduction = count.params_reduction();
  result_.compact_output_difference = compact_timings_.output_difference;
  result_.dense_images_per_second = compact_timings_.dense_images_per_second;
  result_.masked_images_per_second = compact_timings_.masked_images_per_second;
  result_.compact_images_per_second = compact_timings_.compact_images_per_second;
  result_.finished = true;
  return result_;
}

}  // namespace

PipelineResult run_prune_pipeline(const io::Config& config, const DataSplits& data, const PipelineOptions& options) {
  Pipeline pipeline(config, data, options);
  return pipeline.run();
}

}  // namespace app
}  // namespace prunus
