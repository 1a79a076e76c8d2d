#include <doctest/doctest.h>

#include <map>
#include <string>

#include "gradcheck.h"
#include "prunus/models/summary.h"
#include "prunus/nn/description.h"
#include "prunus/nn/state.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"
#include "prunus/prune/pruner.h"
#include "prunus/prune/stripe_conv2d.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

namespace {

// Random gates with ~15% exact zeros, one filter in D stripped of every stripe.
void prepare(nn::Module& model, const prune::GraphAnalysis& a, const prune::PruneState& state, uint64_t seed) {
  Rng rng(seed);
  NoGradGuard no_grad;
  for (const auto& g : prune::gate_tensors(model, state)) {
    Tensor t = g.tensor;
    Tensor v = Tensor::uniform(t.shape(), rng, 0.2, 1.0);
    for (int64_t i = 0; i < v.numel(); ++i)
      if (rng.uniform() < 0.15) v.f32()[i] = 0.0f;
    t.copy_(v);
  }
  for (const auto& layer : a.convs)
    if (layer.in_d) {
      prune::conv_module(model, layer.name)->gate("stripe").view({-1}).fill_(1.0);
      Tensor gate = prune::conv_module(model, layer.name)->gate("stripe");
      for (int64_t k = 0; k < layer.kernel * layer.kernel; ++k) gate.f32()[k] = 0.0f;  // filter 0
      break;
    }
}

struct Pruned {
  std::shared_ptr<nn::Module> model;
  prune::GraphAnalysis analysis;
  prune::CompactResult compact;
};

// Every conv that lost enough stripes becomes a StripeConv2d, whatever the
// cost model says of the random patterns these tests prune.
prune::CompactOptions stripes_forced() {
  prune::CompactOptions options;
  options.max_stripe_cost = 1e9;
  return options;
}

Pruned prune_and_compact(const std::string& arch, int image, double target, bool constant_channel,
                         prune::CompactOptions options = stripes_forced()) {
  Pruned p;
  p.model = models::make_model(arch, 10, 3, image, 3);
  randomize_batch_norms(*p.model, 5);
  p.analysis = prune::analyze_model(*p.model, {3, image, image});
  const auto state = prune::plan_gates(p.analysis, {});
  prune::enable_gates(*p.model, state);
  prepare(*p.model, p.analysis, state, 8);
  prune::PrunerOptions po;
  po.target_flops_reduction = target;
  prune::prune_model(*p.model, p.analysis, state, po);
  if (constant_channel) {
    // A kept filter outside D whose gate is now zero: a constant channel that must stay.
    for (const auto& layer : p.analysis.convs) {
      if (layer.in_d || layer.bn.empty()) continue;
      const auto removed = prune::removed_filters(*p.model, layer);
      for (size_t f = 0; f < removed.size(); ++f)
        if (!removed[f]) {
          auto bn = prune::batch_norm_module(*p.model, layer.bn);
          bn->weight.f32()[f] = 0.0f;
          bn->bias.f32()[f] = 0.7f;
          break;
        }
      break;
    }
  }
  p.compact = prune::compact_model(*p.model, p.analysis, options);
  return p;
}

void check_equivalent(Pruned& p, int image) {
  Rng rng(21);
  const Tensor x = Tensor::randn({2, 3, image, image}, rng);
  const Tensor masked = eval_output(*p.model, x);
  const Tensor compact = eval_output(*p.compact.model, x);
  REQUIRE(masked.shape() == compact.shape());
  CHECK(max_relative_difference(masked, compact) < 1e-4);
  int stripe_sparse = 0, thinner = 0;
  for (size_t i = 0; i < p.analysis.convs.size(); ++i) {
    const auto& info = p.compact.convs[i];
    stripe_sparse += info.stripe_sparse;
    thinner += info.after[0] < info.before[0];
    if (p.analysis.convs[i].in_d) CHECK(info.after[0] == info.before[0]);  // D keeps its filters
  }
  CHECK(stripe_sparse > 0);
  CHECK(thinner > 0);
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("compact: ResNet-20 compact model equals the masked model") {
    Pruned p = prune_and_compact("resnet20", 16, 0.5, true);
    check_equivalent(p, 16);
    // The D filter without stripes still feeds its constant through the compact model.
    const std::string stem = p.analysis.dimension_matching()[0];
    CHECK(stem == "conv1");
    auto module = p.compact.model->find_module(stem);
    Tensor weight;
    if (auto sparse = std::dynamic_pointer_cast<prune::StripeConv2d>(module))
      weight = sparse->dense_weight();
    else
      weight = prune::conv_module(*p.compact.model, stem)->weight;
    REQUIRE(weight.size(0) == 16);
    for (int64_t i = 0; i < weight.numel() / 16; ++i) CHECK(weight.f32()[i] == 0.0f);  // filter 0: no stripes
  }

  TEST_CASE("compact: fresh_copy keeps the pruned architecture and draws new parameters from its seed") {
    Pruned p = prune_and_compact("resnet20", 16, 0.5, false);
    nn::Module& compact = *p.compact.model;
    auto a = prune::fresh_copy(compact, 7), b = prune::fresh_copy(compact, 7), c = prune::fresh_copy(compact, 8);
    auto state = [](nn::Module& m) {
      const auto v = nn::state_tensors(m);
      return std::map<std::string, Tensor>(v.begin(), v.end());
    };
    const auto original = state(compact), first = state(*a), same = state(*b), other = state(*c);
    int stripe_layouts = 0, folded_constants = 0, weights = 0;
    for (const auto& [name, tensor] : original) {
      if (name.find("constant_input_weight") != std::string::npos) {
        ++folded_constants;
        CHECK_MESSAGE(first.count(name) == 0, name);  // a fresh model has nothing folded into it
        continue;
      }
      REQUIRE_MESSAGE(first.count(name) == 1, name);
      CHECK_MESSAGE(first.at(name).shape() == tensor.shape(), name);
      CHECK(first.at(name).to_vector() == same.at(name).to_vector());  // reproducible from the seed
      if (name.find("stripe_") != std::string::npos) {
        ++stripe_layouts;
        CHECK_MESSAGE(first.at(name).to_vector() == tensor.to_vector(), name);  // structure, copied
      } else if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && tensor.ndim() >= 2) {
        ++weights;
        CHECK_MESSAGE(first.at(name).to_vector() != tensor.to_vector(), name);  // values, fresh
        CHECK_MESSAGE(first.at(name).to_vector() != other.at(name).to_vector(), name);
      }
    }
    CHECK(stripe_layouts > 0);
    CHECK(folded_constants > 0);
    CHECK(weights > 10);
    CHECK(models::count_parameters(*a) == models::count_parameters(compact));
  }

  TEST_CASE("compact: VGG-16 compact model equals the masked model") {
    Pruned p = prune_and_compact("vgg16", 32, 0.0, true);
    check_equivalent(p, 32);
    auto linear = prune::linear_module(*p.compact.model, "classifier.linear1");
    CHECK(linear->in_features == p.compact.convs.back().after[0]);
  }

  TEST_CASE("compact: Inception compact model equals the masked model") {
    Pruned p = prune_and_compact("inception", 16, 0.4, true);
    check_equivalent(p, 16);
  }

  TEST_CASE("compact: the custom model (flatten to a linear, no-BN conv) compacts exactly") {
    register_test_module_types();
    TwoPathNet model(3, 8);
    randomize_batch_norms(model, 2);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    {
      NoGradGuard no_grad;
      auto conv_e = prune::conv_module(model, "conv_e");
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) conv_e->gate("stripe").set({1, 0, i, j}, 0.0);  // filter 1 of conv_e dies
      prune::batch_norm_module(model, "bn_a")->weight.set({3}, 0.0);
      prune::conv_module(model, "conv_b")->gate("stripe").set({2, 0, 1, 1}, 0.0);
    }
    prune::prune_model(model, a, state, {});
    auto result = prune::compact_model(model, a);
    Rng rng(4);
    const Tensor x = Tensor::randn({3, 3, 8, 8}, rng);
    CHECK(max_relative_difference(eval_output(model, x), eval_output(*result.model, x)) < 1e-4);
    CHECK(prune::linear_module(*result.model, "head")->in_features == 3 * 16);
    CHECK(result.convs[a.conv_index("conv_a")].after == Shape{5, 3, 3, 3});
    CHECK(result.convs[a.conv_index("conv_b")].after == Shape{5, 5, 3, 3});
  }

  TEST_CASE("compact: a conv becomes stripe-sparse where the cost model says it is faster, else stays dense") {
    Rng pattern(9);
    for (bool shared : {true, false}) {
      auto model = models::make_model("resnet20", 10, 3, 16, 3);
      const auto a = prune::analyze_model(*model, {3, 16, 16});
      auto conv = prune::conv_module(*model, "layer1.0.conv2");
      conv->enable_mask();
      float* mask = conv->mask.f32();
      for (int64_t f = 0; f < 16; ++f)
        for (int64_t k = 0; k < 9; ++k)
          if (shared ? k % 3 != 1 : pattern.uniform() < 0.25)
            for (int64_t c = 0; c < 16; ++c) mask[(f * 16 + c) * 9 + k] = 0.0f;
      const auto result = prune::compact_model(*model, a);
      INFO(std::string(shared ? "every filter keeps the middle column" : "a quarter of the stripes, scattered"));
      CHECK(result.convs[a.conv_index("layer1.0.conv2")].stripe_sparse == shared);
      Rng rng(8);
      const Tensor x = Tensor::randn({2, 3, 16, 16}, rng);
      CHECK(max_relative_difference(eval_output(*model, x), eval_output(*result.model, x)) < 1e-4);
    }
  }

  TEST_CASE("compact: describe -> rebuild -> load gives identical outputs; counts match the compact model") {
    prune::CompactOptions options = stripes_forced();
    options.min_removed_stripes = 0.0;
    Pruned p = prune_and_compact("resnet20", 16, 0.5, false, options);
    nn::Module& compact = *p.compact.model;
    const std::string text = nn::describe(compact);
    CHECK(text.find("StripeConv2d") != std::string::npos);
    auto rebuilt = nn::build_from_description(text);
    CHECK_THROWS_AS(eval_output(*rebuilt, Tensor::zeros({1, 3, 16, 16})), Error);  // layout not loaded yet
    nn::load_state_tensors(*rebuilt, nn::state_tensors(compact));
    Rng rng(6);
    const Tensor x = Tensor::randn({2, 3, 16, 16}, rng);
    CHECK(eval_output(compact, x).to_vector() == eval_output(*rebuilt, x).to_vector());
    // What the counter promised is what the compact model costs.
    const auto count = prune::count_model(*p.model, p.analysis);
    const auto summary = models::summarize(compact, {3, 16, 16});
    CHECK(summary.total_macs == count.macs);
    CHECK(models::count_parameters(compact) == count.params);
    CHECK(count.macs < count.dense_macs / 2 + 1);
  }

  TEST_CASE("stripe conv: matches a dense conv with the removed stripes zeroed, forward and backward") {
    Rng rng(12);
    Tensor dense = Tensor::randn({5, 4, 3, 3}, rng);
    for (int f = 0; f < 5; ++f)
      for (int p = 0; p < 9; ++p)
        if ((f * 7 + p * 3) % 4 == 0)
          for (int c = 0; c < 4; ++c) dense.set({f, c, p / 3, p % 3}, 0.0);
    Tensor bias = Tensor::randn({5}, rng);
    auto m = prune::StripeConv2d::from_dense(dense, bias, 2, 1);
    CHECK(m->stripes() < 45);
    CHECK(m->dense_weight().to_vector() == dense.to_vector());
    Tensor x = Tensor::randn({3, 4, 7, 9}, rng);
    x.requires_grad_(true);
    Tensor y = (*m)(x);
    Tensor w = dense.clone();
    w.requires_grad_(true);
    Tensor x2 = x.detach().clone();
    x2.requires_grad_(true);
    Tensor b2 = bias.clone();
    b2.requires_grad_(true);
    Tensor y_ref = ops::conv2d(x2, w, b2, 2, 1);
    REQUIRE(y.shape() == y_ref.shape());
    CHECK(max_relative_difference(y_ref, y) < 1e-5);
    const Tensor seed = Tensor::randn(y.shape(), rng);
    y.backward(seed);
    y_ref.backward(seed);
    CHECK(max_relative_difference(x2.grad(), x.grad()) < 1e-5);
    CHECK(max_relative_difference(b2.grad(), m->bias.grad()) < 1e-5);
    // Weight gradient of every kept stripe = the dense gradient at that stripe.
    const auto layout = m->layout();
    const Tensor dw = m->weight.grad();
    double worst = 0;
    for (int64_t s = 0; s < layout.stripes(); ++s)
      for (int c = 0; c < 4; ++c) {
        const int p = layout.stripe_position[s];
        worst = std::max(worst, std::abs(dw.at({s, c}) - w.grad().at({layout.stripe_filter[s], c, p / 3, p % 3})));
      }
    CHECK(worst < 1e-4);
    auto seen = models::summarize(*m, {4, 7, 9}).total_macs;
    CHECK(seen == m->stripes() * 4 * 4 * 5);  // S * C * OH * OW
  }

  TEST_CASE("stripe conv: finite-difference gradients in float64; bad layouts are refused") {
    prune::StripeLayout layout;
    layout.in_channels = 2;
    layout.out_channels = 3;
    layout.kernel = 3;
    layout.stride = 1;
    layout.padding = 1;
    layout.stripe_filter = {0, 2, 1, 0, 2};
    layout.stripe_position = {0, 0, 4, 5, 8};
    Rng rng(3);
    Tensor x = Tensor::randn({2, 2, 5, 4}, rng, 0, 1, DType::F64).requires_grad_(true);
    Tensor w = Tensor::randn({5, 2}, rng, 0, 1, DType::F64).requires_grad_(true);
    Tensor b = Tensor::randn({3}, rng, 0, 1, DType::F64).requires_grad_(true);
    const double err = prunus_test::gradcheck([&](const std::vector<Tensor>& in) {
      return prune::stripe_conv2d(in[0], in[1], in[2], layout);
    }, {x, w, b});
    CHECK(err < 1e-6);
    prune::StripeLayout bad = layout;
    bad.stripe_position = {0, 4, 0, 5, 8};  // unsorted
    CHECK_THROWS_AS(prune::stripe_conv2d(x, w, b, bad), Error);
    bad = layout;
    bad.stripe_filter = {0, 0, 1, 0, 2};  // filter 0 twice at position 0
    CHECK_THROWS_AS(prune::stripe_conv2d(x, w, b, bad), Error);
    CHECK_THROWS_AS(prune::stripe_conv2d(x, Tensor::zeros({4, 2}, DType::F64), b, layout), Error);
  }
}
