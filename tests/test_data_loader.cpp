// Data tests, part 2: augmentation and the prefetching Loader.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "data_test_helpers.h"
#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/data/loader.h"
#include "prunus/error.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::data;
using namespace data_test;

namespace {

std::vector<int> epoch_labels(Loader& loader, int epoch, std::vector<int64_t>* batch_sizes = nullptr) {
  loader.start_epoch(epoch);
  std::vector<int> labels;
  Batch batch;
  while (loader.next(batch)) {
    if (batch_sizes) batch_sizes->push_back(batch.images.size(0));
    labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
  }
  return labels;
}

std::vector<std::vector<float>> epoch_images(Loader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<float>> images;
  Batch batch;
  while (loader.next(batch)) images.push_back(batch.images.to_vector());
  return images;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("augmentation: flip mirrors, shifts pad with black, normalization per channel") {
    // Hand-computed: one row [10, 20, 30], mean 0.1, stddev 0.5.
    Augmentation aug;
    aug.mean = {0.1f};
    aug.stddev = {0.5f};
    const Bytes row = {10, 20, 30};
    auto norm = [](float v) { return (v / 255.0f - 0.1f) / 0.5f; };
    float out[3];
    augment_image(row.data(), 1, 1, 3, aug, AugmentChoice{0, 0, true}, out);
    CHECK(out[0] == doctest::Approx(norm(30)));
    CHECK(out[2] == doctest::Approx(norm(10)));
    augment_image(row.data(), 1, 1, 3, aug, AugmentChoice{0, 1, false}, out);
    CHECK(out[0] == doctest::Approx(norm(20)));
    CHECK(out[1] == doctest::Approx(norm(30)));
    CHECK(out[2] == doctest::Approx(norm(0)));

    // Random 3x7x9 image against an explicit pad -> crop -> mirror -> normalize.
    Rng rng(18);
    const int C = 3, H = 7, W = 9, pad = 4;
    const Bytes image = random_bytes(C * H * W, rng);
    aug = Augmentation{true, pad, true, {0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
    for (const AugmentChoice choice : {AugmentChoice{-4, 3, true}, AugmentChoice{2, -1, false},
                                       AugmentChoice{0, 0, false}, AugmentChoice{4, -4, true}}) {
      CAPTURE(choice.shift_y);
      CAPTURE(choice.shift_x);
      std::vector<float> got(C * H * W);
      augment_image(image.data(), C, H, W, aug, choice, got.data());
      const int PH = H + 2 * pad, PW = W + 2 * pad;
      Bytes padded(size_t(C) * PH * PW, 0);
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) padded[(c * PH + y + pad) * PW + x + pad] = image[(c * H + y) * W + x];
      int mismatches = 0;
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            const int crop_x = choice.flip ? W - 1 - x : x;
            const float v = padded[(c * PH + y + pad + choice.shift_y) * PW + crop_x + pad + choice.shift_x];
            const float want = (v / 255.0f - aug.mean[c]) / aug.stddev[c];
            if (std::abs(got[(c * H + y) * W + x] - want) > 1e-5f) ++mismatches;
          }
      CHECK(mismatches == 0);
    }
  }

  TEST_CASE("augmentation: choices depend only on the seed and cover the allowed range") {
    Augmentation aug{true, 4, true, {}, {}};
    std::set<int> shifts_y, shifts_x;
    int flips = 0;
    for (int position = 0; position < 400; ++position) {
      Rng a(sample_seed(7, 2, position)), b(sample_seed(7, 2, position));
      const AugmentChoice first = draw_choice(aug, a), second = draw_choice(aug, b);
      CHECK(first.shift_y == second.shift_y);
      CHECK(first.shift_x == second.shift_x);
      CHECK(first.flip == second.flip);
      shifts_y.insert(first.shift_y);
      shifts_x.insert(first.shift_x);
      flips += first.flip;
    }
    CHECK(shifts_y == std::set<int>{-4, -3, -2, -1, 0, 1, 2, 3, 4});
    CHECK(shifts_x == shifts_y);
    CHECK(flips > 150);
    CHECK(flips < 250);
    CHECK(sample_seed(7, 2, 5) != sample_seed(7, 3, 5));
    CHECK(sample_seed(7, 2, 5) != sample_seed(8, 2, 5));
    CHECK(sample_seed(7, 2, 5) != sample_seed(7, 2, 6));

    Rng rng(1);
    const AugmentChoice none = draw_choice(Augmentation{}, rng);
    CHECK(none.shift_y == 0);
    CHECK(none.shift_x == 0);
    CHECK_FALSE(none.flip);

    CHECK_THROWS_WITH_AS(validate(Augmentation{false, 4, false, {0.5f}, {0.5f}}, 3),
                         contains("1 mean/stddev values for images with 3 channels"), Error);
    CHECK_THROWS_AS(validate(Augmentation{false, 4, false, {0.5f}, {0.0f}}, 1), Error);
    CHECK_THROWS_AS(validate(Augmentation{false, -1, false, {}, {}}, 1), Error);
    CHECK_THROWS_AS(validate(Augmentation{false, 4, false, {0.5f, 0.5f}, {0.5f}}, 2), Error);
  }

  TEST_CASE("loader: every index once per epoch, orders depend on (seed, epoch), batch sizes, drop_last") {
    const Dataset d = numbered_dataset(23, 3, 5, 7);
    Loader loader(d, 5, /*shuffle=*/true, Augmentation{}, /*seed=*/42);
    CHECK(loader.batches_per_epoch() == 5);
    std::vector<int64_t> sizes;
    const std::vector<int> epoch0 = epoch_labels(loader, 0, &sizes);
    CHECK(sizes == std::vector<int64_t>{5, 5, 5, 5, 3});
    CHECK(loader.wait_seconds() >= 0.0);
    std::vector<int> sorted = epoch0;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> all(23);
    for (int i = 0; i < 23; ++i) all[i] = i;
    CHECK(sorted == all);
    CHECK(epoch0 != all);
    const std::vector<int64_t> order = epoch_order(23, true, 42, 0);
    CHECK(std::vector<int>(order.begin(), order.end()) == epoch0);

    const std::vector<int> epoch1 = epoch_labels(loader, 1);
    CHECK(epoch1 != epoch0);
    sorted = epoch1;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == all);
    CHECK(epoch_labels(loader, 0) == epoch0);  // restartable: epoch 0 again

    Loader same_seed(d, 4, true, Augmentation{}, 42);
    CHECK(epoch_labels(same_seed, 1) == epoch1);
    Loader other_seed(d, 5, true, Augmentation{}, 43);
    CHECK(epoch_labels(other_seed, 0) != epoch0);
    Loader in_order(d, 5, false, Augmentation{}, 42);
    CHECK(epoch_labels(in_order, 3) == all);

    Loader dropping(d, 5, true, Augmentation{}, 42, /*drop_last=*/true);
    CHECK(dropping.batches_per_epoch() == 4);
    sizes.clear();
    const std::vector<int> dropped = epoch_labels(dropping, 0, &sizes);
    CHECK(sizes == std::vector<int64_t>{5, 5, 5, 5});
    CHECK(std::set<int>(dropped.begin(), dropped.end()).size() == 20);
    CHECK(dropped == std::vector<int>(epoch0.begin(), epoch0.begin() + 20));
    Batch batch;
    CHECK_FALSE(dropping.next(batch));  // stays at the end
  }

  TEST_CASE("loader: batch tensors hold the normalized images of their labels") {
    const Dataset d = numbered_dataset(9, 2, 3, 4);
    Augmentation aug;
    aug.mean = {0.5f, 0.25f};
    aug.stddev = {2.0f, 0.5f};
    Loader loader(d, 4, true, aug, 3);
    loader.start_epoch(0);
    Batch batch;
    int mismatches = 0, images = 0;
    while (loader.next(batch)) {
      REQUIRE(batch.images.shape() == Shape{int64_t(batch.labels.size()), 2, 3, 4});
      CHECK(batch.images.dtype() == DType::F32);
      const std::vector<float> values = batch.images.to_vector();
      for (size_t b = 0; b < batch.labels.size(); ++b, ++images)
        for (int c = 0; c < 2; ++c)
          for (int p = 0; p < 12; ++p) {
            const float want = (batch.labels[b] / 255.0f - aug.mean[c]) / aug.stddev[c];
            if (std::abs(values[(b * 2 + c) * 12 + p] - want) > 1e-6f) ++mismatches;
          }
    }
    CHECK(images == 9);
    CHECK(mismatches == 0);
  }

  TEST_CASE("loader: augmented epochs are reproducible and differ between epochs") {
    Rng rng(19);
    Dataset d;
    d.name = "random";
    d.channels = 3;
    d.height = 7;
    d.width = 9;
    d.num_classes = 4;
    for (int i = 0; i < 13; ++i) d.labels.push_back(int(rng.below(4)));
    d.pixels = random_bytes(13 * 3 * 7 * 9, rng);
    const Augmentation aug{true, 2, true, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
    Loader a(d, 3, true, aug, 5), b(d, 3, true, aug, 5);
    const auto a0 = epoch_images(a, 0), a1 = epoch_images(a, 1);
    CHECK(epoch_images(b, 0) == a0);
    CHECK(epoch_images(b, 1) == a1);
    CHECK(a0 != a1);
    CHECK(epoch_images(a, 0) == a0);
    // A different batch size regroups the same samples with the same augmentation.
    Loader c(d, 13, true, aug, 5);
    const auto c0 = epoch_images(c, 0);
    std::vector<float> flat_a0;
    for (const auto& batch : a0) flat_a0.insert(flat_a0.end(), batch.begin(), batch.end());
    CHECK(c0.size() == 1);
    CHECK(c0[0] == flat_a0);
  }

  TEST_CASE("loader: stopping mid-epoch, restarting and errors") {
    const Dataset d = numbered_dataset(200, 3, 8, 8);
    {
      Loader loader(d, 2, true, Augmentation{true, 4, true, {}, {}}, 1);
      loader.start_epoch(0);
      Batch batch;
      REQUIRE(loader.next(batch));
      loader.start_epoch(1);  // abandons epoch 0
      int batches = 0;
      while (loader.next(batch)) ++batches;
      CHECK(batches == 100);
      loader.start_epoch(2);
      REQUIRE(loader.next(batch));
    }  // destroyed mid-epoch with a full prefetch queue: must not hang
    {
      Loader never_started(d, 2, false, Augmentation{}, 1);
      Batch batch;
      CHECK_THROWS_WITH_AS(never_started.next(batch), contains("start_epoch"), Error);
    }

    // An error in the worker reaches the caller through next().
    Dataset shrinking = numbered_dataset(10, 1, 2, 2);
    Loader loader(shrinking, 3, false, Augmentation{}, 1);
    shrinking.labels.pop_back();
    loader.start_epoch(0);
    Batch batch;
    CHECK_THROWS_WITH_AS(loader.next(batch), contains("dataset 'numbered' changed"), Error);
    CHECK_FALSE(loader.next(batch));

    CHECK_THROWS_AS(Loader(d, 0, true, Augmentation{}, 1), Error);
    CHECK_THROWS_AS(Loader(d, 201, true, Augmentation{}, 1, /*drop_last=*/true), Error);
    CHECK_THROWS_WITH_AS(Loader(d, 4, true, Augmentation{false, 4, false, {0.5f}, {0.5f}}, 1),
                         contains("channels"), Error);
    Dataset bad_label = numbered_dataset(5, 1, 2, 2);
    bad_label.labels[3] = 9;
    CHECK_THROWS_WITH_AS(Loader(bad_label, 2, true, Augmentation{}, 1), contains("label 9 of image 3"), Error);
  }
}
