// Merchants' fee schedules (W19 "les autres frais de gestion éventuels"): a regional admin of a
// merchant (the same right as for its merchant record, wallet.merchants.manage) sets named fee
// lines of a few kinds — a fixed fee per settlement run, per acknowledged debit, per active point
// and month (settlement_calc.h, FeeKind) — effective from a Paris civil date. Every change is a
// new schedule version: the history is kept, and a settlement run bills the version in force at
// the last instant of its period, then stores the fee lines it billed
// (wallet_settlement_run_fees), so a later change never alters a past run and regenerating its
// documents gives the same figures.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/pos.h"
#include "modules/wallet/settlement_calc.h"
#include "platform/storage/migrations.h"

namespace guichet::wallet {

inline constexpr int64_t kFeeScheduleHistoryMax = 100;  // versions listed by GET

// Refusals of PUT …/fees (all 422 but merchant_not_found, 404). docs/settlement.md lists them.
namespace fee_code {
inline constexpr std::string_view kKindUnknown = "merchant_fee_kind_unknown";
inline constexpr std::string_view kKindRepeated = "merchant_fee_kind_repeated";
inline constexpr std::string_view kAmountOutOfRange = "merchant_fee_amount_out_of_range";
inline constexpr std::string_view kLabelInvalid = "merchant_fee_label_invalid";
inline constexpr std::string_view kTooManyLines = "merchant_fee_lines_too_many";
inline constexpr std::string_view kDateInvalid = "merchant_fee_effective_date_invalid";
inline constexpr std::string_view kDatePast = "merchant_fee_effective_date_past";
}  // namespace fee_code

// A line as the request gives it: the kind still as text, checked by SetMerchantFees.
struct NewFeeLine {
  std::string kind;
  std::string label_fr, label_en;
  int64_t amount_cents = 0;
};

struct NewFeeSchedule {
  std::string effective_from;     // "2026-12-01", Paris civil date, today or later
  std::vector<NewFeeLine> lines;  // empty: no fees from that date
};

struct FeeSchedule {
  int64_t id = 0;
  int64_t merchant_org_id = 0;
  std::string effective_from;
  int64_t effective_from_ms = 0;  // Paris midnight of effective_from
  std::vector<FeeScheduleLine> lines;
  int64_t created_at_ms = 0;
};

struct MerchantFees {
  int64_t merchant_id = 0;
  std::optional<FeeSchedule> current;  // in force now
  std::vector<FeeSchedule> schedules;  // every version, newest effective date first
};

// Read: wallet.settlements.read or wallet.merchants.manage at the merchant (the merchant reads
// its own). Another region's merchant: merchant_not_found (404).
Result<MerchantFees> GetMerchantFees(Pos& pos, const identity::Caller& caller, int64_t merchant_id);
// Write: wallet.merchants.manage at the merchant. A new version from request.effective_from.
Result<MerchantFees> SetMerchantFees(Pos& pos, const identity::Caller& caller, int64_t merchant_id,
                                     const NewFeeSchedule& request);

// The Paris midnight that starts `day`, as epoch milliseconds.
int64_t ParisMidnightMs(banking::Date day);

// --- For settlement runs, in the run's transaction ------------------------------------------

// The schedule in force at `at_ms` (the latest effective date ≤ at_ms; the last set on a tie).
Result<std::optional<FeeSchedule>> FeeScheduleAt(storage::Transaction& tx, int64_t merchant_id,
                                                 int64_t at_ms);
// Adds to a new run's input the fees of the schedule in force at the period's last instant.
// Active points: the merchant's real points approved before the period's end and still
// approved, plus every point with an operation in the run; a point billed but without items is
// added to input.points.
Status AddScheduledFees(storage::Transaction& tx, int64_t merchant_id, SettlementInput& input);
// Stores the fees a run billed; AddStoredRunFees puts them back into a recomputed input.
Status StoreRunFees(storage::Transaction& tx, int64_t run_id, const SettlementInput& input);
Status AddStoredRunFees(storage::Transaction& tx, int64_t run_id, int64_t merchant_id,
                        SettlementInput& input);

std::vector<storage::Migration> FeeMigrations();

boost::json::object FeeScheduleJson(const FeeSchedule& schedule);
boost::json::object MerchantFeesJson(const MerchantFees& fees);

}  // namespace guichet::wallet
