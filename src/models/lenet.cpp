#include "prunus/models/zoo.h"
#include "prunus/nn/layers.h"

namespace prunus {
namespace models {

std::shared_ptr<nn::Module> lenet(int num_classes, int in_channels, int image_size, uint64_t seed) {
  PRUNUS_CHECK(image_size >= 4, "lenet: image_size must be at least 4 (two 2x2 max-pools), got ", image_size);
  nn::InitSeedScope init(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(in_channels, 32, 5, 1, 2));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(32));
  net->add("relu1", std::make_shared<nn::ReLU>());
  net->add("pool1", std::make_shared<nn::MaxPool2d>(2));
  net->add("conv2", std::make_shared<nn::Conv2d>(32, 64, 5, 1, 2));
  net->add("bn2", std::make_shared<nn::BatchNorm2d>(64));
  net->add("relu2", std::make_shared<nn::ReLU>());
  net->add("pool2", std::make_shared<nn::MaxPool2d>(2));
  net->add("flatten", std::make_shared<nn::Flatten>());
  const int side = image_size / 2 / 2;
  net->add("fc1", std::make_shared<nn::Linear>(64 * side * side, 256));
  net->add("relu3", std::make_shared<nn::ReLU>());
  net->add("dropout", std::make_shared<nn::Dropout>(0.5));
  net->add("fc2", std::make_shared<nn::Linear>(256, num_classes));
  return net;
}

}  // namespace models
}  // namespace prunus
