#include "prunus/train/trainer.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <limits>

#include "prunus/autograd.h"
#include "prunus/dist/process_group.h"
#include "prunus/ops.h"
#include "prunus/prune/model_access.h"
#include "prunus/train/data_parallel.h"
#include "prunus/train/stop_request.h"

namespace prunus {
namespace train {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool all_finite(const Tensor& t) {
  const bool cpu_f32 = t.dtype() == DType::F32 && t.device() == Device::CPU;
  const Tensor values = cpu_f32 ? t.detach() : t.detach().to(Device::CPU).to(DType::F32);
  const float* v = values.f32();
  for (int64_t i = 0, n = values.numel(); i < n; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}
}  // namespace

int64_t count_correct(const Tensor& logits, const std::vector<int>& labels) {
  PRUNUS_CHECK(logits.ndim() == 2 && logits.size(0) == static_cast<int64_t>(labels.size()),
               "count_correct: logits ", shape_str(logits.shape()), " do not match ", labels.size(), " labels");
  const bool cpu_f32 = logits.dtype() == DType::F32 && logits.device() == Device::CPU;
  const Tensor values = cpu_f32 ? logits : logits.to(Device::CPU).to(DType::F32);
  const float* v = values.f32();
  const int64_t classes = logits.size(1);
  int64_t correct = 0;
  for (int64_t row = 0; row < logits.size(0); ++row) {
    const float* r = v + row * classes;
    int64_t best = 0;
    for (int64_t k = 1; k < classes; ++k)
      if (r[k] > r[best]) best = k;
    correct += best == labels[row];
  }
  return correct;
}

void DivergenceWatch::add(double loss, int64_t classes) {
  const size_t slot = static_cast<size_t>(seen_++ % kWindow);
  if (recent_.size() < kWindow) recent_.push_back(0);
  recent_[slot] = loss;
  double sum = 0;  // summed afresh: a running sum would drift
  for (double l : recent_) sum += l;
  const double uniform_loss = std::log(static_cast<double>(classes));
  const double mean = sum / static_cast<double>(recent_.size());
  if (recent_.size() == kWindow && mean > kFactor * uniform_loss)
    throw TrainingDiverged(detail::concat_message(
        "training diverged: the mean loss of the last ", kWindow, " steps is ", mean, ", more than ", kFactor,
        "x ln(classes) = ", kFactor * uniform_loss, " (uniform guessing scores ln(classes)); lower the learning rate"));
}

void DivergenceWatch::restore(std::vector<double> recent, int64_t seen) {
  PRUNUS_CHECK(seen >= 0 && recent.size() == static_cast<size_t>(std::min<int64_t>(seen, kWindow)),
               "divergence watch: ", recent.size(), " recent losses do not fit ", seen, " seen");
  recent_ = std::move(recent);
  seen_ = seen;
}

EpochStats train_one_epoch(nn::Module& model, data::Loader& loader, optim::SGD& optimizer,
                           const optim::LrSchedule& schedule, int epoch, const TrainHooks& hooks,
                           ProgressReporter* progress, const std::string& label, const EpochProgress& start) {
  const auto started = std::chrono::steady_clock::now();
  model.train();
  const int64_t steps = loader.batches_per_epoch();
  PRUNUS_CHECK(steps > 0, "train: the training set (", loader.size(), " images) gives no batch of ",
               loader.batch_size(), " images");
  PRUNUS_CHECK(start.steps >= 0 && start.steps < steps, "train: cannot resume epoch ", epoch + 1, " after step ",
               start.steps, "; it has ", steps, " steps");
  const bool distributed = dist::size() > 1;
  const double communication_before = dist::collective_seconds();
  if (distributed) loader.set_shard(dist::rank(), dist::size());
  loader.start_epoch(epoch, start.steps);
  if (progress) progress->start(label, steps);
  EpochProgress now = start;  // the sums so far, continued
  EpochStats stats;
  stats.lr_first = now.lr_first;
  data::Batch batch;
  auto elapsed = [&] { return start.seconds + seconds_since(started); };
  auto data_wait = [&] { return start.data_wait_seconds + loader.wait_seconds(); };
  while (loader.next(batch)) {
    const double lr = schedule.lr_at(epoch, static_cast<int>(now.steps), static_cast<int>(steps));
    if (now.steps == 0) now.lr_first = stats.lr_first = lr;
    stats.lr_last = lr;
    optimizer.set_lr(lr);
    optimizer.zero_grad();
    const int64_t batch_size = static_cast<int64_t>(batch.labels.size());
    const std::string where = "epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(now.steps + 1) +
                              " of " + std::to_string(steps);
    double loss_value = 0;
    bool stop_everywhere = false;
    try {
      Tensor logits = model(batch.images);
      const bool finite = all_finite(logits);
      Tensor loss;
      StepTotals totals;  // over every process of a data-parallel run (data_parallel.h)
      if (distributed) {
        double local_loss = 0;
        int64_t local_correct = 0;
        if (finite) {
          loss = ops::cross_entropy(logits, batch.labels);
          local_loss = loss.item();
          local_correct = count_correct(logits, batch.labels);
        }
        totals = step_totals(local_loss, batch_size, local_correct, finite, stop_requested());
        PRUNUS_CHECK(totals.images == batch.global_size, "data-parallel: the processes' batches hold ",
                     totals.images, " images, expected ", batch.global_size, " (different data on each process?)");
        stop_everywhere = totals.stop;
      }
      if (!(distributed ? totals.outputs_finite : finite))
        throw TrainingDiverged("the model's outputs hold NaN or Inf; lower the learning rate or check the data");
      if (!distributed) loss = ops::cross_entropy(logits, batch.labels);
      loss_value = distributed ? totals.loss_sum / double(totals.images) : loss.item();
      if (!std::isfinite(loss_value))
        throw TrainingDiverged(detail::concat_message("the loss is ", loss_value,
                                                      "; lower the learning rate or check the data"));
      now.divergence.add(loss_value, logits.shape()[1]);
      now.correct += distributed ? totals.correct : count_correct(logits, batch.labels);
      // Each process's share of the global batch's mean loss; summing the gradients completes it.
      if (distributed)
        loss = ops::mul(loss, Tensor::full({1}, float(double(batch_size) / double(batch.global_size))));
      loss.backward();
      sum_gradients(optimizer);
    } catch (const TrainingDiverged& e) {
      throw TrainingDiverged(detail::concat_message("training stopped at ", where, " (lr ", lr, "): ", e.what()));
    } catch (const dist::Timeout&) {
      throw;
    } catch (const Error& e) {
      PRUNUS_FAIL("training stopped at ", where, " (lr ", lr, "): ", e.what());
    }
    optimizer.step();
    now.loss_sum += loss_value * static_cast<double>(batch.global_size);
    now.images += batch.global_size;
    ++now.steps;
    if (hooks.after_step) hooks.after_step({epoch, now.steps - 1, steps, batch.global_size, loss_value, lr});
    if (progress) {
      ProgressSnapshot s;
      s.steps_done = now.steps;
      s.loss = now.loss_sum / static_cast<double>(now.images);
      s.accuracy = static_cast<double>(now.correct) / static_cast<double>(now.images);
      s.images = now.images;
      s.seconds = elapsed();
      s.data_wait_seconds = data_wait();
      progress->update(s);
    }
    if ((distributed ? stop_everywhere : stop_requested()) && now.steps < steps) {
      stats.interrupted = true;
      break;
    }
  }
  if (progress) progress->finish();
  optimizer.zero_grad();  // frees the last gradients before evaluation
  now.seconds = elapsed();
  now.data_wait_seconds = data_wait();
  stats.steps = now.steps;
  stats.images = now.images;
  stats.loss = now.loss_sum / static_cast<double>(now.images);
  stats.accuracy = static_cast<double>(now.correct) / static_cast<double>(now.images);
  stats.seconds = now.seconds;
  stats.images_per_second = stats.seconds > 0 ? static_cast<double>(stats.images) / stats.seconds : 0.0;
  stats.data_wait_seconds = now.data_wait_seconds;
  stats.communication_seconds = dist::collective_seconds() - communication_before;
  stats.progress = now;
  if (stats.interrupted) return stats;
  if (hooks.after_epoch) hooks.after_epoch(epoch, stats);
  return stats;
}

EvalResult evaluate(nn::Module& model, const data::Dataset& dataset, int batch_size,
                    const data::Augmentation& normalization) {
  EvalResult result;
  if (dataset.size() == 0) {
    result.loss = result.accuracy = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  const auto start = std::chrono::steady_clock::now();
  data::Augmentation aug;
  aug.mean = normalization.mean;
  aug.stddev = normalization.stddev;
  prune::EvalModeScope eval_mode(model);
  NoGradGuard no_grad;
  data::Loader loader(dataset, batch_size, /*shuffle=*/false, aug, /*seed=*/0);
  loader.start_epoch(0);
  data::Batch batch;
  double loss_sum = 0;
  int64_t correct = 0;
  while (loader.next(batch)) {
    Tensor logits = model(batch.images);
    const double loss = ops::cross_entropy(logits, batch.labels).item();
    loss_sum += loss * static_cast<double>(batch.labels.size());
    correct += count_correct(logits, batch.labels);
    result.images += static_cast<int64_t>(batch.labels.size());
  }
  result.loss = loss_sum / static_cast<double>(result.images);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.images);
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace train
}  // namespace prunus
