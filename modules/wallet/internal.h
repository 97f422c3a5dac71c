// Helpers shared by the wallet's translation units; not part of the module's API.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"

namespace guichet::wallet::internal {

// The audit trail's actor for a caller ("user", "api_key", "device", "system"). Holders acting
// on their own account are recorded as "system" with "by": "holder" in the entry's data.
std::string ActorType(const identity::Caller& caller);
std::optional<int64_t> ActorId(const identity::Caller& caller);
storage::Param Nullable(std::optional<int64_t> value);
storage::Param NullableText(const std::string& value);

// Appends an audit entry about a wallet record.
Status Audit(storage::Transaction& tx, const identity::Caller* caller, std::string_view action,
             std::string_view record_type, int64_t record_id, std::optional<int64_t> organisation_id,
             const boost::json::value& before, const boost::json::value& after,
             std::string_view request_id, int64_t now_ms);

}  // namespace guichet::wallet::internal
