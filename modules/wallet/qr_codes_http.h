// The API of the wallet's one-time QR codes (qr_codes.h): the service's public keys (public,
// for points that verify offline), the holder's phones and printable codes (holder session),
// and the managers' view and revocation of a holder's phones (staff rights).
#pragma once

#include "modules/wallet/qr_codes.h"
#include "platform/identity/identity_http.h"

namespace guichet::wallet {

void AddQrRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                 QrCodes& qr);

}  // namespace guichet::wallet
