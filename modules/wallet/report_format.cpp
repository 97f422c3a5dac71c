// Formatting shared by the wallet's reports: see report_format.h.
#include "modules/wallet/report_format.h"

#include <fmt/format.h>

#include <chrono>

namespace guichet::wallet::report {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

int64_t LastSundayOneUtcMs(int year, unsigned month) {
  const std::chrono::year_month_day_last last{
      std::chrono::year{year}, std::chrono::month_day_last{std::chrono::month{month}}};
  sys_days day{last};
  while (std::chrono::weekday{day} != std::chrono::Sunday) day -= days{1};
  return std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()).count() +
         3'600'000;
}

std::string Grouped(int64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u00A0";
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

int64_t ParisOffsetMs(int64_t epoch_ms) {
  const auto utc_day = std::chrono::floor<days>(sys_days{} + std::chrono::milliseconds{epoch_ms});
  const int year = static_cast<int>(banking::Date{utc_day}.year());
  const bool summer =
      epoch_ms >= LastSundayOneUtcMs(year, 3) && epoch_ms < LastSundayOneUtcMs(year, 10);
  return summer ? 2 * 3'600'000 : 3'600'000;
}

std::string EurosFr(int64_t cents) {
  const int64_t magnitude = cents < 0 ? -cents : cents;
  return fmt::format("{}{},{:02d}\u00A0€", cents < 0 ? "-" : "", Grouped(magnitude / 100),
                     magnitude % 100);
}

std::string Decimal(int64_t cents) {
  const int64_t magnitude = cents < 0 ? -cents : cents;
  return fmt::format("{}{}.{:02d}", cents < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}

std::string QuantityFr(std::string_view counter, int64_t amount) {
  if (counter == "EUR") return EurosFr(amount);
  return fmt::format("{}{} jeton{}", amount < 0 ? "-" : "", Grouped(amount < 0 ? -amount : amount),
                     amount == 1 || amount == -1 ? "" : "s");
}

std::string DateFr(banking::Date day) {
  return fmt::format("{:02d}/{:02d}/{:04d}", static_cast<unsigned>(day.day()),
                     static_cast<unsigned>(day.month()), static_cast<int>(day.year()));
}

namespace {
std::string Clock(int64_t epoch_ms, std::string_view format_date) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds{epoch_ms}};
  const auto day = floor<days>(at);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> time{duration_cast<seconds>(at - day)};
  if (format_date == "iso") {
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       time.hours().count(), time.minutes().count(), time.seconds().count());
  }
  return fmt::format("{} {:02d}:{:02d}:{:02d}", DateFr(ymd), time.hours().count(),
                     time.minutes().count(), time.seconds().count());
}
}  // namespace

std::string DateTimeParis(int64_t epoch_ms) {
  return Clock(epoch_ms + ParisOffsetMs(epoch_ms), "fr");
}

std::string IsoUtc(int64_t epoch_ms) { return Clock(epoch_ms, "iso"); }

}  // namespace guichet::wallet::report
