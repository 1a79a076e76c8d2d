// Every way prunus writes a number as text, in one place, each for its use.
// The exact forms read back as the same value; the short ones are for people.
#pragma once
#include <string>

namespace prunus::io {

// "%.17g": reads back as the same double. Checkpoint strings, descriptions,
// reports' JSON and the pipeline's records use it.
std::string round_trip_decimal(double value);
// The shortest decimal that reads back as the same double ("0.1", not
// "0.10000000000000001"): config files, which people read and edit.
std::string shortest_round_trip_decimal(double value);
// "%.9g": reads back as the same float; the metrics CSV, whose values are floats.
std::string float_round_trip_decimal(double value);
// "%.10g": ten significant digits, for summaries people read (not exact).
std::string readable_decimal(double value);

}  // namespace prunus::io
