#include "prunus/prune/report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "prunus/io/json_writer.h"

namespace prunus {
namespace prune {
namespace {

std::string fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

std::string percent(int64_t part, int64_t whole) { return whole > 0 ? fixed(100.0 * part / whole, 1) : "0.0"; }


std::string xml_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string shape_text(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

Shape shape_after(const LayerCount& c) {
  if (!c.is_conv) return {c.filters, c.inputs_alive};
  Shape s = c.dense_shape;
  s[0] = c.filters_alive;
  s[1] = c.inputs_alive;
  return s;
}

std::vector<const LayerCount*> layers_of(const PruneReport& r) {
  std::vector<const LayerCount*> layers;
  for (const LayerCount& c : r.count.convs) layers.push_back(&c);
  for (const LayerCount& c : r.count.linears) layers.push_back(&c);
  return layers;
}

io::Json shape_json(const Shape& s) {
  io::Json out = io::Json::array();
  for (int64_t d : s) out.push(d);
  return out.one_line();
}

}  // namespace

PruneReport make_report(nn::Module& pruned, const GraphAnalysis& analysis, const std::string& model_name,
                        const std::string& method) {
  PruneReport r;
  r.title = "Pruning report: " + model_name;
  r.model = model_name;
  r.method = method;
  r.analysis = analysis;
  r.count = count_model(pruned, analysis);
  return r;
}

std::string report_markdown(const PruneReport& r) {
  std::ostringstream out;
  const ModelCount& c = r.count;
  out << "# " << r.title << "\n\n";
  out << "- model: " << r.model << "\n- method: " << r.method << "\n";
  out << "- input: " << shape_str(r.analysis.input_shape) << "\n";
  out << "- MACs: " << fixed(c.dense_macs / 1e6, 2) << " M -> " << fixed(c.macs / 1e6, 2) << " M (-"
      << fixed(100 * c.flops_reduction(), 2) << "%)\n";
  out << "- params: " << fixed(c.dense_params / 1e6, 3) << " M -> " << fixed(c.params / 1e6, 3) << " M (-"
      << fixed(100 * c.params_reduction(), 2) << "%)\n";
  out << "- dimension-matching convs (D): " << r.analysis.dimension_matching().size() << " of "
      << r.analysis.convs.size() << "\n";
  out << "- counting: MACs = multiply-accumulates of conv and linear layers for one image; params = every "
         "learnable tensor (BN gamma and beta included), gates excluded\n\n";
  if (!r.accuracy.empty()) {
    out << "## Accuracy\n\n| stage | top-1 |\n|---|---|\n";
    for (const StageAccuracy& a : r.accuracy) out << "| " << a.stage << " | " << fixed(100 * a.top1, 2) << "% |\n";
    out << "\n";
  }
  const std::vector<const Granularity*> fine = fine_granularities();
  out << "## Layers\n\n";
  out << "| layer | D | weight before | weight after | params before | params after | MACs before | MACs after "
         "| kept | removed by filter |";
  for (const Granularity* g : fine) out << " " << g->name() << " |";
  out << "\n|---|---|---|---|---|---|---|---|---|---|";
  for (size_t g = 0; g < fine.size(); ++g) out << "---|";
  out << "\n";
  for (const LayerCount* l : layers_of(r)) {
    out << "| " << l->name << " | " << (l->in_d ? "D" : "") << " | " << shape_text(l->dense_shape) << " | "
        << shape_text(shape_after(*l)) << " | " << l->dense_params << " | " << l->params << " | " << l->dense_macs
        << " | " << l->macs << " | " << percent(l->macs, l->dense_macs) << "% | "
        << percent(l->removed_by_filter + l->removed_by_input, l->weights) << "% |";
    for (const Granularity* g : fine) out << " " << percent(l->removed_by(*g), l->weights) << "% |";
    out << "\n";
  }
  out << "| **total** | | | | " << c.dense_params << " | " << c.params << " | " << c.dense_macs << " | " << c.macs
      << " | " << percent(c.macs, c.dense_macs) << "% |";
  for (size_t g = 0; g <= fine.size(); ++g) out << " |";
  out << "\n\n";
  out << "Removed by filter includes the input channels that producers' removed filters take away.\n\n";
  if (!r.lambda_trace.empty()) {
    out << "## lambda0 trace\n\n| epoch | lambda0 | FLOPs reduction r | goal | next lambda0 |\n|---|---|---|---|---|\n";
    for (const LambdaTraceEntry& e : r.lambda_trace)
      out << "| " << e.epoch << " | " << e.lambda0 << " | " << fixed(100 * e.flops_reduction, 2) << "% | "
          << fixed(100 * e.goal, 2) << "% | " << e.next_lambda0 << " |\n";
    out << "\n";
  }
  if (!r.notes.empty()) {
    out << "## Notes\n\n";
    for (const std::string& n : r.notes) out << "    " << n << "\n";
  }
  return out.str();
}

std::string report_json(const PruneReport& r) {
  using io::Json;
  const ModelCount& c = r.count;
  Json totals = Json::object();
  totals.set("macs_before", c.dense_macs).set("macs_after", c.macs);
  totals.set("params_before", c.dense_params).set("params_after", c.params);
  totals.set("flops_reduction", Json::exact(c.flops_reduction()));
  totals.set("params_reduction", Json::exact(c.params_reduction()));
  Json accuracy = Json::array();
  for (const StageAccuracy& a : r.accuracy)
    accuracy.push(Json::object().set("stage", a.stage).set("top1", Json::exact(a.top1)));
  Json trace = Json::array();
  for (const LambdaTraceEntry& e : r.lambda_trace)
    trace.push(Json::object()
                   .set("epoch", e.epoch)
                   .set("lambda0", Json::exact(e.lambda0))
                   .set("flops_reduction", Json::exact(e.flops_reduction))
                   .set("goal", Json::exact(e.goal))
                   .set("next_lambda0", Json::exact(e.next_lambda0))
                   .one_line());
  Json layers = Json::array();
  const std::vector<const Granularity*> fine = fine_granularities();
  for (const LayerCount* l : layers_of(r)) {
    Json layer = Json::object();
    layer.set("name", l->name).set("type", l->is_conv ? "conv" : "linear").set("in_d", l->in_d);
    layer.set("shape_before", shape_json(l->dense_shape)).set("shape_after", shape_json(shape_after(*l)));
    layer.set("params_before", l->dense_params).set("params_after", l->params);
    layer.set("macs_before", l->dense_macs).set("macs_after", l->macs).set("weights", l->weights);
    layer.set("removed_by_filter", l->removed_by_filter).set("removed_by_input", l->removed_by_input);
    for (const Granularity* g : fine) layer.set("removed_by_" + g->name(), l->removed_by(*g));
    for (const Granularity* g : fine)
      if (g->alive_count_in_report()) layer.set(g->plural() + "_alive", l->alive_groups(*g));
    layers.push(std::move(layer.one_line()));
  }
  Json notes = Json::array();
  for (const std::string& n : r.notes) notes.push(n);
  Json report = Json::object();
  report.set("title", r.title).set("model", r.model).set("method", r.method);
  report.set("input_shape", shape_json(r.analysis.input_shape));
  report.set("counting", "MACs of conv and linear layers per image; params of all learnable tensors but gates");
  report.set("totals", std::move(totals.one_line())).set("accuracy", std::move(accuracy.one_line()));
  report.set("lambda_trace", std::move(trace)).set("layers", std::move(layers)).set("notes", std::move(notes.one_line()));
  return report.dump(2);
}

std::string report_svg(const PruneReport& r) {
  const auto layers = layers_of(r);
  const int label_width = 200, bar_width = 520, row = 16, top = 50;
  const int width = label_width + bar_width + 90;
  const int height = top + row * int(layers.size()) + 40;
  int64_t largest = 1;
  for (const LayerCount* l : layers) largest = std::max(largest, l->dense_macs);
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"10\" y=\"18\" font-size=\"14\">" << xml_text(r.title) << ": MACs kept per layer (-"
      << fixed(100 * r.count.flops_reduction(), 2) << "% in total)</text>\n";
  out << "<rect x=\"10\" y=\"28\" width=\"10\" height=\"10\" fill=\"#dddddd\"/><text x=\"24\" y=\"37\">dense</text>\n";
  out << "<rect x=\"80\" y=\"28\" width=\"10\" height=\"10\" fill=\"#3b75af\"/><text x=\"94\" y=\"37\">kept</text>\n";
  out << "<rect x=\"140\" y=\"28\" width=\"10\" height=\"10\" fill=\"#d9822b\"/>"
         "<text x=\"154\" y=\"37\">kept, dimension-matching (D)</text>\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerCount& l = *layers[i];
    const int y = top + row * int(i);
    const double dense = double(bar_width) * l.dense_macs / largest, kept = double(bar_width) * l.macs / largest;
    out << "<text x=\"" << label_width - 6 << "\" y=\"" << y + 11 << "\" text-anchor=\"end\">" << xml_text(l.name)
        << "</text>";
    out << "<rect x=\"" << label_width << "\" y=\"" << y + 2 << "\" width=\"" << fixed(dense, 1)
        << "\" height=\"" << row - 4 << "\" fill=\"#dddddd\"/>";
    out << "<rect x=\"" << label_width << "\" y=\"" << y + 2 << "\" width=\"" << fixed(kept, 1) << "\" height=\""
        << row - 4 << "\" fill=\"" << (l.in_d ? "#d9822b" : "#3b75af") << "\"/>";
    out << "<text x=\"" << label_width + dense + 4 << "\" y=\"" << y + 11 << "\">"
        << percent(l.macs, l.dense_macs) << "%</text>\n";
  }
  out << "<text x=\"" << label_width << "\" y=\"" << height - 12 << "\">bar length: MACs per image (widest = "
      << fixed(largest / 1e6, 2) << " M)</text>\n";
  out << "</svg>\n";
  return out.str();
}

void write_report(const PruneReport& report, const std::string& prefix) {
  const std::pair<std::string, std::string> files[] = {{prefix + ".md", report_markdown(report)},
                                                       {prefix + ".json", report_json(report)},
                                                       {prefix + ".svg", report_svg(report)}};
  for (const auto& [path, text] : files) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    PRUNUS_CHECK(out.good(), "prune report: cannot open '", path, "' for writing (does its directory exist?)");
    out << text;
    out.close();
    PRUNUS_CHECK(out.good(), "prune report: writing '", path, "' failed");
  }
}

}  // namespace prune
}  // namespace prunus
