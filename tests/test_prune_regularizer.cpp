#include <doctest/doctest.h>

#include <cmath>

#include "prunus/optim/sgd.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/model_access.h"
#include "prunus/prune/regularizer.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

TEST_SUITE("prune") {
  TEST_CASE("regularizer: group weight and controller against hand values") {
    CHECK(prune::group_weight(0.5, 0.5) == doctest::Approx(0.5 / 0.5005));
    CHECK(prune::group_weight(-0.2, 0.5) == doctest::Approx(0.5 / 0.2005));
    CHECK(prune::group_weight(0.0, 0.5) == 10.0);    // 1000 bounded to 10
    CHECK(prune::group_weight(0.01, 0.5) == 10.0);   // 47.6 bounded
    CHECK(prune::group_weight(0.0, 0.0) == 1.0);     // all-zero layer
    CHECK(prune::group_weight(2.0, 1.0, 5.0, 0.5) == doctest::Approx(1.0 / 2.5));
    CHECK(prune::controller_factor(0.1, 0.2) == doctest::Approx(std::sqrt(2.0)));
    CHECK(prune::controller_factor(0.0, 0.2) == 2.0);
    CHECK(prune::controller_factor(0.5, 0.2) == 0.5);  // 2^-1.5 clamped
    CHECK(prune::controller_factor(0.3, 0.2) == doctest::Approx(std::pow(2.0, -0.5)));
    CHECK(prune::controller_factor(0.2, 0.2) == 1.0);
    CHECK(prune::controller_factor(0.2, 0.0) == 1.0);
    // m = 4: twice the exponent's reach, clamped at 4 and 1/4.
    CHECK(prune::controller_factor(0.1, 0.2, 4.0) == doctest::Approx(2.0));
    CHECK(prune::controller_factor(0.0, 0.2, 4.0) == 4.0);
    CHECK(prune::controller_factor(0.9, 0.2, 4.0) == 0.25);
  }

  TEST_CASE("controller goal: linear to the target at the last sparse epoch, or earlier with reach < 1") {
    prune::RegularizerOptions o;
    o.target_flops_reduction = 0.8;
    o.sparse_epochs = 6;
    CHECK(prune::controller_goal(o, 0) == doctest::Approx(0.8 / 6));
    CHECK(prune::controller_goal(o, 5) == doctest::Approx(0.8));
    o.controller_reach = 0.5;  // the target after epoch 3 of 6, held after
    CHECK(prune::controller_goal(o, 0) == doctest::Approx(0.8 / 3));
    CHECK(prune::controller_goal(o, 2) == doctest::Approx(0.8));
    CHECK(prune::controller_goal(o, 4) == doctest::Approx(0.8));
  }

  TEST_CASE("regularizer: structure terms are MACs per group, mean 1 over layers") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto state = prune::plan_gates(a, {});
    const auto count = prune::count_model(model, a);
    // Filter gates: conv_a (bn_a) and conv_d (bn_d); conv_e has no BN, conv_b/c are in D.
    const auto filter = prune::structure_terms(count, a, state, prune::granularity("filter"));
    const double fa = (10368.0 + 17280 + 1920) / 6, fd = (20160.0 + 16128) / 7;
    CHECK(filter[a.conv_index("conv_a")] == doctest::Approx(fa / ((fa + fd) / 2)));
    CHECK(filter[a.conv_index("conv_d")] == doctest::Approx(fd / ((fa + fd) / 2)));
    CHECK(filter[a.conv_index("conv_b")] == 0.0);
    CHECK(filter[a.conv_index("conv_e")] == 0.0);
    // Stripe gates everywhere: MACs per stripe = C * OH * OW.
    const auto stripe = prune::structure_terms(count, a, state, prune::granularity("stripe"));
    const double mean = (3.0 + 6 + 6 + 5 + 7) * 64 / 5;
    CHECK(stripe[a.conv_index("conv_a")] == doctest::Approx(3 * 64 / mean));
    CHECK(stripe[a.conv_index("conv_e")] == doctest::Approx(7 * 64 / mean));
  }

  TEST_CASE("regularizer: strengths are lambda0 * a_l * b_g; plain mode is constant") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    prune::initialize_gates(model, state, 0.5);
    auto conv_d = prune::conv_module(model, "conv_d");
    {
      NoGradGuard no_grad;
      conv_d->gate("stripe").set({2, 0, 0, 1}, 0.25);
      conv_d->gate("stripe").set({2, 0, 2, 2}, 0.0);
    }
    prune::RegularizerOptions options;
    options.lambda0 = 0.01;
    prune::AdaptiveL1 reg(model, a, state, options);
    const auto count = prune::count_model(model, a);
    const auto stripe_a = prune::structure_terms(count, a, state, prune::granularity("stripe"));
    const double layer_mean = (63 - 2 + 0.25) / 63.0;
    bool found = false;
    for (const auto& [gate, strength] : reg.strengths()) {
      CHECK(strength.shape() == gate.tensor.shape());
      if (gate.kind == &prune::granularity("stripe") && a.convs[gate.conv].name == "conv_d") {
        found = true;
        const double al = stripe_a[gate.conv];
        CHECK(strength.at({2, 0, 0, 1}) == doctest::Approx(0.01 * al * layer_mean / (0.25 + 1e-3 * layer_mean)));
        CHECK(strength.at({2, 0, 2, 2}) == doctest::Approx(0.01 * al * 10));
        CHECK(strength.at({0, 0, 0, 0}) == doctest::Approx(0.01 * al * layer_mean / (1 + 1e-3 * layer_mean)));
      }
      if (gate.kind == &prune::granularity("filter")) CHECK(gate.tensor.at({0}) == 0.5);
    }
    CHECK(found);
    options.adaptive = false;
    prune::AdaptiveL1 plain(model, a, state, options);
    for (const auto& [gate, strength] : plain.strengths())
      for (float v : strength.to_vector()) CHECK(v == doctest::Approx(0.01));
  }

  TEST_CASE("regularizer: the controller follows the schedule and logs lambda0") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    const auto state = prune::plan_gates(a, {});
    prune::enable_gates(model, state);
    optim::SGD sgd(prune::parameter_groups(model, 1e-4), 0.1);
    prune::RegularizerOptions options;
    options.lambda0 = 1e-3;
    options.target_flops_reduction = 0.5;
    options.sparse_epochs = 5;
    prune::AdaptiveL1 reg(model, a, state, options);
    reg.apply(sgd);
    CHECK(reg.end_epoch(0, sgd) == 0.0);  // nothing pruned yet: r = 0 -> doubles
    CHECK(reg.lambda0() == doctest::Approx(2e-3));
    // Kill a large share of the FLOPs: r above the goal of epoch 1 (0.2) halves lambda0.
    {
      NoGradGuard no_grad;
      auto bn_d = prune::batch_norm_module(model, "bn_d");
      for (int f = 0; f < 6; ++f) bn_d->weight.set({f}, 0.0);
      auto bn_a = prune::batch_norm_module(model, "bn_a");
      for (int f = 0; f < 5; ++f) bn_a->weight.set({f}, 0.0);
    }
    const double r = reg.end_epoch(1, sgd);
    CHECK(r > 0.5);
    CHECK(reg.lambda0() == doctest::Approx(1e-3));
    REQUIRE(reg.trace().size() == 2);
    CHECK(reg.trace()[0].goal == doctest::Approx(0.1));
    CHECK(reg.trace()[1].goal == doctest::Approx(0.2));
    CHECK(reg.trace()[1].lambda0 == doctest::Approx(2e-3));
    CHECK(reg.trace()[1].next_lambda0 == doctest::Approx(1e-3));
    CHECK(sgd.has_l1(prune::conv_module(model, "conv_a")->gate("stripe")));
    CHECK(sgd.has_l1(prune::batch_norm_module(model, "bn_a")->weight));
    reg.clear(sgd);
    CHECK(!sgd.has_l1(prune::conv_module(model, "conv_a")->gate("stripe")));
    // The same first epoch with m = 4 and the target due at half the phase: lambda0 quadruples, the goal is 0.2.
    prune::RegularizerOptions fast = options;
    fast.controller_max_factor = 4.0;
    fast.controller_reach = 0.5;
    {
      TwoPathNet fresh(3, 8);
      prune::enable_gates(fresh, state);
      optim::SGD fresh_sgd(prune::parameter_groups(fresh, 1e-4), 0.1);
      prune::AdaptiveL1 quick(fresh, a, state, fast);
      CHECK(quick.end_epoch(0, fresh_sgd) == 0.0);
      CHECK(quick.lambda0() == doctest::Approx(4e-3));
      CHECK(quick.trace()[0].goal == doctest::Approx(0.2));
    }
    fast.controller_reach = 0;
    CHECK_THROWS_WITH_AS(prune::AdaptiveL1(model, a, state, fast), doctest::Contains("controller_reach"), Error);
    fast.controller_reach = 1;
    fast.controller_max_factor = 1;
    CHECK_THROWS_WITH_AS(prune::AdaptiveL1(model, a, state, fast), doctest::Contains("controller_max_factor"), Error);
    options.target_flops_reduction = 1.5;
    CHECK_THROWS_AS(prune::AdaptiveL1(model, a, state, options), Error);
  }

  TEST_CASE("gates: plan, granularity parsing and parameter groups") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    prune::GateOptions options;
    options.granularities = prune::Granularities::parse("stripe+filter,channel");
    CHECK(options.granularities.str() == "filter,channel,stripe");
    options.exclude_first_conv = true;
    const auto state = prune::plan_gates(a, options);
    CHECK(!state.convs[a.conv_index("conv_a")].has(prune::granularity("stripe")));
    CHECK(!state.convs[a.conv_index("conv_a")].has(prune::granularity("filter")));
    CHECK(state.convs[a.conv_index("conv_d")].has(prune::granularity("filter")));
    CHECK(!state.convs[a.conv_index("conv_b")].has(prune::granularity("filter")));  // D
    CHECK(state.convs[a.conv_index("conv_b")].has(prune::granularity("channel")));
    CHECK(!state.convs[a.conv_index("conv_e")].has(prune::granularity("filter")));  // no BN
    CHECK_THROWS_AS(prune::Granularities::parse("filter,kernel"), Error);
    CHECK_THROWS_AS(prune::Granularities::parse(""), Error);
    options.excluded_convs = {"nope"};
    CHECK_THROWS_AS(prune::plan_gates(a, options), Error);
    options.excluded_convs.clear();
    prune::enable_gates(model, state);
    const auto groups = prune::parameter_groups(model, 5e-4);
    REQUIRE(groups.size() == 2);
    CHECK(groups[1].name == "gates");
    CHECK(groups[1].weight_decay == 0.0);
    CHECK(groups[1].params.size() == 8);  // stripe + channel gates on conv_b..conv_e
    CHECK(prune::gate_tensors(model, state).size() == 1 + 8);
  }
}
