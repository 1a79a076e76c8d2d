#include "prunus/train/training_phase.h"

#include <filesystem>

#include "prunus/dist/process_group.h"
#include "prunus/train/data_parallel.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"
#include "prunus/train/stop_request.h"

namespace prunus {
namespace train {

std::string percent(double fraction) {
  if (std::isnan(fraction)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100.0 * fraction);
  return buffer;
}

std::string run_arch(const RunContext& ctx) { return ctx.settings->model.arch; }

io::Checkpoint make_run_checkpoint(const RunContext& ctx, nn::Module& model, const optim::SGD& optimizer,
                                   const std::string& phase, int epochs_done) {
  io::Checkpoint checkpoint;
  put_model(checkpoint, model, run_arch(ctx), ctx.data->input_shape());
  put_optimizer(checkpoint, optimizer);
  put_run_position(checkpoint, "run", phase, epochs_done);
  checkpoint.put_string("config", ctx.config->dump());
  put_history(checkpoint, ctx.history, /*with_timing=*/true);
  return checkpoint;
}

PhaseResult run_phase(RunContext& ctx, nn::Module& model, optim::SGD& optimizer, const PhaseSpec& spec,
                      int start_epoch, const PhaseHooks& hooks, const EpochProgress& within) {
  const TrainSettings& train = ctx.settings->train;
  const DataSplits& data = *ctx.data;
  PRUNUS_CHECK(start_epoch >= 0 && start_epoch <= spec.epochs, "phase '", spec.name, "': cannot start at epoch ",
               start_epoch, " of ", spec.epochs);
  PhaseResult result;
  result.last_val.loss = result.last_val.accuracy = kNoValue;
  if (start_epoch == spec.epochs) return result;

  const int batch_size = train.batch_size;
  // A last batch of one image would make batch norm's variance zero: drop it.
  const bool drop_last = data.train.size() % batch_size == 1;
  const uint64_t seed = phase_seed(train.seed, spec.name);
  data::Loader loader(data.train, batch_size, /*shuffle=*/true, data.train_augmentation, seed, drop_last);
  const optim::LrSchedule schedule = make_schedule(train, spec.base_lr, spec.epochs, spec.warmup);
  if (ctx.log && start_epoch == 0)
    std::fprintf(ctx.log, "%s: %d epochs, %s, batch %d, %lld images per epoch\n", spec.name.c_str(), spec.epochs,
                 schedule.describe().c_str(), batch_size, static_cast<long long>(data.train.size()));
  ctx.history.truncate_phase(spec.name, start_epoch);
  if (!ctx.out_dir.empty()) std::filesystem::create_directories(ctx.out_dir);

  if (ctx.log) std::fflush(ctx.log);
  auto write_run_checkpoint = [&](int epochs_done, const EpochProgress* progress) {
    io::Checkpoint checkpoint = make_run_checkpoint(ctx, model, optimizer, spec.name, epochs_done);
    if (progress) put_epoch_progress(checkpoint, *progress);
    if (hooks.save_extra) hooks.save_extra(checkpoint);
    io::write_checkpoint(spec.checkpoint_path, checkpoint);
  };
  // Thrown once the state is saved; says where the run stopped and where its state is.
  auto stop = [&](const std::string& position, bool wrote) {
    const int signal = stop_signal();
    const std::string saved = !wrote ? "nothing new to save"
                              : spec.checkpoint_path.empty()
                                  ? "nothing was saved (this run keeps no run checkpoint)"
                                  : "the run state is in " + spec.checkpoint_path;
    throw Interrupted(signal, "stopped by " + signal_name(signal) + " " + position + " of phase '" + spec.name +
                                  "'; " + saved);
  };
  // dist::any: on every process of a data-parallel run alike (the identity with one).
  if (dist::any(stop_requested(), "a stop request")) stop("before epoch " + std::to_string(start_epoch + 1), false);
  for (int epoch = start_epoch; epoch < spec.epochs; ++epoch) {
    const std::string label = spec.name + " " + std::to_string(epoch + 1) + "/" + std::to_string(spec.epochs);
    const EpochProgress fresh;
    const EpochProgress& start = epoch == start_epoch ? within : fresh;
    try {
      const bool synchronized = train.sync_batchnorm;
      const auto sync = synchronize_batch_norm(synchronized);
      result.last_train =
          train_one_epoch(model, loader, optimizer, schedule, epoch, hooks.train, ctx.progress, label, start);
      if (!synchronized) average_buffers(model);  // each process's statistics came from its own part
    } catch (const TrainingDiverged& e) {
      if (spec.checkpoint_path.empty()) throw;
      // For a post-mortem (`prunus info`, `prunus eval`); the run checkpoint,
      // if any, stays the last good state.
      const std::string diverged = (std::filesystem::path(spec.checkpoint_path).parent_path() / "diverged.bin").string();
      io::write_checkpoint(diverged, make_run_checkpoint(ctx, model, optimizer, spec.name, epoch));
      const bool kept = std::filesystem::exists(spec.checkpoint_path);
      throw TrainingDiverged(std::string(e.what()) + "; the model as it stood is in " + diverged +
                             (kept ? ", the last good run state in " + spec.checkpoint_path : ""));
    }
    if (result.last_train.interrupted) {
      const EpochProgress& at = result.last_train.progress;
      if (!spec.checkpoint_path.empty()) write_run_checkpoint(epoch, &at);
      stop("after step " + std::to_string(at.steps) + " of " + std::to_string(loader.batches_per_epoch()) +
           " in epoch " + std::to_string(epoch + 1) + "/" + std::to_string(spec.epochs), true);
    }
    if (data.val.size()) result.last_val = evaluate(model, data.val, batch_size, data.normalization);
    EpochRecord record;
    record.phase = spec.name;
    record.epoch = epoch + 1;
    record.lr = result.last_train.lr_last;  // not the first step: a warm-up epoch starts near 0
    record.train_loss = result.last_train.loss;
    record.train_accuracy = result.last_train.accuracy;
    record.val_loss = result.last_val.loss;
    record.val_accuracy = result.last_val.accuracy;
    record.images_per_second = result.last_train.images_per_second;
    record.seconds = result.last_train.seconds + result.last_val.seconds;
    record.data_wait_seconds = result.last_train.data_wait_seconds;
    if (hooks.end_of_epoch) hooks.end_of_epoch(epoch, record);
    ctx.history.add(record);
    ++result.epochs_run;
    if (ctx.log) {
      std::fprintf(ctx.log,
                   "%s: lr %.4g, train loss %.4f acc %s, val loss %.4f acc %s, %.0f img/s, %.1fs (data wait %.1fs)",
                   label.c_str(), record.lr, record.train_loss, percent(record.train_accuracy).c_str(),
                   record.val_loss, percent(record.val_accuracy).c_str(), record.images_per_second, record.seconds,
                   record.data_wait_seconds);
      if (dist::size() > 1)
        std::fprintf(ctx.log, ", %d processes (communication %.1fs)", dist::size(),
                     result.last_train.communication_seconds);
      if (!std::isnan(record.lambda0))
        std::fprintf(ctx.log, ", lambda0 %.4g, FLOPs -%s", record.lambda0, percent(record.flops_reduction).c_str());
      std::fprintf(ctx.log, "\n");
    }
    if (ctx.log) std::fflush(ctx.log);
    if (!ctx.out_dir.empty())
      io::write_file_atomic((std::filesystem::path(ctx.out_dir) / "log.csv").string(), ctx.history.to_csv());
    const bool stopping = spec.stop_after > 0 && result.epochs_run >= spec.stop_after;
    const bool last = epoch + 1 == spec.epochs || stopping;
    const bool due = spec.checkpoint_every > 0 && (epoch + 1) % spec.checkpoint_every == 0;
    const bool stop_now = dist::any(stop_requested(), "a stop request");  // arrived during validation or the last step
    if (!spec.checkpoint_path.empty() && (last || due || stop_now)) write_run_checkpoint(epoch + 1, nullptr);
    if (stop_now) stop("after epoch " + std::to_string(epoch + 1) + "/" + std::to_string(spec.epochs), true);
    if (stopping) break;
  }
  return result;
}

}  // namespace train
}  // namespace prunus
