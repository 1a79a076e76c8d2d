#include "prunus/models/blocks.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/layers.h"

namespace prunus {
namespace models {

std::shared_ptr<nn::Module> inception(int num_classes, int in_channels, int image_size, uint64_t seed) {
  PRUNUS_CHECK(image_size >= 4, "inception: image_size must be at least 4, got ", image_size);
  nn::InitSeedScope init(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(in_channels, 64, 3, 1, 1));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(64));
  net->add("relu", std::make_shared<nn::ReLU>());
  // Branch widths (c1, c3_reduce, c3, c5_reduce, c5, pool_proj): GoogLeNet's
  // proportions, about a third of its widths, so CIFAR training fits a CPU.
  net->add("a3", std::make_shared<InceptionBlock>(64, 32, 48, 64, 8, 16, 16));     // -> 128
  net->add("b3", std::make_shared<InceptionBlock>(128, 64, 64, 96, 16, 32, 32));   // -> 224
  net->add("maxpool1", std::make_shared<nn::MaxPool2d>(3, 2, 1));
  net->add("a4", std::make_shared<InceptionBlock>(224, 96, 64, 128, 16, 32, 32));  // -> 288
  net->add("b4", std::make_shared<InceptionBlock>(288, 96, 96, 160, 24, 48, 48));  // -> 352
  net->add("maxpool2", std::make_shared<nn::MaxPool2d>(3, 2, 1));
  net->add("a5", std::make_shared<InceptionBlock>(352, 128, 96, 192, 32, 64, 64)); // -> 448
  net->add("avgpool", std::make_shared<nn::GlobalAvgPool>());
  net->add("fc", std::make_shared<nn::Linear>(448, num_classes));
  return net;
}

}  // namespace models
}  // namespace prunus
