#include "prunus/train/data_parallel.h"

#include <vector>

#include "prunus/dist/process_group.h"

namespace prunus {
namespace train {

StepTotals step_totals(double local_mean_loss, int64_t local_images, int64_t local_correct, bool outputs_finite,
                       bool stop_requested) {
  double figures[5] = {outputs_finite ? local_mean_loss * double(local_images) : 0.0, double(local_correct),
                       double(local_images), outputs_finite ? 0.0 : 1.0, stop_requested ? 1.0 : 0.0};
  dist::sum(figures, 5, "the step's loss and accuracy");
  StepTotals t;
  t.loss_sum = figures[0];
  t.correct = int64_t(figures[1]);
  t.images = int64_t(figures[2]);
  t.outputs_finite = figures[3] == 0;
  t.stop = figures[4] > 0;
  return t;
}

void sum_gradients(const optim::SGD& optimizer) {
  if (dist::size() == 1) return;
  std::vector<Tensor> grads;
  int64_t total = 0;
  for (const optim::ParamGroup& group : optimizer.groups())
    for (const Tensor& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;  // unused in this step: alike on every process
      PRUNUS_CHECK(g.dtype() == DType::F32 && g.device() == Device::CPU,
                   "data-parallel training: gradients must be float32 CPU tensors, got ",
                   dtype_name(g.dtype()), " of shape ", shape_str(g.shape()));
      total += g.numel();
      grads.push_back(g);
    }
  std::vector<float> packed(static_cast<size_t>(total));
  int64_t at = 0;
  for (const Tensor& g : grads) {
    std::copy(g.f32(), g.f32() + g.numel(), packed.data() + at);
    at += g.numel();
  }
  dist::sum(packed.data(), total, "the gradients");
  at = 0;
  for (Tensor& g : grads) {
    std::copy(packed.data() + at, packed.data() + at + g.numel(), g.f32());
    at += g.numel();
  }
}

void average_buffers(nn::Module& model) {
  if (dist::size() == 1) return;
  for (auto& [name, buffer] : model.named_buffers()) {
    if (buffer.dtype() != DType::F32) continue;
    std::vector<double> values(buffer.f32(), buffer.f32() + buffer.numel());
    dist::sum(values.data(), int64_t(values.size()), "the running statistics");
    float* out = buffer.f32();
    for (size_t i = 0; i < values.size(); ++i) out[i] = float(values[i] / dist::size());
  }
}

std::unique_ptr<ops::SynchronizedBatchNorm> synchronize_batch_norm(bool synchronize) {
  if (!synchronize || dist::size() == 1) return nullptr;
  return std::make_unique<ops::SynchronizedBatchNorm>(
      [](double* values, int64_t n) { dist::sum(values, n, "batch-norm statistics"); });
}

}  // namespace train
}  // namespace prunus
