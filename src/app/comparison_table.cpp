// The table of `prunus compare`: rows of one method and target grouped over
// their seeds (mean and sample standard deviation), each against the dense
// model trained for the same total epochs.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "prunus/io/checkpoint.h"
#include "prunus/app/comparison.h"
#include "prunus/io/json_writer.h"
#include "prunus/app/pipeline_records.h"

namespace fs = std::filesystem;

namespace prunus {
namespace app {

using io::Json;
namespace {

struct Spread {
  double mean = NAN, sd = NAN;
  int n = 0;
};

Spread spread(const std::vector<double>& values) {
  Spread s;
  std::vector<double> v;
  for (double x : values)
    if (!std::isnan(x)) v.push_back(x);
  s.n = int(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  if (v.size() > 1) {
    double squares = 0;
    for (double x : v) squares += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(squares / double(v.size() - 1));
  }
  return s;
}

std::string points(const Spread& s) {  // accuracy in percent, "87.12 ± 0.31"
  if (s.n == 0) return "-";
  char text[64];
  if (s.n > 1)
    std::snprintf(text, sizeof text, "%.2f ± %.2f", 100 * s.mean, 100 * s.sd);
  else
    std::snprintf(text, sizeof text, "%.2f", 100 * s.mean);
  return text;
}

std::string fixed(double v, const char* format) {
  if (std::isnan(v)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

struct Group {
  std::string name;  // the row folder without its seed
  std::string kind, method;
  double target = 0;
  std::vector<std::map<std::string, std::string>> records;
  std::vector<std::string> pending;
  std::vector<double> values(const std::string& key) const {
    std::vector<double> v;
    for (const auto& r : records) {
      auto it = r.find(key);
      v.push_back(it == r.end() ? NAN : parse_exact_number(it->second, key));
    }
    return v;
  }
  Spread of(const std::string& key) const { return spread(values(key)); }
};

std::vector<Group> collect(const std::string& out_dir, const std::vector<ComparisonRow>& rows) {
  std::vector<Group> groups;
  for (const ComparisonRow& row : rows) {
    const std::string name = row.dir.substr(0, row.dir.rfind("/seed") == std::string::npos ? row.dir.size()
                                                                                           : row.dir.rfind("/seed"));
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
    if (it == groups.end()) {
      groups.push_back({name, row.kind, row.method, row.target, {}, {}});
      it = groups.end() - 1;
    }
    const fs::path file = fs::path(out_dir) / row.dir / "row.txt";
    if (fs::exists(file))
      it->records.push_back(read_row_record(file.string()));
    else
      it->pending.push_back(row.dir);
  }
  return groups;
}

std::string svg_plot(const std::vector<Group>& groups, double dense_val) {
  const int width = 640, height = 400, left = 60, right = 170, top = 30, bottom = 50;
  double lo = 1, hi = 0;
  for (const Group& g : groups) {
    const Spread v = g.of("val_accuracy");
    if (v.n == 0 || g.kind == "baseline") continue;
    lo = std::min(lo, v.mean - (std::isnan(v.sd) ? 0 : v.sd));
    hi = std::max(hi, v.mean + (std::isnan(v.sd) ? 0 : v.sd));
  }
  if (!std::isnan(dense_val)) lo = std::min(lo, dense_val), hi = std::max(hi, dense_val);
  if (lo > hi) lo = 0, hi = 1;
  lo = std::floor(lo * 100 - 1) / 100;
  hi = std::ceil(hi * 100 + 1) / 100;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto x_of = [&](double kept) { return left + kept * plot_w; };  // FLOPs kept in [0, 1]
  auto y_of = [&](double acc) { return top + (hi - acc) / (hi - lo) * plot_h; };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
  std::vector<std::string> methods;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << left << "\" y=\"18\">validation accuracy vs FLOPs kept (mean ± sd over seeds)</text>\n";
  out << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 10; ++i) {
    const double x = x_of(i / 10.0);
    out << "<text x=\"" << x << "\" y=\"" << height - bottom + 16 << "\" text-anchor=\"middle\">" << i * 10
        << "%</text>\n";
  }
  for (int i = 0; i <= 4; ++i) {
    const double acc = lo + (hi - lo) * i / 4;
    out << "<text x=\"" << left - 6 << "\" y=\"" << y_of(acc) + 4 << "\" text-anchor=\"end\">"
        << fixed(100 * acc, "%.1f") << "</text>\n";
  }
  out << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 12 << "\" text-anchor=\"middle\">FLOPs kept</text>\n";
  if (!std::isnan(dense_val))
    out << "<line x1=\"" << x_of(0) << "\" x2=\"" << x_of(1) << "\" y1=\"" << y_of(dense_val) << "\" y2=\""
        << y_of(dense_val) << "\" stroke=\"gray\" stroke-dasharray=\"5,4\"/>\n";
  for (const Group& g : groups) {
    const Spread v = g.of("val_accuracy");
    if (v.n == 0 || g.kind == "baseline" || g.kind == "dense") continue;
    auto m = std::find(methods.begin(), methods.end(), g.method);
    if (m == methods.end()) m = methods.insert(methods.end(), g.method);
    const char* color = colors[(m - methods.begin()) % 7];
    const double x = x_of(1 - g.of("flops_reduction").mean), y = y_of(v.mean);
    if (!std::isnan(v.sd))
      out << "<line x1=\"" << x << "\" x2=\"" << x << "\" y1=\"" << y_of(v.mean - v.sd) << "\" y2=\""
          << y_of(v.mean + v.sd) << "\" stroke=\"" << color << "\"/>\n";
    out << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"5\" fill=\"" << color << "\"/>\n";
  }
  for (size_t i = 0; i < methods.size(); ++i) {
    const double y = top + 16 + 20 * double(i);
    out << "<circle cx=\"" << width - right + 20 << "\" cy=\"" << y - 4 << "\" r=\"5\" fill=\"" << colors[i % 7]
        << "\"/><text x=\"" << width - right + 32 << "\" y=\"" << y << "\">" << methods[i] << "</text>\n";
  }
  if (!std::isnan(dense_val))
    out << "<line x1=\"" << width - right + 12 << "\" x2=\"" << width - right + 28 << "\" y1=\""
        << top + 12 + 20 * methods.size() << "\" y2=\"" << top + 12 + 20 * methods.size()
        << "\" stroke=\"gray\" stroke-dasharray=\"5,4\"/><text x=\"" << width - right + 32 << "\" y=\""
        << top + 16 + 20 * methods.size() << "\">dense, equal epochs</text>\n";
  out << "</svg>\n";
  return out.str();
}

}  // namespace

void write_comparison_table(const io::Config& config, const std::vector<ComparisonRow>& rows) {
  const RunSettings settings = RunSettings::from_config(config);
  const std::vector<Group> groups = collect(settings.out.dir, rows);
  double dense_val = NAN, dense_test = NAN;
  for (const Group& g : groups)
    if (g.kind == "dense") {
      dense_val = g.of("val_accuracy").mean;
      dense_test = g.of("test_accuracy").mean;
    }
  std::ostringstream md;
  md << "# Comparison: " << settings.model.arch << " on " << dataset_name(settings.data.dataset) << "\n\n";
  md << "Every pruned row starts from one shared baseline and trains as many epochs in all as the dense row ("
     << "val = data.val_files, test = data.test_files, reported only). Accuracies in percent: mean ± sample sd "
        "over the seeds. \"Right after prune\" is the val accuracy with the gates zeroed (BN statistics stale) → "
        "after BN recalibration, before fine-tuning. Speed-up: the compact model's CPU inference throughput over "
        "the dense model's, measured in the row's own run.\n\n";
  md << "| row | seeds | FLOPs cut | params cut | val acc | test acc | Δ val vs dense | right after prune | "
        "speed-up |\n|---|---|---|---|---|---|---|---|---|\n";
  Json table = Json::array();
  for (const Group& g : groups) {
    const Spread val = g.of("val_accuracy"), test = g.of("test_accuracy");
    const Spread zeroed = g.of("stage.zeroed.val"), pruned = g.of("stage.prune.val");
    std::string after = "-";
    if (pruned.n) after = (zeroed.n ? points(zeroed) + " → " : "") + points(pruned);
    const std::string delta =
        g.kind == "dense" || std::isnan(dense_val) || val.n == 0 ? "-" : fixed(100 * (val.mean - dense_val), "%+.2f");
    md << "| " << g.name << " | " << val.n << (g.pending.empty() ? "" : " (+" + std::to_string(g.pending.size()) + " pending)")
       << " | " << fixed(100 * g.of("flops_reduction").mean, "%.1f%%") << " | "
       << fixed(100 * g.of("params_reduction").mean, "%.1f%%") << " | " << points(val) << " | " << points(test)
       << " | " << delta << " | " << after << " | " << fixed(g.of("speedup").mean, "%.2fx") << " |\n";
    Json seeds = Json::array();
    for (const auto& r : g.records) {
      Json seed = Json::object();
      for (const auto& [key, value] : r) {
        if (key == "kind" || key == "method" || key == "command") {
          seed.set(key, value);
          continue;
        }
        seed.set(key, parse_exact_number(value, key));
      }
      seeds.push(seed);
    }
    Json pending = Json::array();
    for (const auto& p : g.pending) pending.push(p);
    table.push(Json::object()
                   .set("row", g.name)
                   .set("kind", g.kind)
                   .set("method", g.method)
                   .set("flops_target", g.target)
                   .set("val_accuracy_mean", val.mean)
                   .set("val_accuracy_sd", val.sd)
                   .set("test_accuracy_mean", test.mean)
                   .set("test_accuracy_sd", test.sd)
                   .set("val_vs_dense", g.kind == "dense" ? NAN : val.mean - dense_val)
                   .set("seeds", seeds)
                   .set("pending", pending));
  }
  md << "\n![accuracy vs FLOPs kept](comparison.svg)\n\n## Commands\n\nEach finished row, exactly as it ran "
        "(its folder holds log.txt, config.conf and, for pruned rows, report.md):\n\n";
  for (const Group& g : groups)
    for (const auto& r : g.records) md << "- `" << r.at("command") << "`\n";
  bool any_pending = false;
  for (const Group& g : groups)
    for (const auto& p : g.pending) {
      if (!any_pending) md << "\nPending (run the comparison command again to continue): ";
      md << (any_pending ? ", " : "") << "`" << p << "`";
      any_pending = true;
    }
  md << (any_pending ? "\n" : "");
  const fs::path out = settings.out.dir;
  Json summary = Json::object();
  summary.set("arch", settings.model.arch).set("dense_val_accuracy", dense_val);
  summary.set("dense_test_accuracy", dense_test).set("rows", table);
  io::write_file_atomic((out / "comparison.md").string(), md.str());
  io::write_file_atomic((out / "comparison.json").string(), summary.dump());
  io::write_file_atomic((out / "comparison.svg").string(), svg_plot(groups, dense_val));
}

}  // namespace app
}  // namespace prunus
