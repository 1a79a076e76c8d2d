// The options that pick a zoo model by name and size (--model, --image-size,
// --num-classes, --in-channels), shared by `prunus info` and `prunus import`.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prunus/nn/module.h"
#include "prunus/app/cli_args.h"

namespace prunus {
namespace cli {

struct ZooModelChoice {
  std::string arch;
  int image_size = 32, num_classes = 10, in_channels = 3;
  Shape input_shape() const { return {in_channels, image_size, image_size}; }
  std::shared_ptr<nn::Module> build() const;  // initial weights from seed 0
};

// The four options, for a CommandSpec.
std::vector<app::OptionSpec> zoo_model_option_specs();
// Reads them (--model required by the caller); sizes default per architecture.
ZooModelChoice zoo_model_from_args(const app::CommandSpec& spec, const app::ParsedArgs& args);
// Whether any size option was given (they need --model).
bool has_zoo_size_options(const app::ParsedArgs& args);

}  // namespace cli
}  // namespace prunus
