// Linked only into CPU builds (the Makefile swaps in cuda/ otherwise).
#include "prunus/device_memory.h"
#include "prunus/error.h"

namespace prunus {

static const char* kNoCuda =
    "this prunus was built without CUDA; rebuild with `make CUDA=1` on a machine with nvcc";

bool cuda_built() { return false; }
bool cuda_available() { return false; }
void* device_alloc(size_t) { PRUNUS_FAIL(kNoCuda); }
void device_free(void*, size_t) {}
void copy_host_to_device(void*, const void*, size_t) { PRUNUS_FAIL(kNoCuda); }
void copy_device_to_host(void*, const void*, size_t) { PRUNUS_FAIL(kNoCuda); }
void copy_device_to_device(void*, const void*, size_t) { PRUNUS_FAIL(kNoCuda); }

}  // namespace prunus
