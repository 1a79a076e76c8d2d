#include "prunus/io/number_text.h"

#include <cstdio>
#include <cstdlib>

namespace prunus::io {
namespace {

std::string formatted(const char* format, double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

}  // namespace

std::string round_trip_decimal(double value) { return formatted("%.17g", value); }

std::string shortest_round_trip_decimal(double value) {
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string float_round_trip_decimal(double value) { return formatted("%.9g", value); }

std::string readable_decimal(double value) { return formatted("%.10g", value); }

}  // namespace prunus::io
