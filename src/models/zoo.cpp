#include "prunus/models/zoo.h"

#include <functional>

namespace prunus {
namespace models {
namespace {

using Builder = std::function<std::shared_ptr<nn::Module>(int num_classes, int in_channels, int image_size,
                                                          uint64_t seed)>;

// The one list of architecture names: list_models(), make_model() and the
// config schema's model.arch choices (a test compares them) all come from it.
const std::vector<std::pair<std::string, Builder>>& zoo() {
  auto resnet = [](int depth) {
    return [depth](int classes, int channels, int size, uint64_t seed) {
      return resnet_cifar(depth, classes, channels, size, seed);
    };
  };
  static const std::vector<std::pair<std::string, Builder>> entries{
      {"lenet", lenet},         {"vgg16", vgg16},         {"resnet20", resnet(20)}, {"resnet32", resnet(32)},
      {"resnet56", resnet(56)}, {"resnet110", resnet(110)}, {"resnet50", resnet50},   {"inception", inception},
  };
  return entries;
}

}  // namespace

std::vector<std::string> list_models() {
  std::vector<std::string> names;
  for (const auto& entry : zoo()) names.push_back(entry.first);
  return names;
}

std::shared_ptr<nn::Module> make_model(const std::string& arch, int num_classes, int in_channels, int image_size,
                                       uint64_t seed) {
  PRUNUS_CHECK(num_classes >= 1, "make_model('", arch, "'): num_classes must be at least 1, got ", num_classes);
  PRUNUS_CHECK(in_channels >= 1, "make_model('", arch, "'): in_channels must be at least 1, got ", in_channels);
  PRUNUS_CHECK(image_size >= 1, "make_model('", arch, "'): image_size must be positive, got ", image_size);
  for (const auto& [name, build] : zoo())
    if (name == arch) return build(num_classes, in_channels, image_size, seed);
  std::string valid;
  for (const std::string& name : list_models()) valid += (valid.empty() ? "" : ", ") + name;
  PRUNUS_FAIL("unknown model architecture '", arch, "'; valid architectures: ", valid);
}

}  // namespace models
}  // namespace prunus
