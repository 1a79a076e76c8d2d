// The built-in granularities, one file each; granularity.cpp registers them in this order.
#pragma once
#include <memory>

#include "prunus/prune/granularity.h"

namespace prunus {
namespace prune {

std::shared_ptr<Granularity> make_filter_granularity();   // granularity_filter.cpp
std::shared_ptr<Granularity> make_channel_granularity();  // granularity_channel.cpp
std::shared_ptr<Granularity> make_stripe_granularity();   // granularity_stripe.cpp
std::shared_ptr<Granularity> make_weight_granularity();   // granularity_weight.cpp

}  // namespace prune
}  // namespace prunus
