#include "prunus/models/zoo.h"

namespace prunus {
namespace models {

std::vector<std::string> list_models() {
  return {"lenet", "vgg16", "resnet20", "resnet32", "resnet56", "resnet110", "resnet50", "inception"};
}

std::shared_ptr<nn::Module> make_model(const std::string& arch, int num_classes, int in_channels, int image_size,
                                       uint64_t seed) {
  PRUNUS_CHECK(num_classes >= 1, "make_model('", arch, "'): num_classes must be at least 1, got ", num_classes);
  PRUNUS_CHECK(in_channels >= 1, "make_model('", arch, "'): in_channels must be at least 1, got ", in_channels);
  PRUNUS_CHECK(image_size >= 1, "make_model('", arch, "'): image_size must be positive, got ", image_size);
  if (arch == "lenet") return lenet(num_classes, in_channels, image_size, seed);
  if (arch == "vgg16") return vgg16(num_classes, in_channels, image_size, seed);
  if (arch == "resnet20") return resnet_cifar(20, num_classes, in_channels, image_size, seed);
  if (arch == "resnet32") return resnet_cifar(32, num_classes, in_channels, image_size, seed);
  if (arch == "resnet56") return resnet_cifar(56, num_classes, in_channels, image_size, seed);
  if (arch == "resnet110") return resnet_cifar(110, num_classes, in_channels, image_size, seed);
  if (arch == "resnet50") return resnet50(num_classes, in_channels, image_size, seed);
  if (arch == "inception") return inception(num_classes, in_channels, image_size, seed);
  std::string valid;
  for (const std::string& name : list_models()) valid += (valid.empty() ? "" : ", ") + name;
  PRUNUS_FAIL("unknown model architecture '", arch, "'; valid architectures: ", valid);
}

}  // namespace models
}  // namespace prunus
