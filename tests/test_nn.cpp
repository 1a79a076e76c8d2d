#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/nn/description.h"
#include "prunus/nn/layers.h"
#include "prunus/nn/shape_only.h"
#include "prunus/nn/state.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

using namespace prunus;

namespace {

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : named) names.push_back(name);
  return names;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector_f64(), y = b.to_vector_f64();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

void fill_random(Tensor& t, Rng& rng, double lo, double hi) {
  NoGradGuard no_grad;
  t.copy_(Tensor::uniform(t.shape(), rng, lo, hi));
}

// conv -> bn -> relu inside a named Sequential: "body.conv" etc.
std::shared_ptr<nn::Sequential> small_tree() {
  nn::InitSeedScope init(7);
  auto body = std::make_shared<nn::Sequential>();
  body->add("conv", std::make_shared<nn::Conv2d>(5, 4, 3, 1, 1, true));
  body->add("bn", std::make_shared<nn::BatchNorm2d>(4));
  body->add("relu", std::make_shared<nn::ReLU>());
  auto root = std::make_shared<nn::Sequential>();
  root->add("body", body);
  root->add(std::make_shared<nn::GlobalAvgPool>());  // named "1"
  root->add("fc", std::make_shared<nn::Linear>(4, 3));
  root->add("norm", std::make_shared<nn::BatchNorm1d>(3));
  return root;
}

// A user-defined module type, to check that the registry is extensible.
class ScaleBy : public nn::Module {
 public:
  explicit ScaleBy(double factor_) : factor(factor_) {}
  Tensor forward(const Tensor& x) override {
    return ops::mul(x, Tensor::full(Shape(x.ndim(), 1), factor, x.dtype()));
  }
  std::string type_name() const override { return "ScaleBy"; }
  void describe_attributes(nn::ModuleAttributes& a) const override { a.set_double("factor", factor); }
  double factor;
};

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("parameters, buffers and modules carry full dotted names") {
    auto root = small_tree();
    CHECK(names_of(root->named_parameters()) ==
          std::vector<std::string>{"body.conv.weight", "body.conv.bias", "body.bn.weight", "body.bn.bias",
                                   "fc.weight", "fc.bias", "norm.weight", "norm.bias"});
    CHECK(names_of(root->named_buffers()) == std::vector<std::string>{"body.bn.running_mean", "body.bn.running_var",
                                                                      "norm.running_mean", "norm.running_var"});
    std::vector<std::string> modules;
    for (auto& [name, m] : root->named_modules()) modules.push_back(name + ":" + m->type_name());
    CHECK(modules == std::vector<std::string>{"body:Sequential", "body.conv:Conv2d", "body.bn:BatchNorm2d",
                                              "body.relu:ReLU", "1:GlobalAvgPool", "fc:Linear",
                                              "norm:BatchNorm1d"});
    CHECK(root->full_name() == "");
    CHECK(root->find_module("body.bn")->type_name() == "BatchNorm2d");
    CHECK(root->find_module("") == root);
    CHECK(root->find_module("body.nothing") == nullptr);
    CHECK(root->parameters().size() == 8);
    for (const Tensor& p : root->parameters()) CHECK(p.requires_grad());
    CHECK_THROWS_WITH_AS(root->child("nope"), doctest::Contains("children are: body, 1, fc, norm"), Error);
  }

  TEST_CASE("attaching a subtree deeper renames it recursively; replace_module keeps name and mode") {
    auto inner = small_tree();
    auto outer = std::make_shared<nn::Sequential>();
    auto stage = std::make_shared<nn::Sequential>();
    outer->add("stage", stage);
    stage->add("net", inner);  // attached after its parent was attached: names still follow
    CHECK(inner->find_module("stage.net.body.conv") != nullptr);
    CHECK(outer->find_module("stage.net.body.conv")->full_name() == "stage.net.body.conv");
    CHECK(names_of(outer->named_parameters())[0] == "stage.net.body.conv.weight");

    outer->eval();
    auto replacement = std::make_shared<nn::Conv2d>(5, 4, 1);
    CHECK(replacement->training());
    outer->replace_module("stage.net.body.conv", replacement);
    CHECK(replacement->full_name() == "stage.net.body.conv");
    CHECK_FALSE(replacement->training());
    CHECK(outer->find_module("stage.net.body.conv") == replacement);
    CHECK(std::dynamic_pointer_cast<nn::Conv2d>(outer->find_module("stage.net.body.conv"))->kernel_size == 1);
    CHECK_THROWS_WITH_AS(outer->replace_module("stage.net.body.missing", replacement),
                         doctest::Contains("no child named 'missing'"), Error);
    CHECK_THROWS_AS(outer->replace_module("stage.ghost.conv", replacement), Error);
  }

  TEST_CASE("bad names and duplicate children are refused") {
    nn::Sequential seq;
    seq.add("a", std::make_shared<nn::ReLU>());
    CHECK_THROWS_WITH_AS(seq.add("a", std::make_shared<nn::ReLU>()), doctest::Contains("already has a child"), Error);
    CHECK_THROWS_AS(seq.add("b.c", std::make_shared<nn::ReLU>()), Error);
    CHECK_THROWS_AS(seq.add("b c", std::make_shared<nn::ReLU>()), Error);
    CHECK_THROWS_AS(seq.add("", std::make_shared<nn::ReLU>()), Error);
    CHECK_THROWS_AS(nn::Conv2d(0, 4, 3), Error);
    CHECK_THROWS_AS(nn::Linear(3, 0), Error);
    CHECK_THROWS_AS(nn::Dropout(1.0), Error);
  }

  TEST_CASE("train and eval propagate to every descendant") {
    auto root = small_tree();
    CHECK(root->training());
    root->eval();
    for (auto& [name, m] : root->named_modules()) CHECK_FALSE(m->training());
    root->find_module("body")->train(true);
    CHECK(root->find_module("body.bn")->training());
    CHECK_FALSE(root->find_module("fc")->training());
    CHECK_FALSE(root->training());
  }

  TEST_CASE("initialization follows the stated distributions and the seed") {
    nn::InitSeedScope init(3);
    nn::Conv2d conv(16, 32, 3);
    const auto w = conv.weight.to_vector();
    double sum = 0, sq = 0;
    for (float v : w) sum += v, sq += double(v) * v;
    const double mean = sum / w.size(), stddev = std::sqrt(sq / w.size() - mean * mean);
    CHECK(std::abs(mean) < 0.01);
    CHECK(stddev == doctest::Approx(std::sqrt(2.0 / (32 * 9))).epsilon(0.05));  // fan_out
    CHECK_FALSE(conv.bias.defined());

    nn::Linear fc(25, 7);
    const double bound = 1.0 / 5.0;
    double widest = 0;
    for (float v : fc.weight.to_vector()) widest = std::max(widest, double(std::abs(v)));
    for (float v : fc.bias.to_vector()) widest = std::max(widest, double(std::abs(v)));
    CHECK(widest <= bound);
    CHECK(widest > 0.8 * bound);

    nn::BatchNorm2d bn(5);
    CHECK(bn.weight.to_vector() == std::vector<float>(5, 1.0f));
    CHECK(bn.bias.to_vector() == std::vector<float>(5, 0.0f));
    CHECK(bn.running_var.to_vector() == std::vector<float>(5, 1.0f));

    auto a = small_tree(), b = small_tree();
    CHECK(a->named_parameters()[0].second.to_vector() == b->named_parameters()[0].second.to_vector());
    nn::InitSeedScope other(4);
    nn::Conv2d conv2(16, 32, 3);
    CHECK(conv2.weight.to_vector() != conv.weight.to_vector());
  }

  TEST_CASE("Conv2d with gates and mask equals conv2d with the multiplied weight; gradients reach the gates") {
    Rng rng(11);
    nn::Conv2d conv(5, 3, 3, 2, 1, true);
    conv.enable_mask();
    conv.enable_gate("stripe");
    conv.enable_gate("channel");
    fill_random(conv.gate("stripe"), rng, 0.5, 1.5);
    fill_random(conv.gate("channel"), rng, -1.0, 1.0);
    for (int64_t i = 0; i < conv.mask.numel(); ++i) conv.mask.f32()[i] = rng.uniform() < 0.3 ? 0.0f : 1.0f;
    CHECK(names_of(conv.named_parameters()) ==
          std::vector<std::string>{"weight", "bias", "stripe_gate", "channel_gate"});
    CHECK(names_of(conv.named_parameters(nn::ParameterFilter::ExcludeGates)) ==
          std::vector<std::string>{"weight", "bias"});
    CHECK(names_of(conv.named_parameters(nn::ParameterFilter::GatesOnly)) ==
          std::vector<std::string>{"stripe_gate", "channel_gate"});
    CHECK(names_of(conv.named_buffers()) == std::vector<std::string>{"mask"});

    // The effective weight by hand.
    Tensor manual = Tensor::empty(conv.weight_shape());
    for (int f = 0; f < 3; ++f)
      for (int c = 0; c < 5; ++c)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            manual.set({f, c, i, j}, conv.weight.at({f, c, i, j}) * conv.gate("stripe").at({f, 0, i, j}) *
                                         conv.gate("channel").at({f, c, 0, 0}) * conv.mask.at({f, c, i, j}));
    manual.requires_grad_(true);
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng);
    Tensor upstream = Tensor::randn({3, 3, 4, 5}, rng);
    Tensor y = conv(x);
    Tensor expected = ops::conv2d(x, manual, conv.bias, 2, 1);
    CHECK(max_abs_diff(y, expected) < 1e-5);

    // dL/dgate from dL/dW_eff (the gradient of the manual weight) by the chain rule.
    ops::sum(ops::mul(y, upstream)).backward();
    ops::sum(ops::mul(expected, upstream)).backward();
    Tensor g = manual.grad();
    REQUIRE(conv.gate("stripe").grad().defined());
    REQUIRE(conv.gate("channel").grad().defined());
    CHECK_FALSE(conv.mask.requires_grad());
    double worst = 0, largest = 0;
    for (int f = 0; f < 3; ++f) {
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          double want = 0;
          for (int c = 0; c < 5; ++c)
            want += g.at({f, c, i, j}) * conv.weight.at({f, c, i, j}) * conv.gate("channel").at({f, c, 0, 0}) *
                    conv.mask.at({f, c, i, j});
          worst = std::max(worst, std::abs(want - conv.gate("stripe").grad().at({f, 0, i, j})));
          largest = std::max(largest, std::abs(want));
        }
      for (int c = 0; c < 5; ++c) {
        double want = 0;
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            want += g.at({f, c, i, j}) * conv.weight.at({f, c, i, j}) * conv.gate("stripe").at({f, 0, i, j}) *
                    conv.mask.at({f, c, i, j});
        worst = std::max(worst, std::abs(want - conv.gate("channel").grad().at({f, c, 0, 0})));
      }
    }
    CHECK(largest > 1e-3);
    CAPTURE(worst);
    CAPTURE(largest);
    CHECK(worst < 1e-4 * std::max(1.0, largest));
    // Masked weights get no gradient.
    for (int64_t k = 0; k < conv.mask.numel(); ++k)
      if (conv.mask.f32()[k] == 0.0f) CHECK(conv.weight.grad().f32()[k] == 0.0f);

    // Folding the state into the weight computes the same function densely.
    Tensor before = conv(x);
    conv.fold_pruning_state_into_weight();
    CHECK_FALSE(conv.gate("stripe").defined());
    CHECK(conv.named_parameters().size() == 2);
    CHECK(max_abs_diff(conv(x), before) < 1e-5);
  }

  TEST_CASE("Conv2d reports tensors that disagree with its integer fields") {
    nn::Conv2d conv(5, 3, 3);
    conv.weight = Tensor::zeros({2, 5, 3, 3});
    CHECK_THROWS_WITH_AS(conv(Tensor::zeros({1, 5, 7, 9})), doctest::Contains("out_channels"), Error);
    conv.out_channels = 2;
    CHECK(conv(Tensor::zeros({1, 5, 7, 9})).shape() == Shape{1, 2, 5, 7});
  }

  TEST_CASE("BatchNorm updates running statistics only in training mode; Dropout is seeded") {
    Rng rng(5);
    nn::BatchNorm2d bn(3);
    Tensor x = Tensor::randn({4, 3, 5, 7}, rng, 2.0, 1.0);
    bn(x);
    const double after_train = bn.running_mean.at({0});
    CHECK(after_train == doctest::Approx(0.2).epsilon(0.2));  // 0.9*0 + 0.1*~2
    bn.eval();
    bn(x);
    CHECK(bn.running_mean.at({0}) == after_train);

    nn::Dropout a(0.5, 99), b(0.5, 99);
    Tensor ones = Tensor::ones({3, 5, 7});
    CHECK(a(ones).to_vector() == b(ones).to_vector());
    int zeros = 0;
    for (float v : a(ones).to_vector()) zeros += v == 0.0f;
    CHECK(zeros > 30);
    CHECK(zeros < 75);
    a.eval();
    CHECK(a(ones).to_vector() == ones.to_vector());
  }

  TEST_CASE("shape-only mode records the same conv and linear nodes without computing") {
    Rng rng(2);
    auto net = small_tree();
    net->eval();
    Tensor x = Tensor::randn({2, 5, 7, 9}, rng);
    Tensor full, shaped;
    std::vector<std::shared_ptr<Node>> full_nodes, shaped_nodes;
    {
      NoGradGuard no_grad;
      TraceGuard trace;
      full = (*net)(x);
      full_nodes = topological_order(full);
      nn::ShapeOnlyGuard shapes;
      CHECK(nn::shape_only_active());
      shaped = (*net)(x);
      shaped_nodes = topological_order(shaped);
    }
    CHECK_FALSE(nn::shape_only_active());
    CHECK(full.shape() == shaped.shape());
    REQUIRE(full_nodes.size() == shaped_nodes.size());
    for (size_t i = 0; i < full_nodes.size(); ++i) {
      CHECK(full_nodes[i]->op == shaped_nodes[i]->op);
      CHECK(full_nodes[i]->module == shaped_nodes[i]->module);
      CHECK(full_nodes[i]->output_shape == shaped_nodes[i]->output_shape);
      CHECK(full_nodes[i]->attributes == shaped_nodes[i]->attributes);
      CHECK(full_nodes[i]->inputs.size() == shaped_nodes[i]->inputs.size());
    }
    nn::ShapeOnlyGuard shapes;
    CHECK_THROWS_AS((*net)(Tensor::zeros({1, 4, 7, 9})), Error);
  }

  TEST_CASE("describe -> build_from_description reproduces the tree; state round-trips") {
    auto root = small_tree();
    auto conv = std::dynamic_pointer_cast<nn::Conv2d>(root->find_module("body.conv"));
    conv->enable_gate("stripe");
    conv->enable_mask();
    root->add("drop", std::make_shared<nn::Dropout>(0.25, 1234567890123ULL));
    const std::string text = nn::describe(*root);
    CHECK(text.rfind("prunus-architecture 1\nSequential {\n", 0) == 0);
    CHECK(text.find("  body: Sequential {\n    conv: Conv2d in_channels=5 out_channels=4 kernel_size=3") !=
          std::string::npos);
    auto rebuilt = nn::build_from_description(text);
    CHECK(nn::describe(*rebuilt) == text);
    auto rebuilt_conv = std::dynamic_pointer_cast<nn::Conv2d>(rebuilt->find_module("body.conv"));
    REQUIRE(rebuilt_conv);
    CHECK(rebuilt_conv->gate("stripe").defined());
    CHECK(rebuilt_conv->mask.defined());
    CHECK_FALSE(rebuilt_conv->gate("channel").defined());
    CHECK(std::dynamic_pointer_cast<nn::Dropout>(rebuilt->find_module("drop"))->seed == 1234567890123ULL);

    Rng rng(8);
    for (auto& [name, t] : nn::state_tensors(*root)) fill_random(t, rng, 0.5, 1.5);
    nn::load_state_tensors(*rebuilt, nn::state_tensors(*root));
    root->eval();
    rebuilt->eval();
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng);
    CHECK(max_abs_diff((*root)(x), (*rebuilt)(x)) == 0.0);
  }

  TEST_CASE("load_state_tensors names missing, unexpected and mismatched entries and changes nothing then") {
    auto model = small_tree();
    auto state = nn::state_tensors(*model);
    std::map<std::string, Tensor> by_name(state.begin(), state.end());
    const auto weight_before = model->find_module("fc")->named_parameters()[0].second.to_vector();

    auto missing = by_name;
    missing.erase("body.bn.running_var");
    missing["fc.weight"] = Tensor::zeros({3, 4});
    CHECK_THROWS_WITH_AS(nn::load_state_tensors(*model, missing),
                         doctest::Contains("missing from the state: body.bn.running_var"), Error);
    auto extra = by_name;
    extra["body.conv.stripe_gate"] = Tensor::ones({4, 1, 3, 3});
    CHECK_THROWS_WITH_AS(nn::load_state_tensors(*model, extra),
                         doctest::Contains("not in the model: body.conv.stripe_gate"), Error);
    auto wrong = by_name;
    wrong["fc.weight"] = Tensor::zeros({4, 3});
    wrong["body.bn.weight"] = Tensor::zeros({4});
    CHECK_THROWS_WITH_AS(nn::load_state_tensors(*model, wrong), doctest::Contains("'fc.weight' has shape [4, 3]"),
                         Error);
    CHECK(model->find_module("fc")->named_parameters()[0].second.to_vector() == weight_before);
    CHECK(model->find_module("body.bn")->named_parameters()[0].second.to_vector() == std::vector<float>(4, 1.0f));
  }

  TEST_CASE("malformed descriptions are refused with the line and what was expected") {
    const std::string good = nn::describe(*small_tree());
    auto replaced = [&](const std::string& from, const std::string& to) {
      std::string s = good;
      const size_t at = s.find(from);
      REQUIRE(at != std::string::npos);
      return s.replace(at, from.size(), to);
    };
    CHECK_THROWS_WITH_AS(nn::build_from_description(""), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced("prunus-architecture 1", "prunus-architecture 7")),
                         doctest::Contains("version 7"), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced("Conv2d", "Conv3d")),
                         doctest::Contains("line 4: unknown module type 'Conv3d'; registered types: "), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced(" stride=1", "")),
                         doctest::Contains("Conv2d needs attribute 'stride'"), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced(" stride=1", " stride=1 dilation=2")),
                         doctest::Contains("Conv2d has no attribute 'dilation'"), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced("kernel_size=3", "kernel_size=three")),
                         doctest::Contains("kernel_size=three is not an integer"), Error);
    CHECK_THROWS_AS(nn::build_from_description(good.substr(0, good.size() - 2)), Error);  // last '}' gone
    CHECK_THROWS_WITH_AS(nn::build_from_description(good + "ReLU\n"), doctest::Contains("after the root"), Error);
    CHECK_THROWS_WITH_AS(nn::build_from_description(replaced("bn: ", "conv: ")),
                         doctest::Contains("two children named 'conv'"), Error);
  }

  TEST_CASE("register_module_type makes a custom module type rebuildable") {
    auto seq = std::make_shared<nn::Sequential>();
    seq->add("scale", std::make_shared<ScaleBy>(2.5));
    const std::string text = nn::describe(*seq);
    if (!nn::is_module_type_registered("ScaleBy"))
      CHECK_THROWS_WITH_AS(nn::build_from_description(text), doctest::Contains("nn::register_module_type"), Error);
    nn::register_module_type("ScaleBy", [](const nn::ModuleAttributes& a) {
      return std::make_shared<ScaleBy>(a.get_double("factor"));
    });
    auto rebuilt = nn::build_from_description(text);
    Tensor x = Tensor::full({3, 5}, 2.0);
    CHECK((*rebuilt)(x).at({2, 4}) == 5.0);
    const auto types = nn::registered_module_types();
    CHECK(std::find(types.begin(), types.end(), "BasicBlock") != types.end());
    CHECK(std::find(types.begin(), types.end(), "ScaleBy") != types.end());
  }
}
