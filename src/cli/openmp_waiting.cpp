// Idle OpenMP threads wait for work by spinning (libgomp's default, about
// 300,000 polls), which on a machine whose cores other processes also use
// collapses training: a thread that lost its core holds up a barrier while
// the spinning ones burn theirs (measured: about 60 img/s instead of 800).
// Passive waiting (sleeping in the kernel) costs a few microseconds per
// parallel region instead. libgomp reads OMP_WAIT_POLICY once, when it is
// loaded, before main: so the CLI sets it and starts itself again.
#include "openmp_waiting.h"

#include <unistd.h>

#include <cstdlib>

namespace prunus {
namespace cli {

void use_passive_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // the user chose
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // No /proc (or exec refused): go on with the default policy; the variable is left set for children.
}

}  // namespace cli
}  // namespace prunus
