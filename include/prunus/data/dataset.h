// Dataset: a whole labelled image set held in memory as uint8 NCHW pixels.
// Every loader (CIFAR-10 binary, IDX, image folders) produces one; the Loader
// turns it into float batches. uint8 keeps CIFAR-10's 50,000 images at 150 MB.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prunus {
namespace data {

struct Dataset {
  std::string name;                     // where it came from, for messages and logs
  int channels = 0, height = 0, width = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;          // size() * channels * height * width, NCHW
  std::vector<int> labels;              // one per image, in [0, num_classes)
  std::vector<std::string> class_names; // optional: empty, or num_classes names

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return int64_t(channels) * height * width; }
  const uint8_t* image(int64_t index) const { return pixels.data() + index * image_bytes(); }
};

// Throws Error (naming the dataset) unless the sizes agree, the shape is
// positive and every label is in [0, num_classes).
void validate(const Dataset& dataset);

// A copy of images [begin, end) of `dataset`, e.g. a quick 1,000-image run.
Dataset subset(const Dataset& dataset, int64_t begin, int64_t end);

// The first of `candidates` that is an existing directory, or "" if none is.
std::string find_existing_dir(const std::vector<std::string>& candidates);

// Where CIFAR-10 usually lives: data/cifar-10-batches-bin (the download
// script's target) or ../shared/data/cifar-10-batches-bin.
// The class names of a dataset kind ("cifar10", "mnist", "fashion_mnist"); empty for others.
std::vector<std::string> known_class_names(const std::string& dataset_kind);

std::vector<std::string> default_cifar10_dirs();
std::string find_cifar10_dir(const std::vector<std::string>& candidates = default_cifar10_dirs());

// Fashion-MNIST as installed by Debian's dataset-fashion-mnist package, or a
// local data/fashion-mnist copy.
std::vector<std::string> default_fashion_mnist_dirs();
std::string find_fashion_mnist_dir(
    const std::vector<std::string>& candidates = default_fashion_mnist_dirs());

}  // namespace data
}  // namespace prunus
