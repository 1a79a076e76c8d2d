// What the parts of prunus_bench share: options, timing and the report.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

namespace prunus {
namespace bench {

struct Options {
  int threads = 2, reps = 5, model_reps = 3;
  bool quick = false, list_shapes = false, cpu_time = false;
  std::string csv, only, filter, pass;
  std::vector<std::string> compact_models;  // --compact FILE (repeatable), for the pruned group
  bool wants(const std::string& group) const { return only.empty() || only == group; }
  bool matches(const std::string& name) const { return name.find(filter) != std::string::npos; }
  bool wants_pass(const std::string& p) const { return pass.empty() || pass == p; }
};

// Wall-clock time, or with --cpu-time (one thread only) the CPU time of the
// calling thread, which other processes on a busy machine disturb less.
inline double seconds_now(bool cpu_time) {
  if (cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of `reps` timed runs after one warm-up run (the minimum is the least
// disturbed by other processes on a shared machine).
inline double best_seconds(const Options& o, int reps, const std::function<void()>& run) {
  run();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double start = seconds_now(o.cpu_time);
    run();
    best = std::min(best, seconds_now(o.cpu_time) - start);
  }
  return best;
}

// Rows "group,name,pass,value,unit,ms"; higher values are better in every unit.
struct Report {
  FILE* csv = nullptr;
  void row(const std::string& group, const std::string& name, const std::string& pass, double value,
           const char* unit, double seconds) {
    std::printf("  %-34s %-10s %9.1f %-8s %10.3f ms\n", name.c_str(), pass.c_str(), value, unit, seconds * 1e3);
    std::fflush(stdout);
    if (csv)
      std::fprintf(csv, "%s,%s,%s,%.3f,%s,%.4f\n", group.c_str(), name.c_str(), pass.c_str(), value, unit,
                   seconds * 1e3);
  }
  void flops_row(const std::string& group, const std::string& name, const std::string& pass, double flops,
                 double seconds) {
    row(group, name, pass, flops / seconds * 1e-9, "GFLOP/s", seconds);
  }
};

void bench_models(const Options& o, Report& report);
void bench_pruned(const Options& o, Report& report);

}  // namespace bench
}  // namespace prunus
