// prunus prune --config FILE [--set KEY=VALUE]... [--analyze]
#include <cstdio>

#include "commands.h"
#include "prunus/train/cli_args.h"

namespace prunus {
namespace cli {

int cmd_prune(const Args& words) {
  throw Error("prunus prune: not implemented yet");
}

}  // namespace cli
}  // namespace prunus
