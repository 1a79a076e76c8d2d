// The prunus subcommands, one file each (cmd_<name>.cpp). Each takes the
// words after its name, handles --help itself and returns the exit status;
// errors are thrown (app::UsageError -> 2, prunus::Error -> 1) and reported
// by main().
#pragma once
#include <string>
#include <vector>

namespace prunus {
namespace cli {

using Args = std::vector<std::string>;

int cmd_train(const Args& args);
int cmd_eval(const Args& args);
int cmd_info(const Args& args);
int cmd_prune(const Args& args);
int cmd_demo(const Args& args);
int cmd_compare(const Args& args);
int cmd_import(const Args& args);
int cmd_export(const Args& args);
int cmd_predict(const Args& args);

}  // namespace cli
}  // namespace prunus
