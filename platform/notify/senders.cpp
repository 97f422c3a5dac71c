#include "platform/notify/senders.h"

#include <boost/json/serialize.hpp>

#include "platform/audit/audit.h"
#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using storage::Transaction;
using storage::TransactionMode;

std::vector<int64_t> PathIds(std::string_view path) {
  std::vector<int64_t> ids;
  int64_t current = 0;
  bool digits = false;
  for (char c : path) {
    if (c >= '0' && c <= '9') {
      current = current * 10 + (c - '0');
      digits = true;
    } else if (digits) {
      ids.push_back(current);
      current = 0;
      digits = false;
    }
  }
  return ids;
}

std::string AuditJson(const Sender& sender) {
  return boost::json::serialize(boost::json::object{{"from_address", sender.from_address},
                                                    {"display_name", sender.display_name},
                                                    {"reply_to", sender.reply_to},
                                                    {"domain", sender.domain},
                                                    {"dkim_selector", sender.dkim_selector},
                                                    {"dkim_key_set", !sender.dkim_private_key.empty()}});
}

bool PlausibleDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.' || domain.back() == '.') return false;
  if (domain.find('.') == std::string_view::npos) return false;
  for (char c : domain) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

bool PlausibleEmail(std::string_view address) {
  if (address.empty() || static_cast<int64_t>(address.size()) > kAddressLengthMax) return false;
  const size_t at = address.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= address.size()) return false;
  for (char c : address.substr(0, at)) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == ':' || c == '\\' || c == '"' || c == '[' || c == ']' || c == '@') {
      return false;
    }
  }
  return PlausibleDomain(address.substr(at + 1));
}

Result<std::optional<Sender>> ResolveSender(Transaction& tx, std::optional<int64_t> organisation_id) {
  if (!organisation_id) return std::optional<Sender>();
  auto org = orgs::Find(tx, *organisation_id);
  if (!org.ok()) return std::move(org).error();
  if (!*org) return std::optional<Sender>();
  std::vector<int64_t> ids = PathIds((*org)->path);
  for (auto id = ids.rbegin(); id != ids.rend(); ++id) {
    auto row = tx.QueryOne(
        "SELECT from_address, display_name, reply_to, domain, dkim_selector, dkim_private_key"
        " FROM notify_senders WHERE organisation_id = $1",
        {*id});
    if (!row.ok()) return std::move(row).error();
    if (*row) {
      const storage::Row& r = **row;
      return std::optional<Sender>(Sender{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), *id});
    }
  }
  return std::optional<Sender>();
}

Result<std::string> Senders::RequireIn(Transaction& tx, const identity::Caller& caller, int64_t organisation_id) {
  auto org = orgs::Find(tx, organisation_id);
  if (!org.ok()) return std::move(org).error();
  if (!*org || !authorizer_.Allows(caller, kSendersManage, (*org)->path)) {
    return Error::NotFound("organisation_not_found", "no such organisation in your scope");
  }
  return (*org)->path;
}

Result<std::optional<Sender>> Senders::Get(const identity::Caller& caller, int64_t organisation_id) {
  return database_.Transact<std::optional<Sender>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<Sender>> {
        auto path = RequireIn(tx, caller, organisation_id);
        if (!path.ok()) return std::move(path).error();
        return ResolveSender(tx, organisation_id);
      });
}

Result<Sender> Senders::Set(const identity::Caller& caller, int64_t organisation_id, Sender sender,
                            const std::string& request_id) {
  std::vector<FieldError> fields;
  if (!PlausibleEmail(sender.from_address)) fields.push_back({"/from_address", "must be an e-mail address"});
  if (!sender.reply_to.empty() && !PlausibleEmail(sender.reply_to)) {
    fields.push_back({"/reply_to", "must be an e-mail address"});
  }
  if (sender.domain.empty() && PlausibleEmail(sender.from_address)) {
    sender.domain = sender.from_address.substr(sender.from_address.rfind('@') + 1);
  }
  if (!PlausibleDomain(sender.domain)) fields.push_back({"/domain", "must be a domain name"});
  if (sender.display_name.empty() || static_cast<int64_t>(sender.display_name.size()) > kSenderNameLengthMax) {
    fields.push_back({"/display_name", "1 to 120 characters"});
  }
  if (sender.dkim_private_key.empty() != sender.dkim_selector.empty()) {
    fields.push_back({"/dkim_selector", "a DKIM selector and a private key go together"});
  }
  if (!sender.dkim_private_key.empty() &&
      sender.dkim_private_key.find("-----BEGIN") == std::string::npos) {
    fields.push_back({"/dkim_private_key", "must be a PEM private key"});
  }
  if (!fields.empty()) {
    return Error{ErrorKind::kValidation, "validation_failed", "the sender is not valid", std::move(fields)};
  }
  return database_.Transact<Sender>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Sender> {
    auto path = RequireIn(tx, caller, organisation_id);
    if (!path.ok()) return std::move(path).error();
    auto before = tx.QueryOne(
        "SELECT from_address, display_name, reply_to, domain, dkim_selector, dkim_private_key"
        " FROM notify_senders WHERE organisation_id = $1",
        {organisation_id});
    if (!before.ok()) return std::move(before).error();
    std::string before_json = "null";
    if (*before) {
      const storage::Row& r = **before;
      before_json = AuditJson({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), organisation_id});
    }
    const int64_t now = clock_.NowMs();
    auto written = tx.Execute(
        "INSERT INTO notify_senders (organisation_id, from_address, display_name, reply_to, domain,"
        " dkim_selector, dkim_private_key, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (organisation_id) DO UPDATE SET from_address = excluded.from_address,"
        " display_name = excluded.display_name, reply_to = excluded.reply_to, domain = excluded.domain,"
        " dkim_selector = excluded.dkim_selector, dkim_private_key = excluded.dkim_private_key,"
        " updated_at = excluded.updated_at",
        {organisation_id, sender.from_address, sender.display_name, sender.reply_to, sender.domain,
         sender.dkim_selector, sender.dkim_private_key, now});
    if (!written.ok()) return std::move(written).error();
    sender.organisation_id = organisation_id;
    GUICHET_TRY_STATUS(audit::Append(tx, {"user", caller.id, organisation_id, "notify.sender.set", "organisation",
                                          std::to_string(organisation_id), before_json, AuditJson(sender),
                                          request_id},
                                     now));
    return sender;
  });
}

Status Senders::Remove(const identity::Caller& caller, int64_t organisation_id, const std::string& request_id) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto path = RequireIn(tx, caller, organisation_id);
    if (!path.ok()) return std::move(path).error();
    auto removed = tx.Execute("DELETE FROM notify_senders WHERE organisation_id = $1", {organisation_id});
    if (!removed.ok()) return std::move(removed).error();
    if (*removed == 0) return Error::NotFound("sender_not_found", "this organisation has no sender of its own");
    auto appended = audit::Append(tx, {"user", caller.id, organisation_id, "notify.sender.remove", "organisation",
                                       std::to_string(organisation_id), "{}", "null", request_id},
                                  clock_.NowMs());
    if (!appended.ok()) return std::move(appended).error();
    return OkStatus();
  });
}

}  // namespace guichet::notify
