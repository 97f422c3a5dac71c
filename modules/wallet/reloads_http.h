// The API of the wallet's money in and out (reloads.h): the holder's card reloads, saved
// cards, transfers, reload links and refunds (holder session), the card acquirer's signed
// notifications and the payer's return page (public), third-party links (public), cash packs
// (machine clients or staff with wallet.cash.record) and SEPA files (wallet.sepa.manage).
#pragma once

#include "modules/wallet/reloads.h"
#include "modules/wallet/sepa_debits.h"
#include "platform/identity/identity_http.h"

namespace guichet::wallet {

void AddMoneyRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet, Money& money,
                    DirectDebits& debits);

}  // namespace guichet::wallet
