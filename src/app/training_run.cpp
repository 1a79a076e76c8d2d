#include "prunus/app/training_run.h"

#include <filesystem>

#include "prunus/models/summary.h"
#include "prunus/io/json_writer.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"
#include "prunus/train/training_phase.h"

namespace fs = std::filesystem;

namespace prunus {
namespace app {

using io::Json;

std::string out_path(const OutSettings& out, const std::string& file) { return (fs::path(out.dir) / file).string(); }

static Json eval_json(const EvalResult& r) {
  Json j = Json::object();
  j.set("loss", r.loss).set("accuracy", r.accuracy).set("images", r.images);
  return j;
}

TrainRunResult run_training(const io::Config& config, const DataSplits& data, const TrainRunOptions& options) {
  const RunSettings settings = RunSettings::from_config(config);
  const OutSettings& out = settings.out;
  check_device(settings.train);
  if (!options.resume && !options.overwrite)
    for (const char* name : {"checkpoint.bin", "final.bin"})
      PRUNUS_CHECK(!fs::exists(out_path(out, name)), "out.dir '", out.dir,
                   "' already holds a run (", name, "): pass --resume to continue it, --overwrite to train it again "
                   "from the start, or choose another out.dir");
  const int threads = configure_threads(settings.train);
  fs::create_directories(out.dir);
  io::remove_stale_temporaries(out.dir);  // left by a killed run
  io::write_file_atomic(out_path(out, "config.conf"), config.dump());

  RunContext ctx;
  ctx.config = &config;
  ctx.settings = &settings;
  ctx.data = &data;
  ctx.out_dir = out.dir;
  ctx.progress = options.progress;
  ctx.log = options.log;

  const std::string checkpoint_path = out_path(out, "checkpoint.bin");
  const std::string phase = "train";
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<optim::SGD> optimizer;
  TrainRunResult result;
  EpochProgress within;  // where a mid-epoch checkpoint stood
  if (options.resume && fs::exists(checkpoint_path)) {
    const io::Checkpoint checkpoint = io::read_checkpoint(checkpoint_path);
    PRUNUS_CHECK(checkpoint_kind(checkpoint) == "run" && checkpoint_phase(checkpoint) == phase, checkpoint_path,
                 " is not the run state of a `prunus train` run (kind '", checkpoint_kind(checkpoint), "', phase '",
                 checkpoint_phase(checkpoint), "')");
    require_same_config(checkpoint, config);
    model = load_model(checkpoint);
    optimizer = make_optimizer(*model, settings.train, settings.train.lr);
    load_optimizer(*optimizer, checkpoint);
    ctx.history = checkpoint_history(checkpoint);
    result.start_epoch = checkpoint_epoch(checkpoint);
    within = checkpoint_epoch_progress(checkpoint);
    if (ctx.log)
      std::fprintf(ctx.log, "resuming from %s (%s)\n", checkpoint_path.c_str(), describe_checkpoint(checkpoint).c_str());
  } else {
    if (options.resume && ctx.log)
      std::fprintf(ctx.log, "no checkpoint at %s yet: starting from scratch\n", checkpoint_path.c_str());
    model = build_model(settings, data);
    optimizer = make_optimizer(*model, settings.train, settings.train.lr);
  }
  if (ctx.log) {
    for (const auto& note : data.notes) std::fprintf(ctx.log, "note: %s\n", note.c_str());
    std::fprintf(ctx.log, "model %s, %lld parameters; %d threads\n", run_arch(ctx).c_str(),
                 static_cast<long long>(models::count_parameters(*model)), threads);
  }

  PhaseSpec spec;
  spec.name = phase;
  spec.epochs = settings.train.epochs;
  spec.base_lr = settings.train.lr;
  spec.warmup = true;
  spec.checkpoint_path = checkpoint_path;
  spec.checkpoint_every = out.checkpoint_every;
  spec.stop_after = options.max_epochs;
  PRUNUS_CHECK(result.start_epoch <= spec.epochs, checkpoint_path, " is after epoch ", result.start_epoch,
               ", beyond train.epochs = ", spec.epochs);
  PhaseHooks hooks;
  hooks.train.after_step = options.after_step;
  PRUNUS_CHECK(within.steps == 0 || result.start_epoch < spec.epochs, checkpoint_path, " stopped inside epoch ",
               result.start_epoch + 1, ", beyond train.epochs = ", spec.epochs);
  const PhaseResult phase_result = run_phase(ctx, *model, *optimizer, spec, result.start_epoch, hooks, within);
  result.epochs_run = phase_result.epochs_run;
  result.finished = result.start_epoch + result.epochs_run == spec.epochs;
  if (!result.finished) {
    if (ctx.log) std::fprintf(ctx.log, "stopped after epoch %d of %d; continue with --resume\n",
                              result.start_epoch + result.epochs_run, spec.epochs);
    return result;
  }

  const int batch_size = settings.train.batch_size;
  const EvalResult none{kNoValue, kNoValue};
  // The last epoch already evaluated this model on the validation set.
  if (phase_result.epochs_run > 0 && data.val.size())
    result.val = phase_result.last_val;
  else
    result.val = data.val.size() ? evaluate(*model, data.val, batch_size, data.normalization) : none;
  result.test = data.val_is_test    ? result.val
                : data.test.size() ? evaluate(*model, data.test, batch_size, data.normalization)
                                   : none;

  io::Checkpoint final_model;
  put_model(final_model, *model, run_arch(ctx), data.input_shape());
  put_run_position(final_model, "model", phase, spec.epochs);
  final_model.put_string("config", config.dump());
  put_history(final_model, ctx.history, /*with_timing=*/false);
  io::write_checkpoint(out_path(out, "final.bin"), final_model);

  Json summary = Json::object();
  summary.set("command", "train").set("arch", run_arch(ctx)).set("dataset", dataset_name(settings.data.dataset));
  summary.set("epochs", spec.epochs).set("threads", threads);
  summary.set("parameters", models::count_parameters(*model));
  const auto summary_counts = models::summarize(*model, data.input_shape());
  summary.set("macs_per_image", summary_counts.total_macs);
  double best_val = kNoValue, images_per_second = 0, seconds = 0;
  int best_epoch = 0, timed = 0;
  for (const auto& r : ctx.history.phase(phase)) {
    if (!std::isnan(r.val_accuracy) && (std::isnan(best_val) || r.val_accuracy > best_val)) {
      best_val = r.val_accuracy;
      best_epoch = r.epoch;
    }
    if (!std::isnan(r.images_per_second)) {
      images_per_second += r.images_per_second;
      seconds += r.seconds;
      ++timed;
    }
  }
  const auto records = ctx.history.phase(phase);
  if (!records.empty())
    summary.set("final_train",
                Json::object().set("loss", records.back().train_loss).set("accuracy", records.back().train_accuracy));
  summary.set("final_val", eval_json(result.val)).set("val_files", data.val_source);
  summary.set("test", eval_json(result.test)).set("test_files", data.test_source);
  summary.set("val_is_test", data.val_is_test);
  summary.set("best_val_accuracy", best_val).set("best_val_epoch", best_epoch);
  summary.set("mean_train_images_per_second", timed ? images_per_second / timed : kNoValue);
  summary.set("total_epoch_seconds", seconds);
  io::write_file_atomic(out_path(out, "summary.json"), summary.dump());

  if (ctx.log) {
    std::fprintf(ctx.log, "final: val acc %s (%s), test acc %s (%s)\n", percent(result.val.accuracy).c_str(),
                 data.val_source.empty() ? "none" : data.val_source.c_str(), percent(result.test.accuracy).c_str(),
                 data.test_source.empty() ? "none" : data.test_source.c_str());
    std::fprintf(ctx.log, "wrote %s (model), %s, %s\n", out_path(out, "final.bin").c_str(),
                 out_path(out, "log.csv").c_str(), out_path(out, "summary.json").c_str());
  }
  return result;
}

}  // namespace app
}  // namespace prunus
