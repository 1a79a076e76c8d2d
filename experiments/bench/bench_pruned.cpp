// Pruned models for prunus_bench: does a compact model run as much faster as
// its FLOPs say? Inference img/s of the dense model and of the compact one at
// batch 1 and batch 128, the measured speed-up printed beside the FLOPs ratio
// (dense MACs / compact MACs), for
//   - compact checkpoints given with --compact FILE (run_bench.sh passes the
//     committed compact.bin files of experiments/results), against the dense
//     zoo model of the same architecture;
//   - ResNet-20/56 with synthetic stripe masks: a seeded random 25/50/75/90%
//     of every conv's stripes (but the first conv's) removed, at least one
//     kept per filter, compacted by prune::compact_model.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.h"
#include "prunus/autograd.h"
#include "prunus/io/checkpoint.h"
#include "prunus/models/summary.h"
#include "prunus/models/zoo.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"
#include "prunus/rng.h"
#include "prunus/train/run_checkpoint.h"

namespace prunus {
namespace bench {
namespace {

// img/s of eval-mode inference at `batch` (batch 1: 64 images one by one per timed run).
double inference_rate(const Options& o, nn::Module& model, const Shape& image_shape, int batch) {
  Rng rng(5);
  const Tensor images = Tensor::randn({batch, image_shape[0], image_shape[1], image_shape[2]}, rng);
  prune::EvalModeScope eval(model);
  NoGradGuard no_grad;
  const int repeat = batch == 1 ? 64 : 1;
  const double seconds = best_seconds(o, o.model_reps, [&] {
    for (int r = 0; r < repeat; ++r) model(images);
  });
  return batch * repeat / seconds;
}

// flops_ratio: dense MACs over the pruned model's (its kept weights).
void compare_models(const Options& o, Report& report, const std::string& name, nn::Module& dense,
                    nn::Module& compact, const Shape& image_shape, double flops_ratio) {
  for (int batch : {1, 128}) {
    const double dense_rate = inference_rate(o, dense, image_shape, batch);
    const double compact_rate = inference_rate(o, compact, image_shape, batch);
    const std::string row = name + ".b" + std::to_string(batch);
    report.row("pruned", row, "dense", dense_rate, "img/s", batch / dense_rate);
    report.row("pruned", row, "compact", compact_rate, "img/s", batch / compact_rate);
    std::printf("  %-34s speed-up %.2fx, FLOPs ratio %.2fx (%.2f of it)\n", row.c_str(), compact_rate / dense_rate,
                flops_ratio, compact_rate / dense_rate / flops_ratio);
    if (report.csv)
      std::fprintf(report.csv, "pruned,%s,speedup_over_flops_ratio,%.4f,ratio,0\n", row.c_str(),
                   compact_rate / dense_rate / flops_ratio);
  }
}

// Removes `rate` of the stripes of every conv but the first (seeded), keeping
// one per filter, and returns the compact model and the FLOPs ratio.
std::pair<std::shared_ptr<nn::Module>, double> synthetic_compact(nn::Module& model, const Shape& image_shape,
                                                                 double rate, uint64_t seed) {
  const prune::GraphAnalysis analysis = prune::analyze_model(model, image_shape);
  Rng rng(seed);
  for (size_t c = 1; c < analysis.convs.size(); ++c) {
    const prune::ConvLayer& layer = analysis.convs[c];
    std::shared_ptr<nn::Conv2d> conv = prune::conv_module(model, layer.name);
    conv->enable_mask();
    float* mask = prune::f32_data(conv->mask, layer.name + ".mask");
    const int64_t F = layer.out_channels, C = layer.in_channels, KK = layer.kernel * layer.kernel;
    if (KK == 1) continue;  // 1x1 convs have one stripe per filter
    for (int64_t f = 0; f < F; ++f) {
      std::vector<int64_t> order(static_cast<size_t>(KK));
      for (int64_t k = 0; k < KK; ++k) order[size_t(k)] = k;
      for (int64_t k = KK - 1; k > 0; --k) std::swap(order[size_t(k)], order[size_t(rng.below(uint64_t(k + 1)))]);
      const int64_t removed = std::min<int64_t>(KK - 1, int64_t(rate * double(KK) + 0.5));
      for (int64_t r = 0; r < removed; ++r)
        for (int64_t ch = 0; ch < C; ++ch) mask[(f * C + ch) * KK + order[size_t(r)]] = 0.0f;
    }
  }
  const prune::CompactResult result = prune::compact_model(model, analysis);
  int stripe_sparse = 0;
  for (const prune::CompactedConv& conv : result.convs) stripe_sparse += conv.stripe_sparse;
  std::printf("  (%d of %zu convs stripe-sparse, the others dense: the faster form by the cost model)\n",
              stripe_sparse, result.convs.size());
  const prune::ModelCount count = prune::count_model(model, analysis);
  return {result.model, double(count.dense_macs) / double(count.macs)};
}

// experiments/results/X/compact.bin -> X
std::string row_name(std::string path) {
  const std::string prefix = "experiments/results/", suffix = "/compact.bin";
  if (path.compare(0, prefix.size(), prefix) == 0) path = path.substr(prefix.size());
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    path.resize(path.size() - suffix.size());
  return path;
}

}  // namespace

void bench_pruned(const Options& o, Report& report) {
  std::printf("pruned models: dense vs compact inference, best of %d\n", o.model_reps);
  for (const std::string& path : o.compact_models) {
    if (!o.matches(path)) continue;
    const io::Checkpoint checkpoint = io::read_checkpoint(path);
    std::shared_ptr<nn::Module> compact = train::load_model(checkpoint);
    const Shape image_shape = train::checkpoint_input_shape(checkpoint);
    const models::ModelSummary summary = models::summarize(*compact, image_shape);
    std::shared_ptr<nn::Module> dense = models::make_model(train::checkpoint_arch(checkpoint),
                                                           int(summary.output_shape.back()), int(image_shape[0]),
                                                           int(image_shape[1]), 1);
    // The compact model's own count: its StripeConv2d layers count their kept stripes only. (A conv that
    // compaction kept dense with zero stripes counts its zeros, so the ratio is then an underestimate.)
    const double flops_ratio =
        double(models::summarize(*dense, image_shape).total_macs) / double(summary.total_macs);
    compare_models(o, report, row_name(path), *dense, *compact, image_shape, flops_ratio);
  }
  const Shape cifar = {3, 32, 32};
  for (const char* arch : {"resnet20", "resnet56"}) {
    for (int percent : {25, 50, 75, 90}) {
      const std::string name = std::string(arch) + ".stripes-" + std::to_string(percent) + "%";
      if (!o.matches(name)) continue;
      std::shared_ptr<nn::Module> dense = models::make_model(arch, 10, 3, 32, 1);
      const auto [compact, flops_ratio] = synthetic_compact(*dense, cifar, percent / 100.0, 11);
      std::shared_ptr<nn::Module> plain = models::make_model(arch, 10, 3, 32, 1);
      compare_models(o, report, name, *plain, *compact, cifar, flops_ratio);
    }
  }
}

}  // namespace bench
}  // namespace prunus
