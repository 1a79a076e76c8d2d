// The data-parallel tests: run under `mpirun -np 2` (make dist-test; .ci/run),
// or alone, where they check the single-process path only. Every rank runs
// the same test cases in the same order (each case's collectives must match).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "../train_fixtures.h"
#include "prunus/dist/process_group.h"
#include "prunus/models/zoo.h"
#include "prunus/ops.h"
#include "prunus/prune/gates.h"
#include "prunus/train/data_parallel.h"
#include "prunus/train/trainer.h"

using namespace prunus;

namespace {

struct Trained {
  std::vector<double> losses;                      // per step, over the global batch
  std::vector<std::vector<double>> gradients;      // per step, every parameter's gradient, in order
  std::vector<std::pair<std::string, Tensor>> state;  // parameters and buffers at the end
};

struct Setup {
  double lr = 0.05;
  bool sync_batch_norm = true;
  bool nudge = false;  // every initial weight one float step up: the dynamics' own noise floor
};

// One epoch of SGD (momentum 0.9, weight decay 5e-4) of ResNet-20 over
// `data` with a global batch of 128, on however many processes the group holds.
Trained train_resnet20(const data::Dataset& data, const Setup& setup) {
  auto model = models::make_model("resnet20", data.num_classes, data.channels, data.height, 7);
  if (setup.nudge)
    for (auto& [name, t] : model->named_parameters()) {
      float* p = t.f32();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::nextafter(p[i], 1e30f);
    }
  optim::SGD sgd(prune::parameter_groups(*model, 5e-4, 0.9), setup.lr);
  data::Augmentation aug = train::normalization_for("synthetic", data.channels);
  aug.random_crop = true;
  aug.pad = 2;
  aug.horizontal_flip = true;
  data::Loader loader(data, 128, /*shuffle=*/true, aug, /*seed=*/3);
  Trained out;
  train::TrainHooks hooks;
  hooks.after_step = [&](const train::StepInfo& s) {
    out.losses.push_back(s.loss);
    std::vector<double> g;
    for (const Tensor& p : model->parameters()) {
      const auto v = p.grad().to_vector_f64();
      g.insert(g.end(), v.begin(), v.end());
    }
    out.gradients.push_back(std::move(g));
  };
  {
    const auto sync = train::synchronize_batch_norm(setup.sync_batch_norm);
    train::train_one_epoch(*model, loader, sgd, optim::LrSchedule::constant(setup.lr), 0, hooks);
    if (!setup.sync_batch_norm) train::average_buffers(*model);
  }
  for (auto& [name, t] : model->named_parameters()) out.state.emplace_back(name, t.detach().clone());
  for (auto& [name, t] : model->named_buffers()) out.state.emplace_back(name, t.detach().clone());
  return out;
}

Trained train_alone(const data::Dataset& data, const Setup& setup) {
  dist::ActAlone single;
  return train_resnet20(data, setup);
}

double relative_difference(const std::vector<double>& x, const std::vector<double>& y) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += y[i] * y[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

// Over every parameter and buffer together.
double model_difference(const Trained& a, const Trained& b) {
  REQUIRE(a.state.size() == b.state.size());
  std::vector<double> x, y;
  for (size_t i = 0; i < a.state.size(); ++i) {
    REQUIRE(a.state[i].first == b.state[i].first);
    const auto u = a.state[i].second.to_vector_f64(), v = b.state[i].second.to_vector_f64();
    x.insert(x.end(), u.begin(), u.end());
    y.insert(y.end(), v.begin(), v.end());
  }
  return relative_difference(x, y);
}

double worst_loss_difference(const Trained& a, const Trained& b) {
  REQUIRE(a.losses.size() == b.losses.size());
  double worst = 0;
  for (size_t i = 0; i < a.losses.size(); ++i)
    worst = std::max(worst, std::abs(a.losses[i] - b.losses[i]) / std::abs(b.losses[i]));
  return worst;
}

}  // namespace

TEST_CASE("data parallel: every step's loss and gradients are the one-process ones (same weights)") {
  // lr 0: the weights stay put, so each of the 20 steps compares the gradient math itself (sharding,
  // synchronized batch norm forward and backward, loss weighting, the all-reduce) on a new batch.
  const data::Dataset data = train_fixtures::synthetic_dataset(20 * 128, 10, 32, 11);
  Setup still;
  still.lr = 0;
  const Trained together = train_resnet20(data, still);
  const Trained alone = train_alone(data, still);
  REQUIRE(together.gradients.size() == 20);
  double worst_gradient = 0;
  for (size_t i = 0; i < 20; ++i)
    worst_gradient = std::max(worst_gradient, relative_difference(together.gradients[i], alone.gradients[i]));
  const double worst_loss = worst_loss_difference(together, alone);
  if (dist::is_root())
    std::printf("%d ranks x %d images vs 1 process x 128, 20 steps at fixed weights: loss %.3g, gradients %.3g\n",
                dist::size(), 128 / dist::size(), worst_loss, worst_gradient);
  CHECK(worst_loss <= 1e-6);
  CHECK(worst_gradient <= 1e-5);
  if (dist::size() == 1) CHECK(worst_gradient == 0);  // the very same code: bit-identical
}

TEST_CASE("data parallel: 20 steps of ResNet-20 training end where one process ends, to its own noise") {
  // Float32 sums in another order (two batches of 64, then the all-reduce) differ by rounding, and a
  // network at initialization amplifies any difference step by step (at lr 0.05 a 1-ulp nudge of the
  // initial weights grows to about 1% in 20 steps). So the test holds the data-parallel run to that
  // noise floor: it must be no further from the one-process run than the nudged one-process run is,
  // and equal to 1e-5 at a small lr, where the amplification is small.
  const data::Dataset data = train_fixtures::synthetic_dataset(20 * 128, 10, 32, 11);
  Setup normal;
  const Trained together = train_resnet20(data, normal);
  const Trained alone = train_alone(data, normal);
  Setup nudged = normal;
  nudged.nudge = true;
  const Trained floor = train_alone(data, nudged);
  const double ours = model_difference(together, alone), noise = model_difference(floor, alone);
  Setup gentle;
  gentle.lr = 1e-4;
  const Trained gentle_together = train_resnet20(data, gentle);
  const Trained gentle_alone = train_alone(data, gentle);
  const double gentle_model = model_difference(gentle_together, gentle_alone);
  const double gentle_loss = worst_loss_difference(gentle_together, gentle_alone);
  if (dist::is_root())
    std::printf("20 steps at lr 0.05: model %.3g from one process (a 1-ulp nudge: %.3g), losses %.3g; "
                "at lr 1e-4: model %.3g, losses %.3g\n",
                ours, noise, worst_loss_difference(together, alone), gentle_model, gentle_loss);
  CHECK(ours <= std::max(2 * noise, 1e-6));
  CHECK(gentle_model <= 1e-5);
  CHECK(gentle_loss <= 1e-5);
}

TEST_CASE("data parallel: unsynchronized batch norm keeps the ranks identical (running statistics averaged)") {
  const data::Dataset data = train_fixtures::synthetic_dataset(4 * 128, 10, 32, 12);
  Setup local_bn;
  local_bn.sync_batch_norm = false;
  const Trained local = train_resnet20(data, local_bn);
  // Every rank ends with the same tensors: sum them and compare with size x own.
  for (const auto& [name, t] : local.state) {
    std::vector<double> mine = t.to_vector_f64(), all = mine;
    dist::sum(all.data(), int64_t(all.size()), "the test's comparison");
    double worst = 0;
    for (size_t i = 0; i < mine.size(); ++i)
      worst = std::max(worst, std::abs(all[i] - dist::size() * mine[i]) / (std::abs(all[i]) + 1e-12));
    CHECK_MESSAGE(worst <= 1e-6, name);
  }
}

TEST_CASE("data parallel: shards of a loader are the one-process batch, in order") {
  const data::Dataset data = train_fixtures::synthetic_dataset(203, 3, 8, 5);  // the last batch holds 11
  data::Augmentation aug = train::normalization_for("synthetic", 1);
  aug.random_crop = true;
  aug.pad = 1;
  data::Loader whole(data, 32, true, aug, 9);
  whole.start_epoch(2);
  const int shards = 3;
  std::vector<std::unique_ptr<data::Loader>> parts;
  for (int r = 0; r < shards; ++r) {
    parts.push_back(std::make_unique<data::Loader>(data, 32, true, aug, 9));
    parts.back()->set_shard(r, shards);
    parts.back()->start_epoch(2);
  }
  data::Batch b;
  int batches = 0;
  while (whole.next(b)) {
    ++batches;
    std::vector<float> joined;
    std::vector<int> labels;
    for (auto& p : parts) {
      data::Batch piece;
      REQUIRE(p->next(piece));
      CHECK(piece.global_size == b.global_size);
      const auto v = piece.images.to_vector();
      joined.insert(joined.end(), v.begin(), v.end());
      labels.insert(labels.end(), piece.labels.begin(), piece.labels.end());
    }
    CHECK(joined == b.images.to_vector());
    CHECK(labels == b.labels);
  }
  CHECK(batches == 7);
  data::Loader too_many(data, 32, true, aug, 9);
  CHECK_THROWS_WITH_AS(too_many.set_shard(0, 12), doctest::Contains("last batch"), Error);
}

int main(int argc, char** argv) {
  try {
    dist::start(dist::start_options_from_environment());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prunus_dist_tests: %s\n", e.what());
    return 1;
  }
  doctest::Context context(argc, argv);
  if (!dist::is_root()) context.setOption("out", "/dev/null");  // rank 0 reports; a failure anywhere fails the run
  int failed = context.run() != 0 ? 1 : 0;
  double any_failed = failed;
  dist::sum(&any_failed, 1, "the test results");
  return dist::leave(any_failed > 0 ? 1 : 0, 60);
}
