// prunus export --checkpoint FILE --out FILE [--format onnx|safetensors]
#include <cstdio>

#include "commands.h"
#include "prunus/interop/onnx.h"
#include "prunus/interop/state_dict.h"
#include "prunus/io/checkpoint.h"
#include "prunus/models/summary.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/run_checkpoint.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& export_spec() {
  static const app::CommandSpec spec{
      "export",
      "Writes the model of a checkpoint (dense, pruned or compact) for other tools:\n"
      "  onnx         an inference graph (opset 13, symbolic batch): Conv, BatchNormalization, Relu, Add,\n"
      "               Slice+Pad (option-A shortcuts), MaxPool/AveragePool/GlobalAveragePool, Concat, Flatten,\n"
      "               Gemm. A compact model's thinned convs are thin; a stripe-pruned conv (StripeConv2d) is a\n"
      "               dense Conv with its removed stripes zero, the form onnxruntime runs (it has no\n"
      "               stripe-sparse conv). Written by prunus's own protobuf encoder (no dependency).\n"
      "  safetensors  every parameter and buffer under its prunus name, with the architecture in the\n"
      "               metadata, so `prunus import` rebuilds the same model (torch: safetensors.torch.load_file).",
      "prunus export --checkpoint FILE --out FILE [--format onnx|safetensors]",
      {{"checkpoint", "FILE", "any prunus checkpoint holding a model"},
       {"out", "FILE", "the file to write (atomically)"},
       {"format", "FORMAT", "onnx or safetensors (default: from the --out extension, .onnx or .safetensors)"}},
      ""};
  return spec;
}

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int cmd_export(const Args& words) {
  const auto& spec = export_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "checkpoint");
  app::require_option(spec, args, "out");
  const std::string out = args.get("out");
  std::string format = args.get("format");
  if (format.empty()) format = ends_with(out, ".onnx") ? "onnx" : ends_with(out, ".safetensors") ? "safetensors" : "";
  if (format != "onnx" && format != "safetensors")
    throw app::UsageError("export: say --format onnx or --format safetensors (or name --out *.onnx or "
                            "*.safetensors); got '" + format + "'");
  const io::Checkpoint checkpoint = io::read_checkpoint(args.get("checkpoint"));
  auto model = train::load_model(checkpoint);
  const Shape input_shape = train::checkpoint_input_shape(checkpoint);
  if (format == "onnx") {
    const interop::OnnxModel graph = interop::onnx_from_model(*model, input_shape);
    io::write_file_atomic(out, interop::encode_onnx(graph));
    std::printf("%s -> %s: ONNX opset %lld, %zu nodes, %zu initializers, input [batch, %s]\n",
                checkpoint.source.c_str(), out.c_str(), static_cast<long long>(graph.opset), graph.nodes.size(),
                graph.initializers.size(), train::shape_text(input_shape).c_str());
  } else {
    interop::export_state_dict(out, *model, train::checkpoint_arch(checkpoint), input_shape);
    std::printf("%s -> %s: safetensors, %lld parameters\n", checkpoint.source.c_str(), out.c_str(),
                static_cast<long long>(models::count_parameters(*model)));
  }
  return 0;
}

}  // namespace cli
}  // namespace prunus
