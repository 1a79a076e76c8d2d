// BN recalibration: after a structural change (gates zeroed, filters removed,
// stripes masked) every BatchNorm's running statistics describe a network
// that no longer exists. They are recomputed here from training batches: the
// running mean and variance are reset and replaced by the plain average of
// the per-batch statistics over `batches` batches (PyTorch's momentum=None),
// in train mode without gradients. Nothing else in the model changes.
#pragma once
#include <cstdint>

#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/nn/module.h"

namespace prunus {
namespace train {

struct RecalibrationResult {
  int64_t batch_norms = 0;  // BN layers recalibrated
  int64_t batches = 0, images = 0;
};

// Uses the first `batches` batches of a seeded shuffle of `dataset`, with
// only `normalization`'s mean/stddev applied (no crop or flip: the statistics
// should be those of the images the model is evaluated on). A model without
// BN is left alone. Throws Error for batches < 1 or an empty dataset.
RecalibrationResult recalibrate_batch_norm(nn::Module& model, const data::Dataset& dataset, int batches,
                                           int batch_size, const data::Augmentation& normalization,
                                           uint64_t seed);

}  // namespace train
}  // namespace prunus
