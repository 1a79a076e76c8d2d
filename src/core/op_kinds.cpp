#include "prunus/op_kinds.h"

#include "prunus/error.h"

namespace prunus {
namespace {

// A deque: rows stay where they are when others are added (nodes point to them).
std::deque<OpKind>& table() {
  static std::deque<OpKind> rows{
      {"conv2d", MacRule::WeightPerOutputChannel, ChannelRule::Conv},
      {"stripe_conv2d", MacRule::FromAttribute, ChannelRule::Pins},  // compact models only: not pruned again
      {"linear", MacRule::WeightPerOutputChannel, ChannelRule::Linear},
      {"batchnorm2d", MacRule::None, ChannelRule::BatchNorm},
      {"batchnorm1d", MacRule::None, ChannelRule::BatchNorm},
      {"relu", MacRule::None, ChannelRule::PassThrough},
      {"maxpool2d", MacRule::None, ChannelRule::PassThrough},
      {"avgpool2d", MacRule::None, ChannelRule::PassThrough},
      {"dropout", MacRule::None, ChannelRule::PassThrough},
      {"global_avgpool", MacRule::None, ChannelRule::GlobalPool},
      {"flatten", MacRule::None, ChannelRule::Reshape},
      {"reshape", MacRule::None, ChannelRule::Reshape},
      {"subsample_pad_channels", MacRule::None, ChannelRule::SubsamplePad},
      {"add", MacRule::None, ChannelRule::Elementwise},
      {"mul", MacRule::None, ChannelRule::Elementwise},
      {"concat", MacRule::None, ChannelRule::Concat},
      {"sum", MacRule::None, ChannelRule::NotInModel},
      {"mean", MacRule::None, ChannelRule::NotInModel},
      {"cross_entropy", MacRule::None, ChannelRule::NotInModel},
  };
  return rows;
}

}  // namespace

const std::deque<OpKind>& op_kinds() { return table(); }

const OpKind* find_op_kind(const std::string& name) {
  for (const OpKind& kind : table())
    if (kind.name == name) return &kind;
  return nullptr;
}

void register_op_kind(const OpKind& kind) {
  PRUNUS_CHECK(!kind.name.empty(), "register_op_kind: an op needs a name");
  if (const OpKind* known = find_op_kind(kind.name)) {
    PRUNUS_CHECK(known->macs == kind.macs && known->channels == kind.channels, "register_op_kind: op '", kind.name,
                 "' is already in the table with other rules");
    return;
  }
  table().push_back(kind);
}

}  // namespace prunus
