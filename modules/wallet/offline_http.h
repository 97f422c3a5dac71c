// Routes of the wallet's offline mode for staff: a point's offline report and a merchant's
// payments awaiting funds (the points themselves use platform/sync's routes).
#pragma once

#include "modules/wallet/offline.h"
#include "platform/identity/identity_http.h"

namespace guichet::wallet {

void AddOfflineRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      OfflineReports& reports);

}  // namespace guichet::wallet
