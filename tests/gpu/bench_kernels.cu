// prunus_gpu_bench: times every conv version and the batch-norm kernels on
// every distinct ResNet-56 and VGG-16 (CIFAR) layer shape at batch 128,
// against cuDNN (fastest algorithm of cudnnFind*, FMA math) when built with
// CUDNN=1, and prints markdown tables. Each timing is the median of several
// runs measured with CUDA events on prunus' stream, after warm-up, with the
// L2 cache flushed before every run. Each version's output is also compared
// with the reference implementation's (cuDNN, or v1 without cuDNN).
//
//   prunus_gpu_bench [--out FILE] [--repeats N] [--quick]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common.cuh"
#include "prunus/cuda/cudnn_reference.h"
#include "prunus/cuda/kernels.h"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"

using namespace prunus;
using prunus::kernels::BatchNormShape;
using prunus::kernels::Conv2dShape;
namespace pc = prunus::cuda;

namespace {

// ------------------------------------------------------------------ buffers

class Buffer {
 public:
  explicit Buffer(size_t count) : count_(count), data_(static_cast<float*>(device_alloc(count * sizeof(float)))) {}
  ~Buffer() { device_free(data_, count_ * sizeof(float)); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* get() const { return data_; }
  size_t size() const { return count_; }
  std::vector<float> download() const {
    std::vector<float> host(count_);
    copy_device_to_host(host.data(), data_, count_ * sizeof(float));
    return host;
  }

 private:
  size_t count_;
  float* data_;
};

// Uniform values in [lo, hi) from a hash of the index: random-looking, cheap, reproducible.
__global__ void fill_uniform_kernel(float* data, int64_t count, uint32_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ seed;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    data[i] = lo + (hi - lo) * (h >> 8) * (1.0f / 16777216.0f);
  }
}

void fill_uniform(Buffer& b, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  fill_uniform_kernel<<<pc::grid_for(int64_t(b.size()), 256), 256, 0, pc::stream()>>>(b.get(), int64_t(b.size()), seed,
                                                                                      lo, hi);
  PRUNUS_CHECK_LAUNCH("fill_uniform_kernel");
}

double max_relative_error(const std::vector<float>& got, const std::vector<float>& reference) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) || std::isnan(reference[i])) return INFINITY;
    worst = std::max(worst, double(std::fabs(got[i] - reference[i])));
    scale = std::max(scale, double(std::fabs(reference[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

// ------------------------------------------------------------------- timing

struct Timer {
  cudaEvent_t start = nullptr, stop = nullptr;
  void* flush = nullptr;
  size_t flush_bytes = 0;
  Timer() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    flush_bytes = std::max<size_t>(2 * pc::l2_cache_bytes(), size_t(64) << 20);
    CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaFree(flush);
  }
  // Median milliseconds of `repeats` runs after `warmup` untimed ones.
  double median_ms(const std::function<void()>& run, int repeats, int warmup = 2) {
    for (int i = 0; i < warmup; ++i) run();
    std::vector<float> times;
    for (int i = 0; i < repeats; ++i) {
      CUDA_CHECK(cudaMemsetAsync(flush, i & 0xff, flush_bytes, pc::stream()));  // evict the inputs from L2
      CUDA_CHECK(cudaEventRecord(start, pc::stream()));
      run();
      CUDA_CHECK(cudaEventRecord(stop, pc::stream()));
      CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }
};

// ------------------------------------------------------------------- shapes

struct ConvLayer {
  const char* net;
  const char* name;
  int in_channels, out_channels, side, stride, occurrences;
};

// Distinct 3x3 (padding 1) conv shapes of the CIFAR models at 32x32 input.
const ConvLayer kConvLayers[] = {
    {"ResNet-56", "conv1", 3, 16, 32, 1, 1},        {"ResNet-56", "stage1", 16, 16, 32, 1, 18},
    {"ResNet-56", "stage2 down", 16, 32, 32, 2, 1}, {"ResNet-56", "stage2", 32, 32, 16, 1, 17},
    {"ResNet-56", "stage3 down", 32, 64, 16, 2, 1}, {"ResNet-56", "stage3", 64, 64, 8, 1, 17},
    {"VGG-16", "conv1_1", 3, 64, 32, 1, 1},         {"VGG-16", "conv1_2", 64, 64, 32, 1, 1},
    {"VGG-16", "conv2_1", 64, 128, 16, 1, 1},       {"VGG-16", "conv2_2", 128, 128, 16, 1, 1},
    {"VGG-16", "conv3_1", 128, 256, 8, 1, 1},       {"VGG-16", "conv3_x", 256, 256, 8, 1, 2},
    {"VGG-16", "conv4_1", 256, 512, 4, 1, 1},       {"VGG-16", "conv4_x", 512, 512, 4, 1, 2},
    {"VGG-16", "conv5_x", 512, 512, 2, 1, 3},
};

struct BnLayer {
  const char* net;
  int channels, spatial, occurrences;
};

const BnLayer kBnLayers[] = {
    {"ResNet-56", 16, 1024, 19}, {"ResNet-56", 32, 256, 18}, {"ResNet-56", 64, 64, 18},
    {"VGG-16", 64, 1024, 2},     {"VGG-16", 128, 256, 2},    {"VGG-16", 256, 64, 3},
    {"VGG-16", 512, 16, 3},      {"VGG-16", 512, 4, 3},      {"VGG-16 (1d)", 512, 1, 1},
};

constexpr int kBatch = 128;

Conv2dShape conv_shape(const ConvLayer& l) {
  Conv2dShape s;
  s.batch = kBatch;
  s.in_channels = l.in_channels;
  s.in_height = s.in_width = l.side;
  s.out_channels = l.out_channels;
  s.kernel_h = s.kernel_w = 3;
  s.stride = l.stride;
  s.padding = 1;
  return s;
}

std::string fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, v);
  return text;
}

std::string error_text(double e) {
  if (!std::isfinite(e)) return "**NaN**";
  char text[64];
  std::snprintf(text, sizeof(text), "%.1e%s", e, e > 1e-4 ? " **MISMATCH**" : "");
  return text;
}

// Markdown that goes to stdout as it is written (a timed-out run still shows
// its rows) and is kept for --out.
class Markdown {
 public:
  template <typename T>
  Markdown& operator<<(const T& value) {
    std::ostringstream piece;
    piece << value;
    text_ += piece.str();
    std::cout << piece.str();
    if (piece.str().find('\n') != std::string::npos) std::cout.flush();
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

struct Options {
  std::string out;
  int repeats = 15;
  bool quick = false;
};

// -------------------------------------------------------------- convolution

const char* kPassNames[] = {"forward", "backward-data", "backward-weight"};

void bench_convolutions(Timer& timer, const Options& o, Markdown& md) {
  const bool cudnn = pc::cudnn::built();
  md << "## Convolutions (3x3, padding 1, batch " << kBatch << ")\n\n"
     << "GFLOP/s counts 2 x multiply-adds of the pass. ours/cuDNN < 1 means ours is faster. "
     << "rel err: max |ours - " << (cudnn ? "cuDNN" : "v1") << "| / max |" << (cudnn ? "cuDNN" : "v1") << "|.\n\n"
     << "| net | layer | C->F @HxW, stride | pass | impl | ms | GFLOP/s | ours/cuDNN | rel err |\n"
     << "|---|---|---|---|---|---:|---:|---:|---|\n";
  std::vector<double> total_ms(4 * 3, 0.0);  // [impl 0 = cuDNN, 1..3 versions][pass]
  int layers = 0;
  for (const ConvLayer& layer : kConvLayers) {
    if (o.quick && layers >= 3) break;
    ++layers;
    try {  // a failing layer is reported and the others still run
      const Conv2dShape s = conv_shape(layer);
      const size_t xs = size_t(s.batch) * s.in_channels * s.in_height * s.in_width;
      const size_t ws = size_t(s.out_channels) * s.in_channels * 9;
      const size_t ys = size_t(s.batch) * s.out_channels * s.out_height() * s.out_width();
      Buffer x(xs), w(ws), dy(ys), out_x(xs), out_w(ws), out_y(ys);
      fill_uniform(x, 1);
      fill_uniform(w, 2, -0.1f, 0.1f);
      fill_uniform(dy, 3);
      const double gflop = 2.0 * double(s.macs()) * 1e-9;
      // cuDNN's algorithm search for this shape; if it fails, the layer is compared with v1 only.
      bool layer_cudnn = cudnn;
      std::string algorithms;
      if (cudnn) {
        try {
          algorithms = pc::cudnn::conv2d_algorithms(s);
        } catch (const std::exception& e) {
          layer_cudnn = false;
          algorithms = std::string("cuDNN failed: ") + e.what();
        }
      }
      for (int pass = 0; pass < 3; ++pass) {
        float* out = pass == 0 ? out_y.get() : pass == 1 ? out_x.get() : out_w.get();
        const Buffer& out_buffer = pass == 0 ? out_y : pass == 1 ? out_x : out_w;
        // impl 0: cuDNN, 1..3: our versions.
        auto run = [&](int impl) {
          if (impl == 0) {
            if (pass == 0) pc::cudnn::conv2d_forward(s, x.get(), w.get(), nullptr, out);
            if (pass == 1) pc::cudnn::conv2d_backward_data(s, dy.get(), w.get(), out);
            if (pass == 2) pc::cudnn::conv2d_backward_weight(s, x.get(), dy.get(), out);
          } else {
            if (pass == 0) pc::conv2d_forward(s, x.get(), w.get(), nullptr, out, impl);
            if (pass == 1) pc::conv2d_backward_data(s, dy.get(), w.get(), out, impl);
            if (pass == 2) pc::conv2d_backward_weight(s, x.get(), dy.get(), out, impl);
          }
        };
        const int reference_impl = layer_cudnn ? 0 : 1;
        run(reference_impl);
        const std::vector<float> reference = out_buffer.download();
        double cudnn_ms = 0;
        for (int impl = layer_cudnn ? 0 : 1; impl <= pc::kConvVersionCount; ++impl) {
          pc::fill(out, NAN, int64_t(out_buffer.size()));
          run(impl);
          const double error = max_relative_error(out_buffer.download(), reference);
          const int repeats = impl == pc::kConvNaive ? std::max(3, o.repeats / 4) : o.repeats;
          const double ms = timer.median_ms([&] { run(impl); }, repeats);
          if (impl == 0) cudnn_ms = ms;
          total_ms[impl * 3 + pass] += ms * layer.occurrences;
          md << "| " << layer.net << " | " << layer.name << " | " << s.in_channels << "->" << s.out_channels << " @"
             << s.in_height << "x" << s.in_width << ", s" << s.stride << " | " << kPassNames[pass] << " | "
             << (impl == 0 ? "cuDNN" : pc::conv_version_name(impl)) << " | " << fixed(ms, 3) << " | "
             << fixed(gflop / (ms * 1e-3), 0) << " | " << (impl == 0 || !layer_cudnn ? "-" : fixed(ms / cudnn_ms, 2))
             << " | " << (impl == reference_impl ? "(reference)" : error_text(error)) << " |\n";
        }
      }
      if (cudnn) md << "| | | | cuDNN: " << algorithms << " | | | | | |\n";
    } catch (const std::exception& e) {
      md << "| " << layer.net << " | " << layer.name << " | | **error** | " << e.what() << " | | | | |\n";
    }
    std::cerr << "conv " << layer.net << " " << layer.name << " done\n";
  }
  md << "\n### Whole-network conv time (each distinct shape times its number of occurrences), ms\n\n"
     << "| impl | forward | backward-data | backward-weight | total | ours/cuDNN |\n|---|---:|---:|---:|---:|---:|\n";
  const double cudnn_total = total_ms[0] + total_ms[1] + total_ms[2];
  for (int impl = cudnn ? 0 : 1; impl <= pc::kConvVersionCount; ++impl) {
    const double total = total_ms[impl * 3] + total_ms[impl * 3 + 1] + total_ms[impl * 3 + 2];
    md << "| " << (impl == 0 ? "cuDNN" : pc::conv_version_name(impl)) << " | " << fixed(total_ms[impl * 3], 2) << " | "
       << fixed(total_ms[impl * 3 + 1], 2) << " | " << fixed(total_ms[impl * 3 + 2], 2) << " | " << fixed(total, 2)
       << " | " << (impl == 0 || !cudnn ? "-" : fixed(total / cudnn_total, 2)) << " |\n";
  }
  md << "\n";
}

// --------------------------------------------------------------- batch norm

void bench_batchnorm(Timer& timer, const Options& o, Markdown& md) {
  const bool cudnn = pc::cudnn::built();
  md << "## Batch norm (training, batch " << kBatch << ")\n\n"
     << "GB/s counts the least traffic: forward reads x and writes y; backward reads x and dy and writes dx.\n\n"
     << "| net | C x spatial | pass | impl | ms | GB/s | ours/cuDNN | rel err "
        "|\n|---|---|---|---|---:|---:|---:|---|\n";
  int layers = 0;
  for (const BnLayer& layer : kBnLayers) {
    if (o.quick && layers >= 2) break;
    ++layers;
    try {  // a failing layer is reported and the others still run
      BatchNormShape s;
      s.batch = kBatch;
      s.channels = layer.channels;
      s.spatial = layer.spatial;
      const size_t n = size_t(s.numel()), c = size_t(s.channels);
      Buffer x(n), dy(n), y(n), dx(n), gamma(c), beta(c), rm(c), rv(c), mean(c), inv(c), dg(c), db(c);
      fill_uniform(x, 11, 1.0f, 3.0f);
      fill_uniform(dy, 12);
      fill_uniform(gamma, 13, 0.5f, 1.5f);
      fill_uniform(beta, 14);
      fill_uniform(rv, 15, 0.5f, 2.0f);
      const double eps = 1e-5, momentum = 0.1;
      for (int pass = 0; pass < 2; ++pass) {
        const Buffer& out = pass == 0 ? y : dx;
        auto run = [&](bool ours) {
          if (pass == 0) {
            if (ours)
              pc::batchnorm_forward_train(s, x.get(), gamma.get(), beta.get(), eps, momentum, rm.get(), rv.get(),
                                          y.get(), mean.get(), inv.get());
            else
              pc::cudnn::batchnorm_forward_train(s, x.get(), gamma.get(), beta.get(), eps, momentum, rm.get(), rv.get(),
                                                 y.get(), mean.get(), inv.get());
          } else {
            if (ours)
              pc::batchnorm_backward_train(s, x.get(), dy.get(), gamma.get(), mean.get(), inv.get(), dx.get(), dg.get(),
                                           db.get());
            else
              pc::cudnn::batchnorm_backward_train(s, x.get(), dy.get(), gamma.get(), mean.get(), inv.get(), eps,
                                                  dx.get(), dg.get(), db.get());
          }
        };
        // Same saved statistics for both backward implementations: ours from the forward.
        pc::batchnorm_forward_train(s, x.get(), gamma.get(), beta.get(), eps, momentum, nullptr, nullptr, y.get(),
                                    mean.get(), inv.get());
        std::vector<float> reference;
        if (cudnn) {
          run(false);
          reference = out.download();
        }
        const double gigabytes = double(n) * sizeof(float) * (pass == 0 ? 2 : 3) * 1e-9;
        double cudnn_ms = 0;
        for (int impl = cudnn ? 0 : 1; impl <= 1; ++impl) {
          const bool ours = impl == 1;
          pc::fill(out.get(), NAN, int64_t(n));
          run(ours);
          const std::string error = !cudnn ? "-"
                                    : ours ? error_text(max_relative_error(out.download(), reference))
                                           : "(reference)";
          const double ms = timer.median_ms([&] { run(ours); }, o.repeats);
          if (!ours) cudnn_ms = ms;
          md << "| " << layer.net << " | " << layer.channels << " x " << layer.spatial << " | "
             << (pass == 0 ? "forward" : "backward") << " | " << (ours ? "ours" : "cuDNN") << " | " << fixed(ms, 4)
             << " | " << fixed(gigabytes / (ms * 1e-3), 0) << " | "
             << (ours && cudnn ? fixed(ms / cudnn_ms, 2) : std::string("-")) << " | " << error << " |\n";
        }
      }
    } catch (const std::exception& e) {
      md << "| " << layer.net << " | " << layer.channels << " x " << layer.spatial << " | **error** | " << e.what()
         << " | | | | |\n";
    }
  }
  md << "\n";
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      o.out = argv[++i];
    else if (a == "--repeats" && i + 1 < argc)
      o.repeats = std::max(1, std::atoi(argv[++i]));
    else if (a == "--quick")
      o.quick = true;
    else {
      std::cerr << "usage: prunus_gpu_bench [--out FILE] [--repeats N] [--quick]\n";
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (!cuda_available()) {
    std::printf("SKIPPED: no CUDA device visible; prunus_gpu_bench measured nothing.\n");
    return 0;
  }
  try {
    Markdown md;
    md << "# prunus CUDA kernels vs cuDNN\n\n"
       << "- card: " << pc::device_description() << "\n"
       << "- cuDNN: "
       << (pc::cudnn::built() ? pc::cudnn::version() + " (CUDNN_FMA_MATH, fastest algorithm of cudnnFind*)"
                              : std::string("not built (CUDNN=0): no comparison"))
       << "\n- median of " << o.repeats << " runs (v1: " << std::max(3, o.repeats / 4)
       << "), 2 warm-up runs, L2 flushed before every run, CUDA events on prunus' stream\n\n";
    Timer timer;
    bench_convolutions(timer, o, md);
    bench_batchnorm(timer, o, md);
    if (!o.out.empty()) {
      std::ofstream file(o.out);
      file << md.str();
      if (!file) {
        std::cerr << "prunus_gpu_bench: cannot write " << o.out << "\n";
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "prunus_gpu_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
