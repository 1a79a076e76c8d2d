#include "prunus/interop/state_dict.h"

#include <algorithm>
#include <set>

#include "prunus/error.h"
#include "prunus/nn/description.h"
#include "prunus/nn/state.h"
#include "prunus/train/run_checkpoint.h"

namespace prunus {
namespace interop {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_cifar_resnet(const std::string& arch) { return starts_with(arch, "resnet") && arch != "resnet50"; }

// HRank's VGG names its layers by their index in the cfg list ("features.conv0",
// "features.norm0", "features.conv3", ...): the i-th convN is the zoo's i-th conv.
// Returns file-name prefix -> model-name prefix ("features.conv3." -> "features.3.").
std::map<std::string, std::string> hrank_vgg_prefixes(const io::SafeTensors& file, nn::Module& model) {
  std::map<std::string, std::vector<std::pair<long, std::string>>> by_kind;  // "conv"/"norm" -> (N, prefix)
  for (const auto& e : file.tensors) {
    std::string name = starts_with(e.name, "module.") ? e.name.substr(7) : e.name;
    for (const char* kind : {"conv", "norm"}) {
      const std::string head = std::string("features.") + kind;
      if (!starts_with(name, head)) continue;
      const size_t dot = name.find('.', head.size());
      const std::string digits = name.substr(head.size(), dot == std::string::npos ? std::string::npos : dot - head.size());
      if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
      auto& list = by_kind[kind];
      const std::string prefix = head + digits + ".";
      if (std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.second == prefix; }) == list.end())
        list.emplace_back(std::stol(digits), prefix);
    }
  }
  std::map<std::string, std::vector<std::string>> model_layers;  // "conv"/"norm" -> model prefixes in order
  for (const auto& [name, module] : model.named_modules()) {
    if (!starts_with(name, "features.")) continue;
    if (module->type_name() == "Conv2d") model_layers["conv"].push_back(name + ".");
    if (module->type_name() == "BatchNorm2d") model_layers["norm"].push_back(name + ".");
  }
  std::map<std::string, std::string> prefixes;
  for (auto& [kind, list] : by_kind) {
    std::sort(list.begin(), list.end());
    const auto& targets = model_layers[kind];
    for (size_t i = 0; i < list.size() && i < targets.size(); ++i) prefixes[list[i].second] = targets[i];
  }
  return prefixes;
}

std::string list_text(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += "\n  " + s;
  return out;
}

}  // namespace

std::map<std::string, Tensor> map_state_dict(const io::SafeTensors& file, nn::Module& model, const std::string& arch,
                                             ImportLog* log) {
  const std::map<std::string, std::string> vgg = arch == "vgg16" ? hrank_vgg_prefixes(file, model)
                                                                 : std::map<std::string, std::string>{};
  std::map<std::string, Tensor> mapped;
  std::map<std::string, std::string> source_of;  // model name -> file name, for duplicate messages
  std::vector<std::string> problems;
  for (const auto& e : file.tensors) {
    std::string name = starts_with(e.name, "module.") ? e.name.substr(7) : e.name;
    if (ends_with(name, ".num_batches_tracked") || name == "num_batches_tracked") {
      if (log) log->dropped.push_back(e.name);
      continue;
    }
    if (is_cifar_resnet(arch) && starts_with(name, "linear.")) name = "fc." + name.substr(7);
    for (const auto& [from, to] : vgg)
      if (starts_with(name, from)) {
        name = to + name.substr(from.size());
        break;
      }
    if (source_of.count(name)) {
      problems.push_back("'" + e.name + "' and '" + source_of[name] + "' both map to '" + name + "'");
      continue;
    }
    source_of[name] = e.name;
    if (log && name != e.name) log->renamed.emplace_back(e.name, name);
    mapped[name] = e.value;
  }
  std::vector<std::string> missing, wrong_shape;
  std::set<std::string> known;
  for (const auto& [name, tensor] : nn::state_tensors(model)) {
    known.insert(name);
    auto it = mapped.find(name);
    if (it == mapped.end()) {
      missing.push_back(name + " " + shape_str(tensor.shape()));
    } else if (it->second.shape() != tensor.shape()) {
      wrong_shape.push_back(name + ": the file has " + shape_str(it->second.shape()) + " ('" + source_of[name] +
                            "'), the model " + shape_str(tensor.shape()));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : mapped)
    if (!known.count(name))
      unexpected.push_back(source_of[name] + (source_of[name] != name ? " (as '" + name + "')" : "") + " " +
                           shape_str(tensor.shape()));
  if (problems.empty() && missing.empty() && wrong_shape.empty() && unexpected.empty()) return mapped;
  std::string message = file.source + " does not fit the " + arch + " model:";
  if (!missing.empty()) message += "\n" + std::to_string(missing.size()) + " missing:" + list_text(missing);
  if (!unexpected.empty()) message += "\n" + std::to_string(unexpected.size()) + " unexpected:" + list_text(unexpected);
  if (!wrong_shape.empty())
    message += "\n" + std::to_string(wrong_shape.size()) + " with the wrong shape:" + list_text(wrong_shape);
  if (!problems.empty()) message += "\n" + std::to_string(problems.size()) + " name clashes:" + list_text(problems);
  throw Error(message);
}

void import_state_dict(nn::Module& model, const std::string& arch, const io::SafeTensors& file, ImportLog* log) {
  nn::load_state_tensors(model, map_state_dict(file, model, arch, log));
}

std::shared_ptr<nn::Module> model_from_prunus_file(const io::SafeTensors& file) {
  auto it = file.metadata.find(kArchitectureKey);
  if (it == file.metadata.end()) return nullptr;
  try {
    size_t stored_bytes = 0;
    for (const io::SafeTensorsEntry& entry : file.tensors)
      stored_bytes += entry.value.numel() * dtype_size(entry.value.dtype());
    return nn::build_from_description(it->second, 0, nn::allocation_limit_for_file(stored_bytes));
  } catch (const Error& e) {
    throw Error(file.source + ": its " + kArchitectureKey + " metadata does not describe a model: " + e.what());
  }
}

void export_state_dict(const std::string& path, nn::Module& model, const std::string& arch, const Shape& input_shape) {
  io::write_safetensors(path, nn::state_tensors(model),
                        {{kArchitectureKey, nn::describe(model)}, {kArchKey, arch},
                         {kInputShapeKey, train::shape_text(input_shape)}});
}

}  // namespace interop
}  // namespace prunus
