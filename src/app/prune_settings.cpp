#include "prunus/app/prune_settings.h"

namespace prunus {
namespace app {

PruneSettings PruneSettings::from_config(const io::Config& config) {
  PruneSettings s;
  s.method = prune::method_preset(config.get_string("prune.method"));
  if (s.method.granularities_configurable) {
    std::string list;
    for (const auto& g : config.get_list("prune.granularities")) list += (list.empty() ? "" : ",") + g;
    s.method.granularities = prune::Granularities::parse(list);
  }
  if (!config.get_bool("prune.adaptive")) s.method.adaptive = false;
  s.baseline_checkpoint = config.get_string("prune.baseline_checkpoint");
  const int64_t baseline_epochs = config.get_int("prune.baseline_epochs");
  s.baseline_epochs = static_cast<int>(baseline_epochs > 0 ? baseline_epochs : config.get_int("train.epochs"));
  s.sparse_epochs = static_cast<int>(config.get_int("prune.sparse_epochs"));
  s.finetune_epochs = static_cast<int>(config.get_int("prune.finetune_epochs"));
  s.sparse_lr = config.get_float("prune.sparse_lr");
  s.finetune_lr = config.get_float("prune.finetune_lr");
  s.lambda0 = config.get_float("prune.lambda0");
  s.flops_target = config.get_float("prune.flops_target");
  s.controller_reach = config.get_float("prune.controller_reach");
  s.controller_max_factor = config.get_float("prune.controller_max_factor");
  s.bn_gate_init = config.get_float("prune.bn_gate_init");
  s.l1_step = config.get_string("prune.l1_step") == "constant" ? L1Step::Constant : L1Step::Scheduled;
  s.topup_step = config.get_float("prune.topup_step");
  const std::string ranking = config.get_string("prune.topup_ranking");
  s.topup_ranking = ranking == "auto" ? TopUpRanking::Auto : ranking == "layer" ? TopUpRanking::Layer : TopUpRanking::Kind;
  s.threshold = config.get_float("prune.threshold");
  s.bn_recalibration_batches = static_cast<int>(config.get_int("prune.bn_recalibration_batches"));
  s.exclude_first_conv = config.get_bool("prune.exclude_first_conv");
  s.exclude_classifier = config.get_bool("prune.exclude_classifier");
  return s;
}

prune::GateNormalization PruneSettings::top_up_normalization() const {
  switch (topup_ranking) {
    case TopUpRanking::Auto: return method.top_up_ranking;
    case TopUpRanking::Layer: return prune::GateNormalization::Layer;
    case TopUpRanking::Kind: return prune::GateNormalization::Kind;
  }
  return method.top_up_ranking;
}

}  // namespace app
}  // namespace prunus
