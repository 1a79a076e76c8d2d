#include <doctest/doctest.h>

#include <cmath>

#include "prunus/models/zoo.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/model_access.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

namespace {

// PRUNING.md's reference values: MACs in M to 2 decimals, params in M to 3.
void check_reference(const std::string& arch, int classes, int image, double macs_m, double params_m) {
  auto model = models::make_model(arch, classes, 3, image, 1);
  const auto a = prune::analyze_model(*model, {3, image, image});
  const auto count = prune::count_model(*model, a);
  CHECK(std::llround(double(count.dense_macs) / 1e4) == std::llround(macs_m * 100));
  CHECK(std::llround(double(count.dense_params) / 1e3) == std::llround(params_m * 1000));
  CHECK(count.macs == count.dense_macs);
  CHECK(count.params == count.dense_params);
  CHECK(count.flops_reduction() == 0.0);
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("flops: dense counts match the reference values of PRUNING.md") {
    check_reference("resnet20", 10, 32, 40.55, 0.270);
    check_reference("resnet56", 10, 32, 125.49, 0.853);
    check_reference("vgg16", 10, 32, 313.46, 14.988);
    check_reference("resnet50", 1000, 224, 4089.18, 25.557);
  }

  TEST_CASE("flops: zero gates, stripes and masks remove what hand counting says") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    auto base = prune::count_model(model, a);
    CHECK(base.dense_macs == 66048);
    CHECK(base.dense_params == 1264);

    NoGradGuard no_grad;
    prune::batch_norm_module(model, "bn_a")->weight.set({2}, 0.0);  // filter 2 of conv_a
    prune::batch_norm_module(model, "bn_b")->weight.set({0}, 0.0);  // conv_b is in D: stays
    auto conv_d = prune::conv_module(model, "conv_d");
    conv_d->enable_gate("stripe");
    conv_d->gate("stripe").set({0, 0, 1, 1}, 0.0);  // filter 0, centre position
    auto conv_e = prune::conv_module(model, "conv_e");
    conv_e->enable_mask();
    for (int c = 0; c < 7; ++c)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) conv_e->mask.set({3, c, i, j}, 0.0);  // filter 3, no BN

    const auto count = prune::count_model(model, a);
    CHECK(count.macs == 66048 - 1728 - 2880 - 320 - 320 - 4032 - 48);
    CHECK(count.params == 1264 - 196);
    CHECK(count.flops_reduction() == doctest::Approx(1.0 - 56720.0 / 66048.0));
    const auto& ca = count.convs[a.conv_index("conv_a")];
    CHECK(ca.filters_alive == 5);
    CHECK(ca.removed_by_filter == 27);
    CHECK(ca.filter_alive[2] == 0);
    const auto& cb = count.convs[a.conv_index("conv_b")];
    CHECK(cb.filters_alive == 5);
    CHECK(cb.inputs_alive == 5);
    CHECK(cb.removed_by_input == 45);
    const auto& cd = count.convs[a.conv_index("conv_d")];
    CHECK(cd.removed_by(prune::granularity("stripe")) == 5);
    CHECK(cd.alive_groups(prune::granularity("stripe")) == 62);
    CHECK(cd.alive_groups(prune::granularity("channel")) == 35);
    const auto& ce = count.convs[a.conv_index("conv_e")];
    CHECK(ce.filters_alive == 3);
    CHECK(ce.params == 3 * 63 + 3);
    const auto& head = count.linears[0];
    CHECK(head.inputs_alive == 48);
    CHECK(head.macs == 144);
    CHECK(prune::flops_reduction(model, a) == doctest::Approx(count.flops_reduction()));
  }

  TEST_CASE("flops: a zero weight counts as removed weight; channel gates remove kernels") {
    TwoPathNet model(3, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    NoGradGuard no_grad;
    auto conv_b = prune::conv_module(model, "conv_b");
    conv_b->weight.set({1, 2, 0, 0}, 0.0);
    conv_b->enable_gate("channel");
    conv_b->gate("channel").set({4, 5, 0, 0}, 0.0);
    const auto count = prune::count_model(model, a);
    const auto& cb = count.convs[a.conv_index("conv_b")];
    CHECK(cb.removed_by(prune::granularity("weight")) == 1);
    CHECK(cb.removed_by(prune::granularity("channel")) == 9);
    CHECK(cb.weights_alive == 270 - 10);
    CHECK(cb.macs == (270 - 10) * 64);
  }

  TEST_CASE("flops: an analysis of another model is refused") {
    TwoPathNet model(3, 8), other(4, 8);
    const auto a = prune::analyze_model(model, {3, 8, 8});
    CHECK_THROWS_AS(prune::count_model(other, a), Error);
    auto resnet = models::make_model("resnet20", 10, 3, 16, 1);
    CHECK_THROWS_AS(prune::count_model(*resnet, a), Error);
  }
}
