#include "prunus/data/dataset.h"

#include <sys/stat.h>

#include "prunus/error.h"

namespace prunus {
namespace data {

void validate(const Dataset& d) {
  PRUNUS_CHECK(d.channels > 0 && d.height > 0 && d.width > 0, "dataset '", d.name,
               "': image shape ", d.channels, "x", d.height, "x", d.width, " must be positive");
  PRUNUS_CHECK(d.num_classes > 0, "dataset '", d.name, "': num_classes is ", d.num_classes,
               ", expected at least 1");
  const uint64_t expected = uint64_t(d.size()) * uint64_t(d.image_bytes());
  PRUNUS_CHECK(d.pixels.size() == expected, "dataset '", d.name, "': ", d.pixels.size(),
               " pixel bytes for ", d.size(), " images of ", d.image_bytes(), " bytes, expected ",
               expected);
  PRUNUS_CHECK(d.class_names.empty() || int(d.class_names.size()) == d.num_classes, "dataset '",
               d.name, "': ", d.class_names.size(), " class names for ", d.num_classes, " classes");
  for (int64_t i = 0; i < d.size(); ++i)
    PRUNUS_CHECK(d.labels[i] >= 0 && d.labels[i] < d.num_classes, "dataset '", d.name,
                 "': label ", d.labels[i], " of image ", i, " is outside [0, ", d.num_classes, ")");
}

Dataset subset(const Dataset& d, int64_t begin, int64_t end) {
  PRUNUS_CHECK(0 <= begin && begin <= end && end <= d.size(), "subset of dataset '", d.name,
               "': range [", begin, ", ", end, ") is not inside [0, ", d.size(), ")");
  Dataset out;
  out.name = d.name + "[" + std::to_string(begin) + ":" + std::to_string(end) + "]";
  out.channels = d.channels;
  out.height = d.height;
  out.width = d.width;
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
  out.labels.assign(d.labels.begin() + begin, d.labels.begin() + end);
  out.pixels.assign(d.pixels.begin() + begin * d.image_bytes(), d.pixels.begin() + end * d.image_bytes());
  return out;
}

std::string find_existing_dir(const std::vector<std::string>& candidates) {
  for (const std::string& dir : candidates) {
    struct stat info;
    if (!dir.empty() && stat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return dir;
  }
  return "";
}

std::vector<std::string> default_cifar10_dirs() {
  return {"data/cifar-10-batches-bin", "../shared/data/cifar-10-batches-bin"};
}

std::string find_cifar10_dir(const std::vector<std::string>& candidates) {
  return find_existing_dir(candidates);
}

std::vector<std::string> default_fashion_mnist_dirs() {
  return {"data/fashion-mnist", "/usr/share/datasets/fashion-mnist"};
}

std::string find_fashion_mnist_dir(const std::vector<std::string>& candidates) {
  return find_existing_dir(candidates);
}

std::vector<std::string> known_class_names(const std::string& dataset_kind) {
  if (dataset_kind == "cifar10")
    return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  if (dataset_kind == "mnist") return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  if (dataset_kind == "fashion_mnist")
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {};
}

}  // namespace data
}  // namespace prunus
