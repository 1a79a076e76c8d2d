// A granularity defined here alone, kernel rows W[f,:,i,:], run through the
// whole pruning wing: config parsing, gates, the adaptive L1's proximal step,
// the count, the top-up, fine pruning, compaction, checkpoint descriptions
// and the report. Nothing outside this file knows it.
#include <doctest/doctest.h>

#include <algorithm>

#include "prunus/autograd.h"
#include "prunus/nn/description.h"
#include "prunus/nn/state.h"
#include "prunus/optim/sgd.h"
#include "prunus/ops.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"
#include "prunus/prune/pruner.h"
#include "prunus/prune/regularizer.h"
#include "prunus/prune/report.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

namespace {

// One gate per filter and kernel row: [F,1,K,1].
class KernelRowGranularity : public prune::ConvGateGranularity {
 public:
  std::string name() const override { return "row"; }
  nn::ConvGatePattern pattern() const override { return {false, true, false}; }
  int fine_order() const override { return 5; }  // a row holds K stripes: it comes before them
};

// Registered for one test case only, so the others see the built-in four.
struct ScopedRowGranularity {
  ScopedRowGranularity() { prune::register_granularity(std::make_shared<KernelRowGranularity>()); }
  ~ScopedRowGranularity() { prune::unregister_granularity("row"); }
};

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("granularity: a fifth granularity defined in a test runs through gates, L1, pruning, compaction and the report") {
    ScopedRowGranularity registered;
    const prune::Granularity& row = prune::granularity("row");
    CHECK(prune::granularity_names() == "filter, channel, stripe, weight, row");
    prune::Granularities kinds = prune::Granularities::parse("row+filter");
    CHECK(kinds.str() == "filter,row");

    ChainNet model;
    randomize_batch_norms(model, 3);
    const auto a = prune::analyze_model(model, {3, 7, 9});
    prune::GateOptions gate_options;
    gate_options.granularities = kinds;
    const auto state = prune::plan_gates(a, gate_options);
    prune::enable_gates(model, state);
    prune::initialize_gates(model, state, 0.5);
    for (const prune::ConvLayer& layer : a.convs) {
      auto conv = prune::conv_module(model, layer.name);
      REQUIRE(conv->gate("row").defined());
      CHECK(conv->gate("row").shape() == Shape{layer.out_channels, 1, layer.kernel, 1});
      CHECK_FALSE(conv->gate("stripe").defined());
    }

    // The gate is a factor of the effective weight, and gradients reach it.
    {
      auto conv = prune::conv_module(model, "conv3");
      NoGradGuard no_grad;
      conv->gate("row").set({0, 0, 1, 0}, 0.25);
      const Tensor eff = conv->effective_weight();
      for (int64_t c = 0; c < conv->in_channels; ++c)
        for (int j = 0; j < conv->kernel_size; ++j) {
          CHECK(eff.at({0, c, 1, j}) == doctest::Approx(0.25 * conv->weight.at({0, c, 1, j})));
          CHECK(eff.at({0, c, 0, j}) == doctest::Approx(conv->weight.at({0, c, 0, j})));
        }
    }
    // The count attributes the weights of a dead row to the row granularity:
    // conv3 is [4,5,3,3] and everything else is alive.
    {
      NoGradGuard no_grad;
      prune::conv_module(model, "conv3")->gate("row").set({1, 0, 2, 0}, 0.0);
    }
    const prune::LayerCount conv3 = prune::count_model(model, a).convs[a.conv_index("conv3")];
    CHECK(conv3.removed_by(row) == 5 * 3);
    CHECK(conv3.alive_groups(row) == 4 * 3 - 1);
    CHECK(conv3.weights_alive == 4 * 5 * 9 - 15);

    Rng rng(5);
    const Tensor x = Tensor::randn({3, 3, 7, 9}, rng);
    const std::vector<int> labels{0, 2, 1};
    model.train();
    ops::cross_entropy(model(x), labels).backward();
    CHECK(prune::conv_module(model, "conv3")->gate("row").grad().defined());

    // The adaptive L1's proximal step makes exact zeros in the row gates.
    optim::SGD sgd(prune::parameter_groups(model, 1e-4), 0.05);
    prune::RegularizerOptions options;
    options.lambda0 = 0.5;
    prune::AdaptiveL1 reg(model, a, state, options);
    bool has_row_strength = false;
    for (const auto& [gate, strength] : reg.strengths()) has_row_strength |= gate.kind == &row;
    CHECK(has_row_strength);
    const auto terms = prune::structure_terms(prune::count_model(model, a), a, state, row);
    CHECK(terms[a.conv_index("conv3")] > 0);
    for (int epoch = 0; epoch < 3; ++epoch) {
      for (int s = 0; s < 6; ++s) {
        sgd.zero_grad();
        ops::cross_entropy(model(x), labels).backward();
        sgd.step();
      }
      reg.end_epoch(epoch, sgd);
    }
    int64_t zero_rows = 0;
    for (const auto& g : prune::gate_tensors(model, state))
      if (g.kind == &row) zero_rows += optim::count_zeros(g.tensor);
    CHECK(zero_rows > 0);

    // Top-up to a target, then fine pruning masks whole rows.
    const double target = std::min(0.9, prune::flops_reduction(model, a) + 0.2);
    prune::PrunerOptions pruner;
    pruner.target_flops_reduction = target;
    model.eval();
    const auto outcome = prune::prune_model(model, a, state, pruner);
    CHECK(outcome.top_up.gates > 0);
    CHECK(outcome.fine.of(row) > 0);
    CHECK(outcome.log.find(" rows,") != std::string::npos);
    CHECK(outcome.flops_reduction_after >= target - 1e-9);
    int64_t masked_rows = 0;
    for (const prune::ConvLayer& layer : a.convs) {
      auto conv = prune::conv_module(model, layer.name);
      REQUIRE(conv->mask.defined());
      const auto removed = prune::removed_filters(model, layer);
      const int64_t live_filters = std::count(removed.begin(), removed.end(), false);
      for (int64_t f = 0; f < layer.out_channels; ++f)
        for (int64_t i = 0; i < layer.kernel; ++i) {
          if (removed[f] || conv->gate("row").at({f, 0, i, 0}) != 0.0) continue;
          bool all_masked = true;
          for (int64_t c = 0; c < layer.in_channels; ++c)
            for (int64_t j = 0; j < layer.kernel; ++j) all_masked = all_masked && conv->mask.at({f, c, i, j}) == 0.0;
          masked_rows += all_masked;
          // Only the last filter a conv keeps may keep a dead row unmasked (see fine_prune).
          if (!all_masked) CHECK(live_filters == 1);
        }
    }
    CHECK(masked_rows >= outcome.fine.of(row));

    // The gate survives a checkpoint description: described, rebuilt, loaded.
    register_test_module_types();
    const std::string description = nn::describe(model);
    CHECK(description.find("row_gate=1") != std::string::npos);
    auto rebuilt = nn::build_from_description(description);
    nn::load_state_tensors(*rebuilt, nn::state_tensors(model));
    rebuilt->eval();
    CHECK(max_relative_difference(eval_output(*rebuilt, x), eval_output(model, x)) < 1e-6);

    // Compaction keeps the function.
    const prune::CompactResult compact = prune::compact_model(model, a);
    CHECK(max_relative_difference(eval_output(*compact.model, x), eval_output(model, x)) < 1e-4);

    // The report has a column for it, in fine_order.
    const prune::PruneReport report = prune::make_report(model, a, "chain", "rows");
    const std::string md = prune::report_markdown(report);
    CHECK(md.find("| removed by filter | row | stripe | channel | weight |") != std::string::npos);
    CHECK(prune::report_json(report).find("\"removed_by_row\": ") != std::string::npos);
  }

  TEST_CASE("granularity: the registry refuses duplicates and unknown names and keeps the built-ins") {
    CHECK(prune::granularity_names() == "filter, channel, stripe, weight");
    {
      ScopedRowGranularity registered;
      CHECK_THROWS_WITH_AS(prune::register_granularity(std::make_shared<KernelRowGranularity>()),
                           doctest::Contains("'row' is already registered"), Error);
    }
    CHECK(prune::find_granularity("row") == nullptr);
    CHECK_THROWS_WITH_AS(prune::granularity("rows"), doctest::Contains("filter, channel, stripe, weight"), Error);
    CHECK_THROWS_WITH_AS(prune::unregister_granularity("stripe"), doctest::Contains("built-in"), Error);
    CHECK_THROWS_WITH_AS(prune::Granularities::parse("filter, block"), doctest::Contains("unknown granularity 'block'"),
                         Error);
  }
}
