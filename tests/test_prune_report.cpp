#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "prunus/prune/model_access.h"
#include "prunus/prune/pruner.h"
#include "prunus/prune/report.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using namespace prune_test;

namespace {

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

prune::PruneReport pruned_report() {
  TwoPathNet model(3, 8);
  const auto a = prune::analyze_model(model, {3, 8, 8});
  const auto state = prune::plan_gates(a, {});
  prune::enable_gates(model, state);
  {
    NoGradGuard no_grad;
    prune::batch_norm_module(model, "bn_a")->weight.set({0}, 0.0);
    for (int i = 0; i < 3; ++i) prune::conv_module(model, "conv_d")->gate("stripe").set({2, 0, i, 0}, 0.0);
  }
  const auto outcome = prune::prune_model(model, a, state, {});
  auto report = prune::make_report(model, a, "two-path <test> & co", "full");
  report.accuracy = {{"baseline", 0.9123}, {"fine-tuned", 0.9051}};
  report.lambda_trace = {{0, 1e-3, 0.05, 0.1, 2e-3}, {1, 2e-3, 0.2, 0.2, 2e-3}};
  report.notes = {outcome.log};
  return report;
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("report: markdown lists every layer with D flags, totals, accuracy and the lambda0 trace") {
    const auto report = pruned_report();
    const std::string md = prune::report_markdown(report);
    for (const std::string name : {"conv_a", "conv_b", "conv_c", "conv_d", "conv_e", "head"})
      CHECK(md.find("| " + name + " |") != std::string::npos);
    CHECK(md.find("| conv_b | D |") != std::string::npos);
    CHECK(md.find("| conv_a |  | 6x3x3x3 | 5x3x3x3 |") != std::string::npos);
    CHECK(md.find("| conv_b | D | 5x6x3x3 | 5x5x3x3 |") != std::string::npos);
    CHECK(md.find("91.23%") != std::string::npos);
    CHECK(md.find("## lambda0 trace") != std::string::npos);
    CHECK(md.find("multiply-accumulates") != std::string::npos);
    // conv_d lost 3 of its 63 stripes: 3*5 of 315 weights = 4.8% by stripe.
    CHECK(md.find("| 4.8% |") != std::string::npos);
  }

  TEST_CASE("report: JSON carries the same numbers; SVG has one kept bar per layer and escapes text") {
    const auto report = pruned_report();
    const std::string json = prune::report_json(report);
    CHECK(occurrences(json, "\"name\":") == 6);
    CHECK(json.find("\"macs_after\": " + std::to_string(report.count.macs)) != std::string::npos);
    CHECK(json.find("\"in_d\": true") != std::string::npos);
    CHECK(json.find("\"stage\": \"fine-tuned\"") != std::string::npos);
    CHECK(json.find("\\n") != std::string::npos);  // the multi-line note, escaped
    CHECK(occurrences(json, "{") == occurrences(json, "}"));
    CHECK(occurrences(json, "[") == occurrences(json, "]"));
    const std::string svg = prune::report_svg(report);
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(occurrences(svg, "fill=\"#d9822b\"/>") == 2 + 1);  // conv_b, conv_c and the legend
    CHECK(svg.find("&lt;test&gt; &amp; co") != std::string::npos);
    CHECK(svg.find("<test>") == std::string::npos);
  }

  TEST_CASE("report: files are written next to each other; a missing directory is a clear error") {
    const auto report = pruned_report();
    const std::string prefix = (std::filesystem::temp_directory_path() / "prunus-prune-report-test").string();
    prune::write_report(report, prefix);
    for (const std::string ext : {".md", ".json", ".svg"}) {
      std::ifstream in(prefix + ext);
      CHECK(in.good());
      std::stringstream text;
      text << in.rdbuf();
      CHECK(text.str().size() > 100);
      std::remove((prefix + ext).c_str());
    }
    CHECK_THROWS_WITH_AS(prune::write_report(report, "/nonexistent-dir/x"), doctest::Contains("/nonexistent-dir/x.md"),
                         Error);
  }
}
