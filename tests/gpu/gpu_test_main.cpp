// Main of prunus_gpu_tests. Suites named gpu_* need a visible CUDA device;
// where there is none they are skipped, loudly, and only the emulated_*
// suites run (the kernels' per-thread code executed on the CPU). Exit status
// 0 then means "those passed", never "the GPU kernels passed".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "prunus/cuda/cudnn_reference.h"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"

namespace {

void print_skipped_banner() {
  std::printf(
      "\n"
      "************************************************************************\n"
      "*  SKIPPED: no CUDA device visible.                                    *\n"
      "*  The gpu_* suites (every CUDA kernel against the CPU reference) did  *\n"
      "*  NOT run; only the emulated_* suites ran (the kernels' per-thread    *\n"
      "*  code executed on the CPU).                                          *\n"
      "************************************************************************\n\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context;
  const bool device = prunus::cuda_available();
  if (device) {
    std::printf("prunus_gpu_tests on %s; cuDNN reference: %s\n", prunus::cuda::device_description().c_str(),
                prunus::cuda::cudnn::built() ? prunus::cuda::cudnn::version().c_str() : "not built");
  } else {
    print_skipped_banner();
    context.addFilter("test-suite-exclude", "gpu_*");
  }
  context.applyCommandLine(argc, argv);
  const int status = context.run();
  if (!device && !context.shouldExit()) print_skipped_banner();
  return status;
}
