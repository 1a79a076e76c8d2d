// The model zoo. Every builder draws its initial parameters from an Rng
// seeded with `seed` (nn::InitSeedScope), so the same arguments give the same
// model bit for bit. Roots are nn::Sequential with named children, so full
// names read like torchvision's ("layer1.0.conv1", "fc").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prunus/nn/module.h"

namespace prunus {
namespace models {

// arch in list_models(); throws listing the valid names for anything else,
// and naming the argument when a size does not suit the architecture.
std::shared_ptr<nn::Module> make_model(const std::string& arch, int num_classes, int in_channels, int image_size,
                                       uint64_t seed);
std::vector<std::string> list_models();

// LeNet-style CNN for 28x28 digits: conv5x5(32,pad2) BN ReLU maxpool2,
// conv5x5(64,pad2) BN ReLU maxpool2, flatten, linear 64*(s/4)^2 -> 256, ReLU,
// dropout 0.5, linear 256 -> classes.
std::shared_ptr<nn::Module> lenet(int num_classes, int in_channels, int image_size, uint64_t seed);

// VGG-16 in HRank's CIFAR layout: 13 conv3x3 (no bias) + BN + ReLU, max-pool
// after conv 2/4/7/10/13, flatten, classifier Linear(512*(s/32)^2, 512), BN1d,
// ReLU, Linear(512, classes). image_size >= 32.
std::shared_ptr<nn::Module> vgg16(int num_classes, int in_channels, int image_size, uint64_t seed);

// CIFAR ResNet of depth 6n+2 (20, 32, 56, 110, ...): stem conv3x3 16 + BN +
// ReLU, 3 stages of n BasicBlocks (16/32/64 channels, stride 1/2/2, option A
// shortcuts), global average pool, Linear(64, classes).
std::shared_ptr<nn::Module> resnet_cifar(int depth, int num_classes, int in_channels, int image_size, uint64_t seed);

// ImageNet ResNet-50 (torchvision v1.5 layout): conv7x7/2 64 + BN + ReLU,
// maxpool 3/2 pad 1, Bottleneck stages [3, 4, 6, 3] of widths 64/128/256/512
// (1x1 conv+BN projection shortcuts), global average pool, Linear(2048, classes).
std::shared_ptr<nn::Module> resnet50(int num_classes, int in_channels, int image_size, uint64_t seed);

// GoogLeNet-style net for 32x32: stem conv3x3 64 + BN + ReLU; InceptionBlocks
// a3 (-> 128), b3 (-> 224); maxpool 3/2 pad 1; a4 (-> 288), b4 (-> 352);
// maxpool 3/2 pad 1; a5 (-> 448); global average pool; Linear(448, classes).
std::shared_ptr<nn::Module> inception(int num_classes, int in_channels, int image_size, uint64_t seed);

}  // namespace models
}  // namespace prunus
