// prunus_bench: speed of the fast CPU code on the shapes that matter:
//   sgemm   SGEMM GFLOP/s on 1024^3 and the ResNet-56 im2col GEMMs;
//   conv    every distinct conv layer of ResNet-56 (batch 128) and VGG-16
//           (batch 64) on CIFAR-sized inputs: forward, backward-data and
//           backward-weight GFLOP/s;
//   models  img/s of a training step (forward, cross-entropy, backward, SGD
//           step) and of inference for ResNet-20/56 (batch 128) and VGG-16
//           (batch 64) from the model zoo;
//   pruned  dense vs compact inference at batch 1 and 128 beside the FLOPs
//           ratio: the --compact checkpoints and synthetic stripe masks.
// Prints a table and, with --csv FILE, rows "group,name,pass,value,unit,ms"
// that run_bench.sh joins with the same rows from peers.py (PyTorch, OpenBLAS).
//   prunus_bench [--threads N] [--reps R] [--model-reps R] [--quick] [--csv FILE]
//                [--only sgemm|conv|models|pruned] [--filter TEXT] [--pass P] [--cpu-time]
//                [--compact FILE]...
//   prunus_bench --list-shapes [--quick]   the shapes as CSV, for peers.py
//   --filter TEXT: only shapes whose name contains TEXT; --pass forward|bwd_data|bwd_weight|train|infer
//   --cpu-time (with --threads 1): time by thread CPU time, for busy machines
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "bench_shapes.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/gemm.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::kernels;

namespace {

using bench::Options;
using bench::Report;

std::vector<float> random_buffer(size_t count, Rng& rng) {
  std::vector<float> v(count);
  for (float& x : v) x = float(rng.uniform(-1.0, 1.0));
  return v;
}

void bench_sgemm(const Options& o, Report& report) {
  std::printf("SGEMM (C = A*B, row-major, float32), best of %d\n", o.reps);
  Rng rng(1);
  for (const GemmShape& g : bench::sgemm_shapes(o.quick)) {
    if (!o.matches(g.name)) continue;
    const std::vector<float> A = random_buffer(size_t(g.M) * g.K, rng), B = random_buffer(size_t(g.K) * g.N, rng);
    std::vector<float> C(size_t(g.M) * g.N);
    const double sec = bench::best_seconds(o, o.reps, [&] {
      sgemm(false, false, g.M, g.N, g.K, 1.0f, A.data(), g.K, B.data(), g.N, 0.0f, C.data(), g.N);
    });
    report.flops_row("sgemm", g.name, "gemm", 2.0 * g.M * g.N * g.K, sec);
  }
}

void bench_conv(const Options& o, Report& report) {
  std::printf("conv2d (float32, NCHW), best of %d\n", o.reps);
  Rng rng(2);
  for (const ConvLayer& layer : bench::conv_layers(o.quick)) {
    if (!o.matches(layer.name)) continue;
    const Conv2dShape& s = layer.shape;
    const size_t x_size = size_t(s.batch) * s.in_channels * s.in_height * s.in_width;
    const size_t y_size = size_t(s.batch) * s.out_channels * s.out_height() * s.out_width();
    const std::vector<float> x = random_buffer(x_size, rng), dy = random_buffer(y_size, rng);
    const std::vector<float> w = random_buffer(size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w, rng);
    std::vector<float> y(y_size), dx(x_size), dw(w.size());
    const double flops = 2.0 * double(s.macs());
    if (o.wants_pass("forward"))
      report.flops_row("conv", layer.name, "forward", flops, bench::best_seconds(o, o.reps, [&] {
                         conv2d_forward(s, x.data(), w.data(), nullptr, y.data());
                       }));
    if (o.wants_pass("bwd_data"))
      report.flops_row("conv", layer.name, "bwd_data", flops, bench::best_seconds(o, o.reps, [&] {
                         conv2d_backward_data(s, dy.data(), w.data(), dx.data());
                       }));
    if (o.wants_pass("bwd_weight"))
      report.flops_row("conv", layer.name, "bwd_weight", flops, bench::best_seconds(o, o.reps, [&] {
                         conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
                       }));
  }
}

void list_shapes(bool quick) {
  std::printf("group,name,M,N,K,batch,in_channels,height,width,out_channels,kernel,stride,padding,arch\n");
  for (const GemmShape& g : bench::sgemm_shapes(quick))
    std::printf("sgemm,%s,%d,%d,%d,0,0,0,0,0,0,0,0,\n", g.name.c_str(), g.M, g.N, g.K);
  for (const ConvLayer& layer : bench::conv_layers(quick)) {
    const Conv2dShape& s = layer.shape;
    std::printf("conv,%s,0,0,0,%d,%d,%d,%d,%d,%d,%d,%d,\n", layer.name.c_str(), s.batch, s.in_channels, s.in_height,
                s.in_width, s.out_channels, s.kernel_h, s.stride, s.padding);
  }
  for (const bench::ModelCase& m : bench::model_cases(quick))
    std::printf("models,%s,0,0,0,%d,3,32,32,10,0,0,0,%s\n", m.name.c_str(), m.batch, m.arch.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "prunus_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--threads") o.threads = std::atoi(value().c_str());
    else if (arg == "--reps") o.reps = std::atoi(value().c_str());
    else if (arg == "--model-reps") o.model_reps = std::atoi(value().c_str());
    else if (arg == "--quick") o.quick = true;
    else if (arg == "--csv") o.csv = value();
    else if (arg == "--only") o.only = value();
    else if (arg == "--list-shapes") o.list_shapes = true;
    else if (arg == "--cpu-time") o.cpu_time = true;
    else if (arg == "--filter") o.filter = value();
    else if (arg == "--pass") o.pass = value();
    else if (arg == "--compact") o.compact_models.push_back(value());
    else {
      const bool help = arg == "--help" || arg == "-h";
      if (!help) std::fprintf(stderr, "prunus_bench: unknown option %s\n", arg.c_str());
      std::fprintf(help ? stdout : stderr,
                   "usage: prunus_bench [--threads N] [--reps R] [--model-reps R] [--quick] [--csv FILE]\n"
                   "                    [--only sgemm|conv|models|pruned] [--filter TEXT] [--pass P] [--cpu-time]\n"
                   "                    [--compact FILE]...\n"
                   "       prunus_bench --list-shapes [--quick]\n");
      return help ? 0 : 2;
    }
  }
  if (!o.only.empty() && o.only != "sgemm" && o.only != "conv" && o.only != "models" &&
      o.only != "pruned") {
    std::fprintf(stderr, "prunus_bench: --only takes sgemm, conv, models or pruned, got %s\n", o.only.c_str());
    return 2;
  }
  if (o.list_shapes) {
    list_shapes(o.quick);
    return 0;
  }
  if (o.threads < 1 || o.reps < 1 || o.model_reps < 1) {
    std::fprintf(stderr, "prunus_bench: --threads, --reps and --model-reps must be at least 1\n");
    return 2;
  }
  if (o.cpu_time && o.threads != 1) {
    std::fprintf(stderr, "prunus_bench: --cpu-time measures one thread; use it with --threads 1\n");
    return 2;
  }
  omp_set_num_threads(o.threads);
  Report report;
  if (!o.csv.empty()) {
    report.csv = std::fopen(o.csv.c_str(), "w");
    if (!report.csv) {
      std::fprintf(stderr, "prunus_bench: cannot write %s\n", o.csv.c_str());
      return 1;
    }
    std::fprintf(report.csv, "group,name,pass,value,unit,ms\n");
  }
  std::printf("prunus_bench: %d threads, %s time\n", o.threads, o.cpu_time ? "thread CPU" : "wall-clock");
  if (o.wants("sgemm")) bench_sgemm(o, report);
  if (o.wants("conv")) bench_conv(o, report);
  if (o.wants("models")) bench::bench_models(o, report);
  if (o.wants("pruned")) bench::bench_pruned(o, report);
  if (report.csv) std::fclose(report.csv);
  return 0;
}
