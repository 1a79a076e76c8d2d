#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/models/blocks.h"
#include "prunus/models/summary.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/description.h"
#include "prunus/nn/layers.h"
#include "prunus/nn/state.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

using namespace prunus;

namespace {

Tensor run_eval(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  model.eval();
  return model(x);
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// Gives every state tensor a distinct value, so a load that skipped or
// swapped something would change the output.
void randomize_state(nn::Module& model, uint64_t seed) {
  Rng rng(seed);
  NoGradGuard no_grad;
  for (auto& [name, t] : nn::state_tensors(model)) {
    Tensor target = t;
    const bool positive = name.find("running_var") != std::string::npos;
    target.copy_(Tensor::uniform(t.shape(), rng, positive ? 0.5 : -0.5, positive ? 1.5 : 0.5));
  }
}

// Describe, rebuild, load the state: the rebuilt model must compute the same.
void check_round_trip(nn::Module& model, const Tensor& x) {
  const std::string text = nn::describe(model);
  auto rebuilt = nn::build_from_description(text);
  CHECK(nn::describe(*rebuilt) == text);
  nn::load_state_tensors(*rebuilt, nn::state_tensors(model));
  const Tensor expected = run_eval(model, x), got = run_eval(*rebuilt, x);
  REQUIRE(expected.shape() == got.shape());
  CHECK(expected.to_vector() == got.to_vector());
}

// The printed digits of PRUNING.md: MACs in M to 2 decimals, params in M to 3.
void check_counts(const models::ModelSummary& s, double macs_m, double params_m) {
  CHECK(std::llround(double(s.total_macs) / 1e4) == std::llround(macs_m * 100));
  CHECK(std::llround(double(s.total_params) / 1e3) == std::llround(params_m * 1000));
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("list_models and unknown architectures") {
    CHECK(models::list_models() == std::vector<std::string>{"lenet", "vgg16", "resnet20", "resnet32", "resnet56",
                                                            "resnet110", "resnet50", "inception"});
    CHECK_THROWS_WITH_AS(models::make_model("resnet18", 10, 3, 32, 0),
                         doctest::Contains("unknown model architecture 'resnet18'; valid architectures: lenet, "
                                           "vgg16, resnet20, resnet32, resnet56, resnet110, resnet50, inception"),
                         Error);
    CHECK_THROWS_WITH_AS(models::make_model("vgg16", 10, 3, 16, 0), doctest::Contains("at least 32"), Error);
    CHECK_THROWS_AS(models::make_model("lenet", 0, 1, 28, 0), Error);
    CHECK_THROWS_AS(models::make_model("resnet20", 10, 0, 32, 0), Error);
    CHECK_THROWS_AS(models::resnet_cifar(21, 10, 3, 32, 0), Error);
  }

  TEST_CASE("every module type of every zoo model has registered itself") {
    // The types register from static initializers in their own files; one
    // that is missing (or an object file the link dropped) fails here.
    for (const std::string& arch : models::list_models()) {
      CAPTURE(arch);
      const int channels = arch == "lenet" ? 1 : 3;
      auto model = models::make_model(arch, 10, channels, arch == "lenet" ? 28 : 32, 0);
      for (const auto& [name, module] : model->named_modules()) {
        CAPTURE(name);
        CHECK(nn::is_module_type_registered(module->type_name()));
      }
    }
    const auto types = nn::registered_module_types();
    CHECK(std::find(types.begin(), types.end(), "StripeConv2d") != types.end());  // compact models
  }

  TEST_CASE("output shapes on a random batch of 2") {
    Rng rng(1);
    struct Case {
      const char* arch;
      int classes, channels, size;
    };
    for (const Case& c : {Case{"lenet", 10, 1, 28}, Case{"resnet20", 7, 3, 32}, Case{"inception", 5, 3, 32}}) {
      CAPTURE(c.arch);
      auto model = models::make_model(c.arch, c.classes, c.channels, c.size, 42);
      Tensor x = Tensor::randn({2, c.channels, c.size, c.size}, rng);
      Tensor y = (*model)(x);  // training mode: BN uses the batch statistics
      CHECK(y.shape() == Shape{2, c.classes});
      CHECK(all_finite(y));
    }
    // VGG-16 and ResNet-50 are checked below, beside their counts, so that
    // each is built once. Odd sizes where the architecture allows them.
    auto lenet = models::make_model("lenet", 3, 2, 13, 1);
    CHECK(run_eval(*lenet, Tensor::randn({3, 2, 13, 13}, rng)).shape() == Shape{3, 3});
    auto resnet = models::make_model("resnet20", 4, 5, 9, 1);
    CHECK(run_eval(*resnet, Tensor::randn({3, 5, 9, 9}, rng)).shape() == Shape{3, 4});
  }

  TEST_CASE("the same seed gives the same model; another seed does not") {
    auto a = models::make_model("resnet20", 10, 3, 32, 5);
    auto b = models::make_model("resnet20", 10, 3, 32, 5);
    auto c = models::make_model("resnet20", 10, 3, 32, 6);
    const auto sa = nn::state_tensors(*a), sb = nn::state_tensors(*b), sc = nn::state_tensors(*c);
    REQUIRE(sa.size() == sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
      CHECK(sa[i].first == sb[i].first);
      CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
    }
    CHECK(sa[0].first == "conv1.weight");
    CHECK(sa[0].second.to_vector() != sc[0].second.to_vector());
    // Dropout's Rng comes from the seed too.
    auto l1 = models::make_model("lenet", 10, 1, 28, 9), l2 = models::make_model("lenet", 10, 1, 28, 9);
    Rng rng(3);
    Tensor x = Tensor::randn({2, 1, 28, 28}, rng);
    CHECK((*l1)(x).to_vector() == (*l2)(x).to_vector());
  }

  TEST_CASE("names follow torchvision's layout") {
    auto resnet = models::make_model("resnet56", 10, 3, 32, 0);
    CHECK(resnet->find_module("layer3.8.conv2") != nullptr);
    CHECK(std::dynamic_pointer_cast<models::BasicBlock>(resnet->find_module("layer2.0"))->stride == 2);
    auto inception = models::make_model("inception", 10, 3, 32, 0);
    CHECK(inception->find_module("a3.branch5x5.6")->type_name() == "Conv2d");
    CHECK(std::dynamic_pointer_cast<models::InceptionBlock>(inception->find_module("a5"))->in_channels == 352);
  }

  TEST_CASE("describe -> rebuild -> load state gives identical outputs") {
    Rng rng(4);
    for (const char* arch : {"resnet20", "inception", "lenet"}) {
      CAPTURE(arch);
      const int channels = std::string(arch) == "lenet" ? 1 : 3;
      auto model = models::make_model(arch, 6, channels, 12, 3);
      randomize_state(*model, 17);
      check_round_trip(*model, Tensor::randn({2, channels, 12, 12}, rng));
    }
  }

  TEST_CASE("a model whose widths were changed by pruning is saved and rebuilt") {
    Rng rng(6);
    auto model = models::make_model("resnet20", 10, 3, 11, 2);
    // What compaction does: layer1.0's inner width 16 -> 7, gates on another conv.
    model->replace_module("layer1.0.conv1", std::make_shared<nn::Conv2d>(16, 7, 3, 1, 1));
    model->replace_module("layer1.0.bn1", std::make_shared<nn::BatchNorm2d>(7));
    model->replace_module("layer1.0.conv2", std::make_shared<nn::Conv2d>(7, 16, 3, 1, 1));
    auto conv = std::dynamic_pointer_cast<nn::Conv2d>(model->find_module("layer2.1.conv1"));
    conv->enable_gate("stripe");
    conv->enable_mask();
    randomize_state(*model, 19);
    const std::string text = nn::describe(*model);
    CHECK(text.find("conv1: Conv2d in_channels=16 out_channels=7") != std::string::npos);
    check_round_trip(*model, Tensor::randn({3, 3, 11, 11}, rng));
    // A dense model cannot take the pruned state.
    auto dense = models::make_model("resnet20", 10, 3, 11, 2);
    CHECK_THROWS_WITH_AS(nn::load_state_tensors(*dense, nn::state_tensors(*model)),
                         doctest::Contains("layer1.0.conv1.weight' has shape [7, 16, 3, 3]"), Error);
  }

  TEST_CASE("summary rows: conv and linear nodes with shapes, params and MACs") {
    auto model = models::make_model("resnet20", 10, 3, 32, 0);
    model->train();
    const models::ModelSummary s = models::summarize(*model, {3, 32, 32});
    CHECK(model->training());  // restored
    REQUIRE(s.layers.size() == 20);  // 19 convs + fc: no shortcut convs with option A
    const models::LayerSummary& first = s.layers.front();
    CHECK(first.module == "conv1");
    CHECK(first.type == "Conv2d");
    CHECK(first.input_shape == Shape{1, 3, 32, 32});
    CHECK(first.output_shape == Shape{1, 16, 32, 32});
    CHECK(first.params == 432);
    CHECK(first.macs == 32 * 32 * 16 * 3 * 9);
    const models::LayerSummary& last = s.layers.back();
    CHECK(last.module == "fc");
    CHECK(last.type == "Linear");
    CHECK(last.params == 650);
    CHECK(last.macs == 640);
    CHECK(s.output_shape == Shape{1, 10});
    const std::string table = models::format_summary(s);
    CHECK(table.find("layer3.2.conv2") != std::string::npos);
    CHECK(table.find("40.55 M") != std::string::npos);
    CHECK(table.find("pruning gates (stripe_gate, channel_gate) excluded") != std::string::npos);

    // The real forward pass counts the same as the shape-only one.
    const models::ModelSummary computed = models::summarize(*model, {1, 3, 32, 32}, /*shape_only=*/false);
    CHECK(computed.total_macs == s.total_macs);
    CHECK(computed.layers.size() == s.layers.size());
    CHECK_THROWS_AS(models::summarize(*model, {2, 3, 32, 32}), Error);
    CHECK_THROWS_AS(models::summarize(*model, {3, 32}), Error);
  }

  TEST_CASE("gates are learnable but not counted as parameters; pruned widths are") {
    auto model = models::make_model("resnet20", 10, 3, 32, 0);
    const int64_t dense = models::count_parameters(*model);
    auto conv = std::dynamic_pointer_cast<nn::Conv2d>(model->find_module("layer1.0.conv1"));
    conv->enable_gate("stripe");
    conv->enable_gate("channel");
    CHECK(models::count_parameters(*model) == dense);
    CHECK(model->named_parameters().size() == model->named_parameters(nn::ParameterFilter::ExcludeGates).size() + 2);
    model->replace_module("layer1.0.conv1", std::make_shared<nn::Conv2d>(16, 8, 3, 1, 1));
    model->replace_module("layer1.0.bn1", std::make_shared<nn::BatchNorm2d>(8));
    model->replace_module("layer1.0.conv2", std::make_shared<nn::Conv2d>(8, 16, 3, 1, 1));
    const models::ModelSummary s = models::summarize(*model, {3, 32, 32});
    CHECK(s.total_params == dense - 2 * 8 * 16 * 9 - 2 * 8);
    CHECK(s.total_macs == 40551040 - 2 * 32 * 32 * 8 * 16 * 9);
  }

  TEST_CASE("counting matches PRUNING.md") {
    check_counts(models::summarize(*models::make_model("resnet20", 10, 3, 32, 0), {3, 32, 32}), 40.55, 0.270);
    check_counts(models::summarize(*models::make_model("resnet56", 10, 3, 32, 0), {3, 32, 32}), 125.49, 0.853);
    check_counts(models::summarize(*models::make_model("resnet110", 10, 3, 32, 0), {3, 32, 32}), 252.89, 1.728);
  }

  TEST_CASE("VGG-16: HRank's layout, output shape, 313.46 M MACs and 14.988 M params") {
    auto vgg = models::make_model("vgg16", 10, 3, 32, 0);
    int convs = 0;
    for (auto& [name, m] : vgg->named_modules()) convs += m->type_name() == "Conv2d";
    CHECK(convs == 13);
    CHECK(vgg->find_module("classifier.norm1")->type_name() == "BatchNorm1d");
    check_counts(models::summarize(*vgg, {3, 32, 32}), 313.46, 14.988);
    Rng rng(12);
    Tensor y = (*vgg)(Tensor::randn({2, 3, 32, 32}, rng));
    CHECK(y.shape() == Shape{2, 10});
    CHECK(all_finite(y));
  }

  TEST_CASE("ResNet-50: layout, output shape, 4089.18 M MACs and 25.557 M params") {
    auto r50 = models::make_model("resnet50", 1000, 3, 224, 0);
    CHECK(r50->find_module("layer4.0.downsample.0")->type_name() == "Conv2d");
    CHECK(r50->find_module("layer4.1.downsample") == nullptr);
    CHECK(std::dynamic_pointer_cast<nn::Conv2d>(r50->find_module("layer2.0.conv2"))->stride == 2);  // v1.5
    // Shape-only tracing makes the 224x224 count cheap even under the sanitizers.
    const models::ModelSummary s = models::summarize(*r50, {3, 224, 224});
    check_counts(s, 4089.18, 25.557);
    CHECK(s.total_macs == 4089184256LL);
    CHECK(s.total_params == 25557032);
    // Any size from 32 up runs: global average pooling.
    Rng rng(13);
    Tensor y = run_eval(*r50, Tensor::randn({2, 3, 32, 32}, rng));
    CHECK(y.shape() == Shape{2, 1000});
    CHECK(all_finite(y));
  }
}
