// The [model], [data], [train] and [out] sections as a run uses them: read
// from the config once, string choices as enums. The config itself stays the
// record of where each value came from (config.conf) and of what a checkpoint
// was made with. The [prune] section is app::PruneSettings, [compare] is
// app::CompareSettings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunus/io/config.h"

namespace prunus {
namespace train {

enum class DatasetKind { Cifar10, Mnist, FashionMnist, ImageFolder };  // data.dataset
const char* dataset_name(DatasetKind kind);                           // "fashion_mnist"
enum class ScheduleKind { Multistep, Cosine };                        // train.schedule
enum class Device { Cpu, Cuda };                                      // train.device
const char* device_name(Device device);

struct ModelSettings {
  std::string arch;               // a zoo name
  int num_classes = 0;            // 0 = from the data
  std::string architecture_from;  // "" = the zoo model; else a checkpoint whose architecture is taken

  static ModelSettings from_config(const io::Config& config);
};

struct DataSettings {
  DatasetKind dataset = DatasetKind::Cifar10;
  std::string path;
  bool path_is_default = false;  // data.path not set: the usual places are searched too
  std::vector<std::string> train_files, val_files, test_files;  // empty = the dataset's usual files
  bool augment = true;

  static DataSettings from_config(const io::Config& config);
};

struct TrainSettings {
  int epochs = 1, batch_size = 128;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;
  bool nesterov = false;
  ScheduleKind schedule = ScheduleKind::Multistep;
  std::vector<double> milestones;  // fractions of a phase's epochs
  double gamma = 0.1;
  int warmup_epochs = 0;
  uint64_t seed = 1;
  int threads = 0;  // 0 = the OpenMP default
  Device device = Device::Cpu;
  bool sync_batchnorm = true;

  static TrainSettings from_config(const io::Config& config);
};

struct OutSettings {
  std::string dir;
  int checkpoint_every = 1;  // 0 = only at the end of each phase

  static OutSettings from_config(const io::Config& config);
};

struct RunSettings {
  ModelSettings model;
  DataSettings data;
  TrainSettings train;
  OutSettings out;

  static RunSettings from_config(const io::Config& config);
};

}  // namespace train
}  // namespace prunus
