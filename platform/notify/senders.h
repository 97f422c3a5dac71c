// Who an organisation's e-mail comes from: address and display name, reply-to, the domain of
// Message-IDs, and an optional DKIM key for that domain. Set on any organisation and inherited
// down the tree (a city without its own sender writes as its syndicate); the deployment's
// default sender (settings) applies when no organisation above has one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/identity.h"
#include "platform/storage/database.h"

namespace guichet::notify {

inline constexpr int64_t kSenderNameLengthMax = 120;
inline constexpr int64_t kAddressLengthMax = 254;  // RFC 5321 path limit
inline constexpr int64_t kDkimKeyBytesMax = 8 * 1024;
inline constexpr std::string_view kSendersManage = "notify.senders.manage";

struct Sender {
  std::string from_address;
  std::string display_name;
  std::string reply_to;       // may be empty
  std::string domain;         // Message-ID domain and DKIM d=
  std::string dkim_selector;  // empty: not signed
  std::string dkim_private_key;  // PEM (RSA); write-only through the API
  std::optional<int64_t> organisation_id;  // where it is set; nullopt: the deployment default
};

// Nearest sender from the organisation up to its root; nullopt when none is set.
Result<std::optional<Sender>> ResolveSender(storage::Transaction& tx, std::optional<int64_t> organisation_id);

// Checks an address enough to refuse what would break an SMTP envelope or a header.
bool PlausibleEmail(std::string_view address);

class Senders {
 public:
  Senders(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer)
      : database_(database), clock_(clock), authorizer_(authorizer) {}
  // The sender in force at the organisation (its own or inherited).
  Result<std::optional<Sender>> Get(const identity::Caller& caller, int64_t organisation_id);
  Result<Sender> Set(const identity::Caller& caller, int64_t organisation_id, Sender sender,
                     const std::string& request_id);
  Status Remove(const identity::Caller& caller, int64_t organisation_id, const std::string& request_id);

 private:
  Result<std::string> RequireIn(storage::Transaction& tx, const identity::Caller& caller, int64_t organisation_id);
  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
};

}  // namespace guichet::notify
