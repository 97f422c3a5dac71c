#include "platform/secrets/secrets.h"

#include "platform/base/assert.h"
#include "platform/base/crypto.h"

namespace guichet::secrets {

using storage::Transaction;
using storage::TransactionMode;

std::vector<storage::Migration> Migrations() {
  const std::string table =
      "CREATE TABLE deployment_secrets (name TEXT PRIMARY KEY, secret_hex TEXT NOT NULL,"
      " created_at BIGINT NOT NULL)";
  return {{"platform.secrets", 1, "create deployment secrets", table, table}};
}

Result<std::string> LoadOrCreate(storage::Database& database, std::string_view name,
                                 std::string_view configured, int64_t now_ms) {
  GUICHET_ASSERT(!name.empty() && static_cast<int64_t>(name.size()) <= kNameLengthMax);
  if (!configured.empty()) return std::string(configured);
  return database.Transact<std::string>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::string> {
    const std::string fresh = crypto::ToHex(crypto::RandomBytes(kSecretBytes));
    auto inserted = tx.Execute(
        "INSERT INTO deployment_secrets (name, secret_hex, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        {std::string(name), fresh, now_ms});
    if (!inserted.ok()) return std::move(inserted).error();
    auto row = tx.QueryOne("SELECT secret_hex FROM deployment_secrets WHERE name = $1", {std::string(name)});
    if (!row.ok()) return std::move(row).error();
    GUICHET_ASSERT(row->has_value());
    const std::string hex = (*row)->Text(0);
    GUICHET_ASSERT(static_cast<int64_t>(hex.size()) == 2 * kSecretBytes);
    return hex;
  });
}

}  // namespace guichet::secrets
