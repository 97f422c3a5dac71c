// The business-day calendar that SEPA delays are counted in. A day is a business day when it
// is a TARGET2 settlement day (not Saturday, Sunday, 1 January, Good Friday, Easter Monday,
// 1 May, 25 or 26 December) and not a French public holiday (1 January, Easter Monday, 1 May,
// 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 November, 11 November, 25 December).
// Dates are civil dates without a time zone; the caller decides which day "today" is (Paris).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace guichet::banking {

using Date = std::chrono::year_month_day;

// Easter Sunday of a Gregorian year (the anonymous Gregorian computus), 1583..9999.
Date EasterSunday(int year);

bool IsTarget2ClosingDay(Date day);
bool IsFrenchPublicHoliday(Date day);
bool IsBusinessDay(Date day);

// The n-th business day after `day` (n ≥ 0; n = 0 gives `day` itself when it is a business
// day, otherwise the next one).
Date AddBusinessDays(Date day, int n);

// "2026-12-01" ↔ Date. Parse refuses anything but a valid YYYY-MM-DD.
std::string FormatDate(Date day);
std::optional<Date> ParseDate(std::string_view text);

// The civil date in Paris (CET/CEST, EU summer-time rule) of an instant.
Date ParisDate(int64_t epoch_ms);

}  // namespace guichet::banking
