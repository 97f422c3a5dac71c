// The fraud API (W20): rules per organisation, alerts, an on-demand scan; and the scan job.
#pragma once

#include "modules/wallet/fraud.h"
#include "platform/identity/identity_http.h"

namespace guichet::wallet {

void AddFraudRoutes(http::Router& router, identity::IdentityHttpContext& context, Fraud& fraud);

}  // namespace guichet::wallet
