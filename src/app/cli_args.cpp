#include "prunus/train/config_schema.h"
#include "prunus/app/cli_args.h"

#include <algorithm>

namespace prunus {
namespace app {

std::string ParsedArgs::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& ParsedArgs::all(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = values.find(name);
  return it == values.end() ? none : it->second;
}

static std::string option_list(const CommandSpec& spec) {
  std::string out;
  for (const auto& o : spec.options) out += "--" + o.name + ", ";
  return out + "--help";
}

ParsedArgs parse_command_line(const CommandSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  const std::string command = "'prunus " + spec.name + "'";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--help" || word == "-h") {
      parsed.help = true;
      continue;
    }
    if (spec.positional && (word.size() < 3 || word.compare(0, 2, "--") != 0)) {
      parsed.values[""].push_back(word);
      continue;
    }
    if (word.size() < 3 || word.compare(0, 2, "--") != 0)
      throw UsageError("unexpected argument '" + word + "' for " + command + " (options: " + option_list(spec) + ")");
    std::string name = word.substr(2), value;
    const auto equals = name.find('=');
    const bool inline_value = equals != std::string::npos;
    if (inline_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    auto spec_it = std::find_if(spec.options.begin(), spec.options.end(),
                                [&](const OptionSpec& o) { return o.name == name; });
    if (spec_it == spec.options.end())
      throw UsageError("unknown option '--" + name + "' for " + command + " (options: " + option_list(spec) + ")");
    if (spec_it->value_name.empty()) {
      if (inline_value) throw UsageError("option --" + name + " of " + command + " takes no value");
    } else if (!inline_value) {
      if (i + 1 >= args.size())
        throw UsageError("option --" + name + " of " + command + " needs a value (" + spec_it->value_name + ")");
      value = args[++i];
    }
    if (!spec_it->repeatable && parsed.has(name))
      throw UsageError("option --" + name + " of " + command + " is given twice");
    parsed.values[name].push_back(value);
  }
  return parsed;
}

void require_option(const CommandSpec& spec, const ParsedArgs& args, const std::string& name) {
  if (!args.has(name))
    throw UsageError("'prunus " + spec.name + "' needs --" + name + " (usage: " + spec.usage + ")");
}

int64_t int_option(const CommandSpec& spec, const ParsedArgs& args, const std::string& name, int64_t fallback,
                   int64_t lo, int64_t hi) {
  if (!args.has(name)) return fallback;
  const std::string text = args.get(name);
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const int64_t value = digits ? std::stoll(text) : -1;
  if (!digits || value < lo || value > hi)
    throw UsageError("'prunus " + spec.name + "': --" + name + " '" + text + "' is not an integer in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return value;
}

std::string command_help(const CommandSpec& spec) {
  std::string out = "usage: " + spec.usage + "\n\n" + spec.summary + "\n\noptions:\n";
  auto line = [&](const std::string& left, const std::string& help) {
    std::string l = "  " + left;
    if (l.size() < 26) l.resize(26, ' ');
    else l += "  ";
    out += l + help + "\n";
  };
  for (const auto& o : spec.options)
    line("--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name), o.help);
  line("--help", "show this help");
  if (!spec.details.empty()) out += "\n" + spec.details;
  if (out.back() != '\n') out += "\n";
  return out;
}

io::Config config_from_args(const ParsedArgs& args) {
  io::Config config(train::prunus_schema());
  if (args.has("config")) config.load_file(args.get("config"));
  for (const auto& assignment : args.all("set")) config.apply_override(assignment);
  return config;
}

}  // namespace app
}  // namespace prunus
