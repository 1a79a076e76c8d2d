// CPU inference speed of a model (eval mode, no gradients), measured on real
// batches prepared beforehand so that only the forward passes are timed; and
// the largest difference between two models' outputs on the same batch.
#pragma once
#include <cstdint>

#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/nn/module.h"

namespace prunus {
namespace train {

struct InferenceTiming {
  double images_per_second = 0;
  int64_t images = 0;  // forward-passed while timing
  double seconds = 0;
};

// Up to max_images images of `dataset` in batches of batch_size, one warm-up
// batch, then repeated passes until at least min_seconds have been timed.
InferenceTiming time_inference(nn::Module& model, const data::Dataset& dataset, const data::Augmentation& normalization,
                               int batch_size, int64_t max_images = 1024, double min_seconds = 1.0);

// max |a - b| / max(max |a|, 1e-12) over the eval-mode outputs of both models
// on the first `images` images.
double relative_output_difference(nn::Module& a, nn::Module& b, const data::Dataset& dataset,
                                  const data::Augmentation& normalization, int64_t images = 64);

}  // namespace train
}  // namespace prunus
