// The schema of every config key prunus itself reads (src/train/config_schema.cpp).
// It sits above io because its choices come from the model, method and
// granularity registries.
#pragma once
#include "prunus/io/config.h"

namespace prunus::train {

const io::Schema& prunus_schema();

}  // namespace prunus::train
