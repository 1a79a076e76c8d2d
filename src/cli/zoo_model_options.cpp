#include "zoo_model_options.h"

#include <cstdlib>

#include "prunus/models/zoo.h"

namespace prunus {
namespace cli {

static int positive_int(const train::ParsedArgs& args, const std::string& command, const std::string& name,
                        int fallback) {
  if (!args.has(name)) return fallback;
  const std::string text = args.get(name);
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 100000)
    throw train::UsageError(command + ": --" + name + " '" + text + "' is not a positive integer");
  return static_cast<int>(value);
}

std::vector<train::OptionSpec> zoo_model_option_specs() {
  return {{"model", "NAME", "a zoo model: lenet, vgg16, resnet20, resnet32, resnet56, resnet110, resnet50, inception"},
          {"image-size", "N", "input side (default: 28 for lenet, 224 for resnet50, 32 otherwise)"},
          {"num-classes", "K", "classifier outputs (default: 1000 for resnet50, 10 otherwise)"},
          {"in-channels", "C", "input channels (default: 1 for lenet, 3 otherwise)"}};
}

ZooModelChoice zoo_model_from_args(const train::ParsedArgs& args, const std::string& command) {
  ZooModelChoice c;
  c.arch = args.get("model");
  c.image_size = positive_int(args, command, "image-size", c.arch == "lenet" ? 28 : c.arch == "resnet50" ? 224 : 32);
  c.num_classes = positive_int(args, command, "num-classes", c.arch == "resnet50" ? 1000 : 10);
  c.in_channels = positive_int(args, command, "in-channels", c.arch == "lenet" ? 1 : 3);
  return c;
}

bool has_zoo_size_options(const train::ParsedArgs& args) {
  return args.has("image-size") || args.has("num-classes") || args.has("in-channels");
}

std::shared_ptr<nn::Module> ZooModelChoice::build() const {
  return models::make_model(arch, num_classes, in_channels, image_size, 0);
}

}  // namespace cli
}  // namespace prunus
