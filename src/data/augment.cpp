#include "prunus/data/augment.h"

#include "prunus/error.h"

namespace prunus {
namespace data {

void validate(const Augmentation& aug, int channels) {
  PRUNUS_CHECK(aug.pad >= 0, "augmentation: pad is ", aug.pad, ", expected >= 0");
  PRUNUS_CHECK(aug.mean.size() == aug.stddev.size(), "augmentation: ", aug.mean.size(),
               " mean values but ", aug.stddev.size(), " stddev values, expected the same count");
  PRUNUS_CHECK(aug.mean.empty() || int(aug.mean.size()) == channels, "augmentation: ",
               aug.mean.size(), " mean/stddev values for images with ", channels,
               " channels, expected one per channel (or none)");
  for (size_t c = 0; c < aug.stddev.size(); ++c)
    PRUNUS_CHECK(aug.stddev[c] > 0, "augmentation: stddev of channel ", c, " is ", aug.stddev[c],
                 ", expected > 0");
}

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t sample_seed(uint64_t seed, int epoch, int64_t position) {
  // Distinct constants keep this stream apart from the shuffle's (seed, epoch) stream.
  uint64_t h = mix64(seed + 0x61756720736d706cULL);
  h = mix64(h ^ (uint64_t(uint32_t(epoch)) + 0x9e3779b97f4a7c15ULL));
  return mix64(h ^ (uint64_t(position) + 0x632be59bd9b4e019ULL));
}

AugmentChoice draw_choice(const Augmentation& aug, Rng& rng) {
  AugmentChoice choice;
  if (aug.random_crop && aug.pad > 0) {
    const uint64_t span = 2 * uint64_t(aug.pad) + 1;
    choice.shift_y = int(rng.below(span)) - aug.pad;
    choice.shift_x = int(rng.below(span)) - aug.pad;
  }
  if (aug.horizontal_flip) choice.flip = rng.below(2) == 1;
  return choice;
}

void augment_image(const uint8_t* in, int channels, int height, int width, const Augmentation& aug,
                   const AugmentChoice& choice, float* out) {
  for (int c = 0; c < channels; ++c) {
    const float mean = aug.mean.empty() ? 0.0f : aug.mean[c];
    const float stddev = aug.stddev.empty() ? 1.0f : aug.stddev[c];
    const float padding_value = (0.0f - mean) / stddev;
    const uint8_t* plane = in + int64_t(c) * height * width;
    float* out_plane = out + int64_t(c) * height * width;
    for (int y = 0; y < height; ++y) {
      const int source_y = y + choice.shift_y;
      float* out_row = out_plane + int64_t(y) * width;
      if (source_y < 0 || source_y >= height) {
        for (int x = 0; x < width; ++x) out_row[x] = padding_value;
        continue;
      }
      const uint8_t* row = plane + int64_t(source_y) * width;
      for (int x = 0; x < width; ++x) {
        const int source_x = (choice.flip ? width - 1 - x : x) + choice.shift_x;
        out_row[x] = source_x < 0 || source_x >= width
                         ? padding_value
                         : (float(row[source_x]) / 255.0f - mean) / stddev;
      }
    }
  }
}

}  // namespace data
}  // namespace prunus
