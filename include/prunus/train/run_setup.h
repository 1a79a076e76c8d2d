// Building the pieces of a run from its settings: thread count, model,
// optimizer, learning-rate schedule and the seeds of each phase.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "prunus/nn/module.h"
#include "prunus/optim/lr_schedule.h"
#include "prunus/optim/sgd.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/run_settings.h"

namespace prunus {
namespace train {

// omp_set_num_threads(train.threads) when it is > 0; returns the threads in use.
int configure_threads(const TrainSettings& train);

// Throws unless train.device can be used by this build (CPU training only for now).
void check_device(const TrainSettings& train);

// model.num_classes, or the dataset's class count when it is 0 (and an Error
// when the configured count is smaller than the labels need).
int model_num_classes(const ModelSettings& model, const DataSplits& data);

// models::make_model(model.arch, classes, C, H, train.seed) for the data's images
// (or model.architecture_from's architecture, freshly initialized from train.seed).
std::shared_ptr<nn::Module> build_model(const RunSettings& settings, const DataSplits& data);

// The [train] schedule (train.schedule, train.milestones as fractions of
// `epochs`, train.gamma) with base_lr; train.warmup_epochs only when `warmup`.
// Milestone fractions that round to the same epoch (or to epoch 0) merge.
optim::LrSchedule make_schedule(const TrainSettings& train, double base_lr, int epochs, bool warmup);

// SGD with train.momentum, train.nesterov and train.weight_decay; the pruning
// gates (if any) form a second group without weight decay.
std::unique_ptr<optim::SGD> make_optimizer(nn::Module& model, const TrainSettings& train, double lr);

// The loader seed of a phase: derived from train.seed and the phase name so
// each phase sees its own order; the loader derives each epoch's from it.
uint64_t phase_seed(uint64_t seed, const std::string& phase);

}  // namespace train
}  // namespace prunus
