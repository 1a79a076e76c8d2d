#include "prunus/optim/sgd.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace prunus {
namespace optim {
namespace {

// Parameters are processed in fixed-size chunks: each chunk runs all passes
// (mask, update, mask, proximal) while it is in cache, and chunk boundaries do
// not depend on the thread count, so every element takes the same code path
// (vector body or scalar tail) whatever OMP_NUM_THREADS is: bit-identical runs.
constexpr int64_t kChunk = 8192;
constexpr int64_t kParallelChunks = 8;  // below this, threads cost more than they save

template <typename T>
struct ParamData {
  T* param;
  T* grad;
  T* momentum;           // null when the group has no momentum
  const T* mask;         // null when unmasked
  const T* l1_strength;  // null when no L1
  bool l1_scalar;
};

template <typename T>
void zero_where_masked(T* values, const T* mask, int64_t n) {
  for (int64_t i = 0; i < n; ++i) values[i] = mask[i] != T(0) ? values[i] : T(0);
}

template <typename T, bool kMomentum, bool kNesterov, bool kDecay>
void sgd_update(T* p, const T* g, T* buf, int64_t n, T step_size, T momentum, T decay) {
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if (kDecay) d += decay * p[i];
    if (kMomentum) {
      const T b = momentum * buf[i] + d;
      buf[i] = b;
      d = kNesterov ? d + momentum * b : b;
    }
    p[i] -= step_size * d;
  }
}

// p <- sign(p) * max(|p| - step_size * strength, 0). `a <= 0` rather than
// `a > 0` so that a NaN parameter stays NaN and is noticed, not zeroed.
template <typename T, bool kScalar, bool kResetMomentum>
void proximal_l1(T* p, T* buf, const T* strength, int64_t n, T step_size) {
  const T scalar_threshold = step_size * strength[0];
  for (int64_t i = 0; i < n; ++i) {
    const T threshold = kScalar ? scalar_threshold : step_size * strength[i];
    const T shrunk = std::abs(p[i]) - threshold;
    const bool zero = shrunk <= T(0);
    p[i] = zero ? T(0) : std::copysign(shrunk, p[i]);
    if (kResetMomentum) buf[i] = zero ? T(0) : buf[i];
  }
}

template <typename T, bool kMomentum, bool kNesterov, bool kDecay>
void update_chunk(const ParamData<T>& d, int64_t begin, int64_t n, T step_size, T momentum, T decay) {
  sgd_update<T, kMomentum, kNesterov, kDecay>(d.param + begin, d.grad + begin,
                                               kMomentum ? d.momentum + begin : nullptr, n, step_size,
                                               momentum, decay);
}

template <typename T>
void step_chunk(const ParamData<T>& d, int64_t begin, int64_t n, T step_size, T l1_step_size, T momentum, T decay,
                bool nesterov, bool reset_momentum_on_zero) {
  if (d.mask) zero_where_masked(d.grad + begin, d.mask + begin, n);
  const bool has_momentum = d.momentum != nullptr;
  const bool has_decay = decay != T(0);
  if (has_momentum && nesterov)
    has_decay ? update_chunk<T, true, true, true>(d, begin, n, step_size, momentum, decay)
              : update_chunk<T, true, true, false>(d, begin, n, step_size, momentum, decay);
  else if (has_momentum)
    has_decay ? update_chunk<T, true, false, true>(d, begin, n, step_size, momentum, decay)
              : update_chunk<T, true, false, false>(d, begin, n, step_size, momentum, decay);
  else
    has_decay ? update_chunk<T, false, false, true>(d, begin, n, step_size, momentum, decay)
              : update_chunk<T, false, false, false>(d, begin, n, step_size, momentum, decay);
  if (d.mask) {
    zero_where_masked(d.param + begin, d.mask + begin, n);
    if (has_momentum) zero_where_masked(d.momentum + begin, d.mask + begin, n);
  }
  if (d.l1_strength) {
    T* p = d.param + begin;
    T* buf = has_momentum ? d.momentum + begin : nullptr;
    const T* s = d.l1_scalar ? d.l1_strength : d.l1_strength + begin;
    const bool reset = reset_momentum_on_zero && has_momentum;
    if (d.l1_scalar)
      reset ? proximal_l1<T, true, true>(p, buf, s, n, l1_step_size)
            : proximal_l1<T, true, false>(p, buf, s, n, l1_step_size);
    else
      reset ? proximal_l1<T, false, true>(p, buf, s, n, l1_step_size)
            : proximal_l1<T, false, false>(p, buf, s, n, l1_step_size);
  }
}

template <typename T>
void step_tensor(const ParamData<T>& d, int64_t numel, double step_size, double l1_step_size, double momentum,
                 double decay, bool nesterov, bool reset_momentum_on_zero) {
  const int64_t chunks = (numel + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks >= kParallelChunks)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    step_chunk<T>(d, begin, std::min(kChunk, numel - begin), static_cast<T>(step_size),
                  static_cast<T>(l1_step_size), static_cast<T>(momentum), static_cast<T>(decay), nesterov, reset_momentum_on_zero);
  }
}

template <typename T>
void zero_where_masked_tensor(Tensor& values, const Tensor& mask) {
  zero_where_masked(values.data<T>(), mask.data<T>(), values.numel());
}

void check_finite_non_negative(const char* what, const std::string& group, double value) {
  PRUNUS_CHECK(std::isfinite(value) && value >= 0, "SGD: ", what, " of group '", group, "' is ", value,
               "; expected a finite value >= 0");
}

std::string param_label(const Tensor& param) {
  return param.name().empty() ? std::string("an unnamed parameter") : "parameter '" + param.name() + "'";
}

// The values of `source` as a new tensor of `dtype` (a copy even if equal).
Tensor converted_copy(const Tensor& source, DType dtype) {
  Tensor copy = Tensor::empty(source.shape(), dtype);
  copy.copy_(source);
  return copy;
}

}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, double lr, SgdOptions options)
    : groups_(std::move(groups)), lr_(0), options_(options) {
  set_lr(lr);
  std::set<std::string> group_names;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    PRUNUS_CHECK(group_names.insert(group.name).second, "SGD: two parameter groups are named '", group.name,
                 "'; group names must be unique");
    check_finite_non_negative("lr_scale", group.name, group.lr_scale);
    check_finite_non_negative("momentum", group.name, group.momentum);
    check_finite_non_negative("weight_decay", group.name, group.weight_decay);
    PRUNUS_CHECK(!group.nesterov || group.momentum > 0, "SGD: group '", group.name,
                 "' asks for Nesterov momentum with momentum 0; Nesterov needs momentum > 0");
    for (size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      PRUNUS_CHECK(param.defined(), "SGD: parameter #", i, " of group '", group.name, "' is undefined");
      PRUNUS_CHECK(param.device() == Device::CPU, "SGD: ", param_label(param), " (#", i, " of group '",
                   group.name, "') is on ", device_name(param.device()),
                   "; this optimizer updates CPU tensors only");
      PRUNUS_CHECK(index_of_.emplace(param.impl(), states_.size()).second, "SGD: ", param_label(param),
                   " (#", i, " of group '", group.name, "') appears twice in the parameter groups");
      ParamState state;
      state.param = param;
      state.group = static_cast<int>(g);
      state.index = static_cast<int>(i);
      states_.push_back(std::move(state));
    }
  }
}

void SGD::set_lr(double lr) {
  PRUNUS_CHECK(std::isfinite(lr) && lr >= 0, "SGD: learning rate ", lr, " is invalid; expected a finite value >= 0");
  lr_ = lr;
}

SGD::ParamState& SGD::find(const Tensor& param, const char* caller) {
  return const_cast<ParamState&>(static_cast<const SGD*>(this)->find(param, caller));
}

const SGD::ParamState& SGD::find(const Tensor& param, const char* caller) const {
  PRUNUS_CHECK(param.defined(), "SGD::", caller, ": the parameter is an undefined tensor");
  auto it = index_of_.find(param.impl());
  PRUNUS_CHECK(it != index_of_.end(), "SGD::", caller, ": ", param_label(param), " of shape ",
               shape_str(param.shape()), " is not in any of this optimizer's parameter groups");
  return states_[it->second];
}

std::string SGD::state_key(const ParamState& state) const {
  const std::string& name = state.param.name();
  return groups_[state.group].name + "/" + (name.empty() ? std::to_string(state.index) : name);
}

void SGD::step() {
  // Check every gradient first, so that a bad one leaves no parameter half-updated.
  for (const ParamState& state : states_) {
    const Tensor grad = state.param.grad();
    if (!grad.defined()) continue;
    PRUNUS_CHECK(grad.shape() == state.param.shape() && grad.dtype() == state.param.dtype() &&
                     grad.device() == Device::CPU,
                 "SGD::step: the gradient of ", param_label(state.param), " (#", state.index, " of group '",
                 groups_[state.group].name, "') is ", dtype_name(grad.dtype()), " ", shape_str(grad.shape()),
                 " on ", device_name(grad.device()), "; expected ", dtype_name(state.param.dtype()), " ",
                 shape_str(state.param.shape()), " on cpu");
  }
  for (ParamState& state : states_)
    if (state.param.grad().defined()) step_param(state);
}

void SGD::step_param(ParamState& state) {
  const ParamGroup& group = groups_[state.group];
  Tensor grad = state.param.grad();
  if (group.momentum > 0 && !state.momentum.defined())
    state.momentum = Tensor::zeros(state.param.shape(), state.param.dtype());
  const double step_size = lr_ * group.lr_scale;
  const double l1_step_size = options_.l1_step_size > 0 ? options_.l1_step_size * group.lr_scale : step_size;
  const int64_t n = state.param.numel();
  const bool l1_scalar = state.l1_strength.defined() && state.l1_strength.numel() == 1;
  if (state.param.dtype() == DType::F32) {
    ParamData<float> d{state.param.f32(), grad.f32(),
                       state.momentum.defined() ? state.momentum.f32() : nullptr,
                       state.mask.defined() ? state.mask.f32() : nullptr,
                       state.l1_strength.defined() ? state.l1_strength.f32() : nullptr, l1_scalar};
    step_tensor(d, n, step_size, l1_step_size, group.momentum, group.weight_decay, group.nesterov,
                options_.reset_momentum_on_zero);
  } else {
    ParamData<double> d{state.param.f64(), grad.f64(),
                        state.momentum.defined() ? state.momentum.f64() : nullptr,
                        state.mask.defined() ? state.mask.f64() : nullptr,
                        state.l1_strength.defined() ? state.l1_strength.f64() : nullptr, l1_scalar};
    step_tensor(d, n, step_size, l1_step_size, group.momentum, group.weight_decay, group.nesterov,
                options_.reset_momentum_on_zero);
  }
}

void SGD::set_l1_step_size(double step_size) {
  PRUNUS_CHECK(std::isfinite(step_size) && step_size >= 0, "SGD: the L1 step size must be finite and >= 0, got ",
               step_size);
  options_.l1_step_size = step_size;
}

void SGD::zero_grad() {
  for (ParamState& state : states_) state.param.zero_grad();
}

void SGD::set_mask(const Tensor& param, const Tensor& mask) {
  ParamState& state = find(param, "set_mask");
  PRUNUS_CHECK(mask.defined(), "SGD::set_mask: the mask for ", param_label(param), " is undefined");
  PRUNUS_CHECK(mask.shape() == param.shape(), "SGD::set_mask: mask ", shape_str(mask.shape()), " for ",
               param_label(param), " must have the parameter's shape ", shape_str(param.shape()));
  Tensor copy = converted_copy(mask, param.dtype());
  for (double v : copy.to_vector_f64())
    PRUNUS_CHECK(v == 0 || v == 1, "SGD::set_mask: the mask for ", param_label(param), " holds ", v,
                 "; masks hold only 0 and 1");
  state.mask = copy;
  Tensor target = state.param;
  if (param.dtype() == DType::F32) {
    zero_where_masked_tensor<float>(target, copy);
    if (state.momentum.defined()) zero_where_masked_tensor<float>(state.momentum, copy);
  } else {
    zero_where_masked_tensor<double>(target, copy);
    if (state.momentum.defined()) zero_where_masked_tensor<double>(state.momentum, copy);
  }
}

void SGD::clear_mask(const Tensor& param) { find(param, "clear_mask").mask = Tensor(); }

bool SGD::has_mask(const Tensor& param) const { return find(param, "has_mask").mask.defined(); }

// The strength as the optimizer keeps it (a copy in the parameter's dtype), or an Error.
static Tensor checked_l1_strength(const Tensor& param, const Tensor& strength) {
  PRUNUS_CHECK(strength.defined(), "SGD::set_l1: the strength for ", param_label(param), " is undefined");
  PRUNUS_CHECK(strength.numel() == 1 || strength.shape() == param.shape(), "SGD::set_l1: strength ",
               shape_str(strength.shape()), " for ", param_label(param),
               " must have one element or the parameter's shape ", shape_str(param.shape()));
  Tensor copy = converted_copy(strength.device() == Device::CPU ? strength : strength.to(Device::CPU), param.dtype());
  for (double v : copy.to_vector_f64())
    PRUNUS_CHECK(std::isfinite(v) && v >= 0, "SGD::set_l1: the strength for ", param_label(param), " holds ",
                 v, "; expected finite values >= 0");
  return copy;
}

void SGD::set_l1(const Tensor& param, const Tensor& strength) {
  find(param, "set_l1").l1_strength = checked_l1_strength(param, strength);
}

std::vector<std::pair<std::string, Tensor>> SGD::l1_strengths() const {
  std::vector<std::pair<std::string, Tensor>> entries;
  for (const ParamState& state : states_)
    if (state.l1_strength.defined()) entries.emplace_back(state_key(state), state.l1_strength.clone());
  return entries;
}

void SGD::load_l1_strengths(const std::vector<std::pair<std::string, Tensor>>& entries) {
  std::unordered_map<std::string, size_t> state_of_key;
  for (size_t s = 0; s < states_.size(); ++s) state_of_key.emplace(state_key(states_[s]), s);
  std::vector<std::pair<size_t, Tensor>> loaded;  // validated first, applied after
  for (const auto& [key, value] : entries) {
    auto it = state_of_key.find(key);
    PRUNUS_CHECK(it != state_of_key.end(), "SGD::load_l1_strengths: unknown key '", key, "'");
    loaded.emplace_back(it->second, checked_l1_strength(states_[it->second].param, value));
  }
  for (auto& [s, strength] : loaded) states_[s].l1_strength = std::move(strength);
}

void SGD::clear_l1(const Tensor& param) { find(param, "clear_l1").l1_strength = Tensor(); }

bool SGD::has_l1(const Tensor& param) const { return find(param, "has_l1").l1_strength.defined(); }

Tensor SGD::momentum_buffer(const Tensor& param) const { return find(param, "momentum_buffer").momentum; }

std::vector<std::pair<std::string, Tensor>> SGD::state() const {
  std::vector<std::pair<std::string, Tensor>> entries;
  std::set<std::string> keys;
  for (const ParamState& state : states_) {
    if (!state.momentum.defined()) continue;
    std::string key = state_key(state);
    PRUNUS_CHECK(keys.insert(key).second, "SGD::state: two parameters of group '", groups_[state.group].name,
                 "' give the key '", key, "'; parameter names within a group must be unique");
    entries.emplace_back(std::move(key), state.momentum.clone());
  }
  return entries;
}

void SGD::load_state(const std::vector<std::pair<std::string, Tensor>>& entries) {
  std::unordered_map<std::string, size_t> state_of_key;
  std::string valid_keys;  // for error messages: the first few keys that may hold a buffer
  int listed = 0;
  for (size_t s = 0; s < states_.size(); ++s) {
    const std::string key = state_key(states_[s]);
    PRUNUS_CHECK(state_of_key.emplace(key, s).second, "SGD::load_state: two parameters give the key '", key,
                 "'; parameter names within a group must be unique");
    if (groups_[states_[s].group].momentum == 0) continue;
    if (listed < 8) valid_keys += (listed ? ", '" : "'") + key + "'";
    if (listed == 8) valid_keys += ", ...";
    ++listed;
  }
  // Validate everything before touching the optimizer.
  std::vector<Tensor> loaded(states_.size());
  for (const auto& [key, value] : entries) {
    auto it = state_of_key.find(key);
    PRUNUS_CHECK(it != state_of_key.end(), "SGD::load_state: unknown key '", key,
                 "'; this optimizer's momentum keys are ", valid_keys.empty() ? "none" : valid_keys);
    const ParamState& state = states_[it->second];
    PRUNUS_CHECK(groups_[state.group].momentum > 0, "SGD::load_state: key '", key, "' belongs to group '",
                 groups_[state.group].name, "', which has momentum 0 and keeps no buffer");
    PRUNUS_CHECK(!loaded[it->second].defined(), "SGD::load_state: key '", key, "' appears twice");
    PRUNUS_CHECK(value.defined(), "SGD::load_state: the tensor for key '", key, "' is undefined");
    PRUNUS_CHECK(value.shape() == state.param.shape(), "SGD::load_state: key '", key, "' holds a tensor of shape ",
                 shape_str(value.shape()), "; the parameter has shape ", shape_str(state.param.shape()));
    loaded[it->second] = converted_copy(value.device() == Device::CPU ? value : value.to(Device::CPU),
                                        state.param.dtype());
  }
  for (size_t s = 0; s < states_.size(); ++s) {
    states_[s].momentum = loaded[s];
    // A buffer saved before a mask was set must still obey the mask.
    if (loaded[s].defined() && states_[s].mask.defined()) {
      if (loaded[s].dtype() == DType::F32) zero_where_masked_tensor<float>(loaded[s], states_[s].mask);
      else zero_where_masked_tensor<double>(loaded[s], states_[s].mask);
    }
  }
}

int64_t count_zeros(const Tensor& tensor) {
  PRUNUS_CHECK(tensor.defined(), "count_zeros: the tensor is undefined");
  PRUNUS_CHECK(tensor.device() == Device::CPU, "count_zeros: the tensor is on ",
               device_name(tensor.device()), "; expected a CPU tensor");
  const int64_t n = tensor.numel();
  int64_t zeros = 0;
  if (tensor.dtype() == DType::F32) {
    const float* p = tensor.f32();
#pragma omp parallel for reduction(+ : zeros) schedule(static) if (n >= kChunk * kParallelChunks)
    for (int64_t i = 0; i < n; ++i) zeros += p[i] == 0.0f;
  } else {
    const double* p = tensor.f64();
#pragma omp parallel for reduction(+ : zeros) schedule(static) if (n >= kChunk * kParallelChunks)
    for (int64_t i = 0; i < n; ++i) zeros += p[i] == 0.0;
  }
  return zeros;
}

}  // namespace optim
}  // namespace prunus
