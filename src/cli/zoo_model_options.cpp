#include "zoo_model_options.h"

#include "prunus/models/zoo.h"

namespace prunus {
namespace cli {

std::vector<app::OptionSpec> zoo_model_option_specs() {
  std::string names;
  for (const std::string& name : models::list_models()) names += (names.empty() ? "" : ", ") + name;
  return {{"model", "NAME", "a zoo model: " + names},
          {"image-size", "N", "input side (default: 28 for lenet, 224 for resnet50, 32 otherwise)"},
          {"num-classes", "K", "classifier outputs (default: 1000 for resnet50, 10 otherwise)"},
          {"in-channels", "C", "input channels (default: 1 for lenet, 3 otherwise)"}};
}

ZooModelChoice zoo_model_from_args(const app::CommandSpec& spec, const app::ParsedArgs& args) {
  ZooModelChoice c;
  c.arch = args.get("model");
  // Sizes up to 100000: far beyond any model, well inside int and the tensor limits.
  auto size = [&](const char* name, int fallback) { return int(app::int_option(spec, args, name, fallback, 1, 100000)); };
  c.image_size = size("image-size", c.arch == "lenet" ? 28 : c.arch == "resnet50" ? 224 : 32);
  c.num_classes = size("num-classes", c.arch == "resnet50" ? 1000 : 10);
  c.in_channels = size("in-channels", c.arch == "lenet" ? 1 : 3);
  return c;
}

bool has_zoo_size_options(const app::ParsedArgs& args) {
  return args.has("image-size") || args.has("num-classes") || args.has("in-channels");
}

std::shared_ptr<nn::Module> ZooModelChoice::build() const {
  return models::make_model(arch, num_classes, in_channels, image_size, 0);
}

}  // namespace cli
}  // namespace prunus
