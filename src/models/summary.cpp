#include "prunus/models/summary.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>

#include "prunus/autograd.h"
#include "prunus/nn/shape_only.h"

namespace prunus {
namespace models {

int64_t count_parameters(const nn::Module& model) {
  int64_t total = 0;
  for (const auto& [name, tensor] : model.named_parameters(nn::ParameterFilter::ExcludeGates)) total += tensor.numel();
  return total;
}

// Puts the training flag back even when the forward pass throws.
class EvalModeScope {
 public:
  explicit EvalModeScope(nn::Module& model) : model_(model), was_training_(model.training()) { model_.eval(); }
  ~EvalModeScope() { model_.train(was_training_); }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  nn::Module& model_;
  bool was_training_;
};

static bool is_counted(const Node& node) { return node.kind->macs != MacRule::None; }

// conv: (F*OH*OW) * (C*KH*KW); linear: out * in. Both are
// (output elements per image) * (weight elements per output channel).
static int64_t node_macs(const Node& node) {
  if (node.kind->macs == MacRule::FromAttribute) {
    auto given = node.attributes.find("macs");
    PRUNUS_CHECK(given != node.attributes.end(), "summarize: a '", node.op, "' node of module '", node.module,
                 "' lacks its \"macs\" attribute");
    return static_cast<int64_t>(given->second);
  }
  PRUNUS_CHECK(node.inputs.size() >= 2 && node.inputs[1].defined() && !node.output_shape.empty(),
               "summarize: a '", node.op, "' node of module '", node.module, "' lacks its weight input");
  const Shape& weight = node.inputs[1].shape();
  const int64_t per_image = shape_numel(node.output_shape) / std::max<int64_t>(node.output_shape[0], 1);
  return per_image * (shape_numel(weight) / std::max<int64_t>(weight[0], 1));
}

ModelSummary summarize(nn::Module& model, const Shape& input_shape, bool shape_only) {
  Shape batch_shape = input_shape;
  if (batch_shape.size() == 3) batch_shape.insert(batch_shape.begin(), 1);
  PRUNUS_CHECK(batch_shape.size() == 4 && batch_shape[0] == 1, "summarize: input shape ", shape_str(input_shape),
               " should be one image [C, H, W] or [1, C, H, W]");
  ModelSummary summary;
  summary.input_shape = batch_shape;
  Tensor output;
  std::vector<std::shared_ptr<Node>> order;
  {
    EvalModeScope eval(model);
    NoGradGuard no_grad;
    TraceGuard trace;
    std::unique_ptr<nn::ShapeOnlyGuard> shapes_only;
    if (shape_only) shapes_only = std::make_unique<nn::ShapeOnlyGuard>();
    output = model(Tensor::zeros(batch_shape));
    order = topological_order(output);
  }
  summary.output_shape = output.shape();
  for (const auto& node : order) {
    if (!is_counted(*node)) continue;
    LayerSummary row;
    row.module = node->module;
    row.op = node->op;
    row.type = node->op;
    if (std::shared_ptr<nn::Module> owner = model.find_module(node->module)) {
      row.type = owner->type_name();
      for (const auto& [name, t] : owner->named_parameters(nn::ParameterFilter::ExcludeGates, false))
        row.params += t.numel();
    }
    if (!node->inputs.empty() && node->inputs[0].defined()) row.input_shape = node->inputs[0].shape();
    row.output_shape = node->output_shape;
    row.macs = node_macs(*node);
    summary.total_macs += row.macs;
    summary.layers.push_back(std::move(row));
  }
  summary.total_params = count_parameters(model);
  return summary;
}

static std::string millions(int64_t value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f M", decimals, double(value) / 1e6);
  return buffer;
}

std::string format_summary(const ModelSummary& s) {
  const std::vector<std::string> header{"layer", "type", "input", "output", "params", "MACs"};
  std::vector<std::vector<std::string>> rows;
  for (const LayerSummary& l : s.layers)
    rows.push_back({l.module.empty() ? "(root)" : l.module, l.type, shape_str(l.input_shape),
                    shape_str(l.output_shape), std::to_string(l.params), std::to_string(l.macs)});
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream out;
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      const bool numeric = c >= 4;  // right-align the counts
      const std::string pad(width[c] - row[c].size(), ' ');
      out << (c ? "  " : "") << (numeric ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : ""));
    }
    out << '\n';
  };
  print_row(header);
  size_t total_width = 2 * (header.size() - 1);
  for (size_t w : width) total_width += w;
  out << std::string(total_width, '-') << '\n';
  for (const auto& row : rows) print_row(row);
  out << std::string(total_width, '-') << '\n';
  out << "input " << shape_str(s.input_shape) << ", output " << shape_str(s.output_shape) << '\n';
  out << "total MACs:   " << s.total_macs << " (" << millions(s.total_macs, 2) << ")\n";
  out << "total params: " << s.total_params << " (" << millions(s.total_params, 3) << ")\n";
  out << "MACs = multiply-accumulates of conv and linear layers for one image; params = every learnable tensor,"
         " BN gamma/beta included, pruning gates (stripe_gate, channel_gate) excluded.\n";
  return out.str();
}

}  // namespace models
}  // namespace prunus
