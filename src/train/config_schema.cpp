// The config keys prunus itself reads. To add a key: declare it here and
// document it in experiments/configs/README.md (a test checks that every key
// appears there). The names of models, methods and granularities are their
// registries', read whenever a value is checked.
#include "prunus/train/config_schema.h"

#include "prunus/models/zoo.h"
#include "prunus/prune/granularity.h"
#include "prunus/prune/method.h"

namespace prunus::train {

using io::kMaxConfigInt;
using io::Range;
using io::Schema;

static std::vector<std::string> granularity_names() {
  std::vector<std::string> names;
  for (const prune::Granularity* g : prune::granularities()) names.push_back(g->name());
  return names;
}

static std::vector<std::string> compare_rows() {
  std::vector<std::string> rows = prune::method_names();
  rows.push_back("dense");
  rows.push_back("scratch");
  return rows;
}

// Upper bound of every epoch count: a typo's size, not a limit anyone trains to.
constexpr double kMaxEpochs = 100000;

static Schema build_prunus_schema() {
  Schema s;
  s.add_string_from("model.arch", "resnet20", "network architecture", models::list_models)
      .add_int("model.num_classes", 0, "number of output classes; 0 = taken from the dataset",
               Range::between(0, 100000))
      .add_string("model.architecture_from", "",
                  "checkpoint whose architecture (e.g. a compact pruned model) is built with fresh initial "
                  "parameters instead of model.arch's; empty = model.arch");

  s.add_string("data.dataset", "cifar10", "dataset format",
               {"cifar10", "mnist", "fashion_mnist", "image_folder"})
      .add_string("data.path", "data/cifar10", "directory holding the dataset files")
      .add_string_list("data.train_files", "",
                       "training files relative to data.path; empty = the dataset's standard files")
      .add_string_list("data.val_files", "",
                       "validation files relative to data.path; empty = no separate validation split")
      .add_string_list("data.test_files", "",
                       "test files relative to data.path; empty = the dataset's standard files")
      .add_bool("data.augment", true, "training augmentation: pad-4 random crop and horizontal flip");

  s.add_int("train.epochs", 160, "epochs of (baseline) training", Range::between(1, kMaxEpochs))
      .add_int("train.batch_size", 128, "mini-batch size", Range::between(1, 65536))
      .add_float("train.lr", 0.1, "initial learning rate", Range::positive())
      .add_float("train.momentum", 0.9, "SGD momentum", Range::from_below(0, 1))
      .add_bool("train.nesterov", false, "use Nesterov momentum")
      .add_float("train.weight_decay", 1e-4, "L2 weight decay", Range::at_least(0))
      .add_string("train.schedule", "multistep", "learning-rate schedule", {"multistep", "cosine"})
      .add_float_list("train.milestones", "0.5, 0.75",
                      "multistep: fractions of the phase's epochs at which lr is multiplied by gamma",
                      Range{0.0, 1.0, true, true}, true)
      .add_float("train.gamma", 0.1, "multistep: lr factor at each milestone", Range::above_to(0, 1))
      .add_int("train.warmup_epochs", 0, "epochs of linear lr warm-up from 0", Range::between(0, kMaxEpochs))
      .add_int("train.seed", 1, "seed of weight init, shuffling and augmentation", Range::between(0, kMaxConfigInt))
      .add_int("train.threads", 0, "CPU threads; 0 = all cores (OpenMP default)", Range::between(0, 1024))
      .add_string("train.device", "cpu", "where to train", {"cpu", "cuda"})
      .add_bool("train.sync_batchnorm", true,
                "data-parallel runs (mpirun): batch norm normalizes with the statistics of the whole global batch "
                "(true) or of each process's own part (false; the running statistics are then averaged after each "
                "epoch)");

  s.add_string("out.dir", "runs/default", "directory for checkpoints, logs, reports and the effective config")
      .add_int("out.checkpoint_every", 1, "write a checkpoint every N epochs; 0 = only at the end of each phase",
               Range::between(0, kMaxEpochs));

  s.add_string_from("prune.method", "full", "pruning method", prune::method_names)
      .add_string_list_from("prune.granularities", "filter, stripe",
                            "granularities pruned by the full and full_plain_l1 methods", granularity_names,
                            false)
      .add_float("prune.flops_target", 0.0, "FLOPs reduction to reach (0.6 = remove 60%); 0 = off",
                 Range::from_below(0, 1))
      .add_float("prune.lambda0", 5e-3, "initial L1 strength", Range::at_least(0))
      .add_bool("prune.adaptive", true, "adaptive L1 strength (false = plain L1 with constant lambda0)")
      .add_int("prune.sparse_epochs", 10, "epochs of sparse training", Range::between(0, kMaxEpochs))
      .add_float("prune.controller_reach", 1.0,
                 "fraction of the sparse epochs after which the lambda0 controller's goal is the full FLOPs "
                 "target (1 = the paper's linear schedule; less leaves the last epochs to train at the target)",
                 Range::above_to(0, 1))
      .add_float("prune.controller_max_factor", 2.0,
                 "the most the lambda0 controller multiplies (or divides) lambda0 by in one epoch (2 = the paper's)",
                 Range::above(1))
      .add_int("prune.finetune_epochs", 10, "epochs of fine-tuning after pruning", Range::between(0, kMaxEpochs))
      .add_float("prune.sparse_lr", 0.02, "initial lr of sparse training", Range::positive())
      .add_float("prune.finetune_lr", 0.01, "initial lr of fine-tuning", Range::positive())
      .add_string("prune.baseline_checkpoint", "",
                  "checkpoint of a trained dense model to start from; empty = train a baseline")
      .add_int("prune.baseline_epochs", 0, "epochs of baseline training; 0 = train.epochs",
               Range::between(0, kMaxEpochs))
      .add_bool("prune.exclude_first_conv", true, "never prune the first conv")
      .add_bool("prune.exclude_classifier", true, "never prune the final classifier")
      .add_float("prune.bn_gate_init", 0.5, "BN gamma (filter gate) value at the start of sparse training",
                 Range::positive())
      .add_float("prune.topup_step", 0.02, "fraction of remaining gates zeroed per top-up round",
                 Range::above_to(0, 1))
      .add_string("prune.l1_step", "scheduled",
                  "step size of the proximal L1 step in sparse training: the scheduled lr (scheduled), or "
                  "prune.sparse_lr throughout (constant: the strength the controller sets is not faded out by a "
                  "decaying lr)",
                  {"scheduled", "constant"})
      .add_string("prune.topup_ranking", "auto",
                  "what a gate's magnitude is divided by to rank it in the top-up: the mean of its kind over the "
                  "whole model (kind), or over its own conv (layer: every conv gives up its own weakest); auto = "
                  "layer for full and full_plain_l1, kind for slimming and swp (as in their papers)",
                  {"auto", "kind", "layer"})
      .add_int("prune.bn_recalibration_batches", 50,
               "training batches whose statistics replace every BN's running mean/var after the prune step; 0 = off",
               Range::between(0, 1000000))
      .add_float("prune.threshold", 0.0, "gates with magnitude <= threshold count as zero; 0 = exact zeros only",
                 Range::at_least(0));
  s.add_string_list_from("compare.methods", "full, full_plain_l1, slimming, swp, l1norm",
                         "prune.method of each pruned row of `prunus compare`", prune::method_names, false)
      .add_float_list("compare.flops_targets", "0.5", "FLOPs reductions every method is pruned to",
                      Range{0.0, 1.0, true, true}, false, false)
      .add_int_list("compare.seeds", "1", "train.seed of each repetition of every row (the baseline is shared)",
                    Range::between(0, kMaxConfigInt), false, false)
      .add_string_list_from("compare.every_seed", "",
                            "rows repeated under every seed of compare.seeds (methods, dense, scratch); the others "
                            "run under the first seed only; empty = every row",
                            compare_rows)
      .add_float("compare.plain_lambda0", 0.0,
                 "prune.lambda0 of the methods without the adaptive controller (slimming, swp, full_plain_l1); "
                 "0 = prune.lambda0",
                 Range::at_least(0))
      .add_bool("compare.dense", true, "add the dense model trained for the pipeline's total epochs")
      .add_bool("compare.scratch", true,
                "add each target's `full` compact architecture trained from scratch for the total epochs");
  return s;
}

const Schema& prunus_schema() {
  static const Schema schema = build_prunus_schema();
  return schema;
}

}  // namespace prunus::train
