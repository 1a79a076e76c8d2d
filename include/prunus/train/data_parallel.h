// What data-parallel training adds to a training step (dist/process_group.h
// holds the processes; data::Loader::set_shard gives each its part of every
// batch). Every process holds the same model: the same initialization (same
// seed) and, step after step, the same summed gradients, so the optimizer,
// the regularizer, the FLOPs controller and every prune event decide alike
// everywhere without further messages. With one process all of this is the
// identity, and training is exactly the single-process code.
#pragma once
#include <cstdint>
#include <memory>

#include "prunus/nn/module.h"
#include "prunus/ops.h"
#include "prunus/optim/sgd.h"

namespace prunus {
namespace train {

// One step's figures over every process.
struct StepTotals {
  double loss_sum = 0;        // sum over the global batch of the per-image loss
  int64_t correct = 0;
  int64_t images = 0;
  bool outputs_finite = true;  // no process saw NaN or Inf in its outputs
  bool stop = false;           // some process was asked to stop (stop_request.h)
};

// Sums a process's own figures over the run (a collective).
StepTotals step_totals(double local_mean_loss, int64_t local_images, int64_t local_correct, bool outputs_finite,
                       bool stop_requested);

// Sums every parameter gradient over the processes in one all-reduce. Each
// process back-propagated its loss weighted by its share of the global batch
// (local images / global images), so the sum is the gradient of the
// global batch's mean loss, as one process would compute it.
void sum_gradients(const optim::SGD& optimizer);

// Averages every buffer (batch norm's running statistics) over the processes:
// after an epoch of unsynchronized batch norm, where each process's statistics
// come from its own part of the data.
void average_buffers(nn::Module& model);

// Synchronized batch norm for the lifetime of the returned object when the
// run has several processes and `synchronize` is set; null otherwise.
std::unique_ptr<ops::SynchronizedBatchNorm> synchronize_batch_norm(bool synchronize);

}  // namespace train
}  // namespace prunus
