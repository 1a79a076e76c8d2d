// prunus import --safetensors FILE --out CHECKPOINT [--model NAME ...] [--config FILE] [--set KEY=VALUE]...
#include <cstdio>

#include "commands.h"
#include "zoo_model_options.h"
#include "prunus/interop/state_dict.h"
#include "prunus/io/checkpoint.h"
#include "prunus/io/safetensors.h"
#include "prunus/models/summary.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/run_checkpoint.h"

namespace prunus {
namespace cli {

static std::vector<app::OptionSpec> options() {
  std::vector<app::OptionSpec> all = {
      {"safetensors", "FILE", "the state dict to import (torch: safetensors.torch.save_file(model.state_dict(), F))"},
      {"out", "CHECKPOINT", "the prunus checkpoint to write"}};
  for (const auto& o : zoo_model_option_specs()) all.push_back(o);
  all.push_back({"config", "FILE", "config stored in the checkpoint (data, training keys for a later prune)"});
  all.push_back({"set", "KEY=VALUE", "override one key of that config (repeatable)", true});
  return all;
}

static const app::CommandSpec& import_spec() {
  static const app::CommandSpec spec{
      "import",
      "Turns a safetensors state dict into a prunus checkpoint (a trained model, usable as `prunus eval\n"
      "--checkpoint`, `prunus export` or a pipeline's prune.baseline_checkpoint). Either a PyTorch state dict\n"
      "for the zoo model --model names, or a file `prunus export` wrote (it carries its architecture, pruned\n"
      "and compact models included; --model is then not needed).",
      "prunus import --safetensors FILE --out CHECKPOINT [--model NAME [--image-size N] [--num-classes K]\n"
      "                     [--in-channels C]] [--config FILE] [--set KEY=VALUE]...",
      options(),
      "PyTorch names are mapped as follows (and anything left over or missing is listed in full):\n"
      "  - a leading 'module.' (DataParallel) is dropped, and BN's num_batches_tracked counters;\n"
      "  - CIFAR ResNets (resnet20/32/56/110, option-A shortcuts): 'linear.*' -> 'fc.*';\n"
      "  - vgg16: torchvision vgg16_bn numbering for features (features.0, .1, .3, ...), or HRank's\n"
      "    features.convN / features.normN matched in order; classifier.linear1, norm1, linear2 (HRank);\n"
      "  - resnet50: torchvision's names as they are.\n"
      "The imported model must take the inputs the data gives it: the config's data.* keys say which\n"
      "dataset, and prunus normalizes images with that dataset's mean and std (data/dataset.h).\n"};
  return spec;
}

int cmd_import(const Args& words) {
  const auto& spec = import_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "safetensors");
  app::require_option(spec, args, "out");
  const io::SafeTensors file = io::read_safetensors(args.get("safetensors"));
  std::shared_ptr<nn::Module> model = args.has("model") ? nullptr : interop::model_from_prunus_file(file);
  std::string arch;
  Shape input_shape;
  interop::ImportLog log;
  if (model) {
    if (has_zoo_size_options(args))
      throw app::UsageError("import: --image-size, --num-classes and --in-channels go with --model");
    auto meta = [&](const char* key) {
      auto it = file.metadata.find(key);
      PRUNUS_CHECK(it != file.metadata.end(), file.source, " has ", interop::kArchitectureKey, " but no ", key,
                   " metadata");
      return it->second;
    };
    arch = meta(interop::kArchKey);
    input_shape = train::parse_shape_text(meta(interop::kInputShapeKey), file.source + " " + interop::kInputShapeKey);
    interop::import_state_dict(*model, "prunus", file, &log);
  } else {
    if (!args.has("model"))
      throw app::UsageError("import: " + file.source + " was not written by prunus; say which zoo model it is "
                              "with --model NAME");
    const ZooModelChoice choice = zoo_model_from_args(spec, args);
    model = choice.build();
    arch = choice.arch;
    input_shape = choice.input_shape();
    interop::import_state_dict(*model, arch, file, &log);
  }
  io::Config config = app::config_from_args(args);
  config.set("model.arch", arch, "import");
  io::Checkpoint checkpoint;
  train::put_model(checkpoint, *model, arch, input_shape);
  train::put_run_position(checkpoint, "model", "import", 0);
  checkpoint.put_string("config", config.dump());
  io::write_checkpoint(args.get("out"), checkpoint);
  std::printf("%s: %zu tensors -> %s, %s, input %s, %lld parameters\n", file.source.c_str(), file.tensors.size(),
              args.get("out").c_str(), arch.c_str(), shape_str(input_shape).c_str(),
              static_cast<long long>(models::count_parameters(*model)));
  if (!log.renamed.empty())
    std::printf("renamed %zu, e.g. %s -> %s\n", log.renamed.size(), log.renamed.front().first.c_str(),
                log.renamed.front().second.c_str());
  if (!log.dropped.empty()) std::printf("ignored %zu (e.g. %s)\n", log.dropped.size(), log.dropped.front().c_str());
  return 0;
}

}  // namespace cli
}  // namespace prunus
