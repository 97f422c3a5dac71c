#include "platform/notify/addresses.h"

#include <boost/json/serialize.hpp>

#include "platform/audit/audit.h"
#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using storage::Param;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kColumns =
    "b.id, b.channel, b.address, b.organisation_id, b.reason, b.source, b.message_id, b.status_code,"
    " b.created_at, b.cleared_at, b.cleared_by, b.corrected_to";

BadAddress BadAddressOf(const storage::Row& r) {
  return {r.Int(0),         r.Text(1),         r.Text(2),         r.OptionalInt(3),
          r.Text(4),        r.Text(5),         r.OptionalInt(6),  r.OptionalInt(7),
          r.Int(8),         r.OptionalInt(9),  r.OptionalInt(10), r.OptionalText(11)};
}

std::string UpperBound(std::string_view path) {
  // Paths end with '/', and '0' follows '/': [path, upper) is the subtree.
  std::string upper(path);
  GUICHET_ASSERT(!upper.empty() && upper.back() == '/');
  upper.back() = '0';
  return upper;
}

std::string AuditJson(const BadAddress& bad) {
  boost::json::object json{{"channel", bad.channel},
                           {"address", bad.address},
                           {"reason", bad.reason},
                           {"source", bad.source}};
  if (bad.cleared_at_ms) json["cleared_at"] = *bad.cleared_at_ms;
  if (bad.corrected_to) json["corrected_to"] = *bad.corrected_to;
  return boost::json::serialize(json);
}

}  // namespace

Result<bool> IsBad(Transaction& tx, std::string_view channel, std::string_view address) {
  auto row = tx.QueryOne(
      "SELECT 1 FROM notify_bad_addresses WHERE channel = $1 AND address = $2 AND cleared_at IS NULL",
      {std::string(channel), std::string(address)});
  if (!row.ok()) return std::move(row).error();
  return row->has_value();
}

Status MarkBad(Transaction& tx, const BadAddress& bad, int64_t now_ms) {
  GUICHET_ASSERT(!bad.channel.empty() && !bad.address.empty() && !bad.source.empty());
  auto inserted = tx.Execute(
      "INSERT INTO notify_bad_addresses (channel, address, organisation_id, reason, source, message_id,"
      " status_code, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
      {bad.channel, bad.address, bad.organisation_id ? Param(*bad.organisation_id) : Param(nullptr),
       bad.reason.substr(0, kReasonBytesMax), bad.source,
       bad.message_id ? Param(*bad.message_id) : Param(nullptr),
       bad.status_code ? Param(*bad.status_code) : Param(nullptr), now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::vector<BadAddress>> BadAddresses::List(const identity::Caller& caller, const BadAddressFilter& filter) {
  const std::vector<std::string> scopes = authorizer_.Scopes(caller, kBadAddressesRead);
  return database_.Transact<std::vector<BadAddress>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<BadAddress>> {
        std::vector<BadAddress> list;
        for (const std::string& path : scopes) {
          auto rows = tx.Query(
              "SELECT " + std::string(kColumns) +
                  " FROM notify_bad_addresses b JOIN organisations o ON o.id = b.organisation_id"
                  " WHERE o.path >= $1 AND o.path < $2 AND ($3 = '' OR b.channel = $3)"
                  " AND ($4 OR b.cleared_at IS NULL) ORDER BY b.id DESC LIMIT $5",
              {path, UpperBound(path), filter.channel.value_or(""), filter.include_cleared,
               kBadAddressListRowsMax});
          if (!rows.ok()) return std::move(rows).error();
          for (const storage::Row& row : rows->rows) list.push_back(BadAddressOf(row));
        }
        std::sort(list.begin(), list.end(), [](const BadAddress& a, const BadAddress& b) { return a.id > b.id; });
        if (static_cast<int64_t>(list.size()) > kBadAddressListRowsMax) list.resize(kBadAddressListRowsMax);
        return list;
      });
}

Result<BadAddress> BadAddresses::Clear(const identity::Caller& caller, int64_t id, const std::string& corrected_to,
                                       const std::string& request_id) {
  return database_.Transact<BadAddress>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<BadAddress> {
    auto row = tx.QueryOne("SELECT " + std::string(kColumns) + " FROM notify_bad_addresses b WHERE b.id = $1",
                           {id});
    if (!row.ok()) return std::move(row).error();
    const Error not_found = Error::NotFound("bad_address_not_found", "no such bad address in your scope");
    if (!*row) return not_found;
    BadAddress bad = BadAddressOf(**row);
    if (!bad.organisation_id) return not_found;
    auto org = orgs::Find(tx, *bad.organisation_id);
    if (!org.ok()) return std::move(org).error();
    if (!*org || !authorizer_.Allows(caller, kBadAddressesRead, (*org)->path)) return not_found;
    GUICHET_TRY_STATUS(authorizer_.Require(caller, kBadAddressesManage, (*org)->path));
    if (bad.cleared_at_ms) return Error::Conflict("bad_address_cleared", "this address was cleared already");
    const std::string before = AuditJson(bad);
    const int64_t now = clock_.NowMs();
    auto updated = tx.Execute(
        "UPDATE notify_bad_addresses SET cleared_at = $2, cleared_by = $3, corrected_to = $4"
        " WHERE id = $1 AND cleared_at IS NULL",
        {id, now, caller.id, corrected_to.empty() ? Param(nullptr) : Param(corrected_to)});
    if (!updated.ok()) return std::move(updated).error();
    bad.cleared_at_ms = now;
    bad.cleared_by = caller.id;
    if (!corrected_to.empty()) bad.corrected_to = corrected_to;
    GUICHET_TRY_STATUS(audit::Append(tx, {"user", caller.id, bad.organisation_id, "notify.bad_address.clear",
                                          "bad_address", std::to_string(id), before, AuditJson(bad), request_id},
                                     now));
    return bad;
  });
}

}  // namespace guichet::notify
