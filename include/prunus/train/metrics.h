// Per-epoch metrics of a run and their CSV form. The history travels inside
// run checkpoints (so a resumed run's log is complete) and is written to
// out.dir/log.csv after every epoch.
#pragma once
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace prunus {
namespace train {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// The one exact-number text of the records: the shortest "%.17g" decimal that
// reads back as the same double ("" for kNoValue), and its reader.
std::string exact_number(double value);
double parse_exact_number(const std::string& text, const std::string& what);  // throws naming `what`

struct EpochRecord {
  std::string phase;  // "train", "baseline", "sparse", "finetune"
  int epoch = 0;      // 1-based within the phase
  double lr = kNoValue;  // at the epoch's last step
  double train_loss = kNoValue, train_accuracy = kNoValue;
  double val_loss = kNoValue, val_accuracy = kNoValue;  // NaN without a validation set
  double images_per_second = kNoValue, seconds = kNoValue, data_wait_seconds = kNoValue;
  double lambda0 = kNoValue;          // sparse training: the L1 strength used during the epoch
  double flops_reduction = kNoValue;  // sparse training: r measured at the epoch's end
};

class MetricsHistory {
 public:
  void add(const EpochRecord& record) { records_.push_back(record); }
  const std::vector<EpochRecord>& records() const { return records_; }
  // The records of one phase, in order.
  std::vector<EpochRecord> phase(const std::string& name) const;
  // Drops the records of `phase` with epoch > kept_epochs (a resumed phase
  // re-runs them).
  void truncate_phase(const std::string& phase, int kept_epochs);

  // Header plus one line per record; missing values are empty fields.
  // Without timing the columns img_per_s, seconds and data_wait_s are left
  // out, so the text is identical for identical training (used in final.bin).
  std::string to_csv(bool with_timing = true) const;
  // Inverse of to_csv (either form); throws naming `source` and the line on
  // anything malformed.
  static MetricsHistory from_csv(const std::string& text, const std::string& source);

 private:
  std::vector<EpochRecord> records_;
};

}  // namespace train
}  // namespace prunus
