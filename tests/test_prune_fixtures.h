// Shared by the tests/test_prune_*.cpp files: small models defined only here
// and helpers to put random pruning state on a model.
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/description.h"
#include "prunus/nn/layers.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

namespace prune_test {
using namespace prunus;

// A model the zoo does not have, to check the analysis is generic:
//   a = relu(bn_a(conv_a(x)))                     conv_a free: read by conv_b and conv_c
//   s = bn_b(conv_b(a)) + conv_c(a)               conv_b, conv_c summed: D
//   d = relu(bn_d(conv_d(relu(s)))) * 0.5         conv_d free (scalar mul keeps channels)
//   e = conv_e(avgpool3x3(d))                     conv_e free: read by the linear through flatten
//   out = head(flatten(maxpool2(e)))              head: linear, features_per_channel = (H/2)*(W/2)
class TwoPathNet : public nn::Module {
 public:
  TwoPathNet(int in_channels, int image_size) : in_channels_(in_channels), image_size_(image_size) {
    register_module("conv_a", std::make_shared<nn::Conv2d>(in_channels, 6, 3, 1, 1));
    register_module("bn_a", std::make_shared<nn::BatchNorm2d>(6));
    register_module("conv_b", std::make_shared<nn::Conv2d>(6, 5, 3, 1, 1));
    register_module("bn_b", std::make_shared<nn::BatchNorm2d>(5));
    register_module("conv_c", std::make_shared<nn::Conv2d>(6, 5, 1, 1, 0));
    register_module("conv_d", std::make_shared<nn::Conv2d>(5, 7, 3, 1, 1));
    register_module("bn_d", std::make_shared<nn::BatchNorm2d>(7));
    register_module("pool_d", std::make_shared<nn::AvgPool2d>(3, 1, 1));
    register_module("conv_e", std::make_shared<nn::Conv2d>(7, 4, 3, 1, 1, /*bias=*/true));
    register_module("pool_e", std::make_shared<nn::MaxPool2d>(2, 2));
    register_module("head", std::make_shared<nn::Linear>(4 * (image_size / 2) * (image_size / 2), 3));
  }
  Tensor forward(const Tensor& x) override {
    Tensor a = ops::relu(child("bn_a")(child("conv_a")(x)));
    Tensor s = ops::add(child("bn_b")(child("conv_b")(a)), child("conv_c")(a));
    Tensor d = ops::relu(child("bn_d")(child("conv_d")(ops::relu(s))));
    d = ops::mul(d, Tensor::full({1, 1, 1, 1}, 0.5));
    Tensor e = child("conv_e")(child("pool_d")(d));
    return child("head")(ops::flatten(child("pool_e")(e)));
  }
  std::string type_name() const override { return "TwoPathNet"; }
  void describe_attributes(nn::ModuleAttributes& a) const override {
    a.set_int("in_channels", in_channels_);
    a.set_int("image_size", image_size_);
  }

 private:
  int in_channels_, image_size_;
};

// The same as TwoPathNet but conv_d's output is scaled per channel by a
// constant tensor, which compaction could not shrink: conv_d must be in D.
class PerChannelScaleNet : public nn::Module {
 public:
  PerChannelScaleNet() {
    register_module("conv_a", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
    register_module("conv_b", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1));
    register_module("pool", std::make_shared<nn::GlobalAvgPool>());
    register_module("head", std::make_shared<nn::Linear>(4, 2));
  }
  Tensor forward(const Tensor& x) override {
    Tensor a = ops::mul(child("conv_a")(x), Tensor::full({1, 4, 1, 1}, 2.0));
    return child("head")(child("pool")(child("conv_b")(a)));
  }
  std::string type_name() const override { return "PerChannelScaleNet"; }
};

// A fully convolutional net: the last conv's channels are the output.
class ConvOutputNet : public nn::Module {
 public:
  ConvOutputNet() {
    register_module("conv_a", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
    register_module("conv_b", std::make_shared<nn::Conv2d>(4, 2, 1, 1, 0));
    register_module("pool", std::make_shared<nn::GlobalAvgPool>());
  }
  Tensor forward(const Tensor& x) override {
    return child("pool")(ops::relu(child("conv_b")(ops::relu(child("conv_a")(x)))));
  }
  std::string type_name() const override { return "ConvOutputNet"; }
};

// A plain chain where every removal folds exactly: conv1's consumer is a 1x1
// conv with a BN after it; conv3 (no BN, bias) reaches the linear through a
// global pool. conv2's consumer conv3 is 3x3 with padding (fold approximate).
class ChainNet : public nn::Module {
 public:
  explicit ChainNet(int in_channels = 3) : in_channels_(in_channels) {
    register_module("conv1", std::make_shared<nn::Conv2d>(in_channels, 6, 3, 1, 1));
    register_module("bn1", std::make_shared<nn::BatchNorm2d>(6));
    register_module("conv2", std::make_shared<nn::Conv2d>(6, 5, 1, 1, 0));
    register_module("bn2", std::make_shared<nn::BatchNorm2d>(5));
    register_module("conv3", std::make_shared<nn::Conv2d>(5, 4, 3, 1, 1, /*bias=*/true));
    register_module("pool", std::make_shared<nn::GlobalAvgPool>());
    register_module("head", std::make_shared<nn::Linear>(4, 3));
  }
  Tensor forward(const Tensor& x) override {
    Tensor a = ops::relu(child("bn1")(child("conv1")(x)));
    Tensor b = ops::relu(child("bn2")(child("conv2")(a)));
    return child("head")(child("pool")(ops::relu(child("conv3")(b))));
  }
  std::string type_name() const override { return "ChainNet"; }
  void describe_attributes(nn::ModuleAttributes& a) const override { a.set_int("in_channels", in_channels_); }

 private:
  int in_channels_;
};

// So that compaction (which copies a model through its description) works on them.
inline void register_test_module_types() {
  nn::register_module_type("TwoPathNet", [](const nn::ModuleAttributes& a) -> std::shared_ptr<nn::Module> {
    return std::make_shared<TwoPathNet>(a.get_int32("in_channels"), a.get_int32("image_size"));
  });
  nn::register_module_type("ChainNet", [](const nn::ModuleAttributes& a) -> std::shared_ptr<nn::Module> {
    return std::make_shared<ChainNet>(a.get_int32("in_channels"));
  });
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Gives every BN non-trivial running statistics and affine parameters, so
// that eval-mode outputs depend on every one of them.
inline void randomize_batch_norms(nn::Module& model, uint64_t seed) {
  Rng rng(seed);
  NoGradGuard no_grad;
  for (auto& [name, m] : model.named_modules()) {
    auto bn = std::dynamic_pointer_cast<nn::BatchNormBase>(m);
    if (!bn) continue;
    bn->weight.copy_(Tensor::uniform(bn->weight.shape(), rng, 0.5, 1.5));
    bn->bias.copy_(Tensor::uniform(bn->bias.shape(), rng, -0.3, 0.5));
    bn->running_mean.copy_(Tensor::uniform(bn->running_mean.shape(), rng, -0.2, 0.2));
    bn->running_var.copy_(Tensor::uniform(bn->running_var.shape(), rng, 0.5, 1.5));
  }
}

inline double max_relative_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, double(std::abs(x[i] - y[i])));
    scale = std::max(scale, double(std::abs(x[i])));
  }
  return diff / std::max(scale, 1e-12);
}

inline Tensor eval_output(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  model.eval();
  return model(x);
}

}  // namespace prune_test
