// Per-layer summary and counting of a model.
//
// Conventions (the same as HRank, SWP and PRUNING.md):
//   MACs   = multiply-accumulates of the conv2d and linear nodes of one
//            forward pass of a single image: conv OH*OW*F*C*KH*KW, linear
//            in*out (biases, BN, activations, pooling and adds not counted).
//            A node that carries a "macs" attribute (e.g. a pruner's sparse
//            conv) is counted with that value instead.
//   params = every learnable tensor (named_parameters), BN gamma and beta
//            included, excluding the pruning gates (stripe_gate,
//            channel_gate), which are training aids, not part of the model.
//
// summarize() traces one forward pass in eval mode on a zero batch of 1 under
// NoGradGuard + TraceGuard. By default in shape-only mode (nn::ShapeOnlyGuard):
// conv and linear layers skip their arithmetic, so counting ResNet-50 at
// 224x224 is instant. The model's training flag is restored afterwards.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunus/nn/module.h"

namespace prunus {
namespace models {

struct LayerSummary {
  std::string module;  // full name of the module that ran the node
  std::string type;    // that module's type_name() ("Conv2d", "Linear"), or the op if no module
  std::string op;      // "conv2d", "linear", ...
  Shape input_shape, output_shape;
  int64_t params = 0;  // the module's own parameters, gates excluded
  int64_t macs = 0;
};

struct ModelSummary {
  std::vector<LayerSummary> layers;  // in an order where producers come first
  int64_t total_macs = 0;            // sum over the layers
  int64_t total_params = 0;          // every parameter of the model, gates excluded
  Shape input_shape, output_shape;
};

// input_shape is one image: [C, H, W] (a batch dimension of 1 is added), or [1, C, H, W].
ModelSummary summarize(nn::Module& model, const Shape& input_shape, bool shape_only = true);

// A printable table plus totals and the counting conventions.
std::string format_summary(const ModelSummary& summary);

// Parameters of the model, gates excluded (the total_params convention).
int64_t count_parameters(const nn::Module& model);

}  // namespace models
}  // namespace prunus
