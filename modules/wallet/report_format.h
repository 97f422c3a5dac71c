// Formatting shared by the wallet's reports (settlement statements, reconciliation reports):
// amounts for people (French) and for XML, Paris dates and times, and the table widths the
// PDF renderers share. Pure functions, no state.
#pragma once

#include <cstdint>
#include <string>

#include "platform/banking/calendar.h"

namespace guichet::wallet::report {

// "1 234,56 €" with a no-break space between thousands, a minus sign in front when negative.
std::string EurosFr(int64_t cents);
// "-1234.56": xs:decimal with two fraction digits, for XML and CSV.
std::string Decimal(int64_t cents);
// A quantity in a counter's own unit: euros for "EUR", otherwise "12 jetons".
std::string QuantityFr(std::string_view counter, int64_t amount);
// "30/11/2026".
std::string DateFr(banking::Date day);
// "30/11/2026 14:05:09" in Paris time (CET/CEST).
std::string DateTimeParis(int64_t epoch_ms);
// "2026-11-30T13:05:09Z" (UTC, whole seconds) for XML.
std::string IsoUtc(int64_t epoch_ms);
// Paris offset from UTC at an instant: 1 h in winter, 2 h from the last Sunday of March to the
// last Sunday of October (01:00 UTC both), the EU rule banking::ParisDate applies too.
int64_t ParisOffsetMs(int64_t epoch_ms);

}  // namespace guichet::wallet::report
