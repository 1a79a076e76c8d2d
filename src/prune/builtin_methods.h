// The built-in pruning methods, one file each; method.cpp registers them in this order.
#pragma once
#include <memory>

#include "prunus/prune/method.h"

namespace prunus {
namespace prune {

std::shared_ptr<PruningMethod> make_full_method();           // method_full.cpp
std::shared_ptr<PruningMethod> make_slimming_method();       // method_slimming.cpp
std::shared_ptr<PruningMethod> make_swp_method();            // method_swp.cpp
std::shared_ptr<PruningMethod> make_l1norm_method();         // method_l1norm.cpp
std::shared_ptr<PruningMethod> make_full_plain_l1_method();  // method_full_plain_l1.cpp

}  // namespace prune
}  // namespace prunus
