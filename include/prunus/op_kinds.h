// The table of every op the autograd tape records (record_op refuses others),
// with what the graph readers need to know of each:
//   MAC rule     : how models/summary.cpp counts its multiply-accumulates;
//   channel rule : how prune/analysis.cpp follows channels through it (which
//                  convs' filters it consumes, passes on, or pins to D).
// A new op gets a row here; until then every forward pass that records it
// throws, so a test that runs it fails instead of the analysis silently
// pinning the convs it touches.
#pragma once
#include <deque>
#include <string>

namespace prunus {

enum class MacRule {
  None,                    // no multiply-accumulates counted
  WeightPerOutputChannel,  // (output elements per image) * (weight elements per output channel): conv, linear
  FromAttribute,           // the node's "macs" attribute (stripe_conv2d: kept stripes only)
};

enum class ChannelRule {
  Conv,          // consumes its input channels, produces its filters' channels
  Linear,        // consumes its input features
  BatchNorm,     // per-channel affine: passes channels on, carries the filter gate
  PassThrough,   // channel-preserving (ReLU, pooling, dropout)
  GlobalPool,    // channel-preserving, one feature per channel afterwards
  Reshape,       // flatten/reshape: channels become feature ranges
  SubsamplePad,  // ResNet option A shortcut: channels shifted, zero channels around
  Elementwise,   // add/mul: inputs' channels must match one to one (their convs go to D)
  Concat,        // channels appended; the producers' counts are fixed (D)
  Pins,          // the analysis does not follow it: convs reaching it go to D
  NotInModel,    // losses and reductions after the model's output
};

struct OpKind {
  std::string name;
  MacRule macs;
  ChannelRule channels;
};

// The table: the built-in ops, then the registered ones.
const std::deque<OpKind>& op_kinds();
// nullptr when `name` is not in the table.
const OpKind* find_op_kind(const std::string& name);
// Adds an op of your own (a custom layer's op, a test's op); call it before
// any forward pass records it. The same row again is a no-op; the same name
// with other rules is an error.
void register_op_kind(const OpKind& kind);

}  // namespace prunus
