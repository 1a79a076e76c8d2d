#include "prunus/train/config_schema.h"
#include "prunus/train/run_checkpoint.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>

#include "prunus/nn/activation.h"
#include "prunus/nn/description.h"
#include "prunus/nn/state.h"
#include "prunus/app/pipeline_records.h"

namespace prunus {
namespace train {

namespace {

const char* const kModelPrefix = "model/";
const char* const kOptimPrefix = "optim/";
const char* const kL1Prefix = "l1/";  // L1 strengths: the regularizer set them from an earlier model
const char* const kRngPrefix = "rng/";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::vector<uint8_t> rng_bytes(const Rng& rng) {
  std::vector<uint8_t> bytes(32);
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 8; ++b) bytes[w * 8 + b] = static_cast<uint8_t>(rng.state[w] >> (8 * b));
  return bytes;
}

void set_rng(Rng& rng, const std::vector<uint8_t>& bytes, const std::string& what) {
  PRUNUS_CHECK(bytes.size() == 32, what, ": an Rng state is 32 bytes, found ", bytes.size());
  for (int w = 0; w < 4; ++w) {
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= uint64_t(bytes[w * 8 + b]) << (8 * b);
    rng.state[w] = v;
  }
}

}  // namespace

std::string shape_text(const Shape& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out;
}

Shape parse_shape_text(const std::string& text, const std::string& what) {
  Shape shape;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    PRUNUS_CHECK(!item.empty() && *end == '\0' && v > 0, what, ": bad input shape '", text, "'");
    shape.push_back(v);
  }
  PRUNUS_CHECK(shape.size() == 3, what, ": input shape '", text, "' should be C,H,W");
  return shape;
}

void put_model(io::Checkpoint& checkpoint, nn::Module& model, const std::string& arch, const Shape& input_shape) {
  checkpoint.put_string("architecture", nn::describe(model));
  checkpoint.put_string("model.arch", arch);
  checkpoint.put_string("model.input_shape", shape_text(input_shape));
  for (const auto& [name, tensor] : nn::state_tensors(model)) checkpoint.put_tensor(kModelPrefix + name, tensor);
  for (const auto& [name, module] : model.named_modules())
    if (auto* dropout = dynamic_cast<nn::Dropout*>(module.get()))
      checkpoint.put_blob(kRngPrefix + name, rng_bytes(dropout->rng));
}

void load_model_state(nn::Module& model, const io::Checkpoint& checkpoint) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : checkpoint.tensors)
    if (starts_with(name, kModelPrefix)) state.emplace(name.substr(std::strlen(kModelPrefix)), tensor);
  try {
    nn::load_state_tensors(model, state);
  } catch (const Error& e) {
    PRUNUS_FAIL(checkpoint.source, ": ", e.what());
  }
  for (const auto& [name, module] : model.named_modules())
    if (auto* dropout = dynamic_cast<nn::Dropout*>(module.get())) {
      const std::string key = kRngPrefix + name;
      if (checkpoint.has_blob(key)) set_rng(dropout->rng, checkpoint.blob(key), checkpoint.source + " " + key);
    }
}

std::shared_ptr<nn::Module> load_model(const io::Checkpoint& checkpoint) {
  std::shared_ptr<nn::Module> model;
  try {
    size_t stored_bytes = 0;
    for (const auto& [name, tensor] : checkpoint.tensors) stored_bytes += tensor.numel() * dtype_size(tensor.dtype());
    model = nn::build_from_description(checkpoint.string("architecture"), 0, nn::allocation_limit_for_file(stored_bytes));
  } catch (const Error& e) {
    PRUNUS_FAIL(checkpoint.source, ": cannot rebuild the model: ", e.what());
  }
  load_model_state(*model, checkpoint);
  return model;
}

std::string checkpoint_arch(const io::Checkpoint& checkpoint) {
  return checkpoint.has_string("model.arch") ? checkpoint.string("model.arch") : "";
}

Shape checkpoint_input_shape(const io::Checkpoint& checkpoint) {
  return parse_shape_text(checkpoint.string("model.input_shape"), checkpoint.source + " model.input_shape");
}

void put_optimizer(io::Checkpoint& checkpoint, const optim::SGD& optimizer) {
  for (const auto& [key, tensor] : optimizer.state()) checkpoint.put_tensor(kOptimPrefix + key, tensor);
  for (const auto& [key, tensor] : optimizer.l1_strengths()) checkpoint.put_tensor(kL1Prefix + key, tensor);
}

void load_optimizer(optim::SGD& optimizer, const io::Checkpoint& checkpoint) {
  std::vector<std::pair<std::string, Tensor>> entries;
  for (const auto& [name, tensor] : checkpoint.tensors)
    if (starts_with(name, kOptimPrefix)) entries.emplace_back(name.substr(std::strlen(kOptimPrefix)), tensor);
  std::vector<std::pair<std::string, Tensor>> strengths;
  for (const auto& [name, tensor] : checkpoint.tensors)
    if (starts_with(name, kL1Prefix)) strengths.emplace_back(name.substr(std::strlen(kL1Prefix)), tensor);
  try {
    optimizer.load_state(entries);
    optimizer.load_l1_strengths(strengths);
  } catch (const Error& e) {
    PRUNUS_FAIL(checkpoint.source, ": optimizer state: ", e.what());
  }
}

void put_run_position(io::Checkpoint& checkpoint, const std::string& kind, const std::string& phase, int epoch) {
  checkpoint.put_string("prunus.kind", kind);
  checkpoint.put_string("run.phase", phase);
  checkpoint.put_string("run.epoch", std::to_string(epoch));
}

std::string checkpoint_kind(const io::Checkpoint& checkpoint) {
  return checkpoint.has_string("prunus.kind") ? checkpoint.string("prunus.kind") : "";
}

std::string checkpoint_phase(const io::Checkpoint& checkpoint) {
  return checkpoint.has_string("run.phase") ? checkpoint.string("run.phase") : "";
}

namespace {
// A count stored as decimal text; 0 when absent.
int64_t stored_count(const io::Checkpoint& checkpoint, const std::string& key, int64_t max) {
  if (!checkpoint.has_string(key)) return 0;
  const std::string& text = checkpoint.string(key);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  PRUNUS_CHECK(!text.empty() && *end == '\0' && errno == 0 && v >= 0 && v <= max, checkpoint.source, ": bad ", key,
               " '", text, "' (expected an integer from 0 to ", max, ")");
  return v;
}
}  // namespace

int checkpoint_epoch(const io::Checkpoint& checkpoint) {
  return static_cast<int>(stored_count(checkpoint, "run.epoch", std::numeric_limits<int>::max()));
}

void put_epoch_progress(io::Checkpoint& checkpoint, const EpochProgress& progress) {
  checkpoint.put_string("run.step", std::to_string(progress.steps));
  checkpoint.put_string("run.partial.images", std::to_string(progress.images));
  checkpoint.put_string("run.partial.correct", std::to_string(progress.correct));
  checkpoint.put_string("run.partial.loss_sum", exact_number(progress.loss_sum));
  checkpoint.put_string("run.partial.lr_first", exact_number(progress.lr_first));
  checkpoint.put_string("run.partial.seconds", exact_number(progress.seconds));
  checkpoint.put_string("run.partial.data_wait_seconds", exact_number(progress.data_wait_seconds));
  checkpoint.put_string("run.partial.losses_seen", std::to_string(progress.divergence.seen()));
  std::string recent;
  for (double loss : progress.divergence.recent()) recent += (recent.empty() ? "" : ",") + exact_number(loss);
  checkpoint.put_string("run.partial.recent_losses", recent);
}

EpochProgress checkpoint_epoch_progress(const io::Checkpoint& checkpoint) {
  EpochProgress p;
  p.steps = stored_count(checkpoint, "run.step", std::numeric_limits<int>::max());
  if (p.steps == 0) return p;
  const auto number = [&](const std::string& key) {
    PRUNUS_CHECK(checkpoint.has_string(key), checkpoint.source, ": run.step is set but ", key, " is missing");
    return parse_exact_number(checkpoint.string(key), checkpoint.source + " " + key);
  };
  constexpr int64_t kMaxCount = int64_t(1) << 52;
  p.images = stored_count(checkpoint, "run.partial.images", kMaxCount);
  p.correct = stored_count(checkpoint, "run.partial.correct", p.images);
  p.loss_sum = number("run.partial.loss_sum");
  p.lr_first = number("run.partial.lr_first");
  p.seconds = number("run.partial.seconds");
  p.data_wait_seconds = number("run.partial.data_wait_seconds");
  std::vector<double> recent;
  std::istringstream in(checkpoint.has_string("run.partial.recent_losses") ? checkpoint.string("run.partial.recent_losses")
                                                                           : "");
  for (std::string field; std::getline(in, field, ',');)
    recent.push_back(parse_exact_number(field, checkpoint.source + " run.partial.recent_losses"));
  try {
    p.divergence.restore(std::move(recent), stored_count(checkpoint, "run.partial.losses_seen", kMaxCount));
  } catch (const Error& e) {
    PRUNUS_FAIL(checkpoint.source, ": ", e.what());
  }
  return p;
}

std::string describe_checkpoint(const io::Checkpoint& checkpoint) {
  const std::string kind = checkpoint_kind(checkpoint), phase = checkpoint_phase(checkpoint);
  const int epoch = checkpoint_epoch(checkpoint);
  const int64_t step = stored_count(checkpoint, "run.step", std::numeric_limits<int>::max());
  if (kind == "run")
    return "training state of phase '" + phase + "' after epoch " + std::to_string(epoch) +
           (step > 0 ? " and " + std::to_string(step) + " steps of epoch " + std::to_string(epoch + 1) : "");
  if (kind == "stage") return "pipeline stage '" + phase + "'";
  if (kind == "model")
    return "model from phase '" + phase + "'" + (epoch > 0 ? " (" + std::to_string(epoch) + " epochs)" : "");
  return "checkpoint of kind '" + kind + "'";
}

void put_history(io::Checkpoint& checkpoint, const MetricsHistory& history, bool with_timing) {
  checkpoint.put_string("metrics.csv", history.to_csv(with_timing));
}

MetricsHistory checkpoint_history(const io::Checkpoint& checkpoint) {
  if (!checkpoint.has_string("metrics.csv")) return {};
  return MetricsHistory::from_csv(checkpoint.string("metrics.csv"), checkpoint.source);
}

io::Config checkpoint_config(const io::Checkpoint& checkpoint) {
  io::Config config(train::prunus_schema());
  config.load_text(checkpoint.string("config"), checkpoint.source + " (stored config)");
  return config;
}

std::vector<std::string> config_differences(const io::Config& stored, const io::Config& current,
                                            const std::set<std::string>& ignored) {
  std::vector<std::string> out;
  for (const auto& name : current.schema().all_key_names()) {
    if (ignored.count(name)) continue;
    const std::string a = stored.value_text(name), b = current.value_text(name);
    if (a != b) out.push_back(name + ": '" + a + "' there, '" + b + "' now");
  }
  return out;
}

const std::set<std::string>& keys_free_on_resume() {
  // compare.* choose which runs a comparison makes, not what any one run computes.
  static const std::set<std::string> keys = {"data.path",       "train.threads",         "train.device",
                                             "out.dir",         "out.checkpoint_every",  "compare.methods",
                                             "compare.flops_targets", "compare.seeds", "compare.dense",
                                             "compare.scratch", "compare.plain_lambda0", "compare.every_seed"};
  return keys;
}

void require_same_config(const io::Checkpoint& checkpoint, const io::Config& current,
                         const std::set<std::string>& also_free) {
  std::set<std::string> free = keys_free_on_resume();
  free.insert(also_free.begin(), also_free.end());
  const auto diff = config_differences(checkpoint_config(checkpoint), current, free);
  if (diff.empty()) return;
  std::string list;
  for (const auto& d : diff) list += (list.empty() ? "" : "; ") + d;
  PRUNUS_FAIL(checkpoint.source, " was written with another config (", list,
              "); use the same config to resume, or another out.dir to start over");
}

}  // namespace train
}  // namespace prunus
