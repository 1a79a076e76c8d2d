// prunus eval --checkpoint FILE [--set KEY=VALUE]... [--inputs FILE [--logits FILE]]
#include <cstdio>

#include "commands.h"
#include "prunus/autograd.h"
#include "prunus/io/checkpoint.h"
#include "prunus/io/safetensors.h"
#include "prunus/models/summary.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"
#include "prunus/train/trainer.h"
#include "prunus/train/training_phase.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& eval_spec() {
  static const app::CommandSpec spec{
      "eval",
      "Evaluates the model of a checkpoint (any prunus checkpoint: a run state, final.bin, a pipeline stage,\n"
      "a compact pruned model) on the validation and test sets of the config stored in it. The architecture\n"
      "is rebuilt from the checkpoint itself, so pruned and compacted models load without their config.",
      "prunus eval --checkpoint FILE [--set KEY=VALUE]... [--inputs FILE [--logits FILE]]",
      {{"checkpoint", "FILE", "the checkpoint to evaluate"},
       {"set", "KEY=VALUE", "override a key of the stored config, e.g. --set data.path=/data/cifar (repeatable)",
        true},
       {"inputs", "FILE", "instead of the data sets: the tensor 'input' [N,C,H,W] of a safetensors file, taken as\n"
                          "already normalized"},
       {"logits", "FILE", "with --inputs: write the model's outputs as tensor 'logits' [N,K] (safetensors)"}},
      "--inputs/--logits let other tools compare their outputs with prunus's on the same tensors\n"
      "(experiments/interop/cross_check.py does so with PyTorch and onnxruntime).\n"};
  return spec;
}

static void print_result(const char* split, const std::string& files, const train::EvalResult& r) {
  std::printf("%-12s loss %.4f  accuracy %s  (%lld images: %s, %.1fs)\n", split, r.loss,
              train::percent(r.accuracy).c_str(), static_cast<long long>(r.images), files.c_str(), r.seconds);
}

// The model's outputs on a tensor from a file, in eval mode, in one batch.
static int eval_tensors(nn::Module& model, const Shape& input_shape, const app::ParsedArgs& args) {
  const io::SafeTensors file = io::read_safetensors(args.get("inputs"));
  const io::SafeTensorsEntry* input = file.find("input");
  PRUNUS_CHECK(input, file.source, " has no tensor named 'input'");
  const Shape& shape = input->value.shape();
  PRUNUS_CHECK(shape.size() == 4 && Shape(shape.begin() + 1, shape.end()) == input_shape, file.source,
               ": 'input' is ", shape_str(shape), ", the model takes [N, ", train::shape_text(input_shape), "]");
  model.train(false);
  Tensor logits;
  {
    NoGradGuard no_grad;
    logits = model(input->value.to(DType::F32));
  }
  std::printf("%s: %lld inputs -> logits %s\n", file.source.c_str(), static_cast<long long>(shape[0]),
              shape_str(logits.shape()).c_str());
  if (args.has("logits")) io::write_safetensors(args.get("logits"), {{"logits", logits}});
  return 0;
}

int cmd_eval(const Args& words) {
  const auto& spec = eval_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "checkpoint");
  const io::Checkpoint checkpoint = io::read_checkpoint(args.get("checkpoint"));
  io::Config config = train::checkpoint_config(checkpoint);
  for (const auto& assignment : args.all("set")) config.apply_override(assignment);
  const train::RunSettings settings = train::RunSettings::from_config(config);
  const int threads = train::configure_threads(settings.train);
  auto model = train::load_model(checkpoint);
  std::printf("%s: %s, %s, %lld parameters; %d threads\n", checkpoint.source.c_str(),
              train::checkpoint_arch(checkpoint).c_str(), train::describe_checkpoint(checkpoint).c_str(),
              static_cast<long long>(models::count_parameters(*model)), threads);
  if (args.has("inputs")) return eval_tensors(*model, train::checkpoint_input_shape(checkpoint), args);
  if (args.has("logits")) throw app::UsageError("eval: --logits goes with --inputs");
  const train::DataSplits data = train::load_data_splits(settings, {/*train=*/false, true, true});
  for (const auto& note : data.notes) std::printf("note: %s\n", note.c_str());
  const Shape expected = train::checkpoint_input_shape(checkpoint);
  PRUNUS_CHECK(data.input_shape() == expected, "the data's images are ", shape_str(data.input_shape()),
               " but the model in ", checkpoint.source, " takes ", shape_str(expected));
  const int batch_size = settings.train.batch_size;
  if (data.val.size())
    print_result(data.val_is_test ? "test (= val)" : "val",
                 data.val_source, train::evaluate(*model, data.val, batch_size, data.normalization));
  if (data.test.size() && !data.val_is_test)
    print_result("test", data.test_source, train::evaluate(*model, data.test, batch_size, data.normalization));
  return 0;
}

}  // namespace cli
}  // namespace prunus
