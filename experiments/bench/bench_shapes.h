// The shapes and models prunus_bench measures; `prunus_bench --list-shapes` prints them
// so peers.py measures exactly the same ones.
#pragma once
#include <string>
#include <vector>

#include "prunus/kernels/conv2d.h"

namespace prunus {

struct GemmShape {
  std::string name;
  int M, N, K;
};

struct ConvLayer {
  std::string name;
  kernels::Conv2dShape shape;
};

namespace bench {

inline kernels::Conv2dShape conv3x3(int batch, int in_channels, int size, int out_channels, int stride) {
  kernels::Conv2dShape s;
  s.batch = batch;
  s.in_channels = in_channels;
  s.in_height = s.in_width = size;
  s.out_channels = out_channels;
  s.kernel_h = s.kernel_w = 3;
  s.stride = stride;
  s.padding = 1;
  return s;
}

// Every distinct conv layer of CIFAR ResNet-56 (batch 128, option-A
// shortcuts: no 1x1 convs) and CIFAR VGG-16 (batch 64).
inline std::vector<ConvLayer> conv_layers(bool quick) {
  const int rb = quick ? 16 : 128, vb = quick ? 8 : 64;
  std::vector<ConvLayer> layers = {
      {"resnet56.conv1_3-16@32", conv3x3(rb, 3, 32, 16, 1)},
      {"resnet56.s1_16-16@32", conv3x3(rb, 16, 32, 16, 1)},
      {"resnet56.s2down_16-32@32s2", conv3x3(rb, 16, 32, 32, 2)},
      {"resnet56.s2_32-32@16", conv3x3(rb, 32, 16, 32, 1)},
      {"resnet56.s3down_32-64@16s2", conv3x3(rb, 32, 16, 64, 2)},
      {"resnet56.s3_64-64@8", conv3x3(rb, 64, 8, 64, 1)},
      {"vgg16.3-64@32", conv3x3(vb, 3, 32, 64, 1)},
      {"vgg16.64-64@32", conv3x3(vb, 64, 32, 64, 1)},
      {"vgg16.64-128@16", conv3x3(vb, 64, 16, 128, 1)},
      {"vgg16.128-128@16", conv3x3(vb, 128, 16, 128, 1)},
      {"vgg16.128-256@8", conv3x3(vb, 128, 8, 256, 1)},
      {"vgg16.256-256@8", conv3x3(vb, 256, 8, 256, 1)},
      {"vgg16.256-512@4", conv3x3(vb, 256, 4, 512, 1)},
      {"vgg16.512-512@4", conv3x3(vb, 512, 4, 512, 1)},
      {"vgg16.512-512@2", conv3x3(vb, 512, 2, 512, 1)},
  };
  return layers;
}

// 1024^3 and the forward im2col GEMM of each ResNet-56 layer:
// M = filters, K = 9 * in_channels, N = batch * output pixels.
inline std::vector<GemmShape> sgemm_shapes(bool quick) {
  std::vector<GemmShape> shapes = {{"1024x1024x1024", 1024, 1024, 1024}};
  for (const ConvLayer& layer : conv_layers(quick)) {
    if (layer.name.compare(0, 8, "resnet56") != 0) continue;
    const kernels::Conv2dShape& s = layer.shape;
    const int M = s.out_channels, K = s.in_channels * 9, N = s.batch * s.out_height() * s.out_width();
    shapes.push_back({"im2col_" + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K), M, N, K});
  }
  return shapes;
}

struct ModelCase {
  std::string name, arch;
  int batch;
};

// Model-level timing: CIFAR-10 sized inputs (3 x 32 x 32, 10 classes).
inline std::vector<ModelCase> model_cases(bool quick) {
  std::vector<ModelCase> cases = {{"", "resnet20", quick ? 16 : 128},
                                   {"", "resnet56", quick ? 16 : 128},
                                   {"", "vgg16", quick ? 8 : 64}};
  for (ModelCase& c : cases) c.name = c.arch + ".b" + std::to_string(c.batch);
  return cases;
}

}  // namespace bench
}  // namespace prunus
