#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "prunus/nn/init.h"
#include "prunus/optim/sgd.h"
#include "prunus/prune/baselines.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"
#include "prunus/prune/pruner.h"
#include "prunus/prune/regularizer.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

namespace {

std::vector<double> filter_norms(nn::Module& model, const std::string& conv_name) {
  auto conv = prune::conv_module(model, conv_name);
  const auto w = conv->weight.to_vector();
  const int64_t row = conv->weight.numel() / conv->out_channels;
  std::vector<double> norms(conv->out_channels, 0.0);
  for (int f = 0; f < conv->out_channels; ++f)
    for (int64_t k = f * row; k < (f + 1) * row; ++k) norms[f] += std::abs(w[k]);
  return norms;
}

// Random gate values in [0.1, 1) with a few exact zeros.
void randomize_gates(nn::Module& model, const prune::PruneState& state, uint64_t seed) {
  Rng rng(seed);
  NoGradGuard no_grad;
  for (const auto& g : prune::gate_tensors(model, state)) {
    Tensor t = g.tensor;
    auto v = Tensor::uniform(t.shape(), rng, 0.1, 1.0);
    for (int64_t i = 0; i < v.numel(); ++i)
      if (rng.uniform() < 0.05) v.f32()[i] = 0.0f;
    t.copy_(v);
  }
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("pruner: coarse removal folds constants exactly into a consumer conv and a linear's bias") {
    ChainNet model;
    randomize_batch_norms(model, 7);
    const auto a = prune::analyze_model(model, {3, 7, 9});
    {
      NoGradGuard no_grad;
      auto bn1 = prune::batch_norm_module(model, "bn1");
      for (int f : {1, 4}) {
        bn1->weight.set({f}, 0.0);
        bn1->bias.set({f}, 0.4);  // relu(0.4) reaches conv2: a constant to fold
      }
      auto conv3 = prune::conv_module(model, "conv3");
      for (int c = 0; c < 5; ++c)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) conv3->weight.set({2, c, i, j}, 0.0);
      conv3->bias.set({2}, 0.3);  // relu(0.3) reaches the head through the pool
    }
    Rng rng(1);
    const Tensor x = Tensor::randn({3, 3, 7, 9}, rng);
    const Tensor before = eval_output(model, x);
    const auto removal = prune::coarse_prune(model, a);
    CHECK(removal.filters == 3);
    CHECK(removal.folded == 2);
    CHECK(removal.not_foldable == 0);
    const Tensor after = eval_output(model, x);
    CHECK(max_relative_difference(before, after) < 1e-5);
    // conv1's constants went into conv2's constant-input weights, conv3's into the head's bias.
    const Tensor& constant_input = prune::conv_module(model, "conv2")->constant_input_weight;
    REQUIRE(constant_input.defined());
    const auto values = constant_input.to_vector();
    CHECK(std::any_of(values.begin(), values.end(), [](float v) { return v != 0.0f; }));
    CHECK(prune::batch_norm_module(model, "bn1")->bias.at({4}) == 0.0);
    CHECK(prune::conv_module(model, "conv3")->bias.at({2}) == 0.0);
    const auto removed = prune::removed_filters(model, a.conv("conv1"));
    CHECK(removed == std::vector<bool>{false, true, false, false, true, false});
    // Idempotent: nothing left to remove.
    CHECK(prune::coarse_prune(model, a).filters == 0);
    CHECK(max_relative_difference(before, eval_output(model, x)) < 1e-5);
  }

  TEST_CASE("pruner: never removes every filter of a conv; keeps the strongest") {
    ChainNet model;
    const auto a = prune::analyze_model(model, {3, 5, 5});
    const auto norms = filter_norms(model, "conv1");
    {
      NoGradGuard no_grad;
      prune::batch_norm_module(model, "bn1")->weight.fill_(0.0);
    }
    const auto removal = prune::coarse_prune(model, a);
    CHECK(removal.filters == 5);
    const auto removed = prune::removed_filters(model, a.conv("conv1"));
    const int64_t kept = std::find(removed.begin(), removed.end(), false) - removed.begin();
    CHECK(std::count(removed.begin(), removed.end(), false) == 1);
    CHECK(norms[kept] == *std::max_element(norms.begin(), norms.end()));
    std::vector<std::vector<bool>> all(a.convs.size());
    all[a.conv_index("conv2")].assign(5, true);
    CHECK_THROWS_AS(prune::remove_filters(model, a, all), Error);
  }

  TEST_CASE("pruner: a D filter that lost all its stripes stays and outputs its constant BN shift") {
    TwoPathNet model(3, 8);
    randomize_batch_norms(model, 3);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    auto conv_b = prune::conv_module(model, "conv_b");
    {
      NoGradGuard no_grad;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) conv_b->gate("stripe").set({1, 0, i, j}, 0.0);
    }
    const auto outcome = prune::prune_model(model, a, state, {});
    CHECK(outcome.fine.of("stripe") == 9);
    CHECK(conv_b->out_channels == 5);
    CHECK(prune::removed_filters(model, a.conv("conv_b")) == std::vector<bool>(5, false));  // D: never removed
    for (int c = 0; c < 6; ++c) CHECK(conv_b->mask.at({1, c, 1, 1}) == 0.0);
    auto bn_b = prune::batch_norm_module(model, "bn_b");
    Rng rng(2);
    const Tensor input = Tensor::randn({2, 6, 5, 7}, rng);
    NoGradGuard no_grad;
    model.eval();
    const Tensor y = (*bn_b)((*conv_b)(input));
    const double constant = bn_b->bias.at({1}) - bn_b->weight.at({1}) * bn_b->running_mean.at({1}) /
                                                     std::sqrt(bn_b->running_var.at({1}) + bn_b->eps);
    CHECK(std::abs(constant) > 1e-3);
    for (int n = 0; n < 2; ++n)
      for (int h = 0; h < 5; ++h)
        for (int w = 0; w < 7; ++w) CHECK(y.at({n, 1, h, w}) == doctest::Approx(constant).epsilon(1e-5));
  }

  TEST_CASE("pruner: top-up reaches the FLOPs target and pruning keeps the count") {
    auto model = models::make_model("resnet20", 10, 3, 16, 5);
    const auto a = prune::analyze_model(*model, {3, 16, 16});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(*model, state);
    randomize_gates(*model, state, 11);
    const double start = prune::flops_reduction(*model, a);
    CHECK(start < 0.5);
    prune::PrunerOptions options;
    options.target_flops_reduction = 0.5;
    const auto outcome = prune::prune_model(*model, a, state, options);
    CHECK(outcome.top_up.reached);
    CHECK(outcome.top_up.rounds > 1);
    CHECK(outcome.flops_reduction_after >= 0.5);
    CHECK(outcome.flops_reduction_after < 0.5 + 2 * prune::kTopUpTolerance);  // lands on the target
    CHECK(outcome.flops_reduction_after == doctest::Approx(outcome.top_up.flops_reduction).epsilon(1e-12));
    CHECK(outcome.filters.filters > 0);
    CHECK(outcome.fine.of("stripe") > 0);
    const auto count = prune::count_model(*model, a);
    for (size_t i = 0; i < a.convs.size(); ++i) {
      CHECK(count.convs[i].weights_alive > 0);
      if (a.convs[i].in_d) CHECK(count.convs[i].filters_alive == a.convs[i].out_channels);
    }
    CHECK(outcome.log.find("top-up") != std::string::npos);
  }

  TEST_CASE("pruner: pruning gates that are already exactly zero changes the outputs by nothing") {
    // ResNet-20: every free conv's consumer is a padded 3x3 conv, where a
    // removed channel's constant reaches the borders only partly; the fold
    // into constant_input_weight must be exact there too.
    auto model = models::make_model("resnet20", 10, 3, 16, 5);
    randomize_batch_norms(*model, 21);
    const auto a = prune::analyze_model(*model, {3, 16, 16});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(*model, state);
    randomize_gates(*model, state, 22);  // 5% exact zeros, filter gates (BN gammas) included
    {
      // A free conv's filter with every stripe gate zero but its gamma not:
      // in eval mode it outputs gamma * (0 - running_mean) / std + beta.
      auto conv = prune::conv_module(*model, "layer1.0.conv1");
      for (int k = 0; k < 9; ++k) conv->gate("stripe").f32()[2 * 9 + k] = 0.0f;
      auto bn = prune::batch_norm_module(*model, "layer1.0.bn1");
      bn->weight.f32()[2] = 0.8f;
      bn->running_mean.f32()[2] = -0.4f;
    }
    Rng rng(23);
    const Tensor x = Tensor::randn({4, 3, 16, 16}, rng);
    const Tensor before = eval_output(*model, x);
    const auto outcome = prune::prune_model(*model, a, state, {});  // no target: only the zeros go
    CHECK(outcome.top_up.gates == 0);
    CHECK(outcome.filters.filters > 0);
    CHECK(outcome.filters.folded > 0);
    CHECK(outcome.filters.approximate == 0);
    CHECK(outcome.fine.of("stripe") > 0);
    CHECK(max_relative_difference(before, eval_output(*model, x)) < 1e-5);
    // Compaction keeps it: the constant-input weights travel with their consumers.
    register_test_module_types();
    const auto compact = prune::compact_model(*model, a);
    CHECK(max_relative_difference(before, eval_output(*compact.model, x)) < 1e-5);
    // And at another resolution: the fold does not depend on the image size.
    const Tensor y = Tensor::randn({2, 3, 24, 20}, rng);
    CHECK(max_relative_difference(eval_output(*model, y), eval_output(*compact.model, y)) < 1e-5);
  }

  TEST_CASE("pruner: top-up on untrained (all equal) gates spreads over the layers") {
    auto model = models::make_model("resnet20", 10, 3, 16, 5);
    const auto a = prune::analyze_model(*model, {3, 16, 16});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(*model, state);
    const auto result = prune::top_up(*model, a, state, 0.3);
    CHECK(result.reached);
    const auto count = prune::count_model(*model, a);
    for (const auto& layer : count.convs) CHECK(double(layer.macs) / double(layer.dense_macs) > 0.4);
  }

  TEST_CASE("pruner: top-up ranked within each conv takes from every conv, ranked by kind empties the weak ones") {
    // Stage-1 gates 20x smaller than the rest, as a per-layer L1 strength leaves them:
    // the model-wide ranking zeroes stage 1 first, the per-conv ranking spreads the cut.
    auto run = [](prune::GateNormalization normalization) {
      auto model = models::make_model("resnet20", 10, 3, 16, 5);
      const auto a = prune::analyze_model(*model, {3, 16, 16});
      const auto state = prune::plan_gates(a, {});
      prune::enable_gates(*model, state);
      randomize_gates(*model, state, 31);
      for (const auto& layer : a.convs) {
        if (layer.name.rfind("layer1.", 0) != 0) continue;
        auto conv = prune::conv_module(*model, layer.name);
        for (int64_t i = 0; i < conv->gate("stripe").numel(); ++i) conv->gate("stripe").f32()[i] *= 0.05f;
        if (!layer.in_d)
          for (int64_t i = 0; i < layer.out_channels; ++i)
            prune::batch_norm_module(*model, layer.bn)->weight.f32()[i] *= 0.05f;
      }
      const auto result = prune::top_up(*model, a, state, 0.4, 0.02, normalization);
      CHECK(result.reached);
      const auto count = prune::count_model(*model, a);
      double least = 1;  // the smallest share of MACs left in any conv of stage 1
      for (const auto& layer : count.convs)
        if (layer.name.rfind("layer1.", 0) == 0) least = std::min(least, double(layer.macs) / double(layer.dense_macs));
      return least;
    };
    const double by_kind = run(prune::GateNormalization::Kind);
    const double by_layer = run(prune::GateNormalization::Layer);
    CHECK(by_kind < 0.1);
    CHECK(by_layer > 0.4);
  }

  TEST_CASE("pruner: thresholds zero the gates below them, and only those") {
    ChainNet model;
    const auto a = prune::analyze_model(model, {3, 5, 5});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    auto conv2 = prune::conv_module(model, "conv2");
    {
      NoGradGuard no_grad;
      conv2->gate("stripe").set({0, 0, 0, 0}, 0.005);
      conv2->gate("stripe").set({1, 0, 0, 0}, -0.009);
      conv2->gate("stripe").set({2, 0, 0, 0}, 0.02);
    }
    prune::PrunerOptions options;
    options.thresholds["stripe"] = 0.01;
    CHECK(prune::zero_gates_below(model, a, state, options) == 2);
    CHECK(conv2->gate("stripe").at({0, 0, 0, 0}) == 0.0);
    CHECK(conv2->gate("stripe").at({2, 0, 0, 0}) == doctest::Approx(0.02));
  }

  TEST_CASE("pruner: the proximal step makes exact zeros that stay zero while fine-tuning") {
    ChainNet model;
    const auto a = prune::analyze_model(model, {3, 7, 9});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    prune::initialize_gates(model, state, 0.5);
    {
      Rng gate_rng(9);  // spread, as if part-way through sparse training
      NoGradGuard no_grad;
      for (const auto& g : prune::gate_tensors(model, state)) {
        Tensor t = g.tensor;
        t.copy_(Tensor::uniform(t.shape(), gate_rng, 0.05, 0.6));
      }
    }
    optim::SGD sgd(prune::parameter_groups(model, 1e-4), 0.05);
    prune::RegularizerOptions options;
    options.lambda0 = 0.1;
    prune::AdaptiveL1 reg(model, a, state, options);
    Rng rng(4);
    const Tensor x = Tensor::randn({3, 3, 7, 9}, rng);
    const std::vector<int> labels{0, 2, 1};
    model.train();
    auto train_steps = [&](int steps) {
      for (int s = 0; s < steps; ++s) {
        sgd.zero_grad();
        ops::cross_entropy(model(x), labels).backward();
        sgd.step();
      }
    };
    for (int epoch = 0; epoch < 4; ++epoch) {
      train_steps(8);
      reg.end_epoch(epoch, sgd);
    }
    int64_t zeros = 0;
    for (const auto& g : prune::gate_tensors(model, state)) zeros += optim::count_zeros(g.tensor);
    CHECK(zeros > 0);
    const auto outcome = prune::prune_model(model, a, state, {});
    CHECK(outcome.filters.filters > 0);
    CHECK(outcome.fine.of("stripe") > 0);
    reg.clear(sgd);
    prune::register_masks(sgd, model, a);
    // Snapshot what must stay zero.
    auto zero_positions = [&]() {
      std::vector<std::pair<std::string, int64_t>> at;
      for (const auto& [name, t] : model.named_parameters()) {
        const auto v = t.to_vector();
        for (size_t i = 0; i < v.size(); ++i)
          if (v[i] == 0.0f) at.emplace_back(name, int64_t(i));
      }
      return at;
    };
    const auto before = zero_positions();
    CHECK(before.size() > size_t(zeros));  // masked weights and removed BN channels too
    train_steps(5);
    std::map<std::string, std::vector<float>> values;
    for (const auto& [name, t] : model.named_parameters()) values[name] = t.to_vector();
    int64_t revived = 0;
    for (const auto& [name, i] : before)
      if (values[name][i] != 0.0f) {
        ++revived;
        MESSAGE(name, " ", i);
      }
    CHECK(revived == 0);
    for (const auto& layer : a.convs) {
      const auto removed = prune::removed_filters(model, layer);
      CHECK(std::count(removed.begin(), removed.end(), false) >= 1);
    }
  }

  TEST_CASE("baselines: L1-norm filter pruning removes the weakest filters to the target, never in D") {
    nn::InitSeedScope seed(1);  // the same initial weights whichever tests ran before
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto norms_a = filter_norms(model, "conv_a");
    const auto norms_d = filter_norms(model, "conv_d");
    const auto result = prune::l1_norm_filter_prune(model, a, 0.3);
    CHECK(result.reached);
    CHECK(result.flops_reduction >= 0.3);
    CHECK(prune::flops_reduction(model, a) == doctest::Approx(result.flops_reduction));
    CHECK(result.filters.filters > 0);
    for (const auto& [name, norms] : {std::make_pair(std::string("conv_a"), norms_a), std::make_pair(std::string("conv_d"), norms_d)}) {
      const auto removed = prune::removed_filters(model, a.conv(name));
      double max_removed = -1, min_kept = 1e30;
      for (size_t f = 0; f < removed.size(); ++f) {
        if (removed[f])
          max_removed = std::max(max_removed, norms[f]);
        else
          min_kept = std::min(min_kept, norms[f]);
      }
      CHECK(max_removed >= 0);  // something was removed here
      CHECK(max_removed <= min_kept);
    }
    CHECK(prune::removed_filters(model, a.conv("conv_b")) == std::vector<bool>(5, false));
  }

  TEST_CASE("baselines: method presets") {
    CHECK(prune::method_preset("full").granularities.str() == "filter,stripe");
    CHECK(prune::method_preset("full").adaptive);
    // auto top-up ranking: ours within each conv, the baselines model-wide as in their papers.
    CHECK(prune::method_preset("full").top_up_ranking == prune::GateNormalization::Layer);
    CHECK(prune::method_preset("full_plain_l1").top_up_ranking == prune::GateNormalization::Layer);
    CHECK(prune::method_preset("slimming").top_up_ranking == prune::GateNormalization::Kind);
    CHECK(prune::method_preset("swp").top_up_ranking == prune::GateNormalization::Kind);
    CHECK(!prune::method_preset("full_plain_l1").adaptive);
    CHECK(prune::method_preset("slimming").granularities.str() == "filter");
    CHECK(prune::method_preset("swp").granularities.str() == "stripe");
    CHECK(prune::method_preset("swp").use_thresholds);
    CHECK(!prune::method_preset("l1norm").sparse_training);
    CHECK_THROWS_WITH_AS(prune::method_preset("hrank"), doctest::Contains("slimming"), Error);
  }
}
