#include "prunus/nn/shape_only.h"

namespace prunus {
namespace nn {

static thread_local bool g_shape_only = false;

ShapeOnlyGuard::ShapeOnlyGuard() : previous_(g_shape_only) { g_shape_only = true; }
ShapeOnlyGuard::~ShapeOnlyGuard() { g_shape_only = previous_; }
bool shape_only_active() { return g_shape_only; }

}  // namespace nn
}  // namespace prunus
