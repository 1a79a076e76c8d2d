// prunus command-line entry point: dispatches to the subcommands and turns
// every error into one line "prunus: error: <sentence>" with exit status 1
// (2 for a malformed command line; 128 + signal for a run stopped by SIGINT/SIGTERM
// after saving its state).
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "commands.h"
#include "openmp_waiting.h"
#include "prunus/dist/process_group.h"
#include "prunus/error.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/stop_request.h"

namespace {

struct CommandEntry {
  const char* name;
  int (*run)(const prunus::cli::Args&);
  const char* summary;
  // Commands that train stop cleanly on SIGINT/SIGTERM (a checkpoint, then
  // this advice); null: the signals keep their default action.
  const char* resume_hint = nullptr;
};

const CommandEntry kCommands[] = {
    {"train", prunus::cli::cmd_train, "train a model from a config (resumable with --resume)",
     "continue with the same command and --resume"},
    {"eval", prunus::cli::cmd_eval, "evaluate a checkpoint on the validation and test sets"},
    {"info", prunus::cli::cmd_info, "per-layer table, MACs and parameters of a model or checkpoint"},
    {"prune", prunus::cli::cmd_prune, "the whole pruning pipeline from a config (resumes unfinished stages)",
     "run the same command again to continue"},
    {"compare", prunus::cli::cmd_compare, "a fair comparison of pruning methods with dense and scratch controls",
     "run the same command again to continue"},
    {"import", prunus::cli::cmd_import, "a PyTorch (safetensors) state dict into a prunus checkpoint"},
    {"export", prunus::cli::cmd_export, "a checkpoint's model to ONNX or safetensors"},
    {"predict", prunus::cli::cmd_predict, "classify image files with a checkpoint's model (top-5)"},
    {"demo", prunus::cli::cmd_demo, "train and prune a small CNN on Fashion-MNIST in a few minutes"},
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: prunus <command> [options]\n\n"
               "A from-scratch deep-learning framework with multi-granularity pruning.\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`prunus <command> --help` describes each command. Configs: experiments/configs/.\n");
}

}  // namespace

static int run_command(int argc, char** argv) {
  try {
    if (argc < 2) {
      print_usage(stderr);
      return 2;
    }
    const std::string command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
      print_usage(stdout);
      return 0;
    }
    for (const auto& c : kCommands) {
      if (command != c.name) continue;
      const prunus::cli::Args args(argv + 2, argv + argc);
      if (!c.resume_hint) return c.run(args);
      const prunus::train::StopOnSignals stop_on_signals;
      try {
        return c.run(args);
      } catch (const prunus::train::Interrupted& e) {
        std::fprintf(stderr, "prunus: %s; %s\n", e.what(), c.resume_hint);
        return 128 + e.signal();
      }
    }
    std::string names;
    for (const auto& c : kCommands) names += std::string(names.empty() ? "" : ", ") + c.name;
    std::fprintf(stderr, "prunus: error: unknown command '%s' (commands: %s; see prunus --help)\n", command.c_str(),
                 names.c_str());
    return 2;
  } catch (const prunus::app::UsageError& e) {
    std::fprintf(stderr, "prunus: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "prunus: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prunus: error: %s\n", e.what());
    return 1;
  }
}

// Under mpirun every process runs the command (dist/process_group.h); rank 0
// alone prints progress and writes files, every rank prints its errors.
int main(int argc, char** argv) {
  prunus::cli::use_passive_openmp_waiting(argv);
  try {
    prunus::dist::start(prunus::dist::start_options_from_environment());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prunus: error: %s\n", e.what());
    return 1;
  }
  if (!prunus::dist::is_root() && !std::freopen("/dev/null", "w", stdout)) return 1;
  const int code = run_command(argc, argv);
  // An error every rank met alike ends them together; one rank's alone ends the run.
  return prunus::dist::leave(code, code == 0 ? 600.0 : 20.0);
}
