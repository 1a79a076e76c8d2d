// safetensors, PyTorch name mapping, and ONNX export (interop/, io/safetensors).
// The ONNX graph is checked by running it with a small interpreter built from
// prunus's own ops; experiments/interop/cross_check.py runs it in onnxruntime.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "data_test_helpers.h"
#include "prunus/autograd.h"
#include "prunus/interop/onnx.h"
#include "prunus/interop/state_dict.h"
#include "prunus/io/checkpoint.h"
#include "prunus/io/json_text.h"
#include "prunus/io/safetensors.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/state.h"
#include "prunus/ops.h"
#include "prunus/prune/stripe_conv2d.h"
#include "test_prune_fixtures.h"

using namespace prunus;
using data_test::contains;

namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// A safetensors file from a header text and a data block.
std::vector<uint8_t> raw_file(const std::string& header, const std::string& data) {
  std::string out;
  for (int b = 0; b < 8; ++b) out += char((uint64_t(header.size()) >> (8 * b)) & 0xFF);
  return bytes_of(out + header + data);
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const Tensor x = a.to(DType::F64), y = b.to(DType::F64);
  for (int64_t i = 0; i < x.numel(); ++i)
    if (x.f64()[i] != y.f64()[i]) return false;
  return true;
}

void randomize_state(nn::Module& model, uint64_t seed) {
  Rng rng(seed);
  for (auto& [name, t] : nn::state_tensors(model)) {
    const bool var = name.find("running_var") != std::string::npos;
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = float(var ? 0.5 + rng.uniform() : rng.uniform() - 0.5);
  }
}

// Runs a decoded ONNX graph with prunus ops: every op the exporter writes.
Tensor run_onnx(const interop::OnnxModel& m, const Tensor& input) {
  std::map<std::string, Tensor> values{{"input", input}};
  std::map<std::string, std::vector<int64_t>> int_values;
  for (const auto& t : m.initializers) {
    if (t.data_type == interop::kOnnxInt64) {
      std::vector<int64_t> v(t.raw_data.size() / 8);
      std::memcpy(v.data(), t.raw_data.data(), t.raw_data.size());
      int_values[t.name] = v;
    } else {
      values[t.name] = Tensor::from_vector(Shape(t.dims.begin(), t.dims.end()), t.floats());
    }
  }
  auto ints = [](const interop::OnnxNode& n, const char* name) {
    const auto* a = n.attribute(name);
    REQUIRE_MESSAGE(a, n.op_type, " lacks ", name);
    return a->ints;
  };
  NoGradGuard no_grad;
  for (const auto& n : m.nodes) {
    auto in = [&](size_t i) { return values.at(n.inputs.at(i)); };
    Tensor y;
    if (n.op_type == "Conv") {
      const auto pads = ints(n, "pads"), strides = ints(n, "strides");
      CHECK(pads[0] == pads[2]);
      y = ops::conv2d(in(0), in(1), n.inputs.size() > 2 ? in(2) : Tensor(), int(strides[0]), int(pads[0]));
    } else if (n.op_type == "BatchNormalization") {
      Tensor mean = in(3), var = in(4);
      y = ops::batchnorm2d(in(0), in(1), in(2), mean, var, false, 0.1, n.attribute("epsilon")->f);
    } else if (n.op_type == "Relu") {
      y = ops::relu(in(0));
    } else if (n.op_type == "Identity") {
      y = in(0);
    } else if (n.op_type == "Add" || n.op_type == "Mul") {
      y = n.op_type == "Add" ? ops::add(in(0), in(1)) : ops::mul(in(0), in(1));
    } else if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
      const int k = int(ints(n, "kernel_shape")[0]), s = int(ints(n, "strides")[0]), p = int(ints(n, "pads")[0]);
      y = n.op_type == "MaxPool" ? ops::maxpool2d(in(0), k, s, p) : ops::avgpool2d(in(0), k, s, p);
    } else if (n.op_type == "GlobalAveragePool") {
      const Tensor g = ops::global_avgpool(in(0));
      y = g.view({g.size(0), g.size(1), 1, 1});
    } else if (n.op_type == "Flatten") {
      y = ops::flatten(in(0));
    } else if (n.op_type == "Gemm") {
      CHECK(n.attribute("transB")->i == 1);
      y = ops::linear(in(0), in(1), n.inputs.size() > 2 ? in(2) : Tensor());
    } else if (n.op_type == "Concat") {
      std::vector<Tensor> parts;
      for (size_t i = 0; i < n.inputs.size(); ++i) parts.push_back(in(i));
      y = ops::concat(parts);
    } else if (n.op_type == "Slice") {  // the exporter's form: axes 2,3 from 0 with one step
      const auto steps = int_values.at(n.inputs[4]);
      CHECK(int_values.at(n.inputs[1]) == std::vector<int64_t>{0, 0});
      CHECK(int_values.at(n.inputs[3]) == std::vector<int64_t>{2, 3});
      y = ops::subsample_pad_channels(in(0), int(steps[0]), 0, 0);
    } else if (n.op_type == "Pad") {  // channel padding only
      const auto pads = int_values.at(n.inputs[1]);
      CHECK(pads == std::vector<int64_t>{0, pads[1], 0, 0, 0, pads[5], 0, 0});
      y = ops::subsample_pad_channels(in(0), 1, int(pads[1]), int(pads[5]));
    } else {
      FAIL("the exporter wrote an op the test interpreter does not know: ", n.op_type);
    }
    values[n.outputs.at(0)] = y;
  }
  return values.at(m.outputs.at(0).name);
}

// Largest |a - b| over the largest |b| (random weights make deep outputs large).
double max_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, double(std::fabs(a.f32()[i] - b.f32()[i])));
    scale = std::max(scale, double(std::fabs(b.f32()[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

Tensor forward_eval(nn::Module& model, const Tensor& x) {
  model.train(false);
  NoGradGuard no_grad;
  return model(x);
}

}  // namespace

TEST_SUITE("interop") {
  TEST_CASE("json: strict reader accepts RFC 8259 and names what is wrong") {
    const io::JsonValue v = io::parse_json(R"( {"a": [1, 20, 0], "b\u00e9\n": "x\"y", "c": {}, "d": -1.5e3} )", "t");
    REQUIRE(v.members.size() == 4);
    uint64_t n = 0;
    CHECK((v.members[0].second.items[1].as_count(n) && n == 20));
    CHECK(v.members[1].first == "b\xc3\xa9\n");
    CHECK(v.members[1].second.text == "x\"y");
    CHECK(!v.members[3].second.as_count(n));
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "[1] 2", "\"a\nb\"", "tru"})
      CHECK_THROWS_WITH_AS(io::parse_json(bad, "t"), contains("t is not valid JSON"), Error);
    CHECK_THROWS_WITH_AS(io::parse_json(std::string(100, '[') + std::string(100, ']'), "t"), contains("64 levels"),
                         Error);
  }

  TEST_CASE("safetensors: round trip of f32 and f64, odd shapes, metadata; bytes are deterministic") {
    Rng rng(7);
    const Tensor a = Tensor::randn({3, 5, 7}, rng), b = Tensor::randn({1}, rng, 0, 1, DType::F64);
    const Tensor empty = Tensor::zeros({0, 4}), scalar = Tensor::full({}, 2.5);
    const std::vector<std::pair<std::string, Tensor>> tensors{{"a.weight", a}, {"b", b}, {"e", empty}, {"s", scalar}};
    const std::string text = io::encode_safetensors(tensors, {{"k", "v\"q"}});
    CHECK(text == io::encode_safetensors(tensors, {{"k", "v\"q"}}));
    uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, text.data(), 8);
    CHECK((8 + header_bytes) % 8 == 0);  // the data starts aligned
    const io::SafeTensors back = io::parse_safetensors(bytes_of(text), "mem");
    REQUIRE(back.tensors.size() == 4);
    CHECK(back.metadata.at("k") == "v\"q");
    CHECK(back.find("a.weight")->dtype == "F32");
    CHECK(back.find("b")->dtype == "F64");
    CHECK(back.find("b")->value.dtype() == DType::F64);
    CHECK(same_values(back.find("a.weight")->value, a));
    CHECK(same_values(back.find("b")->value, b));
    CHECK(back.find("e")->value.shape() == Shape{0, 4});
    CHECK(same_values(back.find("s")->value, scalar));
    CHECK(back.find("missing") == nullptr);
    CHECK_THROWS_WITH_AS(io::encode_safetensors({{"x", a}, {"x", a}}), contains("given twice"), Error);
  }

  TEST_CASE("safetensors: F16, BF16 and integer dtypes decode exactly") {
    // F16 1.0, -2.0, 2^-24 (smallest subnormal); BF16 1.0, -0.5; I64 -3, 7; BOOL 1
    const std::string data = std::string("\x00\x3c\x00\xc0\x01\x00", 6) + std::string("\x80\x3f\x00\xbf", 4) +
                             std::string("\xfd\xff\xff\xff\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00", 16) +
                             std::string("\x01", 1);
    const std::string header =
        R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"bf":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]},)"
        R"("i":{"dtype":"I64","shape":[2],"data_offsets":[10,26]},"t":{"dtype":"BOOL","shape":[1],"data_offsets":[26,27]}})";
    const io::SafeTensors f = io::parse_safetensors(raw_file(header, data), "mem");
    const Tensor& h = f.find("h")->value;
    CHECK(h.f32()[0] == 1.0f);
    CHECK(h.f32()[1] == -2.0f);
    CHECK(h.f32()[2] == std::ldexp(1.0f, -24));
    CHECK(f.find("bf")->value.f32()[0] == 1.0f);
    CHECK(f.find("bf")->value.f32()[1] == -0.5f);
    CHECK(f.find("i")->value.f64()[0] == -3.0);
    CHECK(f.find("i")->value.f64()[1] == 7.0);
    CHECK(f.find("t")->value.f64()[0] == 1.0);
  }

  TEST_CASE("safetensors: malformed files are refused with the reason, never half-read") {
    const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string data(8, '\0');
    CHECK_NOTHROW(io::parse_safetensors(raw_file(ok, data), "f"));
    struct Case {
      std::vector<uint8_t> bytes;
      const char* reason;
    };
    const std::vector<uint8_t> good = raw_file(ok, data);
    std::vector<uint8_t> huge = good;
    huge[7] = 0x7f;
    const std::vector<Case> cases = {
        {bytes_of("abc"), "less than the 8-byte header length"},
        {huge, "the format's limit"},
        {std::vector<uint8_t>(good.begin(), good.begin() + 20), "truncated"},
        {raw_file(ok, data.substr(0, 4)), "ends at byte 8"},
        {raw_file(ok, data + "xx"), "2 bytes after its last tensor"},
        {raw_file("[1]", ""), "expected a JSON object"},
        {raw_file("{\"a\":", ""), "not valid JSON"},
        {raw_file(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", data), "unknown dtype 'F33'"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "needs 3 x 4 bytes"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "is not a size"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "begin <= end"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", data), "lacks data_offsets"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", data), "unknown field 'x'"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],)"
                  R"("data_offsets":[0,4]}})", data), "overlapping"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data), "(a gap)"},
        {raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],)"
                  R"("data_offsets":[4,8]}})", data), "names 'a' twice"},
        {raw_file(R"({"__metadata__":{"k":1}})", ""), "expected a string"},
    };
    for (const Case& c : cases) CHECK_THROWS_WITH_AS(io::parse_safetensors(c.bytes, "f"), contains(c.reason), Error);
    // Every truncation of a good file is refused.
    for (size_t n = 0; n < good.size(); ++n)
      CHECK_THROWS_AS(io::parse_safetensors(std::vector<uint8_t>(good.begin(), good.begin() + n), "f"), Error);
  }

  TEST_CASE("import: PyTorch CIFAR ResNet names (module., linear., num_batches_tracked) load into resnet20") {
    auto source = models::make_model("resnet20", 10, 3, 32, 1);
    randomize_state(*source, 3);
    std::vector<std::pair<std::string, Tensor>> torch_names;
    for (const auto& [name, t] : nn::state_tensors(*source)) {
      std::string n = name.rfind("fc.", 0) == 0 ? "linear." + name.substr(3) : name;
      torch_names.emplace_back("module." + n, t);
      if (name.size() > 12 && name.compare(name.size() - 12, 12, "running_mean") == 0)
        torch_names.emplace_back("module." + name.substr(0, name.size() - 12) + "num_batches_tracked",
                                 Tensor::full({}, 5.0, DType::F64));
    }
    const io::SafeTensors file = io::parse_safetensors(bytes_of(io::encode_safetensors(torch_names)), "torch");
    auto target = models::make_model("resnet20", 10, 3, 32, 2);
    interop::ImportLog log;
    interop::import_state_dict(*target, "resnet20", file, &log);
    CHECK(log.dropped.size() == 19);
    CHECK(log.renamed.size() == nn::state_tensors(*source).size());
    const auto a = nn::state_tensors(*source), b = nn::state_tensors(*target);
    for (size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(same_values(a[i].second, b[i].second), a[i].first);

    // Missing, unexpected and wrongly shaped tensors are all listed.
    auto broken = torch_names;
    broken.erase(broken.begin());                               // conv1.weight missing
    broken.emplace_back("module.extra.weight", Tensor::zeros({2}));
    for (auto& [name, t] : broken)
      if (name == "module.linear.bias") t = Tensor::zeros({11});
    const io::SafeTensors bad = io::parse_safetensors(bytes_of(io::encode_safetensors(broken)), "bad.st");
    try {
      interop::import_state_dict(*target, "resnet20", bad);
      FAIL("a mismatched state dict was accepted");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK(m.find("bad.st does not fit the resnet20 model") != std::string::npos);
      CHECK(m.find("1 missing:\n  conv1.weight [16, 3, 3, 3]") != std::string::npos);
      CHECK(m.find("1 unexpected:\n  module.extra.weight") != std::string::npos);
      CHECK(m.find("fc.bias: the file has [11]") != std::string::npos);
    }
  }

  TEST_CASE("import: HRank VGG-16 names map to the zoo's in order") {
    auto source = models::make_model("vgg16", 10, 3, 32, 1);
    randomize_state(*source, 4);
    // HRank numbers its layers by position in the cfg list, pools included.
    const int cfg_index[13] = {0, 1, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16};
    std::map<std::string, std::string> rename;
    int conv = 0, norm = 0;
    for (const auto& [name, module] : source->named_modules()) {
      if (name.rfind("features.", 0) != 0) continue;
      if (module->type_name() == "Conv2d") rename[name + "."] = "features.conv" + std::to_string(cfg_index[conv++]) + ".";
      if (module->type_name() == "BatchNorm2d")
        rename[name + "."] = "features.norm" + std::to_string(cfg_index[norm++]) + ".";
    }
    REQUIRE(conv == 13);
    std::vector<std::pair<std::string, Tensor>> hrank;
    for (const auto& [name, t] : nn::state_tensors(*source)) {
      std::string n = name;
      for (const auto& [from, to] : rename)
        if (n.rfind(from, 0) == 0) n = to + n.substr(from.size());
      hrank.emplace_back(n, t);
    }
    auto target = models::make_model("vgg16", 10, 3, 32, 2);
    interop::import_state_dict(*target, "vgg16",
                               io::parse_safetensors(bytes_of(io::encode_safetensors(hrank)), "hrank"));
    const auto a = nn::state_tensors(*source), b = nn::state_tensors(*target);
    for (size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(same_values(a[i].second, b[i].second), a[i].first);
  }

  TEST_CASE("export then import then export: byte-identical safetensors, compact models included") {
    data_test::TempDir dir;
    // A stripe-pruned conv, as compaction leaves it.
    auto compact = models::make_model("resnet20", 10, 3, 32, 1);
    randomize_state(*compact, 6);
    {
      Tensor cw = compact->find_module("layer1.0.conv1")->named_parameters().front().second;
      for (int64_t i = 0; i < cw.numel(); i += 2) cw.f32()[i] = 0;
      compact->replace_module("layer1.0.conv1", prune::StripeConv2d::from_dense(cw, Tensor(), 1, 1));
    }
    interop::export_state_dict(dir / "a.safetensors", *compact, "resnet20", {3, 32, 32});
    const io::SafeTensors file = io::read_safetensors(dir / "a.safetensors");
    auto rebuilt = interop::model_from_prunus_file(file);
    REQUIRE(rebuilt);
    CHECK(rebuilt->find_module("layer1.0.conv1")->type_name() == "StripeConv2d");
    interop::import_state_dict(*rebuilt, "prunus", file);
    interop::export_state_dict(dir / "b.safetensors", *rebuilt, "resnet20", {3, 32, 32});
    CHECK(io::read_file_bytes(dir / "a.safetensors", "a") == io::read_file_bytes(dir / "b.safetensors", "b"));
    Rng rng(8);
    const Tensor x = Tensor::randn({2, 3, 32, 32}, rng);
    CHECK(max_difference(forward_eval(*compact, x), forward_eval(*rebuilt, x)) == 0.0);
  }

  TEST_CASE("onnx: wire format round trip, and truncated files are refused") {
    interop::OnnxModel m;
    m.graph_name = "g";
    m.producer_version = "1";
    interop::OnnxNode n;
    n.op_type = "Conv";
    n.name = "c";
    n.inputs = {"input", "w"};
    n.outputs = {"logits"};
    interop::OnnxAttribute a;
    a.name = "pads";
    a.type = interop::OnnxAttribute::Type::Ints;
    a.ints = {1, -1, 300, 0};
    interop::OnnxAttribute f;
    f.name = "epsilon";
    f.type = interop::OnnxAttribute::Type::Float;
    f.f = 1e-5f;
    n.attributes = {a, f};
    m.nodes = {n};
    interop::OnnxTensor t;
    t.name = "w";
    t.dims = {2, 1, 1, 1};
    t.raw_data = std::string(8, '\x01');
    m.initializers = {t};
    interop::OnnxValueInfo in;
    in.name = "input";
    in.dims = {-1, 1, 5, 5};
    in.dim_names = {"batch", "", "", ""};
    m.inputs = {in};
    m.outputs = {in};
    m.outputs[0].name = "logits";
    const std::string bytes = interop::encode_onnx(m);
    CHECK(interop::decode_onnx(bytes, "m") == m);
    for (size_t cut = 1; cut < bytes.size(); cut += 7)
      CHECK_THROWS_AS(interop::decode_onnx(bytes.substr(0, bytes.size() - cut), "m"), Error);
  }

  TEST_CASE("onnx: exported graphs compute what the models compute (resnet20, vgg16, a stripe-pruned model)") {
    Rng rng(9);
    const Tensor x = Tensor::randn({2, 3, 32, 32}, rng);
    for (const char* arch : {"resnet20", "vgg16"}) {
      auto model = models::make_model(arch, 10, 3, 32, 1);
      randomize_state(*model, 10);
      const interop::OnnxModel graph =
          interop::decode_onnx(interop::encode_onnx(interop::onnx_from_model(*model, {3, 32, 32})), arch);
      CHECK(graph.opset == 13);
      CHECK(graph.inputs.at(0).dim_names.at(0) == "batch");
      // Every parameter and buffer is an initializer under its own name, with its values
      // (but BatchNorm1d's, folded into a per-channel scale and shift).
      for (const auto& [name, t] : nn::state_tensors(*model)) {
        if (name.rfind("classifier.norm1.", 0) == 0) {
          CHECK(graph.initializer("classifier.norm1.folded_scale"));
          continue;
        }
        const interop::OnnxTensor* init = graph.initializer(name);
        REQUIRE_MESSAGE(init, name);
        CHECK(Shape(init->dims.begin(), init->dims.end()) == t.shape());
        CHECK(std::memcmp(init->floats().data(), t.f32(), size_t(t.numel()) * 4) == 0);
      }
      int convs = 0;
      for (const auto& n : graph.nodes) convs += n.op_type == "Conv";
      CHECK(convs == (std::string(arch) == "resnet20" ? 19 : 13));
      CHECK_MESSAGE(max_difference(run_onnx(graph, x), forward_eval(*model, x)) < 1e-5, std::string(arch));
    }
    // A stripe-pruned conv is a dense Conv with zero stripes; a generic graph with a residual sum,
    // per-channel scaling, average pooling and a flatten.
    auto net = std::make_shared<prune_test::TwoPathNet>(3, 8);
    randomize_state(*net, 11);
    Tensor w = net->child("conv_d").named_parameters().front().second;
    for (int64_t i = 0; i < w.numel(); i += 2) w.f32()[i] = 0;
    net->replace_module("conv_d", prune::StripeConv2d::from_dense(w, Tensor(), 1, 1));
    const Tensor small = Tensor::randn({3, 3, 8, 8}, rng);
    const interop::OnnxModel graph = interop::onnx_from_model(*net, {3, 8, 8});
    CHECK(max_difference(run_onnx(graph, small), forward_eval(*net, small)) < 1e-5);
    CHECK(graph.initializer("conv_d.weight")->dims == std::vector<int64_t>{7, 5, 3, 3});
  }

  TEST_CASE("onnx: an op without an ONNX form is named") {
    struct Odd : nn::Module {
      Tensor forward(const Tensor& x) override { return ops::sum(x); }
      std::string type_name() const override { return "Odd"; }
    };
    Odd odd;
    CHECK_THROWS_WITH_AS(interop::onnx_from_model(odd, {1, 2, 2}), contains("op 'sum'"), Error);
  }
}
