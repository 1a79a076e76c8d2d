// The demo's config (`prunus demo`), built into the program so that the demo
// runs from any directory; experiments/configs/fashion_lenet_demo.conf holds
// the same settings (a test checks that they agree).
#pragma once

namespace prunus {
namespace app {

const char* demo_config_text();

}  // namespace app
}  // namespace prunus
