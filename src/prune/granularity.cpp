#include "prunus/prune/granularity.h"

#include <algorithm>
#include <mutex>

#include "builtin_granularities.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {

struct GranularityRegistry {
  static void set_id(Granularity& g, int id) { g.id_ = id; }
};

namespace {

constexpr size_t kBuiltIn = 4;

struct Registry {
  std::vector<std::shared_ptr<Granularity>> owned;
  std::vector<const Granularity*> list;
};

std::mutex registry_mutex;

void append(Registry& r, std::shared_ptr<Granularity> g);

Registry& registry() {
  static Registry r = [] {
    Registry built;
    for (auto make : {make_filter_granularity, make_channel_granularity, make_stripe_granularity,
                      make_weight_granularity})
      append(built, make());
    return built;
  }();
  return r;
}

}  // namespace

bool Granularity::applies_to(const ConvLayer&) const { return true; }

void Granularity::enable(nn::Module&, const GateSite&) const {}

void Granularity::initialize(nn::Module&, const GateSite&, double) const {}

double Granularity::structure_macs(const ModelCount& count, const GraphAnalysis&, size_t conv) const {
  return double(count.convs[conv].macs);
}

std::shared_ptr<nn::Module> Granularity::compact_conv(const ThinConv&, const CompactOptions&, CompactedConv&) const {
  return nullptr;
}

Tensor ConvGateGranularity::gate(nn::Module& model, const GateSite& conv) const {
  return conv_module(model, conv.conv)->gate(name());
}

void ConvGateGranularity::enable(nn::Module& model, const GateSite& conv) const {
  conv_module(model, conv.conv)->enable_gate(name());
}

namespace {

void append(Registry& r, std::shared_ptr<Granularity> g) {
  PRUNUS_CHECK(g, "prune: register_granularity got a null granularity");
  const std::string name = g->name();
  PRUNUS_CHECK(!name.empty() && name.find_first_of(" ,+={}") == std::string::npos, "prune: granularity name '", name,
               "' must be one word");
  for (const Granularity* other : r.list)
    PRUNUS_CHECK(other->name() != name, "prune: a granularity named '", name, "' is already registered");
  const nn::ConvGatePattern p = g->pattern();
  if (dynamic_cast<const ConvGateGranularity*>(g.get())) nn::register_conv_gate_kind(name, p);
  GranularityRegistry::set_id(*g, int(r.list.size()));
  r.list.push_back(g.get());
  r.owned.push_back(std::move(g));
}

}  // namespace

void register_granularity(std::shared_ptr<Granularity> g) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(registry_mutex);
  append(r, std::move(g));
}

void unregister_granularity(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (size_t i = 0; i < r.list.size(); ++i) {
    if (r.list[i]->name() != name) continue;
    PRUNUS_CHECK(i >= kBuiltIn, "prune: the built-in granularity '", name, "' cannot be unregistered");
    r.list.erase(r.list.begin() + long(i));
    r.owned.erase(r.owned.begin() + long(i));
    for (size_t j = i; j < r.owned.size(); ++j) GranularityRegistry::set_id(*r.owned[j], int(j));
    return;
  }
  PRUNUS_FAIL("prune: no granularity named '", name, "' is registered");
}

const std::vector<const Granularity*>& granularities() { return registry().list; }

std::vector<const Granularity*> fine_granularities() {
  std::vector<const Granularity*> fine;
  for (const Granularity* g : granularities())
    if (!g->removes_filters()) fine.push_back(g);
  std::stable_sort(fine.begin(), fine.end(),
                   [](const Granularity* a, const Granularity* b) { return a->fine_order() < b->fine_order(); });
  return fine;
}

const Granularity* find_granularity(const std::string& name) {
  for (const Granularity* g : granularities())
    if (g->name() == name) return g;
  return nullptr;
}

const Granularity& granularity(const std::string& name) {
  const Granularity* g = find_granularity(name);
  PRUNUS_CHECK(g, "prune: unknown granularity '", name, "'; expected one of ", granularity_names());
  return *g;
}

std::string granularity_names(const std::string& separator) {
  std::string names;
  for (const Granularity* g : granularities()) names += (names.empty() ? "" : separator) + g->name();
  return names;
}

}  // namespace prune
}  // namespace prunus
