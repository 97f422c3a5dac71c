// The settlement calculation of settlement_calc.h: validation, grouping per point and Paris
// day, the commission rounded once and shared by largest remainder, the sums and their checks.
// The documents made from the result are in settlement_documents.cpp.
#include "modules/wallet/settlement_calc.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "platform/banking/iban.h"

namespace guichet::wallet {
namespace {

constexpr int64_t kCentsPerTokenMax = 10'000;  // 100 € per token keeps every sum in int64
constexpr int64_t kFeeDay_ms = 86'400'000;     // a day, for the prorata shown on fee labels

// Products of two amounts (commission × a line's base) need more than 64 bits.
__extension__ using Wide = __int128;

Error Invalid(std::string pointer, std::string message) {
  return {ErrorKind::kValidation,
          "settlement_input_invalid",
          "The settlement cannot be calculated: " + message,
          {{std::move(pointer), std::move(message)}}};
}

Status Validate(const SettlementInput& input) {
  if (!banking::IsValidSepaReference(input.statement_id, banking::kSepaIdLengthMax)) {
    return Invalid("/statement_id",
                   "the statement id must be a SEPA reference of 1 to 35 characters");
  }
  if (input.merchant.name.empty()) return Invalid("/merchant/name", "the merchant has no name");
  if (input.period_end_ms <= input.period_start_ms ||
      input.period_end_ms - input.period_start_ms > kSettlementPeriodMax_ms) {
    return Invalid("/period_end_ms", "the period must be non-empty and at most 31 days");
  }
  if (input.commission_basis_points < 0 ||
      input.commission_basis_points > kCommissionBasisPointsMax) {
    return Invalid("/commission_basis_points",
                   "the commission must be between 0 and 10000 basis points");
  }
  if (input.brought_forward_cents < 0) {
    return Invalid("/brought_forward_cents", "the amount brought forward cannot be negative");
  }
  for (const auto& [counter, cents] : input.cents_per_token) {
    if (cents < 0 || cents > kCentsPerTokenMax) {
      return Invalid("/cents_per_token/" + counter, "a token value must be between 0 and 100 €");
    }
  }
  std::set<int64_t> points;
  for (size_t i = 0; i < input.points.size(); ++i) {
    if (!points.insert(input.points[i].point_id).second) {
      return Invalid(fmt::format("/points/{}/point_id", i), "a point is listed twice");
    }
  }
  for (size_t i = 0; i < input.fees.size(); ++i) {
    const SettlementFee& fee = input.fees[i];
    if (fee.amount_cents <= 0 || fee.amount_cents > kSettlementItemAmountMax) {
      return Invalid(fmt::format("/fees/{}/amount_cents", i), "a fee must be positive");
    }
    if (fee.label.empty()) return Invalid(fmt::format("/fees/{}/label", i), "a fee has no label");
    if (fee.point_id && !points.contains(*fee.point_id)) {
      return Invalid(fmt::format("/fees/{}/point_id", i), "a fee names an unknown point");
    }
  }
  if (input.items.size() > kSettlementItemsMax) return Invalid("/items", "too many items");
  std::set<int64_t> transactions;
  for (size_t i = 0; i < input.items.size(); ++i) {
    const SettlementItem& item = input.items[i];
    const auto at = [&](std::string_view field) { return fmt::format("/items/{}/{}", i, field); };
    if (!transactions.insert(item.transaction_id).second) {
      return Invalid(at("transaction_id"), "a transaction is listed twice");
    }
    if (!points.contains(item.point_id))
      return Invalid(at("point_id"), "an item names an unknown point");
    if (item.amount <= 0 || item.amount > kSettlementItemAmountMax) {
      return Invalid(at("amount"), "an amount must be positive and at most 1 000 000 €");
    }
    if (item.counter.empty()) return Invalid(at("counter"), "an item has no counter");
    if (item.operation == SettlementOperation::kCashReload && item.counter != kEuroCounter) {
      return Invalid(at("counter"), "a cash reload is in euros");
    }
    if (item.acknowledged_at_ms < input.period_start_ms ||
        item.acknowledged_at_ms >= input.period_end_ms) {
      return Invalid(at("acknowledged_at_ms"), "an item lies outside the period");
    }
  }
  return OkStatus();
}

int64_t CentsPerToken(const SettlementInput& input, const std::string& counter) {
  if (counter == kEuroCounter) return 1;
  const auto found = input.cents_per_token.find(counter);
  return found == input.cents_per_token.end() ? 0 : found->second;
}

void AddToCounters(std::vector<SettlementCounterLine>& lines, const SettlementItem& item,
                   int64_t cents_per_token) {
  auto line = std::find_if(lines.begin(), lines.end(),
                           [&](const auto& l) { return l.counter == item.counter; });
  if (line == lines.end()) {
    lines.push_back({item.counter, cents_per_token, 0, 0, 0, 0});
    line = lines.end() - 1;
  }
  switch (item.operation) {
    case SettlementOperation::kDebit:
      line->debits += item.amount;
      break;
    case SettlementOperation::kCancel:
      line->cancellations += item.amount;
      break;
    case SettlementOperation::kLoad:
      line->loads += item.amount;
      break;
    case SettlementOperation::kCashReload:
      line->cash_reloads += item.amount;
      break;
  }
}

void Accumulate(SettlementAmounts& into, const SettlementAmounts& add) {
  into.debits_cents += add.debits_cents;
  into.cancellations_cents += add.cancellations_cents;
  into.commission_cents += add.commission_cents;
  into.cash_reloads_cents += add.cash_reloads_cents;
  into.fees_cents += add.fees_cents;
  into.net_cents += add.net_cents;
  into.transactions += add.transactions;
}

int64_t NetOf(const SettlementAmounts& a) {
  return a.debits_cents - a.cancellations_cents - a.commission_cents - a.cash_reloads_cents -
         a.fees_cents;
}

int64_t FloorDiv(Wide numerator, int64_t denominator) {
  Wide quotient = numerator / denominator;
  if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0))) --quotient;
  return static_cast<int64_t>(quotient);
}

// The commission on the merchant's base (net debits), rounded half up once, then shared
// between the day lines in proportion to their own base by the largest-remainder method:
// shares add up to the total exactly; ties go to the earlier line.
void ShareCommission(std::vector<SettlementDay*>& lines, int64_t basis_points) {
  int64_t base = 0;
  for (const SettlementDay* line : lines)
    base += line->amounts.debits_cents - line->amounts.cancellations_cents;
  if (base <= 0 || basis_points == 0) return;
  const int64_t total =
      FloorDiv(static_cast<Wide>(base) * basis_points * 2 + kCommissionBasisPointsMax,
               2 * kCommissionBasisPointsMax);
  int64_t given = 0;
  std::vector<std::pair<int64_t, size_t>> remainders;  // (remainder, line), largest first
  for (size_t i = 0; i < lines.size(); ++i) {
    const Wide exact = static_cast<Wide>(total) *
                       (lines[i]->amounts.debits_cents - lines[i]->amounts.cancellations_cents);
    const int64_t share = FloorDiv(exact, base);
    lines[i]->amounts.commission_cents = share;
    given += share;
    remainders.emplace_back(static_cast<int64_t>(exact - static_cast<Wide>(share) * base), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  const int64_t left = total - given;
  GUICHET_ASSERT(left >= 0 && left <= static_cast<int64_t>(lines.size()));
  for (int64_t i = 0; i < left; ++i)
    lines[remainders[static_cast<size_t>(i)].second]->amounts.commission_cents += 1;
}

// Points in id order; items and fees to their point; items in time order within each point,
// summed per Paris day and per counter.
void GroupItems(const SettlementInput& input, SettlementStatement& statement) {
  std::vector<SettlementPoint> points = input.points;
  std::sort(points.begin(), points.end(),
            [](const auto& a, const auto& b) { return a.point_id < b.point_id; });
  std::map<int64_t, size_t> index;
  for (const SettlementPoint& point : points) {
    index[point.point_id] = statement.points.size();
    statement.points.push_back({point, {}, {}, {}, {}, {}});
  }
  for (const SettlementItem& item : input.items)
    statement.points[index[item.point_id]].items.push_back(item);
  for (const SettlementFee& fee : input.fees) {
    if (fee.point_id) {
      statement.points[index[*fee.point_id]].fees.push_back(fee);
    } else {
      statement.merchant_fees.push_back(fee);
    }
  }

  for (SettlementPointStatement& point : statement.points) {
    std::sort(point.items.begin(), point.items.end(), [](const auto& a, const auto& b) {
      return std::tie(a.acknowledged_at_ms, a.transaction_id) <
             std::tie(b.acknowledged_at_ms, b.transaction_id);
    });
    for (const SettlementItem& item : point.items) {
      const int64_t value = CentsPerToken(input, item.counter);
      const banking::Date day = banking::ParisDate(item.acknowledged_at_ms);
      if (point.days.empty() || point.days.back().day != day) point.days.push_back({day, {}});
      SettlementAmounts& amounts = point.days.back().amounts;
      amounts.transactions += 1;
      if (item.operation == SettlementOperation::kDebit)
        amounts.debits_cents += item.amount * value;
      if (item.operation == SettlementOperation::kCancel)
        amounts.cancellations_cents += item.amount * value;
      if (item.operation == SettlementOperation::kCashReload)
        amounts.cash_reloads_cents += item.amount;
      AddToCounters(point.counters, item, value);
      AddToCounters(statement.counters, item, value);
    }
    std::sort(point.counters.begin(), point.counters.end(),
              [](const auto& a, const auto& b) { return a.counter < b.counter; });
  }
  std::sort(statement.counters.begin(), statement.counters.end(),
            [](const auto& a, const auto& b) { return a.counter < b.counter; });
}

}  // namespace

std::string_view SettlementOperationName(SettlementOperation operation) {
  switch (operation) {
    case SettlementOperation::kDebit:
      return "debit";
    case SettlementOperation::kCancel:
      return "cancel";
    case SettlementOperation::kCashReload:
      return "cash_reload";
    case SettlementOperation::kLoad:
      return "load";
  }
  return "debit";
}

std::optional<SettlementOperation> ParseSettlementOperation(std::string_view name) {
  for (auto op : {SettlementOperation::kDebit, SettlementOperation::kCancel,
                  SettlementOperation::kCashReload, SettlementOperation::kLoad}) {
    if (SettlementOperationName(op) == name) return op;
  }
  return std::nullopt;
}

std::string_view FeeKindName(FeeKind kind) {
  switch (kind) {
    case FeeKind::kPerRun:
      return "per_run";
    case FeeKind::kPerDebit:
      return "per_debit";
    case FeeKind::kPerPointMonth:
      return "per_point_month";
  }
  return "per_run";
}

std::optional<FeeKind> ParseFeeKind(std::string_view name) {
  for (auto kind : {FeeKind::kPerRun, FeeKind::kPerDebit, FeeKind::kPerPointMonth}) {
    if (FeeKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::vector<SettlementFee> ScheduleFees(const std::vector<FeeScheduleLine>& schedule,
                                        const std::vector<SettlementItem>& items,
                                        const std::vector<int64_t>& active_points,
                                        int64_t period_ms) {
  GUICHET_ASSERT(period_ms > 0 && period_ms <= kSettlementPeriodMax_ms);
  std::map<int64_t, int64_t> debits;  // point → acknowledged debits
  for (const SettlementItem& item : items) {
    if (item.operation == SettlementOperation::kDebit) debits[item.point_id] += 1;
  }
  std::set<int64_t> active(active_points.begin(), active_points.end());
  std::vector<SettlementFee> fees;
  for (const FeeScheduleLine& line : schedule) {
    GUICHET_ASSERT(line.amount_cents >= 0 && line.amount_cents <= kFeeAmountCentsMax);
    if (line.amount_cents == 0) continue;
    const std::string kind(FeeKindName(line.kind));
    switch (line.kind) {
      case FeeKind::kPerRun:
        fees.push_back({line.label_fr, line.amount_cents, std::nullopt, kind});
        break;
      case FeeKind::kPerDebit:
        for (const auto& [point, count] : debits) {
          fees.push_back({fmt::format("{} ({} × {})", line.label_fr, count,
                                      FormatEurosFr(line.amount_cents)),
                          line.amount_cents * count, point, kind});
        }
        break;
      case FeeKind::kPerPointMonth: {
        // amount × period / month, half up; the product fits: 10^5 × 2.7·10^9 < 2^63.
        const int64_t amount =
            (line.amount_cents * period_ms * 2 + kFeeMonth_ms) / (2 * kFeeMonth_ms);
        if (amount == 0) break;
        const int64_t tenths_of_days = (period_ms * 10 + kFeeDay_ms / 2) / kFeeDay_ms;
        for (const int64_t point : active) {
          fees.push_back({fmt::format("{} ({},{} j / 30)", line.label_fr, tenths_of_days / 10,
                                      tenths_of_days % 10),
                          amount, point, kind});
        }
        break;
      }
    }
  }
  return fees;
}

Result<SettlementStatement> CalculateSettlement(const SettlementInput& input) {
  GUICHET_TRY_STATUS(Validate(input));
  SettlementStatement statement;
  statement.statement_id = input.statement_id;
  statement.merchant = input.merchant;
  auto iban = banking::NormaliseIban(input.merchant.iban);
  if (!iban) return Invalid("/merchant/iban", iban.error().message);
  statement.merchant.iban = *iban;
  if (!input.merchant.bic.empty()) {
    auto bic = banking::NormaliseBic(input.merchant.bic);
    if (!bic) return Invalid("/merchant/bic", bic.error().message);
    statement.merchant.bic = *bic;
  }
  statement.period_start_ms = input.period_start_ms;
  statement.period_end_ms = input.period_end_ms;
  statement.commission_basis_points = input.commission_basis_points;
  statement.brought_forward_cents = input.brought_forward_cents;

  GroupItems(input, statement);

  std::vector<SettlementDay*> days;
  for (SettlementPointStatement& point : statement.points) {
    for (SettlementDay& day : point.days) days.push_back(&day);
  }
  ShareCommission(days, input.commission_basis_points);

  for (SettlementPointStatement& point : statement.points) {
    for (SettlementDay& day : point.days) {
      day.amounts.net_cents = NetOf(day.amounts);
      Accumulate(point.totals, day.amounts);
    }
    for (const SettlementFee& fee : point.fees) point.totals.fees_cents += fee.amount_cents;
    point.totals.net_cents = NetOf(point.totals);
    Accumulate(statement.totals, point.totals);
  }
  for (const SettlementFee& fee : statement.merchant_fees)
    statement.totals.fees_cents += fee.amount_cents;
  statement.totals.net_cents = NetOf(statement.totals);
  statement.net_cents = statement.totals.net_cents - statement.brought_forward_cents;
  statement.payable_cents = std::max<int64_t>(statement.net_cents, 0);
  statement.carried_forward_cents = std::max<int64_t>(-statement.net_cents, 0);
  GUICHET_ASSERT(SettlementAddsUp(statement));
  return statement;
}

bool SettlementAddsUp(const SettlementStatement& statement) {
  SettlementAmounts merchant;
  for (const SettlementPointStatement& point : statement.points) {
    SettlementAmounts sum;
    for (const SettlementDay& day : point.days) {
      if (day.amounts.fees_cents != 0 || day.amounts.net_cents != NetOf(day.amounts)) return false;
      Accumulate(sum, day.amounts);
    }
    for (const SettlementFee& fee : point.fees) {
      sum.fees_cents += fee.amount_cents;
      sum.net_cents -= fee.amount_cents;
    }
    if (std::tie(sum.debits_cents, sum.cancellations_cents, sum.commission_cents,
                 sum.cash_reloads_cents, sum.fees_cents, sum.net_cents, sum.transactions) !=
        std::tie(point.totals.debits_cents, point.totals.cancellations_cents,
                 point.totals.commission_cents, point.totals.cash_reloads_cents,
                 point.totals.fees_cents, point.totals.net_cents, point.totals.transactions)) {
      return false;
    }
    if (static_cast<size_t>(point.totals.transactions) != point.items.size()) return false;
    Accumulate(merchant, point.totals);
  }
  for (const SettlementFee& fee : statement.merchant_fees) {
    merchant.fees_cents += fee.amount_cents;
    merchant.net_cents -= fee.amount_cents;
  }
  const SettlementAmounts& t = statement.totals;
  if (std::tie(merchant.debits_cents, merchant.cancellations_cents, merchant.commission_cents,
               merchant.cash_reloads_cents, merchant.fees_cents, merchant.net_cents,
               merchant.transactions) != std::tie(t.debits_cents, t.cancellations_cents,
                                                  t.commission_cents, t.cash_reloads_cents,
                                                  t.fees_cents, t.net_cents, t.transactions)) {
    return false;
  }
  if (t.net_cents != NetOf(t)) return false;
  if (statement.net_cents != t.net_cents - statement.brought_forward_cents) return false;
  if (statement.payable_cents < 0 || statement.carried_forward_cents < 0) return false;
  if (statement.payable_cents - statement.carried_forward_cents != statement.net_cents)
    return false;
  return statement.payable_cents == 0 || statement.carried_forward_cents == 0;
}

}  // namespace guichet::wallet
