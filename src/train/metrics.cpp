#include "prunus/train/metrics.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "prunus/error.h"
#include "prunus/io/number_text.h"

namespace prunus {
namespace train {

std::string exact_number(double value) {
  return std::isnan(value) ? "" : io::round_trip_decimal(value);
}

double parse_exact_number(const std::string& text, const std::string& what) {
  if (text.empty()) return std::nan("");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  PRUNUS_CHECK(*end == '\0' && errno == 0, what, ": '", text, "' is not a number");
  return v;
}


namespace {

const std::vector<std::string> kTimingColumns = {"img_per_s", "seconds", "data_wait_s"};

std::vector<std::string> columns(bool with_timing) {
  std::vector<std::string> c = {"phase", "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc"};
  if (with_timing) c.insert(c.end(), kTimingColumns.begin(), kTimingColumns.end());
  c.push_back("lambda0");
  c.push_back("flops_reduction");
  return c;
}

std::string number(double value) {
  if (std::isnan(value)) return "";
  return io::float_round_trip_decimal(value);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

double parse_number(const std::string& field, const std::string& where) {
  if (field.empty()) return kNoValue;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(field.c_str(), &end);
  PRUNUS_CHECK(end && *end == '\0' && errno == 0, where, ": '", field, "' is not a number");
  return value;
}

}  // namespace

std::vector<EpochRecord> MetricsHistory::phase(const std::string& name) const {
  std::vector<EpochRecord> out;
  for (const auto& r : records_)
    if (r.phase == name) out.push_back(r);
  return out;
}

void MetricsHistory::truncate_phase(const std::string& phase, int kept_epochs) {
  std::vector<EpochRecord> kept;
  for (const auto& r : records_)
    if (r.phase != phase || r.epoch <= kept_epochs) kept.push_back(r);
  records_ = std::move(kept);
}

std::string MetricsHistory::to_csv(bool with_timing) const {
  std::string out;
  const auto names = columns(with_timing);
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
  out += "\n";
  for (const auto& r : records_) {
    out += r.phase + "," + std::to_string(r.epoch) + "," + number(r.lr) + "," + number(r.train_loss) + "," +
           number(r.train_accuracy) + "," + number(r.val_loss) + "," + number(r.val_accuracy);
    if (with_timing)
      out += "," + number(r.images_per_second) + "," + number(r.seconds) + "," + number(r.data_wait_seconds);
    out += "," + number(r.lambda0) + "," + number(r.flops_reduction) + "\n";
  }
  return out;
}

MetricsHistory MetricsHistory::from_csv(const std::string& text, const std::string& source) {
  MetricsHistory history;
  std::istringstream in(text);
  std::string line;
  PRUNUS_CHECK(std::getline(in, line), source, ": the metrics CSV is empty, expected a header line");
  const auto header = split_fields(line);
  const bool with_timing = header == columns(true);
  PRUNUS_CHECK(with_timing || header == columns(false), source, ": unexpected metrics CSV header '", line, "'");
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const std::string where = source + ": metrics line " + std::to_string(line_number);
    const auto f = split_fields(line);
    PRUNUS_CHECK(f.size() == header.size(), where, " has ", f.size(), " fields, expected ", header.size());
    EpochRecord r;
    size_t i = 0;
    r.phase = f[i++];
    const double epoch = parse_number(f[i++], where);
    PRUNUS_CHECK(epoch >= 1 && epoch == std::floor(epoch), where, ": bad epoch number");
    r.epoch = static_cast<int>(epoch);
    r.lr = parse_number(f[i++], where);
    r.train_loss = parse_number(f[i++], where);
    r.train_accuracy = parse_number(f[i++], where);
    r.val_loss = parse_number(f[i++], where);
    r.val_accuracy = parse_number(f[i++], where);
    if (with_timing) {
      r.images_per_second = parse_number(f[i++], where);
      r.seconds = parse_number(f[i++], where);
      r.data_wait_seconds = parse_number(f[i++], where);
    }
    r.lambda0 = parse_number(f[i++], where);
    r.flops_reduction = parse_number(f[i++], where);
    history.add(r);
  }
  return history;
}

}  // namespace train
}  // namespace prunus
