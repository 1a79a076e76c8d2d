#include "prunus/dist/process_group.h"

#include <chrono>
#include <cstdlib>

#include "prunus/io/checkpoint.h"

namespace prunus {
namespace dist {
namespace {

// Rank 0 of 1: every collective is the identity.
class SingleProcess : public Backend {
 public:
  std::string name() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(float*, int64_t, const char*) override {}
  void sum(double*, int64_t, const char*) override {}
  void barrier(const char*, double) override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
};

double& collective_timeout() {
  static double seconds = StartOptions{}.timeout_seconds;
  return seconds;
}

std::unique_ptr<Backend>& group() {
  static std::unique_ptr<Backend> g = std::make_unique<SingleProcess>();
  return g;
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

}  // namespace

StartOptions start_options_from_environment() {
  StartOptions options;
  if (const char* v = std::getenv("PRUNUS_DIST_TIMEOUT"); v && *v) {
    char* end = nullptr;
    options.timeout_seconds = std::strtod(v, &end);
    PRUNUS_CHECK(end && *end == '\0' && options.timeout_seconds > 0,
                 "PRUNUS_DIST_TIMEOUT must be a number of seconds > 0, got '", v, "'");
  }
  return options;
}

int launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

void start(const StartOptions& options) {
  PRUNUS_CHECK(options.timeout_seconds > 0, "distributed: the collective timeout must be > 0 s, got ",
               options.timeout_seconds);
  collective_timeout() = options.timeout_seconds;
  if (launcher_size() <= 1) return;
  group() = make_mpi_backend(options);
  io::set_writes_enabled(group()->rank() == 0);
  io::set_write_fence([] { barrier("a file write"); });
}

void finish() {
  if (group()->name() == "mpi") finish_mpi();
  group() = std::make_unique<SingleProcess>();
  io::set_writes_enabled(true);
  io::set_write_fence(nullptr);
}

void abort(int exit_code) {
  group()->abort(exit_code);
  std::exit(exit_code);  // not reached
}

int rank() { return group()->rank(); }
int size() { return group()->size(); }
std::string backend_name() { return group()->name(); }

namespace {
double& collective_time() {
  static double seconds = 0;
  return seconds;
}

// Adds the time of one collective to collective_seconds().
class Timed {
 public:
  Timed() : start_(std::chrono::steady_clock::now()) {}
  ~Timed() { collective_time() += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};
}  // namespace

void sum(float* values, int64_t n, const char* what) {
  if (size() == 1) return;
  Timed timed;
  group()->sum(values, n, what);
}

void sum(double* values, int64_t n, const char* what) {
  if (size() == 1) return;
  Timed timed;
  group()->sum(values, n, what);
}

double collective_seconds() { return collective_time(); }

bool any(bool local, const char* what) {
  double flag = local ? 1.0 : 0.0;
  sum(&flag, 1, what);
  return flag > 0;
}

void barrier(const char* what) { group()->barrier(what, collective_timeout()); }

int leave(int exit_code, double wait_seconds) {
  if (size() == 1) return exit_code;
  try {
    group()->barrier("the end of the run", wait_seconds);
  } catch (const Error&) {
    abort(exit_code != 0 ? exit_code : 1);
  }
  finish();
  return exit_code;
}

ActAlone::ActAlone() : saved_(std::move(group())), saved_writes_(io::writes_enabled()) {
  group() = std::make_unique<SingleProcess>();
  io::set_writes_enabled(true);
}

ActAlone::~ActAlone() {
  group() = std::move(saved_);
  io::set_writes_enabled(saved_writes_);
}

}  // namespace dist
}  // namespace prunus
