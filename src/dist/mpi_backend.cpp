// The MPI backend of dist::Backend (Open MPI from Debian's packages). Every
// collective is non-blocking underneath and polled against a deadline, so a
// rank that died makes the others throw dist::Timeout instead of waiting
// forever (mpirun usually ends them sooner when it sees a rank die).
// The C API only: the deprecated C++ bindings warn and need -lmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "prunus/dist/process_group.h"

namespace prunus {
namespace dist {
namespace {

class Mpi : public Backend {
 public:
  explicit Mpi(double timeout_seconds) : timeout_seconds_(timeout_seconds) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      PRUNUS_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                   "distributed: MPI_Init_thread failed");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  std::string name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(float* values, int64_t n, const char* what) override { all_reduce(values, n, MPI_FLOAT, what); }
  void sum(double* values, int64_t n, const char* what) override { all_reduce(values, n, MPI_DOUBLE, what); }

  void barrier(const char* what, double timeout_seconds) override {
    MPI_Request request;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier", what);
    wait(request, "barrier", what, timeout_seconds);
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::exit(exit_code);
  }

 private:
  void all_reduce(void* values, int64_t n, MPI_Datatype type, const char* what) {
    // MPI counts are int: large buffers go in pieces.
    const int64_t piece = int64_t(1) << 30;
    const int64_t bytes = type == MPI_FLOAT ? 4 : 8;
    for (int64_t first = 0; first < n; first += piece) {
      const int count = int(std::min(piece, n - first));
      MPI_Request request;
      check(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(values) + first * bytes, count, type, MPI_SUM,
                           MPI_COMM_WORLD, &request),
            "all-reduce", what);
      wait(request, "all-reduce", what, timeout_seconds_);
    }
  }

  void wait(MPI_Request& request, const char* op, const char* what, double timeout_seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    for (int spins = 0;; ++spins) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), op, what);
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline)
        throw Timeout(detail::concat_message("distributed: rank ", rank_, " of ", size_, ": the ", op, " of ", what,
                                             " waited ", timeout_seconds,
                                             " s for the other ranks (one stopped or died?)"));
      // Spin briefly (collectives of a training step finish in microseconds), then yield the core.
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  void check(int code, const char* op, const char* what) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    PRUNUS_FAIL("distributed: rank ", rank_, ": the ", op, " of ", what, " failed: ", std::string(text, length));
  }

  double timeout_seconds_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

std::unique_ptr<Backend> make_mpi_backend(const StartOptions& options) {
  return std::make_unique<Mpi>(options.timeout_seconds);
}

void finish_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace dist
}  // namespace prunus
