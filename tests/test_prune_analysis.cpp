#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "prunus/models/zoo.h"
#include "prunus/prune/analysis.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;
using prune::ChannelUser;
using prune::GraphAnalysis;

namespace {

std::vector<std::string> free_convs(const GraphAnalysis& a) {
  std::vector<std::string> names;
  for (const auto& c : a.convs)
    if (!c.in_d) names.push_back(c.name);
  return names;
}

bool identity_mapping(const ChannelUser& u, int64_t filters) {
  if (int64_t(u.index_of_filter.size()) != filters) return false;
  for (int64_t f = 0; f < filters; ++f)
    if (u.index_of_filter[f] != f * u.features_per_channel) return false;
  return true;
}

std::vector<std::string> user_names(const std::vector<ChannelUser>& users) {
  std::vector<std::string> names;
  for (const auto& u : users) names.push_back(u.module);
  return sorted(names);
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("analysis: ResNet-56 has D = the stem and every block's second conv") {
    auto model = models::make_model("resnet56", 10, 3, 16, 1);
    const GraphAnalysis a = prune::analyze_model(*model, {3, 16, 16});
    REQUIRE(a.convs.size() == 55);
    std::vector<std::string> expected_d{"conv1"}, expected_free;
    for (int stage = 1; stage <= 3; ++stage)
      for (int block = 0; block < 9; ++block) {
        const std::string prefix = "layer" + std::to_string(stage) + "." + std::to_string(block) + ".";
        expected_d.push_back(prefix + "conv2");
        expected_free.push_back(prefix + "conv1");
      }
    CHECK(sorted(a.dimension_matching()) == sorted(expected_d));
    CHECK(sorted(free_convs(a)) == sorted(expected_free));
    CHECK(a.conv("conv1").d_reason.find("add") != std::string::npos);
    // A free conv: its BN and its one consumer, channel f -> input f.
    const auto& c = a.conv("layer2.0.conv1");
    CHECK(c.bn == "layer2.0.bn1");
    CHECK(c.stride == 2);
    CHECK(c.out_height == 8);
    REQUIRE(c.consumers.size() == 1);
    CHECK(c.consumers[0].module == "layer2.0.conv2");
    CHECK(c.consumers[0].kind == ChannelUser::Kind::Conv);
    CHECK(identity_mapping(c.consumers[0], 32));
    REQUIRE(c.batch_norms.size() == 1);
    CHECK(c.batch_norms[0].module == "layer2.0.bn1");
    // D convs also know their BN, but list no users.
    CHECK(a.conv("layer3.8.conv2").bn == "layer3.8.bn2");
    CHECK(a.conv("layer3.8.conv2").consumers.empty());
    REQUIRE(a.linears.size() == 1);
    CHECK(a.linears[0].name == "fc");
    CHECK(a.report().find("D    conv1") != std::string::npos);
  }

  TEST_CASE("analysis: ResNet-20 at another input size gives the same sets") {
    auto model = models::make_model("resnet20", 10, 3, 32, 1);
    const GraphAnalysis a = prune::analyze_model(*model, {1, 3, 9, 11});
    CHECK(a.dimension_matching().size() == 10);
    CHECK(free_convs(a).size() == 9);
    CHECK(a.conv("layer3.2.conv1").out_height == 3);
  }

  TEST_CASE("analysis: VGG-16 has no dimension-matching conv; the classifier consumes the last conv") {
    auto model = models::make_model("vgg16", 10, 3, 64, 1);
    const GraphAnalysis a = prune::analyze_model(*model, {3, 64, 64});
    REQUIRE(a.convs.size() == 13);
    CHECK(a.dimension_matching().empty());
    const auto& last = a.convs.back();
    CHECK(last.name == "features.40");
    CHECK(last.bn == "features.41");
    REQUIRE(last.consumers.size() == 1);
    CHECK(last.consumers[0].module == "classifier.linear1");
    CHECK(last.consumers[0].kind == ChannelUser::Kind::Linear);
    CHECK(last.consumers[0].features_per_channel == 4);  // 2x2 map flattened
    CHECK(identity_mapping(last.consumers[0], 512));
    CHECK(a.linears.size() == 2);
    // The classifier's hidden layer is not a conv's user.
    CHECK(a.conv("features.0").consumers.size() == 1);
    CHECK(a.conv("features.0").consumers[0].module == "features.3");
  }

  TEST_CASE("analysis: Inception's branch ends are in D, the reduces and the stem are free") {
    auto model = models::make_model("inception", 10, 3, 16, 1);
    const GraphAnalysis a = prune::analyze_model(*model, {3, 16, 16});
    REQUIRE(a.convs.size() == 36);
    std::vector<std::string> expected_d, expected_free{"conv1"};
    for (const std::string block : {"a3", "b3", "a4", "b4", "a5"}) {
      for (const std::string end : {".branch1x1.0", ".branch3x3.3", ".branch5x5.6", ".branch_pool.1"})
        expected_d.push_back(block + end);
      for (const std::string inner : {".branch3x3.0", ".branch5x5.0", ".branch5x5.3"})
        expected_free.push_back(block + inner);
    }
    CHECK(sorted(a.dimension_matching()) == sorted(expected_d));
    CHECK(sorted(free_convs(a)) == sorted(expected_free));
    CHECK(a.conv("a3.branch1x1.0").d_reason.find("concat") != std::string::npos);
    const auto& stem = a.conv("conv1");
    CHECK(user_names(stem.consumers) ==
          sorted({"a3.branch1x1.0", "a3.branch3x3.0", "a3.branch5x5.0", "a3.branch_pool.1"}));
    for (const auto& u : stem.consumers) CHECK(identity_mapping(u, 64));
    CHECK(user_names(a.conv("b4.branch5x5.3").consumers) == std::vector<std::string>{"b4.branch5x5.6"});
  }

  TEST_CASE("analysis: ResNet-50 has D = every conv3 and projection; the stem is free") {
    auto model = models::make_model("resnet50", 10, 3, 32, 1);
    const GraphAnalysis a = prune::analyze_model(*model, {3, 32, 32});
    REQUIRE(a.convs.size() == 53);
    const auto d = a.dimension_matching();
    CHECK(d.size() == 20);
    for (const auto& name : d)
      CHECK((name.find("conv3") != std::string::npos || name.find("downsample") != std::string::npos));
    CHECK(!a.conv("conv1").in_d);
    CHECK(user_names(a.conv("conv1").consumers) == sorted({"layer1.0.conv1", "layer1.0.downsample.0"}));
    CHECK(a.conv("layer4.2.conv2").consumers[0].module == "layer4.2.conv3");
  }

  TEST_CASE("analysis: a custom model (sums, scalar mul, avg-pool, flatten to a linear)") {
    TwoPathNet model(3, 8);
    const GraphAnalysis a = prune::analyze_model(model, {3, 8, 8});
    REQUIRE(a.convs.size() == 5);
    CHECK(sorted(a.dimension_matching()) == sorted({"conv_b", "conv_c"}));
    const auto& conv_a = a.conv("conv_a");
    CHECK(conv_a.bn == "bn_a");
    CHECK(user_names(conv_a.consumers) == sorted({"conv_b", "conv_c"}));
    const auto& conv_d = a.conv("conv_d");
    CHECK(conv_d.bn == "bn_d");
    CHECK(user_names(conv_d.consumers) == std::vector<std::string>{"conv_e"});
    const auto& conv_e = a.conv("conv_e");
    CHECK(conv_e.bn.empty());
    REQUIRE(conv_e.consumers.size() == 1);
    CHECK(conv_e.consumers[0].module == "head");
    CHECK(conv_e.consumers[0].features_per_channel == 16);
    CHECK(identity_mapping(conv_e.consumers[0], 4));
  }

  TEST_CASE("analysis: per-channel constants and the network output constrain convs") {
    PerChannelScaleNet scaled;
    const GraphAnalysis a = prune::analyze_model(scaled, {3, 5, 7});
    CHECK(a.dimension_matching() == std::vector<std::string>{"conv_a"});
    CHECK(a.conv("conv_a").d_reason.find("per-channel") != std::string::npos);
    ConvOutputNet fully_conv;
    const GraphAnalysis b = prune::analyze_model(fully_conv, {3, 5, 7});
    CHECK(b.dimension_matching() == std::vector<std::string>{"conv_b"});
    CHECK(b.conv("conv_b").d_reason.find("output") != std::string::npos);
  }

  TEST_CASE("analysis: restores training mode and refuses bad shapes") {
    auto model = models::make_model("resnet20", 10, 3, 16, 1);
    model->train(true);
    prune::analyze_model(*model, {3, 7, 9});
    CHECK(model->training());
    CHECK(model->find_module("layer1.0.bn1")->training());
    CHECK_THROWS_AS(prune::analyze_model(*model, {3, 7}), Error);
    CHECK_THROWS_AS(prune::analyze_model(*model, {0, 3, 7, 9}), Error);
    const GraphAnalysis a = prune::analyze_model(*model, {3, 7, 9});
    CHECK_THROWS_AS(a.conv("nope"), Error);
  }
}
