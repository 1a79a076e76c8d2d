#include "prunus/train/bn_recalibration.h"

#include <vector>

#include "prunus/autograd.h"
#include "prunus/data/loader.h"
#include "prunus/nn/batchnorm.h"

namespace prunus {
namespace train {

RecalibrationResult recalibrate_batch_norm(nn::Module& model, const data::Dataset& dataset, int batches,
                                           int batch_size, const data::Augmentation& normalization,
                                           uint64_t seed) {
  PRUNUS_CHECK(batches >= 1, "BN recalibration: the number of batches must be at least 1, got ", batches);
  PRUNUS_CHECK(dataset.size() > 0, "BN recalibration: the dataset is empty");
  RecalibrationResult result;
  std::vector<nn::BatchNormBase*> norms;
  for (const auto& [name, module] : model.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNormBase*>(module.get())) norms.push_back(bn);
  if (norms.empty()) return result;
  std::vector<double> momenta;
  for (nn::BatchNormBase* bn : norms) {
    momenta.push_back(bn->momentum);
    bn->running_mean.fill_(0.0);
    bn->running_var.fill_(1.0);
  }
  data::Augmentation aug;
  aug.mean = normalization.mean;
  aug.stddev = normalization.stddev;
  data::Loader loader(dataset, batch_size, /*shuffle=*/true, aug, seed);
  loader.start_epoch(0);
  const bool was_training = model.training();
  model.train();
  NoGradGuard no_grad;
  data::Batch batch;
  try {
    while (result.batches < batches && loader.next(batch)) {
      // Momentum 1/(k+1) at the k-th batch (0-based) makes the running value
      // the plain mean of the k+1 batch statistics seen so far.
      const double momentum = 1.0 / double(result.batches + 1);
      for (nn::BatchNormBase* bn : norms) bn->momentum = momentum;
      model(batch.images);
      ++result.batches;
      result.images += int64_t(batch.labels.size());
    }
  } catch (...) {
    for (size_t i = 0; i < norms.size(); ++i) norms[i]->momentum = momenta[i];
    model.train(was_training);
    throw;
  }
  for (size_t i = 0; i < norms.size(); ++i) norms[i]->momentum = momenta[i];
  model.train(was_training);
  result.batch_norms = int64_t(norms.size());
  return result;
}

}  // namespace train
}  // namespace prunus
