#include "prunus/train/run_settings.h"

#include "prunus/error.h"

namespace prunus {
namespace train {
namespace {

// The schema has already refused anything but its choices; this names them as enums.
template <typename Enum, size_t N>
Enum choice(const io::Config& config, const std::string& key, const std::pair<const char*, Enum> (&choices)[N]) {
  const std::string value = config.get_string(key);
  for (const auto& [name, kind] : choices)
    if (value == name) return kind;
  PRUNUS_FAIL(key, " = '", value, "' is not supported");
}

constexpr std::pair<const char*, DatasetKind> kDatasets[] = {{"cifar10", DatasetKind::Cifar10},
                                                            {"mnist", DatasetKind::Mnist},
                                                            {"fashion_mnist", DatasetKind::FashionMnist},
                                                            {"image_folder", DatasetKind::ImageFolder}};
constexpr std::pair<const char*, ScheduleKind> kSchedules[] = {{"multistep", ScheduleKind::Multistep},
                                                              {"cosine", ScheduleKind::Cosine}};
constexpr std::pair<const char*, Device> kDevices[] = {{"cpu", Device::Cpu}, {"cuda", Device::Cuda}};

int to_int(int64_t value) { return static_cast<int>(value); }  // the schema's ranges keep these in int

}  // namespace

const char* dataset_name(DatasetKind kind) {
  for (const auto& [name, k] : kDatasets)
    if (k == kind) return name;
  return "?";
}

const char* device_name(Device device) {
  for (const auto& [name, d] : kDevices)
    if (d == device) return name;
  return "?";
}

ModelSettings ModelSettings::from_config(const io::Config& config) {
  ModelSettings s;
  s.arch = config.get_string("model.arch");
  s.num_classes = to_int(config.get_int("model.num_classes"));
  s.architecture_from = config.get_string("model.architecture_from");
  return s;
}

DataSettings DataSettings::from_config(const io::Config& config) {
  DataSettings s;
  s.dataset = choice(config, "data.dataset", kDatasets);
  s.path = config.get_string("data.path");
  const io::KeySpec* spec = config.schema().find("data.path");
  s.path_is_default = spec && spec->default_text == s.path;
  s.train_files = config.get_list("data.train_files");
  s.val_files = config.get_list("data.val_files");
  s.test_files = config.get_list("data.test_files");
  s.augment = config.get_bool("data.augment");
  return s;
}

TrainSettings TrainSettings::from_config(const io::Config& config) {
  TrainSettings s;
  s.epochs = to_int(config.get_int("train.epochs"));
  s.batch_size = to_int(config.get_int("train.batch_size"));
  s.lr = config.get_float("train.lr");
  s.momentum = config.get_float("train.momentum");
  s.weight_decay = config.get_float("train.weight_decay");
  s.nesterov = config.get_bool("train.nesterov");
  s.schedule = choice(config, "train.schedule", kSchedules);
  s.milestones = config.get_float_list("train.milestones");
  s.gamma = config.get_float("train.gamma");
  s.warmup_epochs = to_int(config.get_int("train.warmup_epochs"));
  s.seed = static_cast<uint64_t>(config.get_int("train.seed"));
  s.threads = to_int(config.get_int("train.threads"));
  s.device = choice(config, "train.device", kDevices);
  s.sync_batchnorm = config.get_bool("train.sync_batchnorm");
  return s;
}

OutSettings OutSettings::from_config(const io::Config& config) {
  OutSettings s;
  s.dir = config.get_string("out.dir");
  s.checkpoint_every = to_int(config.get_int("out.checkpoint_every"));
  return s;
}

RunSettings RunSettings::from_config(const io::Config& config) {
  return {ModelSettings::from_config(config), DataSettings::from_config(config), TrainSettings::from_config(config),
          OutSettings::from_config(config)};
}

}  // namespace train
}  // namespace prunus
