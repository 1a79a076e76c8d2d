// prunus command-line entry point. Subcommands are added by their issues.
#include <cstdio>
#include <cstring>
#include <exception>

#include "prunus/error.h"

int main(int argc, char** argv) {
  try {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
      std::printf("usage: prunus <command> [options]\n");
      return argc < 2 ? 2 : 0;
    }
    std::fprintf(stderr, "prunus: error: unknown command '%s' (try prunus --help)\n", argv[1]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prunus: error: %s\n", e.what());
    return 1;
  }
}
