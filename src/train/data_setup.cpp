#include "prunus/train/data_setup.h"

#include <algorithm>
#include <filesystem>

#include "prunus/data/cifar10.h"
#include "prunus/data/idx.h"
#include "prunus/data/image_folder.h"
#include "prunus/error.h"

namespace fs = std::filesystem;

namespace prunus {
namespace train {

namespace {

std::string join(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

std::vector<std::string> joined(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(join(dir, n));
  return out;
}

std::string list_text(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "<stem>.gz" or the raw "<stem>", whichever exists (the .gz name when neither
// does, so the loader's error names the official file).
std::string idx_file(const std::string& dir, const std::string& stem) {
  if (fs::exists(join(dir, stem + ".gz"))) return stem + ".gz";
  if (fs::exists(join(dir, stem))) return stem;
  return stem + ".gz";
}

data::Dataset load_idx_pair(const std::string& dir, const std::vector<std::string>& files, const std::string& key) {
  PRUNUS_CHECK(files.size() == 2, key, " lists ", files.size(), " files (", list_text(files),
               "); an IDX split is two files: images, labels");
  return data::load_idx(join(dir, files[0]), join(dir, files[1]));
}

data::Dataset load_folder(const std::string& dir, const std::vector<std::string>& roots, const std::string& key,
                          int size) {
  PRUNUS_CHECK(roots.size() == 1, key, " lists ", roots.size(), " folders (", list_text(roots),
               "); an image_folder split is one folder of class subfolders");
  return data::load_image_folder(join(dir, roots[0]), size);
}

}  // namespace

Shape DataSplits::input_shape() const {
  const data::Dataset& d = train.size() ? train : (val.size() ? val : test);
  return {d.channels, d.height, d.width};
}

std::string resolve_data_path(const DataSettings& data) {
  const std::string kind = dataset_name(data.dataset);
  const std::string& path = data.path;
  if (fs::is_directory(path)) return path;
  const bool at_default = data.path_is_default;
  std::vector<std::string> candidates;
  std::string how;
  if (data.dataset == DatasetKind::Cifar10) {
    candidates = data::default_cifar10_dirs();
    how = "download it with `bash data/download_cifar10.sh`, or set data.path to the folder of data_batch_1.bin";
  } else if (data.dataset == DatasetKind::FashionMnist) {
    candidates = data::default_fashion_mnist_dirs();
    how = "`make deps` installs it (Debian package dataset-fashion-mnist), or set data.path";
  } else if (data.dataset == DatasetKind::Mnist) {
    candidates = {"data/mnist", "../shared/data/mnist"};
    how = "set data.path to the folder of train-images-idx3-ubyte.gz";
  } else {
    how = "set data.path to a folder holding train/ (and val/, test/) with one subfolder per class";
  }
  if (at_default) {
    const std::string found = data::find_existing_dir(candidates);
    if (!found.empty()) return found;
  }
  std::string tried = "'" + path + "'";
  if (at_default)
    for (const auto& c : candidates) tried += ", '" + c + "'";
  PRUNUS_FAIL("data.dataset = ", kind, ": data.path ", tried, at_default ? " do" : " does",
              " not exist; ", how);
}

data::Augmentation normalization_for(const std::string& kind, int channels) {
  data::Augmentation a;
  if (kind == "cifar10" && channels == 3) {
    a.mean = {0.4914f, 0.4822f, 0.4465f};
    a.stddev = {0.2023f, 0.1994f, 0.2010f};
  } else if (kind == "mnist" && channels == 1) {
    a.mean = {0.1307f};
    a.stddev = {0.3081f};
  } else if (kind == "fashion_mnist" && channels == 1) {
    a.mean = {0.2860f};
    a.stddev = {0.3530f};
  } else if (channels == 3) {  // image folders: ImageNet statistics
    a.mean = {0.485f, 0.456f, 0.406f};
    a.stddev = {0.229f, 0.224f, 0.225f};
  } else {
    a.mean.assign(channels, 0.5f);
    a.stddev.assign(channels, 0.25f);
  }
  return a;
}

data::Augmentation training_augmentation_for(const std::string& kind, int channels, bool augment) {
  data::Augmentation a = normalization_for(kind, channels);
  if (!augment) return a;
  const bool digits = kind == "mnist" || kind == "fashion_mnist";
  a.random_crop = true;
  a.pad = digits ? 2 : 4;
  a.horizontal_flip = kind != "mnist";  // a mirrored digit is another symbol
  return a;
}

int image_folder_size(const std::string& arch) { return arch == "resnet50" ? 224 : 32; }

DataSplits load_data_splits(const RunSettings& settings, SplitsWanted wanted) {
  const DatasetKind dataset = settings.data.dataset;
  const std::string kind = dataset_name(dataset);
  const std::string dir = resolve_data_path(settings.data);
  auto train_files = settings.data.train_files;
  auto val_files = settings.data.val_files;
  auto test_files = settings.data.test_files;
  DataSplits s;

  switch (dataset) {
    case DatasetKind::Cifar10:
      if (train_files.empty()) {
        train_files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin"};
        if (val_files.empty()) val_files = {"data_batch_5.bin"};
      }
      if (test_files.empty()) {
        if (fs::exists(join(dir, "test_batch_first1000.bin")))
          test_files = {"test_batch_first1000.bin"};
        else if (fs::exists(join(dir, "test_batch.bin")))
          test_files = {"test_batch.bin"};
        else
          s.notes.push_back("no test_batch_first1000.bin or test_batch.bin in " + dir + ": no test set");
      }
      if (wanted.train) s.train = data::load_cifar10(joined(dir, train_files));
      if (wanted.val && !val_files.empty()) s.val = data::load_cifar10(joined(dir, val_files));
      if (wanted.test && !test_files.empty()) s.test = data::load_cifar10(joined(dir, test_files));
      break;
    case DatasetKind::Mnist:
    case DatasetKind::FashionMnist:
      if (train_files.empty())
        train_files = {idx_file(dir, "train-images-idx3-ubyte"), idx_file(dir, "train-labels-idx1-ubyte")};
      if (test_files.empty())
        test_files = {idx_file(dir, "t10k-images-idx3-ubyte"), idx_file(dir, "t10k-labels-idx1-ubyte")};
      if (val_files.empty()) {
        val_files = test_files;
        s.val_is_test = true;
        s.notes.push_back(kind + " has no separate validation split: the t10k test files serve as val (and test)");
      }
      if (wanted.train) s.train = load_idx_pair(dir, train_files, "data.train_files");
      if (wanted.val || (wanted.test && s.val_is_test)) s.val = load_idx_pair(dir, val_files, "data.val_files");
      if (wanted.test) s.test = s.val_is_test ? s.val : load_idx_pair(dir, test_files, "data.test_files");
      if (!wanted.val) s.val = data::Dataset();
      break;
    case DatasetKind::ImageFolder: {
      const int size = image_folder_size(settings.model.arch);
      if (train_files.empty()) train_files = {"train"};
      if (val_files.empty() && fs::is_directory(join(dir, "val"))) val_files = {"val"};
      if (test_files.empty() && fs::is_directory(join(dir, "test"))) test_files = {"test"};
      if (wanted.train) s.train = load_folder(dir, train_files, "data.train_files", size);
      if (wanted.val && !val_files.empty()) s.val = load_folder(dir, val_files, "data.val_files", size);
      if (wanted.test && !test_files.empty()) s.test = load_folder(dir, test_files, "data.test_files", size);
      break;
    }
  }

  s.train_source = s.train.size() ? list_text(train_files) : "";
  s.val_source = s.val.size() ? list_text(val_files) : "";
  s.test_source = s.test.size() ? list_text(test_files) : "";
  const data::Dataset* first = nullptr;
  for (const data::Dataset* d : {&s.train, &s.val, &s.test}) {
    if (!d->size()) continue;
    if (!first) first = d;
    PRUNUS_CHECK(d->channels == first->channels && d->height == first->height && d->width == first->width,
                 "datasets '", first->name, "' and '", d->name, "' have different image shapes");
    s.num_classes = std::max(s.num_classes, d->num_classes);
  }
  PRUNUS_CHECK(first, "data: no split of ", kind, " in '", dir, "' was loaded");
  s.normalization = normalization_for(kind, first->channels);
  s.train_augmentation = training_augmentation_for(kind, first->channels, settings.data.augment);
  return s;
}

}  // namespace train
}  // namespace prunus
