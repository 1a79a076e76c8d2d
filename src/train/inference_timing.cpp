#include "prunus/train/inference_timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/data/loader.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace train {

namespace {

std::vector<Tensor> prepared_batches(const data::Dataset& dataset, const data::Augmentation& normalization,
                                     int batch_size, int64_t max_images) {
  PRUNUS_CHECK(dataset.size() > 0, "inference timing: dataset '", dataset.name, "' is empty");
  const data::Dataset part = data::subset(dataset, 0, std::min(dataset.size(), max_images));
  data::Augmentation aug;
  aug.mean = normalization.mean;
  aug.stddev = normalization.stddev;
  data::Loader loader(part, batch_size, false, aug, 0);
  loader.start_epoch(0);
  std::vector<Tensor> batches;
  data::Batch batch;
  while (loader.next(batch)) batches.push_back(batch.images);
  return batches;
}

}  // namespace

InferenceTiming time_inference(nn::Module& model, const data::Dataset& dataset, const data::Augmentation& normalization,
                               int batch_size, int64_t max_images, double min_seconds) {
  const std::vector<Tensor> batches = prepared_batches(dataset, normalization, batch_size, max_images);
  prune::EvalModeScope eval_mode(model);
  NoGradGuard no_grad;
  model(batches.front());  // warm-up: workspaces, caches
  InferenceTiming timing;
  const auto start = std::chrono::steady_clock::now();
  do {
    for (const Tensor& images : batches) {
      model(images);
      timing.images += images.size(0);
    }
    timing.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (timing.seconds < min_seconds);
  timing.images_per_second = static_cast<double>(timing.images) / timing.seconds;
  return timing;
}

double relative_output_difference(nn::Module& a, nn::Module& b, const data::Dataset& dataset,
                                  const data::Augmentation& normalization, int64_t images) {
  const std::vector<Tensor> batches = prepared_batches(dataset, normalization, static_cast<int>(images), images);
  prune::EvalModeScope eval_a(a), eval_b(b);
  NoGradGuard no_grad;
  const std::vector<float> ya = a(batches.front()).to_vector(), yb = b(batches.front()).to_vector();
  PRUNUS_CHECK(ya.size() == yb.size(), "the two models give outputs of different sizes (", ya.size(), " and ",
               yb.size(), ")");
  double largest = 0, difference = 0;
  for (size_t i = 0; i < ya.size(); ++i) {
    largest = std::max(largest, std::fabs(double(ya[i])));
    difference = std::max(difference, std::fabs(double(ya[i]) - double(yb[i])));
  }
  return difference / std::max(largest, 1e-12);
}

}  // namespace train
}  // namespace prunus
