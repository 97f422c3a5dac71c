// Bad addresses and numbers (issue 4 item 8): a permanent SMTP rejection of the mailbox, a
// failed SMS delivery report, a bounce reported by the mail server, or an endpoint that says
// it is gone marks the address. Later messages to it are `rejected` without a network try
// until staff correct or clear it (audited). Staff see the addresses of their subtree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/identity.h"
#include "platform/storage/database.h"

namespace guichet::notify {

inline constexpr int64_t kBadAddressListRowsMax = 500;
inline constexpr int64_t kReasonBytesMax = 500;

struct BadAddress {
  int64_t id = 0;
  std::string channel;
  std::string address;
  std::optional<int64_t> organisation_id;
  std::string reason;
  std::string source;  // smtp, sms_gateway (refused at submission), sms_report, bounce_report, gone
  std::optional<int64_t> message_id;
  std::optional<int64_t> status_code;
  int64_t created_at_ms = 0;
  std::optional<int64_t> cleared_at_ms;
  std::optional<int64_t> cleared_by;
  std::optional<std::string> corrected_to;
};

Result<bool> IsBad(storage::Transaction& tx, std::string_view channel, std::string_view address);
// Idempotent: an address already marked (and not cleared) keeps its first record.
Status MarkBad(storage::Transaction& tx, const BadAddress& bad, int64_t now_ms);

struct BadAddressFilter {
  std::optional<std::string> channel;
  bool include_cleared = false;
};

// The staff side: list within the caller's scope, clear or correct (audited).
class BadAddresses {
 public:
  BadAddresses(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer)
      : database_(database), clock_(clock), authorizer_(authorizer) {}
  Result<std::vector<BadAddress>> List(const identity::Caller& caller, const BadAddressFilter& filter);
  // `corrected_to`: the new address or number, given to the team that owns the person's record
  // (kept here for the audit); empty: the address was fine after all (e.g. a full mailbox).
  Result<BadAddress> Clear(const identity::Caller& caller, int64_t id, const std::string& corrected_to,
                           const std::string& request_id);

 private:
  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
};

inline constexpr std::string_view kBadAddressesRead = "notify.addresses.read";
inline constexpr std::string_view kBadAddressesManage = "notify.addresses.manage";

}  // namespace guichet::notify
