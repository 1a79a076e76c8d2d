#include "commands.h"
#include "prunus/error.h"

namespace prunus {
namespace cli {
int cmd_demo(const Args& words) { throw Error("prunus demo: not implemented yet"); }
}  // namespace cli
}  // namespace prunus
