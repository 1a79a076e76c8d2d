// The [prune] section as the pipeline uses it (the other sections are
// train::RunSettings and app::CompareSettings): read from the config once,
// with the string choices as enums and the method's preset resolved
// (prune.granularities and prune.adaptive applied to it). The config itself
// stays the record of where each value came from (config.conf) and of what a
// stage checkpoint was made with (require_same_config).
#pragma once
#include <cstdint>
#include <string>

#include "prunus/io/config.h"
#include "prunus/prune/method.h"

namespace prunus {
namespace app {

enum class TopUpRanking { Auto, Kind, Layer };  // prune.topup_ranking: auto = the method's choice
enum class L1Step { Scheduled, Constant };      // prune.l1_step

struct PruneSettings {
  prune::MethodPreset method;
  std::string baseline_checkpoint;  // "" = train the baseline
  int baseline_epochs = 0;          // already resolved: train.epochs when prune.baseline_epochs is 0
  int sparse_epochs = 0, finetune_epochs = 0;
  double sparse_lr = 0, finetune_lr = 0;
  double lambda0 = 0, flops_target = 0;
  double controller_reach = 1, controller_max_factor = 2;
  double bn_gate_init = 0.5;
  L1Step l1_step = L1Step::Scheduled;
  double topup_step = 0.02;
  TopUpRanking topup_ranking = TopUpRanking::Auto;
  double threshold = 0;
  int bn_recalibration_batches = 0;
  bool exclude_first_conv = true, exclude_classifier = true;

  static PruneSettings from_config(const io::Config& config);
  // The top-up's ranking: prune.topup_ranking, or the method's for auto.
  prune::GateNormalization top_up_normalization() const;
};

}  // namespace app
}  // namespace prunus
