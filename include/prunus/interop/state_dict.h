// State dicts in and out of prunus models: PyTorch's names mapped onto the
// zoo's (import), and a model's own tensors and architecture written out
// (export). The files are safetensors (prunus/io/safetensors.h).
//
// Name mapping on import, applied to every tensor of the file:
//   - a leading "module." (nn.DataParallel / DistributedDataParallel) is dropped;
//   - BatchNorm's "num_batches_tracked" counters are dropped (prunus keeps none);
//   - CIFAR ResNets (resnet20/32/56/110): "linear.*" -> "fc.*" (the common
//     pytorch_resnet_cifar10 naming; option-A shortcuts carry no tensors);
//   - VGG-16: HRank's "features.convN" / "features.normN" are matched to the
//     zoo's convs and BNs in order ("features.0", "features.1", ...), which is
//     torchvision's vgg16_bn numbering; the classifier names are HRank's;
//   - torchvision's ResNet-50 names are the zoo's already.
// Then every model tensor must be found with its shape, and nothing may be
// left over; otherwise one Error lists every missing, unexpected and
// wrongly shaped tensor.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunus/io/safetensors.h"
#include "prunus/nn/module.h"

namespace prunus {
namespace interop {

// Metadata keys of the safetensors files prunus writes.
constexpr const char* kArchitectureKey = "prunus.architecture";  // nn::describe(model)
constexpr const char* kArchKey = "prunus.arch";                  // zoo name
constexpr const char* kInputShapeKey = "prunus.input_shape";     // "C,H,W"

struct ImportLog {
  std::vector<std::pair<std::string, std::string>> renamed;  // file name -> model name, where they differ
  std::vector<std::string> dropped;                          // ignored file tensors (num_batches_tracked)
};

// The file's tensors under the model's names (see the rules above); throws
// listing every mismatch. `arch` selects the family rules.
std::map<std::string, Tensor> map_state_dict(const io::SafeTensors& file, nn::Module& model, const std::string& arch,
                                             ImportLog* log = nullptr);

// Loads the file into `model` (values converted to the model's dtype).
void import_state_dict(nn::Module& model, const std::string& arch, const io::SafeTensors& file,
                       ImportLog* log = nullptr);

// The model rebuilt from a file that prunus wrote (it carries
// prunus.architecture), so pruned and compact models import as they were;
// nullptr for any other file.
std::shared_ptr<nn::Module> model_from_prunus_file(const io::SafeTensors& file);

// Every parameter and buffer of the model under its prunus name, with the
// architecture, zoo name and input shape in the metadata.
void export_state_dict(const std::string& path, nn::Module& model, const std::string& arch, const Shape& input_shape);

}  // namespace interop
}  // namespace prunus
