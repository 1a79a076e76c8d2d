// Model-level timing for prunus_bench: img/s of one training step (forward,
// cross-entropy, backward, SGD step with momentum and weight decay) and of
// inference (eval mode, no autograd) on random CIFAR-sized batches.
#include <vector>

#include "bench_common.h"
#include "bench_shapes.h"
#include "prunus/autograd.h"
#include "prunus/models/zoo.h"
#include "prunus/ops.h"
#include "prunus/optim/sgd.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

namespace prunus {
namespace bench {

void bench_models(const Options& o, Report& report) {
  std::printf("models (CIFAR-10 sized input), best of %d\n", o.model_reps);
  for (const ModelCase& m : model_cases(o.quick)) {
    if (!o.matches(m.name)) continue;
    std::shared_ptr<nn::Module> model = models::make_model(m.arch, 10, 3, 32, 1);
    Rng rng(3);
    const Tensor images = Tensor::randn({m.batch, 3, 32, 32}, rng);
    std::vector<int> labels(size_t(m.batch));
    for (int& label : labels) label = int(rng.below(10));
    optim::ParamGroup group;
    group.name = "all";
    group.params = model->parameters();
    group.momentum = 0.9;
    group.weight_decay = 5e-4;
    optim::SGD sgd({group}, 0.01);
    if (o.wants_pass("train")) {
      model->train(true);
      const double seconds = best_seconds(o, o.model_reps, [&] {
        sgd.zero_grad();
        const Tensor loss = ops::cross_entropy((*model)(images), labels);
        loss.backward();
        sgd.step();
      });
      report.row("models", m.name, "train", m.batch / seconds, "img/s", seconds);
    }
    if (o.wants_pass("infer")) {
      model->train(false);
      NoGradGuard no_grad;
      const double seconds = best_seconds(o, o.model_reps, [&] { (*model)(images); });
      report.row("models", m.name, "infer", m.batch / seconds, "img/s", seconds);
    }
  }
}

}  // namespace bench
}  // namespace prunus
