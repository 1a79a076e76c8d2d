// Config text (first byte even) or one --set assignment (odd); whatever loads
// must come back unchanged from its dump, the file a run writes as config.conf.
#include <cstdlib>

#include "prunus/train/config_schema.h"
#include "prunus/io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using prunus::io::Config;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Config config(prunus::train::prunus_schema());
  try {
    if (data[0] % 2 == 0)
      config.load_text(text, "fuzz.conf");
    else
      config.apply_override(text);
  } catch (const prunus::Error&) {
    return 0;
  }
  Config reloaded(prunus::train::prunus_schema());
  reloaded.load_text(config.dump(), "dump.conf");  // throws (a finding) if the dump does not load
  for (const auto& key : prunus::train::prunus_schema().keys())
    if (reloaded.value_text(key.full_name()) != config.value_text(key.full_name())) std::abort();
  return 0;
}
