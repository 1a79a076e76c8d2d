// See openmp_waiting.cpp: why the CLI runs its OpenMP threads with passive waiting.
#pragma once

namespace prunus {
namespace cli {

// Unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set: sets OMP_WAIT_POLICY=passive
// and replaces the process with a fresh run of the same binary and arguments.
// Call first thing in main, before any thread or OpenMP call.
void use_passive_openmp_waiting(char** argv);

}  // namespace cli
}  // namespace prunus
