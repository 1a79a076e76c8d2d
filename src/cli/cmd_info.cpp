// prunus info --model NAME [--image-size N] [--num-classes K] [--in-channels C] | --checkpoint FILE
#include <cstdio>
#include <cstdlib>

#include <algorithm>

#include "commands.h"
#include "zoo_model_options.h"
#include "prunus/io/checkpoint.h"
#include "prunus/models/summary.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/conv2d.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/training_phase.h"

namespace prunus {
namespace cli {

static std::vector<app::OptionSpec> options() {
  std::vector<app::OptionSpec> all = zoo_model_option_specs();
  all.push_back({"checkpoint", "FILE", "describe the model of a checkpoint instead"});
  all.push_back({"entries", "", "with --checkpoint: also list every entry of the file"});
  return all;
}

static const app::CommandSpec& info_spec() {
  static const app::CommandSpec spec{
      "info",
      "Prints the per-layer table of a model (input/output shapes, parameters, multiply-accumulates) and its\n"
      "totals: a zoo model by name, or the model stored in a checkpoint (pruned and compact models included).",
      "prunus info --model NAME [--image-size N] [--num-classes K] [--in-channels C] | --checkpoint FILE",
      options(),
      "MACs = multiply-accumulates of conv and linear layers for one image; parameters include BN's gamma and\n"
      "beta and exclude the pruning gates.\n"};
  return spec;
}

// Alive MACs of a model that carries pruning masks or gates (a masked model
// from the pipeline); nothing for a dense or compact one.
static void print_pruned_count(nn::Module& model, const Shape& input_shape) {
  bool masked = false;
  for (const auto& [name, module] : model.named_modules())
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module.get()))
      masked = masked || conv->has_pruning_state();
  if (!masked) return;
  const auto analysis = prune::analyze_model(model, input_shape);
  const auto count = prune::count_model(model, analysis);
  std::printf("masked model: %lld of %lld MACs alive (FLOPs -%s), %lld of %lld parameters alive\n",
              static_cast<long long>(count.macs), static_cast<long long>(count.dense_macs),
              train::percent(count.flops_reduction()).c_str(), static_cast<long long>(count.params),
              static_cast<long long>(count.dense_params));
  // Per conv: what the gates and masks leave alive, so a reader sees which layers sparsity emptied.
  std::printf("%-20s %2s %12s %9s %9s %7s\n", "conv", "D", "filters", "inputs", "stripes", "MACs");
  for (const prune::LayerCount& c : count.convs) {
    const int64_t positions = c.dense_shape.size() == 4 ? c.dense_shape[2] * c.dense_shape[3] : 1;
    std::printf("%-20s %2s %5lld of %-4lld %4lld/%-4lld %9s %7s\n", c.name.c_str(), c.in_d ? "D" : "",
                static_cast<long long>(c.filters_alive), static_cast<long long>(c.filters),
                static_cast<long long>(c.inputs_alive), static_cast<long long>(c.inputs),
                train::percent(double(c.alive_groups(prune::granularity("stripe"))) / double(std::max<int64_t>(1, c.filters * positions))).c_str(),
                train::percent(double(c.macs) / double(std::max<int64_t>(1, c.dense_macs))).c_str());
  }
}

int cmd_info(const Args& words) {
  const auto& spec = info_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  if (args.has("model") == args.has("checkpoint"))
    throw app::UsageError("info: give exactly one of --model NAME and --checkpoint FILE");
  if (args.has("model")) {
    if (args.has("entries")) throw app::UsageError("info: --entries goes with --checkpoint");
    const ZooModelChoice choice = zoo_model_from_args(spec, args);
    auto model = choice.build();
    std::printf("%s, input %dx%dx%d, %d classes\n", choice.arch.c_str(), choice.in_channels, choice.image_size,
                choice.image_size, choice.num_classes);
    std::printf("%s\n", models::format_summary(models::summarize(*model, choice.input_shape())).c_str());
    return 0;
  }
  if (has_zoo_size_options(args))
    throw app::UsageError("info: --image-size, --num-classes and --in-channels go with --model");
  const io::Checkpoint checkpoint = io::read_checkpoint(args.get("checkpoint"));
  auto model = train::load_model(checkpoint);
  const Shape input = train::checkpoint_input_shape(checkpoint);
  std::printf("%s: %s, %s, input %s\n", checkpoint.source.c_str(), train::checkpoint_arch(checkpoint).c_str(),
              train::describe_checkpoint(checkpoint).c_str(), shape_str(input).c_str());
  const auto history = train::checkpoint_history(checkpoint);
  if (!history.records().empty()) {
    const auto& last = history.records().back();
    std::printf("last epoch: %s %d, train acc %s, val acc %s\n", last.phase.c_str(), last.epoch,
                train::percent(last.train_accuracy).c_str(), train::percent(last.val_accuracy).c_str());
  }
  std::printf("%s\n", models::format_summary(models::summarize(*model, input)).c_str());
  print_pruned_count(*model, input);
  if (args.has("entries")) std::fputs(checkpoint.summary().c_str(), stdout);
  return 0;
}

}  // namespace cli
}  // namespace prunus
