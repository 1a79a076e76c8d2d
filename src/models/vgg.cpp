#include "prunus/models/zoo.h"
#include "prunus/nn/layers.h"

namespace prunus {
namespace models {

std::shared_ptr<nn::Module> vgg16(int num_classes, int in_channels, int image_size, uint64_t seed) {
  PRUNUS_CHECK(image_size >= 32, "vgg16: image_size must be at least 32 (five 2x2 max-pools), got ", image_size);
  nn::InitSeedScope init(seed);
  // Output channels of the 13 convs; 0 marks a 2x2 max-pool.
  const int layout[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  auto features = std::make_shared<nn::Sequential>();
  int channels = in_channels, side = image_size;
  for (int width : layout) {
    if (width == 0) {
      features->add(std::make_shared<nn::MaxPool2d>(2));
      side /= 2;
      continue;
    }
    features->add(std::make_shared<nn::Conv2d>(channels, width, 3, 1, 1));
    features->add(std::make_shared<nn::BatchNorm2d>(width));
    features->add(std::make_shared<nn::ReLU>());
    channels = width;
  }
  auto classifier = std::make_shared<nn::Sequential>();
  classifier->add("linear1", std::make_shared<nn::Linear>(channels * side * side, 512));
  classifier->add("norm1", std::make_shared<nn::BatchNorm1d>(512));
  classifier->add("relu1", std::make_shared<nn::ReLU>());
  classifier->add("linear2", std::make_shared<nn::Linear>(512, num_classes));
  auto net = std::make_shared<nn::Sequential>();
  net->add("features", features);
  net->add("flatten", std::make_shared<nn::Flatten>());
  net->add("classifier", classifier);
  return net;
}

}  // namespace models
}  // namespace prunus
