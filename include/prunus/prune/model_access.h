// Typed look-ups of the layers the analysis names, with one clear error when
// the model and the analysis disagree (e.g. an analysis of another model).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunus/nn/batchnorm.h"
#include "prunus/nn/conv2d.h"
#include "prunus/nn/linear.h"
#include "prunus/nn/module.h"

namespace prunus {
namespace prune {

std::shared_ptr<nn::Conv2d> conv_module(nn::Module& model, const std::string& name);
std::shared_ptr<nn::BatchNormBase> batch_norm_module(nn::Module& model, const std::string& name);
std::shared_ptr<nn::Linear> linear_module(nn::Module& model, const std::string& name);

// Puts a model in eval mode and restores every module's own mode when it
// goes out of scope (analysis and folding must not touch BN statistics).
class EvalModeScope {
 public:
  explicit EvalModeScope(nn::Module& model);
  ~EvalModeScope();
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  nn::Module& model_;
  bool root_mode_;
  std::vector<std::pair<std::shared_ptr<nn::Module>, bool>> modes_;
};

// The float32 data of a CPU tensor; throws naming `what` otherwise.
float* f32_data(const Tensor& t, const std::string& what);

}  // namespace prune
}  // namespace prunus
