// The processes of one data-parallel run (`mpirun -np N prunus train ...`):
// their number, this process's rank, and the few collectives data-parallel
// training needs (sums of gradients, batch-norm partial sums and step
// statistics; a barrier). One process-wide group: a process started without
// a launcher is rank 0 of 1, and every collective is then the identity, so
// single-process code runs unchanged and bit-identical.
//
// Backends (src/dist/): MPI (CPU; built when mpicxx is found, see the
// Makefile's MPI=...), and "single" (rank 0 of 1). Every collective waits at
// most `timeout_seconds`: a rank that died or stopped makes the others throw
// a dist::Timeout naming the operation, not hang. After an Error on any rank
// the CLI calls abort(), which ends every rank of the run.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "prunus/error.h"

namespace prunus {
namespace dist {

class Timeout : public Error {
 public:
  using Error::Error;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "mpi", "single"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place over every rank; every rank gets the same result.
  virtual void sum(float* values, int64_t n, const char* what) = 0;
  virtual void sum(double* values, int64_t n, const char* what) = 0;
  virtual void barrier(const char* what, double timeout_seconds) = 0;
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

struct StartOptions {
  double timeout_seconds = 300;  // per collective
};
// PRUNUS_DIST_TIMEOUT (seconds) when set, else the default.
StartOptions start_options_from_environment();

// How many processes the launcher started (OMPI_COMM_WORLD_SIZE, PMI_SIZE;
// 1 without a launcher).
int launcher_size();
// Joins the run the launcher started (MPI when launcher_size() > 1), or
// becomes rank 0 of 1. Throws when a launcher started several processes and
// this build has no MPI: each would otherwise train alone and write the same
// files. Ranks other than 0 stop writing files (io::set_writes_enabled).
void start(const StartOptions& options = {});
// Leaves the group (MPI_Finalize); the group is single again.
void finish();
// Ends every rank of the run at once (MPI_Abort); exit() when single.
[[noreturn]] void abort(int exit_code);
// How a process of the run ends with `exit_code`: when every rank reaches
// this point within `wait_seconds` (they stopped alike: done, interrupted, or
// the same error), they finish together and it returns exit_code; when some
// rank does not come (it failed alone, or hangs), it aborts the whole run.
int leave(int exit_code, double wait_seconds);

int rank();
int size();
inline bool is_root() { return rank() == 0; }
std::string backend_name();
bool built_with_mpi();

void sum(float* values, int64_t n, const char* what);
void sum(double* values, int64_t n, const char* what);
// True on every rank when `local` is true on any rank.
bool any(bool local, const char* what);
void barrier(const char* what);  // waits at most the run's collective timeout
// Seconds this process has spent inside collectives (waiting included) since it started.
double collective_seconds();

// While one lives, this process acts alone (rank 0 of 1), whatever group it
// joined: for tests that compare a run on N ranks with one on a single
// process in the same program.
class ActAlone {
 public:
  ActAlone();
  ~ActAlone();
  ActAlone(const ActAlone&) = delete;
  ActAlone& operator=(const ActAlone&) = delete;

 private:
  std::unique_ptr<Backend> saved_;
  bool saved_writes_;
};

// The MPI backend (src/dist/mpi_backend.cpp); without MPI in the build
// (src/dist/no_mpi.cpp) it throws, naming how to build with it.
std::unique_ptr<Backend> make_mpi_backend(const StartOptions& options);
void finish_mpi();

}  // namespace dist
}  // namespace prunus
