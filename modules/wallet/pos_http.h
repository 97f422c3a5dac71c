// The API of the acceptance network (pos.h): staff routes for merchants, points, approval,
// device swap, opposition and test accounts under /api/v1/wallet/…; the points' own
// device-signed protocol under /api/v1/pos/… (docs/pos-protocol.md); the holder's web-shop
// payment codes; and the job that makes lapsed holds' rows follow the ledger.
#pragma once

#include "modules/wallet/pos.h"
#include "platform/identity/identity_http.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

// "wallet.pos.expire": pending debits whose hold lapsed become `expired`.
inline constexpr int64_t kPosExpireEveryMs = 5000;

// The body of an operation route (/api/v1/pos/debits, /loads, /cash-reloads, /cancellations);
// without point_at_ms when !with_point_time (offline events carry the point's time as at_ms).
// Unknown fields are refused: validation_failed.
Result<PointOperation> ParseOperationJson(const boost::json::object& body, PosOperation kind,
                                          bool with_point_time);

void AddPosRoutes(http::Router& router, identity::IdentityHttpContext& context, Pos& pos);
void RegisterPosJobs(jobs::Runner& runner, Pos& pos);

}  // namespace guichet::wallet
