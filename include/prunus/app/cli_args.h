// Command-line parsing for the prunus subcommands: `--name value`,
// `--name=value`, flags and repeatable options (`--set k=v`). Mistakes in the
// command line itself throw UsageError (exit status 2); everything else a user
// can get wrong is a plain Error (exit status 1).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prunus/error.h"
#include "prunus/io/config.h"

namespace prunus {
namespace app {

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

struct OptionSpec {
  std::string name;          // without dashes: "config"
  std::string value_name;    // "FILE"; empty for a flag
  std::string help;
  bool repeatable = false;
};

struct CommandSpec {
  std::string name;          // "train"
  std::string summary;       // one line
  std::string usage;         // "prunus train --config FILE [--set KEY=VALUE]... [--resume]"
  std::vector<OptionSpec> options;  // --help is implicit
  std::string details;       // printed after the options by --help
  bool positional = false;   // words that are not options are kept, in order, as values[""] (file lists)
};

struct ParsedArgs {
  bool help = false;
  std::map<std::string, std::vector<std::string>> values;  // option -> its values in order ("" for flags)
  bool has(const std::string& name) const { return values.count(name) != 0; }
  // The value of a single-valued option, or `fallback` when absent.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& all(const std::string& name) const;  // empty when absent
};

// args: the words after the subcommand. Throws UsageError naming the command
// for an unknown option, a missing value, a repeated single option or a
// positional argument.
ParsedArgs parse_command_line(const CommandSpec& spec, const std::vector<std::string>& args);

// Throws UsageError unless option `name` was given.
void require_option(const CommandSpec& spec, const ParsedArgs& args, const std::string& name);

// The integer value of option `name` in [lo, hi], or `fallback` when absent;
// UsageError naming the command, option, text and range otherwise (decimal
// digits only: no "0x10", no "3e9", nothing that wraps).
int64_t int_option(const CommandSpec& spec, const ParsedArgs& args, const std::string& name, int64_t fallback,
                   int64_t lo, int64_t hi);

// The text of `prunus <command> --help`.
std::string command_help(const CommandSpec& spec);

// Loads --config (if given) and applies every --set in order onto the
// schema's defaults.
io::Config config_from_args(const ParsedArgs& args);

}  // namespace app
}  // namespace prunus
