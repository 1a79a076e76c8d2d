// The datasets of a run, chosen by the config's [data] section:
//   cifar10       data.path holds the official binary batches. Default split
//                 (the project's protocol): train data_batch_1..4, val
//                 data_batch_5, test test_batch_first1000.bin or test_batch.bin.
//   mnist,        IDX files (raw or .gz) in data.path: train-images-idx3-ubyte,
//   fashion_mnist train-labels-idx1-ubyte, t10k-*. There is no separate
//                 validation split: t10k serves as val (and test), and a note
//                 says so. Explicit lists are [images, labels] pairs.
//   image_folder  data.path/train, data.path/val and data.path/test (class
//                 subfolders); images resized to 224 for resnet50, else 32.
// data.*_files override the defaults (relative to data.path). A default
// data.path that does not exist falls back to where the dataset usually lives
// (data::find_cifar10_dir(), data::find_fashion_mnist_dir(), ../shared/data/mnist).
#pragma once
#include <string>
#include <vector>

#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/train/run_settings.h"
#include "prunus/tensor.h"

namespace prunus {
namespace train {

struct DataSplits {
  data::Dataset train, val, test;  // a split that is not available has size() == 0
  std::string train_source, val_source, test_source;  // file names, for logs
  bool val_is_test = false;        // val and test are the same images (mnist-style datasets)
  data::Augmentation train_augmentation;
  data::Augmentation normalization;  // mean/stddev only: evaluation
  int num_classes = 0;               // the largest label + 1 over the splits loaded
  std::vector<std::string> notes;    // things the user should know ("t10k is used as val")

  Shape input_shape() const;  // [C, H, W] of the images
};

struct SplitsWanted {
  bool train = true, val = true, test = true;
};

// settings.data, with settings.model.arch choosing the image size of image folders.
DataSplits load_data_splits(const RunSettings& settings, SplitsWanted wanted = {});

// data.path, or the usual location when data.path is left at its default and
// does not exist; throws naming the dataset, the path and how to get the data.
std::string resolve_data_path(const DataSettings& data);

// Mean/stddev normalization of a dataset kind ("cifar10", "mnist", ...), and the
// training augmentation when `augment` (crop with padding 4 for 32x32 colour
// images, 2 for 28x28 digits; horizontal flip except for mnist digits).
data::Augmentation normalization_for(const std::string& dataset_kind, int channels);
data::Augmentation training_augmentation_for(const std::string& dataset_kind, int channels, bool augment);

// The image side used for image_folder datasets with this architecture.
int image_folder_size(const std::string& arch);

}  // namespace train
}  // namespace prunus
