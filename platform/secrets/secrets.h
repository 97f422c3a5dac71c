// Keys that a deployment must keep across restarts and share between its processes (the
// signing key of unsubscribe and open links, of activation links…) when the operator has not
// set one: generated once, on first use, and stored in the database. Every `guichet serve`
// on the same database reads the same value; a restart does not invalidate links already sent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::secrets {

inline constexpr int64_t kSecretBytes = 32;
inline constexpr int64_t kNameLengthMax = 64;

std::vector<storage::Migration> Migrations();

// `configured` when the operator set one (settings), else the stored secret named `name`,
// created with kSecretBytes random bytes the first time. Two processes starting together
// agree on one value (the first insert wins).
Result<std::string> LoadOrCreate(storage::Database& database, std::string_view name,
                                 std::string_view configured, int64_t now_ms);

}  // namespace guichet::secrets
