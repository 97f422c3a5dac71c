// The API of settlement runs (settlement.h) under /api/v1/wallet/settlements…: run a merchant
// now, list and read runs, download their documents, regenerate them, export the pain.001 file
// paying due runs; and the daily job "wallet.settlement" running every merchant that is due.
#pragma once

#include "modules/wallet/settlement.h"
#include "platform/identity/identity_http.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

void AddSettlementRoutes(http::Router& router, identity::IdentityHttpContext& context,
                         Settlements& settlements);
void RegisterSettlementJobs(jobs::Runner& runner, Settlements& settlements);

}  // namespace guichet::wallet
