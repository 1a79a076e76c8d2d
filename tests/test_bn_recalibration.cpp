// BN recalibration replaces every BN's running statistics by the plain
// average of per-batch statistics over the requested training batches, and
// leaves the rest of the model (weights, momentum, train/eval mode) alone.
#include <doctest/doctest.h>

#include <cmath>

#include "prunus/autograd.h"
#include "prunus/data/loader.h"
#include "prunus/nn/layers.h"
#include "prunus/ops.h"
#include "prunus/rng.h"
#include "prunus/train/bn_recalibration.h"
#include "prunus/train/data_setup.h"

using namespace prunus;

namespace {

data::Dataset random_images(int64_t n, int size, uint64_t seed) {
  data::Dataset d;
  d.name = "random";
  d.channels = 1;
  d.height = d.width = size;
  d.num_classes = 2;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    d.labels.push_back(int(rng.below(2)));
    for (int p = 0; p < size * size; ++p) d.pixels.push_back(uint8_t(rng.below(256)));
  }
  return d;
}

class ConvBn : public nn::Module {
 public:
  ConvBn() {
    nn::InitSeedScope seed(3);
    register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1, /*bias=*/true));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(4, /*momentum=*/0.3));
  }
  Tensor forward(const Tensor& x) override { return child("bn")(child("conv")(x)); }
  std::string type_name() const override { return "ConvBn"; }
  nn::BatchNorm2d& bn() { return static_cast<nn::BatchNorm2d&>(child("bn")); }
};

// Per-channel mean and unbiased variance of the conv's output on all images.
void conv_statistics(ConvBn& model, const data::Dataset& d, const data::Augmentation& norm,
                     std::vector<double>& mean, std::vector<double>& var) {
  data::Loader loader(d, int(d.size()), /*shuffle=*/false, norm, 0);
  loader.start_epoch(0);
  data::Batch batch;
  REQUIRE(loader.next(batch));
  NoGradGuard no_grad;
  const Tensor y = model.child("conv")(batch.images);
  const int64_t N = y.size(0), C = y.size(1), P = y.size(2) * y.size(3);
  mean.assign(C, 0.0);
  var.assign(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, squares = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p) sum += y.f32()[(n * C + c) * P + p];
    mean[c] = sum / double(N * P);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p) {
        const double e = y.f32()[(n * C + c) * P + p] - mean[c];
        squares += e * e;
      }
    var[c] = squares / double(N * P - 1);
  }
}

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("BN recalibration: running statistics become the average of the batches' statistics") {
    const data::Dataset d = random_images(36, 7, 5);
    const data::Augmentation norm = train::normalization_for("synthetic", 1);
    ConvBn model;
    {
      NoGradGuard no_grad;
      model.bn().running_mean.fill_(5.0);  // stale statistics, to be forgotten
      model.bn().running_var.fill_(9.0);
    }
    model.eval();
    std::vector<double> mean, var;
    conv_statistics(model, d, norm, mean, var);

    // One batch holding every image: exactly the data's statistics.
    auto r = train::recalibrate_batch_norm(model, d, 1, 36, norm, 11);
    CHECK(r.batch_norms == 1);
    CHECK(r.batches == 1);
    CHECK(r.images == 36);
    for (int c = 0; c < 4; ++c) {
      CHECK(model.bn().running_mean.at({c}) == doctest::Approx(mean[c]).epsilon(1e-5));
      CHECK(model.bn().running_var.at({c}) == doctest::Approx(var[c]).epsilon(1e-4));
    }
    CHECK(model.bn().momentum == 0.3);  // restored
    CHECK_FALSE(model.training());      // mode restored

    // Three equal batches: the mean of the batch means is the data's mean,
    // whatever the order; asking for more batches than there are uses them all.
    r = train::recalibrate_batch_norm(model, d, 10, 12, norm, 12);
    CHECK(r.batches == 3);
    CHECK(r.images == 36);
    for (int c = 0; c < 4; ++c) {
      CHECK(model.bn().running_mean.at({c}) == doctest::Approx(mean[c]).epsilon(1e-5));
      CHECK(model.bn().running_var.at({c}) == doctest::Approx(var[c]).epsilon(0.2));
    }

    // Same seed, same statistics; the weights are untouched.
    const auto weight = model.child("conv").parameters()[0].to_vector();
    train::recalibrate_batch_norm(model, d, 2, 12, norm, 12);
    const auto two = model.bn().running_var.to_vector();
    train::recalibrate_batch_norm(model, d, 2, 12, norm, 12);
    CHECK(model.bn().running_var.to_vector() == two);
    CHECK(model.child("conv").parameters()[0].to_vector() == weight);

    CHECK_THROWS_WITH_AS(train::recalibrate_batch_norm(model, d, 0, 12, norm, 1), doctest::Contains("at least 1"),
                         Error);
    CHECK_THROWS_WITH_AS(train::recalibrate_batch_norm(model, data::Dataset{}, 1, 12, norm, 1),
                         doctest::Contains("empty"), Error);
  }
}
