// What prunus puts in its checkpoint files (io::Checkpoint) and how it reads
// them back. Every file holds a model; run checkpoints add the optimizer.
//   strings  prunus.kind          "run" (resumable training state), "model"
//                                 (a trained model), "stage" (a finished stage
//                                 of the pruning pipeline, a model too)
//            architecture         nn::describe() of the model: enough to rebuild
//                                 it, pruned or compact, without the config
//            model.arch           zoo name; model.input_shape "C,H,W"
//            config               the effective config (io::Config::dump())
//            run.phase, run.epoch the phase and its completed epochs
//            run.step, run.partial.* (mid-epoch checkpoints) steps done in the
//                                 next epoch and its running sums
//            metrics.csv          the metrics history so far
//   tensors  model/<name>         every parameter (gates included) and buffer
//            optim/<key>          SGD momentum buffers (run checkpoints)
//            l1/<key>             SGD L1 strengths, where set (run checkpoints)
//   blobs    rng/<module>         the Rng state of each Dropout module
// Callers may add entries of their own (the pipeline stores its stage results).
#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "prunus/io/checkpoint.h"
#include "prunus/io/config.h"
#include "prunus/nn/module.h"
#include "prunus/optim/sgd.h"
#include "prunus/train/metrics.h"
#include "prunus/train/trainer.h"

namespace prunus {
namespace train {

// Architecture, model.* strings, parameters, buffers and Dropout Rng states.
void put_model(io::Checkpoint& checkpoint, nn::Module& model, const std::string& arch, const Shape& input_shape);
// Rebuilds the model from its description (pruned and compact layer types
// included) and loads every tensor and Rng state.
std::shared_ptr<nn::Module> load_model(const io::Checkpoint& checkpoint);
// Loads the checkpoint's tensors and Rng states into an existing model of the same structure.
void load_model_state(nn::Module& model, const io::Checkpoint& checkpoint);
std::string checkpoint_arch(const io::Checkpoint& checkpoint);
// "C,H,W", as model.input_shape stores it, and back (Error naming `what`).
std::string shape_text(const Shape& shape);
Shape parse_shape_text(const std::string& text, const std::string& what);
Shape checkpoint_input_shape(const io::Checkpoint& checkpoint);

// Momentum buffers and L1 strengths. Loading sets the strengths the file
// holds (a resumed epoch keeps those the regularizer chose from the model at
// the epoch's start) and leaves the others as they are.
void put_optimizer(io::Checkpoint& checkpoint, const optim::SGD& optimizer);
void load_optimizer(optim::SGD& optimizer, const io::Checkpoint& checkpoint);

void put_run_position(io::Checkpoint& checkpoint, const std::string& kind, const std::string& phase, int epoch);
std::string checkpoint_kind(const io::Checkpoint& checkpoint);
std::string checkpoint_phase(const io::Checkpoint& checkpoint);  // "" when absent
int checkpoint_epoch(const io::Checkpoint& checkpoint);          // 0 when absent
// Where a run stood inside the epoch after checkpoint_epoch() (steps 0: at its start).
void put_epoch_progress(io::Checkpoint& checkpoint, const EpochProgress& progress);
EpochProgress checkpoint_epoch_progress(const io::Checkpoint& checkpoint);

// One line for users: "training state of phase 'train' after epoch 3",
// "model from phase 'train' (20 epochs)", "pipeline stage 'finetune'".
std::string describe_checkpoint(const io::Checkpoint& checkpoint);

void put_history(io::Checkpoint& checkpoint, const MetricsHistory& history, bool with_timing);
MetricsHistory checkpoint_history(const io::Checkpoint& checkpoint);  // empty when absent

// The config stored in a checkpoint, parsed against train::prunus_schema().
io::Config checkpoint_config(const io::Checkpoint& checkpoint);

// Keys whose values differ between two configs, as "key: a vs b", ignoring `ignored`.
std::vector<std::string> config_differences(const io::Config& stored, const io::Config& current,
                                            const std::set<std::string>& ignored);
// Keys that may change when a run is resumed: where the data is and how fast
// it runs. (A different thread count may change the float rounding.)
const std::set<std::string>& keys_free_on_resume();
// Throws, listing the differences, unless the checkpoint was written with the same config.
// `also_free`: keys the caller knows the checkpoint's contents do not depend on.
void require_same_config(const io::Checkpoint& checkpoint, const io::Config& current,
                         const std::set<std::string>& also_free = {});

}  // namespace train
}  // namespace prunus
