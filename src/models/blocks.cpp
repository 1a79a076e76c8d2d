#include "prunus/models/blocks.h"

#include "prunus/nn/description.h"
#include "prunus/nn/layers.h"
#include "prunus/ops.h"

namespace prunus {
namespace models {

// ---------------------------------------------------------------- BasicBlock

BasicBlock::BasicBlock(int in_channels_, int out_channels_, int stride_)
    : in_channels(in_channels_), out_channels(out_channels_), stride(stride_) {
  PRUNUS_CHECK(in_channels > 0 && out_channels >= in_channels && stride > 0, "BasicBlock(in_channels=",
               in_channels, ", out_channels=", out_channels, ", stride=", stride,
               "): the option A shortcut can only add channels (need 0 < in_channels <= out_channels, stride > 0)");
  register_module("conv1", std::make_shared<nn::Conv2d>(in_channels, out_channels, 3, stride, 1));
  register_module("bn1", std::make_shared<nn::BatchNorm2d>(out_channels));
  register_module("conv2", std::make_shared<nn::Conv2d>(out_channels, out_channels, 3, 1, 1));
  register_module("bn2", std::make_shared<nn::BatchNorm2d>(out_channels));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = ops::relu(child("bn1")(child("conv1")(x)));
  out = child("bn2")(child("conv2")(out));
  Tensor shortcut = x;
  if (stride != 1 || in_channels != out_channels) {
    const int added = out_channels - in_channels;
    shortcut = ops::subsample_pad_channels(x, stride, added / 2, added - added / 2);
  }
  return ops::relu(ops::add(out, shortcut));
}

void BasicBlock::describe_attributes(nn::ModuleAttributes& a) const {
  a.set_int("in_channels", in_channels);
  a.set_int("out_channels", out_channels);
  a.set_int("stride", stride);
}

// ---------------------------------------------------------------- Bottleneck

Bottleneck::Bottleneck(int in_channels_, int width_, int stride_)
    : in_channels(in_channels_), width(width_), stride(stride_) {
  PRUNUS_CHECK(in_channels > 0 && width > 0 && stride > 0, "Bottleneck(in_channels=", in_channels,
               ", width=", width, ", stride=", stride, "): all must be positive");
  const int out_channels = width * kExpansion;
  register_module("conv1", std::make_shared<nn::Conv2d>(in_channels, width, 1));
  register_module("bn1", std::make_shared<nn::BatchNorm2d>(width));
  register_module("conv2", std::make_shared<nn::Conv2d>(width, width, 3, stride, 1));
  register_module("bn2", std::make_shared<nn::BatchNorm2d>(width));
  register_module("conv3", std::make_shared<nn::Conv2d>(width, out_channels, 1));
  register_module("bn3", std::make_shared<nn::BatchNorm2d>(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    auto downsample = std::make_shared<nn::Sequential>();
    downsample->add(std::make_shared<nn::Conv2d>(in_channels, out_channels, 1, stride));
    downsample->add(std::make_shared<nn::BatchNorm2d>(out_channels));
    register_module("downsample", downsample);
  }
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = ops::relu(child("bn1")(child("conv1")(x)));
  out = ops::relu(child("bn2")(child("conv2")(out)));
  out = child("bn3")(child("conv3")(out));
  Tensor shortcut = has_child("downsample") ? child("downsample")(x) : x;
  return ops::relu(ops::add(out, shortcut));
}

void Bottleneck::describe_attributes(nn::ModuleAttributes& a) const {
  a.set_int("in_channels", in_channels);
  a.set_int("width", width);
  a.set_int("stride", stride);
}

// ------------------------------------------------------------ InceptionBlock

static std::shared_ptr<nn::Sequential> append_conv_bn_relu(std::shared_ptr<nn::Sequential> seq, int in, int out,
                                                           int kernel) {
  seq->add(std::make_shared<nn::Conv2d>(in, out, kernel, 1, kernel / 2));
  seq->add(std::make_shared<nn::BatchNorm2d>(out));
  seq->add(std::make_shared<nn::ReLU>());
  return seq;
}

InceptionBlock::InceptionBlock(int in_channels_, int c1_, int c3_reduce_, int c3_, int c5_reduce_, int c5_,
                               int pool_proj_)
    : in_channels(in_channels_),
      c1(c1_),
      c3_reduce(c3_reduce_),
      c3(c3_),
      c5_reduce(c5_reduce_),
      c5(c5_),
      pool_proj(pool_proj_) {
  PRUNUS_CHECK(in_channels > 0 && c1 > 0 && c3_reduce > 0 && c3 > 0 && c5_reduce > 0 && c5 > 0 && pool_proj > 0,
               "InceptionBlock(in_channels=", in_channels, ", c1=", c1, ", c3_reduce=", c3_reduce, ", c3=", c3,
               ", c5_reduce=", c5_reduce, ", c5=", c5, ", pool_proj=", pool_proj, "): all must be positive");
  using nn::Sequential;
  register_module("branch1x1", append_conv_bn_relu(std::make_shared<Sequential>(), in_channels, c1, 1));
  auto branch3x3 = append_conv_bn_relu(std::make_shared<Sequential>(), in_channels, c3_reduce, 1);
  register_module("branch3x3", append_conv_bn_relu(branch3x3, c3_reduce, c3, 3));
  auto branch5x5 = append_conv_bn_relu(std::make_shared<Sequential>(), in_channels, c5_reduce, 1);
  append_conv_bn_relu(branch5x5, c5_reduce, c5, 3);
  register_module("branch5x5", append_conv_bn_relu(branch5x5, c5, c5, 3));
  auto branch_pool = std::make_shared<Sequential>();
  branch_pool->add(std::make_shared<nn::MaxPool2d>(3, 1, 1));
  register_module("branch_pool", append_conv_bn_relu(branch_pool, in_channels, pool_proj, 1));
}

Tensor InceptionBlock::forward(const Tensor& x) {
  std::vector<Tensor> parts;
  for (const auto& [name, branch] : children()) parts.push_back((*branch)(x));
  return ops::concat(parts);
}

void InceptionBlock::describe_attributes(nn::ModuleAttributes& a) const {
  a.set_int("in_channels", in_channels);
  a.set_int("c1", c1);
  a.set_int("c3_reduce", c3_reduce);
  a.set_int("c3", c3);
  a.set_int("c5_reduce", c5_reduce);
  a.set_int("c5", c5);
  a.set_int("pool_proj", pool_proj);
}

PRUNUS_REGISTER_MODULE_TYPE(BasicBlock, [](const nn::ModuleAttributes& a) {
  return std::make_shared<BasicBlock>(a.get_int32("in_channels"), a.get_int32("out_channels"), a.get_int32("stride"));
});
PRUNUS_REGISTER_MODULE_TYPE(Bottleneck, [](const nn::ModuleAttributes& a) {
  return std::make_shared<Bottleneck>(a.get_int32("in_channels"), a.get_int32("width"), a.get_int32("stride"));
});
PRUNUS_REGISTER_MODULE_TYPE(InceptionBlock, [](const nn::ModuleAttributes& a) {
  return std::make_shared<InceptionBlock>(a.get_int32("in_channels"), a.get_int32("c1"), a.get_int32("c3_reduce"),
                                          a.get_int32("c3"), a.get_int32("c5_reduce"), a.get_int32("c5"),
                                          a.get_int32("pool_proj"));
});

}  // namespace models
}  // namespace prunus
