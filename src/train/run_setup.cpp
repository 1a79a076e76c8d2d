#include "prunus/train/run_setup.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "prunus/models/zoo.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/gates.h"
#include "prunus/train/run_checkpoint.h"

namespace prunus {
namespace train {

int configure_threads(const TrainSettings& train) {
  if (train.threads > 0) omp_set_num_threads(train.threads);
  return omp_get_max_threads();
}

void check_device(const TrainSettings& train) {
  PRUNUS_CHECK(train.device == Device::Cpu, "train.device = ", device_name(train.device),
               ": the trainer runs on the CPU only for now; set train.device = cpu (or pass --device cpu)");
}

int model_num_classes(const ModelSettings& model, const DataSplits& data) {
  const int configured = model.num_classes;
  if (configured == 0) return data.num_classes;
  PRUNUS_CHECK(configured >= data.num_classes, "model.num_classes = ", configured, " but the data has labels up to ",
               data.num_classes - 1, "; set model.num_classes >= ", data.num_classes, " or 0 (from the data)");
  return configured;
}

std::shared_ptr<nn::Module> build_model(const RunSettings& settings, const DataSplits& data) {
  const Shape shape = data.input_shape();
  PRUNUS_CHECK(shape[1] == shape[2], "the images are ", shape[1], "x", shape[2], "; the models expect square images");
  const std::string& from = settings.model.architecture_from;
  if (!from.empty()) {
    const io::Checkpoint checkpoint = io::read_checkpoint(from);
    PRUNUS_CHECK(checkpoint_input_shape(checkpoint) == shape, "model.architecture_from ", from, " holds a model for ",
                 shape_str(checkpoint_input_shape(checkpoint)), " images, but the data has ", shape_str(shape));
    return prune::fresh_copy(*load_model(checkpoint), settings.train.seed);
  }
  return models::make_model(settings.model.arch, model_num_classes(settings.model, data), static_cast<int>(shape[0]),
                            static_cast<int>(shape[1]), settings.train.seed);
}

optim::LrSchedule make_schedule(const TrainSettings& train, double base_lr, int epochs, bool warmup) {
  const int warmup_epochs = warmup ? train.warmup_epochs : 0;
  if (train.schedule == ScheduleKind::Cosine) {
    PRUNUS_CHECK(epochs > warmup_epochs, "train.warmup_epochs = ", warmup_epochs,
                 " leaves no epoch for the cosine schedule of a ", epochs, "-epoch phase; use fewer warm-up epochs");
    return optim::LrSchedule::cosine(base_lr, epochs, warmup_epochs);
  }
  std::vector<int> milestones;
  for (double fraction : train.milestones) {
    const int epoch = static_cast<int>(std::floor(fraction * epochs));
    if (epoch >= 1 && (milestones.empty() || epoch > milestones.back())) milestones.push_back(epoch);
  }
  return optim::LrSchedule::multistep(base_lr, milestones, train.gamma, warmup_epochs);
}

std::unique_ptr<optim::SGD> make_optimizer(nn::Module& model, const TrainSettings& train, double lr) {
  auto groups = prune::parameter_groups(model, train.weight_decay, train.momentum, train.nesterov);
  return std::make_unique<optim::SGD>(std::move(groups), lr);
}

uint64_t phase_seed(uint64_t seed, const std::string& phase) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the phase name, mixed with the seed
  for (unsigned char c : phase) h = (h ^ c) * 1099511628211ull;
  return h ^ (seed * 0x9E3779B97F4A7C15ull);
}

}  // namespace train
}  // namespace prunus
