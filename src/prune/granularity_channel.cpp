// channel: one group per filter and input channel, the kernel W[f,c,:,:],
// gated by Conv2d::gate("channel") [F,C,1,1]. Applied to every conv, D
// included; its zeros stay in the dense weight after compaction.
#include "builtin_granularities.h"

namespace prunus {
namespace prune {
namespace {

class ChannelGranularity : public ConvGateGranularity {
 public:
  std::string name() const override { return "channel"; }
  nn::ConvGatePattern pattern() const override { return {true, false, false}; }
  int fine_order() const override { return 20; }
};

}  // namespace

std::shared_ptr<Granularity> make_channel_granularity() { return std::make_shared<ChannelGranularity>(); }

}  // namespace prune
}  // namespace prunus
