// Built in place of mpi_backend.cpp when the build has no MPI (Makefile: MPI=0).
#include "prunus/dist/process_group.h"

namespace prunus {
namespace dist {

bool built_with_mpi() { return false; }

std::unique_ptr<Backend> make_mpi_backend(const StartOptions&) {
  PRUNUS_FAIL("distributed: the launcher started ", launcher_size(),
              " processes, but this prunus was built without MPI; install openmpi-bin and libopenmpi-dev and "
              "rebuild (make MPI=1), or run one process");
}

void finish_mpi() {}

}  // namespace dist
}  // namespace prunus
