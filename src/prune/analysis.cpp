#include "prunus/prune/analysis.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>

#include "prunus/autograd.h"
#include "prunus/nn/module.h"
#include "prunus/nn/shape_only.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
namespace {

// Filter `filter` of convs[conv].
struct Source {
  int conv;
  int64_t filter;
};

// Provenance of the channels of one activation tensor. A channel listing
// several sources is a sum of them (after an add); none: input, padding or a
// layer the pruner does not shrink (linear outputs).
struct Activation {
  std::vector<std::vector<Source>> channels;
  int64_t features_per_channel = 1;  // > 1 after flattening a spatial map
};

// A raw observation "channel `index` of user `module` carries filter f of conv p".
struct UserRecord {
  std::string module;
  ChannelUser::Kind kind;
  int64_t features_per_channel;
};

class Analyzer {
 public:
  Analyzer(nn::Module& model, const Tensor& input) : model_(model), input_(input) {}

  GraphAnalysis run(const Tensor& output) {
    PRUNUS_CHECK(output.defined() && output.grad_fn(),
                 "prune analysis: the model output was not recorded; trace the forward pass under TraceGuard");
    result_.input_shape = input_.shape();
    input_activation_ = fresh(input_.shape());
    for (const auto& node : topological_order(output)) visit(*node);
    const Activation* out = activation_of(output);
    if (out) constrain(*out, "reaches the network output");
    finish();
    return std::move(result_);
  }

 private:
  static Activation fresh(const Shape& shape, int64_t channels = -1) {
    Activation a;
    a.channels.resize(channels >= 0 ? channels : (shape.size() >= 2 ? shape[1] : 0));
    return a;
  }

  // The activation a tensor carries, or nullptr for parameters and constants
  // (anything that does not depend on the model input).
  const Activation* activation_of(const Tensor& t) const {
    if (!t.defined()) return nullptr;
    if (t.same_as(input_)) return &input_activation_;
    if (!t.grad_fn()) return nullptr;
    auto it = activations_.find(t.grad_fn().get());
    return it == activations_.end() ? nullptr : &it->second;
  }

  std::string where(const Node& node) const {
    return "'" + node.op + "' in " + (node.module.empty() ? std::string("the root module") : "'" + node.module + "'");
  }

  void constrain(const Activation& a, const std::string& reason) {
    for (const auto& sources : a.channels)
      for (const Source& s : sources) {
        ConvLayer& conv = result_.convs[s.conv];
        if (!conv.in_d) {
          conv.in_d = true;
          conv.d_reason = reason;
        }
      }
  }

  std::string module_type(const std::string& name) const {
    auto m = model_.find_module(name);
    return m ? m->type_name() : std::string();
  }

  // Notes that `module` reads (or normalizes) the channels of `a`.
  void record_users(const Activation& a, const std::string& module, ChannelUser::Kind kind) {
    for (size_t c = 0; c < a.channels.size(); ++c) {
      if (a.channels[c].size() != 1) continue;  // sums come from constrained convs only
      const Source& s = a.channels[c][0];
      auto& users = users_[s.conv];
      auto it = std::find_if(users.begin(), users.end(),
                             [&](const ChannelUser& u) { return u.module == module && u.kind == kind; });
      if (it == users.end()) {
        ChannelUser u;
        u.module = module;
        u.kind = kind;
        u.features_per_channel = a.features_per_channel;
        u.index_of_filter.assign(result_.convs[s.conv].out_channels, -1);
        users.push_back(u);
        it = users.end() - 1;
      }
      int64_t& slot = it->index_of_filter[s.filter];
      if (slot != -1 && slot != int64_t(c) * a.features_per_channel) {
        ConvLayer& conv = result_.convs[s.conv];
        if (!conv.in_d) {
          conv.in_d = true;
          conv.d_reason = "its channels reach '" + module + "' twice";
        }
      }
      slot = int64_t(c) * a.features_per_channel;
    }
  }

  void visit(const Node& node) {
    std::vector<const Activation*> acts;
    for (const Tensor& t : node.inputs)
      if (const Activation* a = activation_of(t)) acts.push_back(a);
    if (acts.empty()) return;  // parameter arithmetic (effective weights)
    Activation out;
    switch (node.kind->channels) {
      case ChannelRule::Conv: out = visit_conv(node, *acts[0]); break;
      case ChannelRule::Linear: out = visit_linear(node, *acts[0]); break;
      case ChannelRule::BatchNorm:
        out = *acts[0];
        visit_batch_norm(node, *acts[0]);
        break;
      case ChannelRule::PassThrough: out = *acts[0]; break;
      case ChannelRule::GlobalPool:
        out = *acts[0];
        out.features_per_channel = 1;
        break;
      case ChannelRule::Reshape: out = visit_reshape(node, *acts[0]); break;
      case ChannelRule::SubsamplePad: {
        const int64_t before = int64_t(node.attributes.at("pad_before"));
        out = fresh(node.output_shape);
        for (size_t c = 0; c < acts[0]->channels.size(); ++c) out.channels[before + c] = acts[0]->channels[c];
        break;
      }
      case ChannelRule::Elementwise: out = visit_elementwise(node, acts); break;
      case ChannelRule::Concat:
        for (const Activation* a : acts) {
          constrain(*a, "concatenated by " + where(node));
          for (const auto& ch : a->channels) out.channels.push_back(ch);
        }
        if (acts.size() != node.inputs.size()) out = fresh(node.output_shape);  // constants mixed in
        break;
      case ChannelRule::Pins:
      case ChannelRule::NotInModel:
        for (const Activation* a : acts) constrain(*a, "reaches " + where(node) + ", which the analysis does not know");
        out = fresh(node.output_shape);
        break;
    }
    activations_[&node] = std::move(out);
  }

  Activation visit_conv(const Node& node, const Activation& in) {
    const bool prunable = module_type(node.module) == "Conv2d" && !seen_modules_.count(node.module) &&
                          node.inputs.size() >= 2 && node.inputs[1].ndim() == 4 && in.features_per_channel == 1;
    seen_modules_.insert(node.module);
    if (!prunable) {
      constrain(in, "read by " + where(node) + ", which the pruner cannot shrink");
      return fresh(node.output_shape);
    }
    const Shape& w = node.inputs[1].shape();
    const Shape& x = node.inputs[0].shape();
    ConvLayer conv;
    conv.name = node.module;
    conv.out_channels = w[0];
    conv.in_channels = w[1];
    conv.kernel = w[2];
    conv.stride = int64_t(node.attributes.count("stride") ? node.attributes.at("stride") : 1);
    conv.padding = int64_t(node.attributes.count("padding") ? node.attributes.at("padding") : 0);
    conv.in_height = x[2];
    conv.in_width = x[3];
    conv.out_height = node.output_shape[2];
    conv.out_width = node.output_shape[3];
    record_users(in, conv.name, ChannelUser::Kind::Conv);
    const int index = int(result_.convs.size());
    result_.convs.push_back(conv);
    producer_node_[&node] = index;
    Activation out = fresh(node.output_shape);
    for (int64_t f = 0; f < conv.out_channels; ++f) out.channels[f].push_back({index, f});
    return out;
  }

  Activation visit_linear(const Node& node, const Activation& in) {
    const bool prunable = module_type(node.module) == "Linear" && !seen_modules_.count(node.module) &&
                          node.inputs.size() >= 2 && node.inputs[1].ndim() == 2;
    seen_modules_.insert(node.module);
    if (!prunable) {
      constrain(in, "read by " + where(node) + ", which the pruner cannot shrink");
    } else {
      LinearLayer linear;
      linear.name = node.module;
      linear.out_features = node.inputs[1].size(0);
      linear.in_features = node.inputs[1].size(1);
      result_.linears.push_back(linear);
      record_users(in, linear.name, ChannelUser::Kind::Linear);
    }
    return fresh(node.output_shape);
  }

  void visit_batch_norm(const Node& node, const Activation& in) {
    const std::string type = module_type(node.module);
    if (type != "BatchNorm2d" && type != "BatchNorm1d") {
      constrain(in, "normalized by " + where(node) + ", which the pruner cannot shrink");
      return;
    }
    record_users(in, node.module, ChannelUser::Kind::BatchNorm);
    // The gate BN of a conv: directly after it.
    const Tensor& x = node.inputs[0];
    if (x.grad_fn()) {
      auto it = producer_node_.find(x.grad_fn().get());
      if (it != producer_node_.end() && result_.convs[it->second].bn.empty())
        result_.convs[it->second].bn = node.module;
    }
  }

  Activation visit_reshape(const Node& node, const Activation& in) {
    const Shape& from = node.inputs[0].shape();
    const Shape& to = node.output_shape;
    if (from == to) return in;
    if (from.size() == 4 && to.size() == 2 && to[1] == from[1] * from[2] * from[3] &&
        in.features_per_channel == 1) {
      Activation out = in;
      out.features_per_channel = from[2] * from[3];
      return out;
    }
    constrain(in, "reshaped by " + where(node) + " into " + shape_str(to));
    return fresh(to);
  }

  Activation visit_elementwise(const Node& node, const std::vector<const Activation*>& acts) {
    if (acts.size() >= 2) {
      const std::string verb = node.op == "add" ? "summed by " : "multiplied by ";
      Activation out = fresh(node.output_shape);
      for (const Activation* a : acts) {
        constrain(*a, verb + where(node));
        if (a->channels.size() != out.channels.size()) continue;
        for (size_t c = 0; c < a->channels.size(); ++c)
          out.channels[c].insert(out.channels[c].end(), a->channels[c].begin(), a->channels[c].end());
      }
      return out;
    }
    // One activation and a constant operand: a per-channel constant would have
    // to shrink with the channels, which compaction cannot do for an arbitrary tensor.
    const Activation& in = *acts[0];
    for (const Tensor& t : node.inputs)
      if (!activation_of(t) && t.ndim() >= 2 && t.size(1) > 1)
        constrain(in, "meets a per-channel tensor " + shape_str(t.shape()) + " at " + where(node) +
                          " that compaction cannot shrink");
    return in;
  }

  // Attaches the recorded users to the convs that stay free.
  void finish() {
    for (auto& [conv_index, users] : users_) {
      ConvLayer& conv = result_.convs[conv_index];
      for (const ChannelUser& u : users)
        if (std::find(u.index_of_filter.begin(), u.index_of_filter.end(), -1) != u.index_of_filter.end() &&
            !conv.in_d) {
          conv.in_d = true;
          conv.d_reason = "only some of its channels reach '" + u.module + "'";
        }
      if (conv.in_d) continue;
      for (ChannelUser& u : users)
        (u.kind == ChannelUser::Kind::BatchNorm ? conv.batch_norms : conv.consumers).push_back(std::move(u));
    }
  }

  nn::Module& model_;
  Tensor input_;
  Activation input_activation_;
  GraphAnalysis result_;
  std::unordered_map<const Node*, Activation> activations_;
  std::unordered_map<const Node*, int> producer_node_;  // conv2d node -> conv index
  std::map<int, std::vector<ChannelUser>> users_;
  std::set<std::string> seen_modules_;
};

std::string kind_name(ChannelUser::Kind kind) {
  switch (kind) {
    case ChannelUser::Kind::BatchNorm: return "bn";
    case ChannelUser::Kind::Conv: return "conv";
    case ChannelUser::Kind::Linear: return "linear";
  }
  return "?";
}

}  // namespace

int GraphAnalysis::conv_index(const std::string& name) const {
  for (size_t i = 0; i < convs.size(); ++i)
    if (convs[i].name == name) return int(i);
  return -1;
}

int GraphAnalysis::linear_index(const std::string& name) const {
  for (size_t i = 0; i < linears.size(); ++i)
    if (linears[i].name == name) return int(i);
  return -1;
}

const ConvLayer& GraphAnalysis::conv(const std::string& name) const {
  const int i = conv_index(name);
  PRUNUS_CHECK(i >= 0, "prune analysis: no conv named '", name, "' in the traced model");
  return convs[i];
}

std::vector<std::string> GraphAnalysis::dimension_matching() const {
  std::vector<std::string> names;
  for (const ConvLayer& c : convs)
    if (c.in_d) names.push_back(c.name);
  return names;
}

int64_t GraphAnalysis::dense_macs() const {
  int64_t total = 0;
  for (const ConvLayer& c : convs) total += c.dense_macs();
  for (const LinearLayer& l : linears) total += l.dense_macs();
  return total;
}

std::string GraphAnalysis::report() const {
  std::ostringstream out;
  const auto d = dimension_matching();
  out << "Dependency analysis (input " << shape_str(input_shape) << "): " << convs.size() << " convs, "
      << d.size() << " dimension-matching (D), " << linears.size() << " linear layers\n";
  for (const ConvLayer& c : convs) {
    out << "  " << (c.in_d ? "D    " : "free ") << c.name << "  [" << c.out_channels << "x" << c.in_channels
        << "x" << c.kernel << "x" << c.kernel << "] -> " << c.out_height << "x" << c.out_width;
    if (!c.bn.empty()) out << "  bn=" << c.bn;
    if (c.in_d) {
      out << "  (" << c.d_reason << ")";
    } else {
      out << "  consumers:";
      if (c.consumers.empty()) out << " none";
      for (const ChannelUser& u : c.consumers) {
        out << " " << kind_name(u.kind) << ":" << u.module;
        if (u.features_per_channel > 1) out << " (x" << u.features_per_channel << " features per channel)";
      }
    }
    out << "\n";
  }
  return out.str();
}

GraphAnalysis analyze_graph(nn::Module& model, const Tensor& input, const Tensor& output) {
  return Analyzer(model, input).run(output);
}

GraphAnalysis analyze_model(nn::Module& model, const Shape& input_shape) {
  Shape shape = input_shape;
  if (shape.size() == 3) shape.insert(shape.begin(), 1);
  PRUNUS_CHECK(shape.size() == 4 && shape[0] >= 1 && shape[1] >= 1 && shape[2] >= 1 && shape[3] >= 1,
               "prune analysis: input shape must be [C,H,W] or [N,C,H,W] with positive sizes, got ",
               shape_str(input_shape));
  shape[0] = 1;
  EvalModeScope eval_mode(model);  // BN running statistics stay untouched
  Tensor input = Tensor::zeros(shape);
  TraceGuard trace;
  nn::ShapeOnlyGuard shape_only;
  Tensor output = model(input);
  return analyze_graph(model, input, output);
}

}  // namespace prune
}  // namespace prunus
