// Training-time augmentation of one uint8 CHW image into float CHW:
// zero-padded random crop, horizontal flip, then x/255 and per-channel
// (x - mean) / stddev. The padding is black (pixel value 0) before
// normalization, as in torchvision's RandomCrop(padding=4).
// The random choices for a sample come from an Rng seeded by
// (seed, epoch, position in the epoch), so they never depend on threads.
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/rng.h"

namespace prunus {
namespace data {

struct Augmentation {
  bool random_crop = false;
  int pad = 4;
  bool horizontal_flip = false;
  std::vector<float> mean, stddev;  // empty (= 0 and 1), or one per channel
};

// The random part of one augmentation: the crop window's shift against the
// image (each in [-pad, pad]; 0,0 = centred, no shift) and whether to mirror.
struct AugmentChoice {
  int shift_y = 0, shift_x = 0;
  bool flip = false;
};

// Throws Error unless pad >= 0 and mean/stddev are empty or have `channels`
// entries with stddev > 0.
void validate(const Augmentation& aug, int channels);

// Seed of the Rng for the sample at `position` of epoch `epoch`.
uint64_t sample_seed(uint64_t seed, int epoch, int64_t position);

// Draws the choice in a fixed order (crop y, crop x, flip); an identity
// choice when the augmentation is off.
AugmentChoice draw_choice(const Augmentation& aug, Rng& rng);

// out[c][y][x] = normalize(in[c][y + shift_y][x' + shift_x]) with x' = W-1-x
// when flipped and x' = x otherwise; pixels outside the image count as 0.
// `in` and `out` hold channels*height*width values.
void augment_image(const uint8_t* in, int channels, int height, int width, const Augmentation& aug,
                   const AugmentChoice& choice, float* out);

}  // namespace data
}  // namespace prunus
