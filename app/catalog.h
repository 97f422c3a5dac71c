// The rights catalog of this deployment: every permission the platform pieces and modules
// declare, and the staff profiles of the three products built from them.
#pragma once

#include "platform/identity/rights.h"

namespace guichet::app {

identity::RightsCatalog BuildCatalog();

}  // namespace guichet::app
