#include "platform/banking/calendar.h"

#include <fmt/format.h>

#include <charconv>

#include "platform/base/assert.h"

namespace guichet::banking {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::weekday;

constexpr int Md(unsigned month, unsigned day) { return static_cast<int>(month * 100 + day); }

int MonthDay(Date day) {
  return Md(static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
}

Date Shift(Date day, int n) { return Date{sys_days{day} + days{n}}; }

bool IsWeekend(Date day) {
  const weekday wd{sys_days{day}};
  return wd == std::chrono::Saturday || wd == std::chrono::Sunday;
}

// The last Sunday of `month` in `year`, at 01:00 UTC: when Paris changes its offset.
int64_t LastSundayOneUtcMs(int year, unsigned month) {
  const auto last = std::chrono::year_month_day_last{std::chrono::year{year},
                                                    std::chrono::month_day_last{std::chrono::month{month}}};
  sys_days day{last};
  while (weekday{day} != std::chrono::Sunday) day -= days{1};
  return std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()).count() +
         3'600'000;
}

}  // namespace

Date EasterSunday(int year) {
  GUICHET_ASSERT(year >= 1583 && year <= 9999);
  const int a = year % 19;
  const int b = year / 100;
  const int c = year % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
              std::chrono::day{static_cast<unsigned>(day)}};
}

bool IsTarget2ClosingDay(Date day) {
  if (IsWeekend(day)) return true;
  switch (MonthDay(day)) {
    case Md(1, 1): case Md(5, 1): case Md(12, 25): case Md(12, 26):
      return true;
    default:
      break;
  }
  const Date easter = EasterSunday(static_cast<int>(day.year()));
  return day == Shift(easter, -2) || day == Shift(easter, 1);
}

bool IsFrenchPublicHoliday(Date day) {
  switch (MonthDay(day)) {
    case Md(1, 1): case Md(5, 1): case Md(5, 8): case Md(7, 14):
    case Md(8, 15): case Md(11, 1): case Md(11, 11): case Md(12, 25):
      return true;
    default:
      break;
  }
  const Date easter = EasterSunday(static_cast<int>(day.year()));
  return day == Shift(easter, 1) || day == Shift(easter, 39) || day == Shift(easter, 50);
}

bool IsBusinessDay(Date day) { return !IsTarget2ClosingDay(day) && !IsFrenchPublicHoliday(day); }

Date AddBusinessDays(Date day, int n) {
  GUICHET_ASSERT(n >= 0);
  while (!IsBusinessDay(day)) day = Shift(day, 1);
  for (int i = 0; i < n; ++i) {
    day = Shift(day, 1);
    while (!IsBusinessDay(day)) day = Shift(day, 1);
  }
  return day;
}

std::string FormatDate(Date day) {
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(day.year()),
                     static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
}

std::optional<Date> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  const auto parse = [](std::string_view part, auto& out) {
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc{} && ptr == part.data() + part.size();
  };
  if (!parse(text.substr(0, 4), y) || !parse(text.substr(5, 2), m) || !parse(text.substr(8, 2), d)) {
    return std::nullopt;
  }
  const Date date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!date.ok() || y < 1583) return std::nullopt;
  return date;
}

Date ParisDate(int64_t epoch_ms) {
  const auto utc_day = std::chrono::floor<days>(sys_days{} + std::chrono::milliseconds{epoch_ms});
  const int year = static_cast<int>(Date{utc_day}.year());
  const bool summer = epoch_ms >= LastSundayOneUtcMs(year, 3) && epoch_ms < LastSundayOneUtcMs(year, 10);
  const int64_t offset_ms = summer ? 2 * 3'600'000 : 3'600'000;
  const auto local = sys_days{} + std::chrono::milliseconds{epoch_ms + offset_ms};
  return Date{std::chrono::floor<days>(local)};
}

}  // namespace guichet::banking
