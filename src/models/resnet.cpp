// The ResNets: CIFAR (BasicBlock, option A) and ImageNet ResNet-50 (Bottleneck).
#include "prunus/models/blocks.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/layers.h"

namespace prunus {
namespace models {

std::shared_ptr<nn::Module> resnet_cifar(int depth, int num_classes, int in_channels, int image_size,
                                         uint64_t seed) {
  PRUNUS_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "resnet_cifar: depth ", depth,
               " must be 6n+2 with n >= 1 (20, 32, 56, 110, ...)");
  PRUNUS_CHECK(image_size >= 4, "resnet", depth, ": image_size must be at least 4, got ", image_size);
  nn::InitSeedScope init(seed);
  const int blocks_per_stage = (depth - 2) / 6;
  auto net = std::make_shared<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(in_channels, 16, 3, 1, 1));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(16));
  net->add("relu", std::make_shared<nn::ReLU>());
  int channels = 16;
  const int widths[] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    auto layer = std::make_shared<nn::Sequential>();
    for (int b = 0; b < blocks_per_stage; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      layer->add(std::make_shared<BasicBlock>(channels, widths[stage], stride));
      channels = widths[stage];
    }
    net->add("layer" + std::to_string(stage + 1), layer);
  }
  net->add("avgpool", std::make_shared<nn::GlobalAvgPool>());
  net->add("fc", std::make_shared<nn::Linear>(channels, num_classes));
  return net;
}

std::shared_ptr<nn::Module> resnet50(int num_classes, int in_channels, int image_size, uint64_t seed) {
  PRUNUS_CHECK(image_size >= 32, "resnet50: image_size must be at least 32 (total stride 32), got ", image_size);
  nn::InitSeedScope init(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(in_channels, 64, 7, 2, 3));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(64));
  net->add("relu", std::make_shared<nn::ReLU>());
  net->add("maxpool", std::make_shared<nn::MaxPool2d>(3, 2, 1));
  int channels = 64;
  const int widths[] = {64, 128, 256, 512};
  const int blocks[] = {3, 4, 6, 3};
  for (int stage = 0; stage < 4; ++stage) {
    auto layer = std::make_shared<nn::Sequential>();
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      layer->add(std::make_shared<Bottleneck>(channels, widths[stage], stride));
      channels = widths[stage] * Bottleneck::kExpansion;
    }
    net->add("layer" + std::to_string(stage + 1), layer);
  }
  net->add("avgpool", std::make_shared<nn::GlobalAvgPool>());
  net->add("fc", std::make_shared<nn::Linear>(channels, num_classes));
  return net;
}

}  // namespace models
}  // namespace prunus
