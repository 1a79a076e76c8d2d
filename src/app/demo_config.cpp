#include "prunus/app/demo_config.h"

namespace prunus {
namespace app {

// Keep in step with experiments/configs/fashion_lenet_demo.conf.
const char* demo_config_text() {
  return R"(
[model]
arch = lenet
[data]
dataset = fashion_mnist
path = /usr/share/datasets/fashion-mnist
augment = false
[train]
epochs = 2
batch_size = 128
lr = 0.05
momentum = 0.9
weight_decay = 5e-4
schedule = cosine
seed = 1
threads = 2
[prune]
method = full
granularities = filter, stripe
flops_target = 0.5
baseline_epochs = 2
sparse_epochs = 2
finetune_epochs = 1
sparse_lr = 0.02
finetune_lr = 0.01
lambda0 = 0.3
topup_step = 0.005
[out]
dir = runs/demo
)";
}

}  // namespace app
}  // namespace prunus
