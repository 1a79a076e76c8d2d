#include "prunus/app/pipeline_report.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "prunus/io/checkpoint.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/report.h"
#include "prunus/io/json_writer.h"
#include "prunus/app/pipeline_records.h"
#include "prunus/train/training_phase.h"

namespace fs = std::filesystem;

namespace prunus {
namespace app {

using io::Json;

namespace {

const StageResult* find_stage(const std::vector<StageResult>& stages, const std::string& name) {
  for (const auto& s : stages)
    if (s.stage == name) return &s;
  return nullptr;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

void write_pipeline_report(const PipelineReportInput& in, nn::Module& masked, std::FILE* log) {
  const prune::MethodPreset& method = in.prune.method;
  const std::string& out_dir = in.run.out.dir;
  const std::string& arch = in.run.model.arch;
  const std::string dataset = dataset_name(in.run.data.dataset);
  const std::string val_name = in.data.val_is_test ? "test = val" : "val";

  prune::PruneReport report =
      prune::make_report(masked, in.analysis, arch, method.name + " (" + method.description + ")");
  report.title = "prunus prune: " + arch + " on " + dataset + ", method " + method.name;
  for (const auto& s : in.stages) {
    if (!std::isnan(s.val.accuracy)) report.accuracy.push_back({s.stage + " (" + val_name + ")", s.val.accuracy});
    if (!std::isnan(s.test.accuracy)) report.accuracy.push_back({s.stage + " (test)", s.test.accuracy});
  }
  report.lambda_trace = in.lambda_trace;
  report.notes = lines_of(in.prune_log);
  const double dense_speed = in.compact.dense_images_per_second;
  const double masked_speed = in.compact.masked_images_per_second;
  const double compact_speed = in.compact.compact_images_per_second;
  const double difference = in.compact.output_difference;
  char line[300];
  std::snprintf(line, sizeof line,
                "CPU inference, batch %lld, eval mode: dense %.0f img/s, masked %.0f img/s, compact %.0f img/s "
                "(compact = %.2fx dense)",
                static_cast<long long>(in.run.train.batch_size), dense_speed, masked_speed,
                compact_speed, compact_speed / dense_speed);
  const std::string timing_line = line;
  report.notes.push_back(timing_line);
  std::snprintf(line, sizeof line, "compact model outputs match the masked model's within %.2g (relative)",
                difference);
  report.notes.push_back(line);
  report.notes.push_back("validation: " + (in.data.val_source.empty() ? std::string("none") : in.data.val_source) +
                         (in.data.val_is_test ? " (no separate validation split: these are the test files)" : "") +
                         "; test: " + (in.data.test_source.empty() ? std::string("none") : in.data.test_source));
  for (const auto& note : in.data.notes) report.notes.push_back("note: " + note);
  prune::write_report(report, (fs::path(out_dir) / "report").string());

  const prune::ModelCount& count = report.count;
  const StageResult* baseline = find_stage(in.stages, "baseline");
  const StageResult* final_masked = find_stage(in.stages, "finetune");
  if (!final_masked) final_masked = find_stage(in.stages, "prune");
  const StageResult* compact = find_stage(in.stages, "compact");

  Json summary = Json::object();
  summary.set("command", "prune").set("arch", arch).set("dataset", dataset);
  summary.set("method", method.name).set("method_description", method.description);
  summary.set("granularities", method.granularities.str());
  summary.set("flops_target", in.prune.flops_target);
  summary.set("counting", "MACs of conv and linear layers per image; params include BN, exclude gates");
  summary.set("dense_macs", count.dense_macs).set("macs", count.macs).set("flops_reduction", count.flops_reduction());
  summary.set("dense_params", count.dense_params).set("params", count.params);
  summary.set("params_reduction", count.params_reduction());
  Json d = Json::array();
  for (const auto& name : in.analysis.dimension_matching()) d.push(name);
  summary.set("dimension_matching_convs", d);
  Json stages = Json::array();
  for (const auto& s : in.stages)
    stages.push(Json::object()
                    .set("stage", s.stage)
                    .set("val_loss", s.val.loss)
                    .set("val_accuracy", s.val.accuracy)
                    .set("test_loss", s.test.loss)
                    .set("test_accuracy", s.test.accuracy)
                    .set("macs", s.macs)
                    .set("params", s.params));
  summary.set("stages", stages);
  summary.set("val_is_test", in.data.val_is_test).set("val_files", in.data.val_source);
  summary.set("test_files", in.data.test_source);
  if (baseline && final_masked)
    summary.set("val_accuracy_change", final_masked->val.accuracy - baseline->val.accuracy);
  summary.set("inference_images_per_second",
              Json::object().set("dense", dense_speed).set("masked", masked_speed).set("compact", compact_speed));
  summary.set("compact_speedup_vs_dense", compact_speed / dense_speed);
  summary.set("compact_output_difference", difference);
  Json trace = Json::array();
  for (const auto& e : in.lambda_trace)
    trace.push(Json::object()
                   .set("epoch", e.epoch)
                   .set("lambda0", e.lambda0)
                   .set("flops_reduction", e.flops_reduction)
                   .set("goal", e.goal)
                   .set("next_lambda0", e.next_lambda0));
  summary.set("lambda0_trace", trace);
  io::write_file_atomic((fs::path(out_dir) / "summary.json").string(), summary.dump());

  if (!log) return;
  std::fprintf(log, "\n== result: %s, %s, method %s\n", arch.c_str(), dataset.c_str(), method.name.c_str());
  std::fprintf(log, "%-12s %10s %10s %12s %10s\n", "stage", val_name.c_str(), "test", "MACs", "params");
  for (const auto& s : in.stages)
    std::fprintf(log, "%-12s %10s %10s %10.2f M %8.3f M\n", s.stage.c_str(), percent(s.val.accuracy).c_str(),
                 percent(s.test.accuracy).c_str(), s.macs / 1e6, s.params / 1e6);
  std::fprintf(log, "FLOPs -%s (%.2f M -> %.2f M MACs), params -%s; ", percent(count.flops_reduction()).c_str(),
               count.dense_macs / 1e6, count.macs / 1e6, percent(count.params_reduction()).c_str());
  // No validation set (a single training file, no data.val_files): no difference to state.
  if (baseline && final_masked && !std::isnan(final_masked->val.accuracy) && !std::isnan(baseline->val.accuracy))
    std::fprintf(log, "val accuracy %+.2f points vs the baseline\n",
                 100 * (final_masked->val.accuracy - baseline->val.accuracy));
  else
    std::fprintf(log, "no validation set, so no accuracy difference to the baseline\n");
  if (compact) std::fprintf(log, "%s\n", timing_line.c_str());
  std::fprintf(log, "wrote %s/report.md, report.json, report.svg, summary.json, compact.bin\n", out_dir.c_str());
  std::fflush(log);
}

}  // namespace app
}  // namespace prunus
