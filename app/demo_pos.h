// Demo data for points of sale (`guichet demo`): a merchant of the demo region with its bank
// account, commission and fee schedule, and two approved points — a till with every W13
// permission (offline and cancel included) and a vending machine that may only debit. At every
// demo start, each demo point not yet paired gets a fresh pairing code (valid 15 minutes), so
// that an operator can pair the web till (/till) or tools/pos-sim at once. Loading twice makes
// nothing twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"

namespace guichet::app {

inline constexpr std::string_view kDemoMerchantName = "Cafétéria Diderot (démo)";
inline constexpr std::string_view kDemoTillId = "DEMO-CAISSE-1";
inline constexpr std::string_view kDemoVendingId = "DEMO-DISTRIB-1";

struct DemoPointCode {
  int64_t point_id = 0;
  std::string institution_id;  // DEMO-CAISSE-1…
  std::string type;            // till, vending_machine
  std::string state;           // approved, opposed
  std::string code;            // the pairing code; empty when the point is paired already
  int64_t expires_at_ms = 0;
};

struct DemoPos {
  int64_t merchant_id = 0;
  std::vector<DemoPointCode> points;
};

// Loads the demo merchant and points (LoadDemo first: it makes the region and its regional
// administrator, who acts here) and issues the fresh pairing codes.
Result<DemoPos> LoadPosDemo(storage::Database& database, const identity::Authorizer& authorizer,
                            const Clock& clock);

// What `guichet demo` prints and writes to var/demo-pos.txt: one line per point,
// "DEMO-CAISSE-1 till point 3 code ABCD2345 until 2026-11-29T14:40:00Z", or "… paired" (or
// "… opposed") when it gets no code.
std::string DemoPosText(const DemoPos& demo);

}  // namespace guichet::app
