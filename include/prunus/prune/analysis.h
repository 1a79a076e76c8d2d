// Dependency analysis of a model from one traced forward pass: which convs
// are dimension-matching (their filter count is fixed by an add, a concat or
// the network output: the set D of PRUNING.md), and, for every other conv,
// which modules carry its channels (its BNs) and which read them (the next
// convs' input channels, a linear layer's input features). Works on any model
// built from the ops, by propagating per-channel provenance through the graph.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunus/tensor.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

// A module that sees the channels of one conv. Filter f of the producing conv
// is channel index_of_filter[f] of the user's input (batch norms, convs), or
// features [index_of_filter[f], index_of_filter[f] + features_per_channel) of a
// linear layer after flatten (features_per_channel = H*W of the flattened map).
struct ChannelUser {
  enum class Kind { BatchNorm, Conv, Linear };
  std::string module;
  Kind kind = Kind::Conv;
  std::vector<int64_t> index_of_filter;
  int64_t features_per_channel = 1;
};

struct ConvLayer {
  std::string name;  // module full name
  int64_t in_channels = 0, out_channels = 0, kernel = 0, stride = 1, padding = 0;
  int64_t in_height = 0, in_width = 0, out_height = 0, out_width = 0;
  bool in_d = false;       // dimension-matching: its filter count is fixed
  std::string d_reason;    // why, for the report ("" when not in D)
  std::string bn;          // the batch norm right after it (its filter gates); "" if none
  // Only for convs not in D: every batch norm carrying its channels, and every
  // conv/linear reading them (the modules a removed filter shrinks).
  std::vector<ChannelUser> batch_norms;
  std::vector<ChannelUser> consumers;
  int64_t dense_macs() const { return out_channels * in_channels * kernel * kernel * out_height * out_width; }
};

struct LinearLayer {
  std::string name;
  int64_t in_features = 0, out_features = 0;
  int64_t dense_macs() const { return in_features * out_features; }
};

struct GraphAnalysis {
  Shape input_shape;              // the traced input, batch 1
  std::vector<ConvLayer> convs;   // in execution order
  std::vector<LinearLayer> linears;

  // Index into convs / linears, or -1.
  int conv_index(const std::string& name) const;
  int linear_index(const std::string& name) const;
  const ConvLayer& conv(const std::string& name) const;  // throws if unknown
  std::vector<std::string> dimension_matching() const;  // names of D, in execution order
  int64_t dense_macs() const;  // all convs and linears, per image
  // Human-readable listing: every conv, D or free with its reason, BN and consumers.
  std::string report() const;
};

// Traces one forward pass of `model` on an input of `input_shape` ([1,C,H,W]
// or [C,H,W]) in eval mode with arithmetic of convs/linears skipped, restores
// every module's training mode, and analyzes the graph.
GraphAnalysis analyze_model(nn::Module& model, const Shape& input_shape);

// Analyzes an already traced graph: `output` was computed from `input` by
// `model` with recording on (TraceGuard).
GraphAnalysis analyze_graph(nn::Module& model, const Tensor& input, const Tensor& output);

}  // namespace prune
}  // namespace prunus
