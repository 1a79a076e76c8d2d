#include "prunus/app/pipeline_records.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "prunus/io/json_text.h"

namespace prunus {
namespace app {

namespace {

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out;
  std::string f;
  std::istringstream in(line);
  while (std::getline(in, f, ',')) out.push_back(f);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// Calls row(fields, where) for every line after the header, checking the header and field count.
template <class Row>
void read_rows(const std::string& text, const std::string& header, const std::string& source, Row row) {
  std::istringstream in(text);
  std::string line;
  PRUNUS_CHECK(std::getline(in, line) && line == header, source, ": expected the header '", header, "'");
  const size_t count = fields_of(header).size();
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const std::string where = source + " line " + std::to_string(n);
    const auto f = fields_of(line);
    PRUNUS_CHECK(f.size() == count, where, ": ", f.size(), " fields, expected ", count);
    row(f, where);
  }
}

const char* const kStageHeader = "stage,val_loss,val_acc,val_images,test_loss,test_acc,test_images,macs,params";
const char* const kTraceHeader = "epoch,lambda0,flops_reduction,goal,next_lambda0";

}  // namespace


namespace {

// The checkpoint keys, with the field each one holds.
template <class Timings, class F>
void for_each_timing(Timings& t, F f) {
  f("compact.output_difference", t.output_difference);
  f("compact.dense_images_per_second", t.dense_images_per_second);
  f("compact.masked_images_per_second", t.masked_images_per_second);
  f("compact.compact_images_per_second", t.compact_images_per_second);
}

}  // namespace

void CompactTimings::put(io::Checkpoint& checkpoint) const {
  for_each_timing(*this, [&](const char* key, double value) { checkpoint.put_string(key, exact_number(value)); });
}

CompactTimings CompactTimings::from_checkpoint(const io::Checkpoint& checkpoint) {
  CompactTimings t;
  for_each_timing(t, [&](const char* key, double& value) {
    if (checkpoint.has_string(key)) value = parse_exact_number(checkpoint.string(key), key);
  });
  return t;
}


std::string stage_results_csv(const std::vector<StageResult>& stages) {
  std::string out = std::string(kStageHeader) + "\n";
  for (const auto& s : stages)
    out += s.stage + "," + exact_number(s.val.loss) + "," + exact_number(s.val.accuracy) + "," +
           std::to_string(s.val.images) + "," + exact_number(s.test.loss) + "," + exact_number(s.test.accuracy) +
           "," + std::to_string(s.test.images) + "," + std::to_string(s.macs) + "," + std::to_string(s.params) + "\n";
  return out;
}

std::vector<StageResult> parse_stage_results(const std::string& text, const std::string& source) {
  std::vector<StageResult> out;
  read_rows(text, kStageHeader, source, [&](const std::vector<std::string>& f, const std::string& where) {
    StageResult s;
    s.stage = f[0];
    s.val.loss = parse_exact_number(f[1], where);
    s.val.accuracy = parse_exact_number(f[2], where);
    s.val.images = static_cast<int64_t>(parse_exact_number(f[3], where));
    s.test.loss = parse_exact_number(f[4], where);
    s.test.accuracy = parse_exact_number(f[5], where);
    s.test.images = static_cast<int64_t>(parse_exact_number(f[6], where));
    s.macs = static_cast<int64_t>(parse_exact_number(f[7], where));
    s.params = static_cast<int64_t>(parse_exact_number(f[8], where));
    out.push_back(s);
  });
  return out;
}

std::string lambda_trace_csv(const std::vector<prune::LambdaTraceEntry>& trace) {
  std::string out = std::string(kTraceHeader) + "\n";
  for (const auto& e : trace)
    out += std::to_string(e.epoch) + "," + exact_number(e.lambda0) + "," + exact_number(e.flops_reduction) + "," +
           exact_number(e.goal) + "," + exact_number(e.next_lambda0) + "\n";
  return out;
}

std::vector<prune::LambdaTraceEntry> parse_lambda_trace(const std::string& text, const std::string& source) {
  std::vector<prune::LambdaTraceEntry> out;
  read_rows(text, kTraceHeader, source, [&](const std::vector<std::string>& f, const std::string& where) {
    prune::LambdaTraceEntry e;
    e.epoch = static_cast<int>(parse_exact_number(f[0], where));
    e.lambda0 = parse_exact_number(f[1], where);
    e.flops_reduction = parse_exact_number(f[2], where);
    e.goal = parse_exact_number(f[3], where);
    e.next_lambda0 = parse_exact_number(f[4], where);
    out.push_back(e);
  });
  return out;
}

}  // namespace app
}  // namespace prunus
