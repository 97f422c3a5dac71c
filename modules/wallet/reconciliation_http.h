// The API of reconciliation (reconciliation.h): the points' own routes under
// /api/v1/pos/reconciliations… (device-signed; docs/pos-protocol.md, "Reconciliation"), the
// staff and merchant routes under /api/v1/wallet/…, and the job "wallet.reconciliation".
#pragma once

#include "modules/wallet/reconciliation.h"
#include "platform/identity/identity_http.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

void AddReconciliationRoutes(http::Router& router, identity::IdentityHttpContext& context,
                             Reconciliations& reconciliations);
void RegisterReconciliationJobs(jobs::Runner& runner, Reconciliations& reconciliations);

}  // namespace guichet::wallet
