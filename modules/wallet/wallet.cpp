#include "modules/wallet/wallet.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "modules/wallet/internal.h"
#include "modules/wallet/offline.h"
#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using identity::Caller;
using internal::Nullable;
using internal::NullableText;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

// ---- Validation --------------------------------------------------------------------------------

class Checker {
 public:
  void Text(std::string_view field, const std::string& text, bool required, int64_t length_max) {
    if (text.empty()) {
      if (required) Fail(field, "is required");
      return;
    }
    if (static_cast<int64_t>(text.size()) > length_max * 4) {
      Fail(field, fmt::format("must be at most {} characters", length_max));
      return;
    }
    for (unsigned char c : text) {
      if (c < 0x20 || c == 0x7f) {
        Fail(field, "must not contain control characters");
        return;
      }
    }
  }
  void Date(std::string_view field, const std::string& text, bool required) {
    if (text.empty()) {
      if (required) Fail(field, "is required");
      return;
    }
    if (!IsDate(text)) Fail(field, "must be a date YYYY-MM-DD");
  }
  void Email(std::string_view field, const std::string& text) {
    const size_t at = text.find('@');
    if (text.empty() || static_cast<int64_t>(text.size()) > kEmailLengthMax || at == std::string::npos ||
        at == 0 || at + 1 >= text.size() || text.find('@', at + 1) != std::string::npos ||
        text.find_first_of(" \t\r\n<>,;\"") != std::string::npos ||
        text.find('.', at) == std::string::npos) {
      Fail(field, "must be an e-mail address");
    }
  }
  void Phone(std::string_view field, const std::string& text) {
    if (text.empty()) return;
    bool ok = text.size() >= 6 && static_cast<int64_t>(text.size()) <= kPhoneLengthMax;
    for (size_t i = 0; i < text.size() && ok; ++i) {
      const char c = text[i];
      ok = std::isdigit(static_cast<unsigned char>(c)) != 0 || (c == '+' && i == 0);
    }
    if (!ok) Fail(field, "must be a phone number: digits, optionally starting with +");
  }
  void Language(std::string_view field, const std::string& text) {
    if (text != "fr" && text != "en") Fail(field, "must be fr or en");
  }
  void Supports(const std::vector<SupportInput>& supports, bool required) {
    if (required && supports.empty()) Fail("supports", "at least one support is required");
    if (static_cast<int64_t>(supports.size()) > kSupportsPerHolderMax) {
      Fail("supports", fmt::format("at most {} supports", kSupportsPerHolderMax));
    }
    for (size_t i = 0; i < supports.size(); ++i) {
      const SupportInput& support = supports[i];
      if (!Matches(support.number, kSupportNumberLengthMax, [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
          })) {
        Fail(fmt::format("supports/{}/number", i), "must be 1-40 letters, digits, - or _");
      }
      if (!Matches(support.technology, kTechnologyLengthMax, [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
          })) {
        Fail(fmt::format("supports/{}/technology", i), "must be 1-40 of a-z, 0-9, _");
      }
    }
  }
  void Fail(std::string_view field, std::string message) {
    errors_.push_back({fmt::format("/{}", field), std::move(message)});
  }
  Status Finish() {
    if (errors_.empty()) return OkStatus();
    std::string summary = fmt::format("{} {}", errors_.front().pointer, errors_.front().message);
    return Error{ErrorKind::kValidation, "validation_failed", summary, errors_};
  }

  static bool IsDate(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
      if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) return false;
    }
    const int month = (text[5] - '0') * 10 + (text[6] - '0');
    const int day = (text[8] - '0') * 10 + (text[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }

 private:
  template <typename F>
  static bool Matches(const std::string& text, int64_t length_max, F allowed) {
    if (text.empty() || static_cast<int64_t>(text.size()) > length_max) return false;
    return std::all_of(text.begin(), text.end(), allowed);
  }
  std::vector<FieldError> errors_;
};

std::string Lower(std::string_view text) { return identity::NormalizeEmail(text); }

Error NotFoundHolder() { return Error::NotFound(std::string(code::kHolderNotFound), "No such holder."); }
Error NotFoundSupport() { return Error::NotFound(std::string(code::kSupportNotFound), "No such support."); }

Error ConflictError(std::string_view code_text, std::string message, std::string_view pointer = "") {
  Error error = Error::Conflict(std::string(code_text), std::move(message));
  if (!pointer.empty()) error.fields.push_back({std::string(pointer), "already used"});
  return error;
}

// ---- Rows --------------------------------------------------------------------------------------

Result<Holder> LoadHolder(Transaction& tx, int64_t holder_id) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return NotFoundHolder();
  return std::move(**holder);
}

Status CheckSupportsFree(Transaction& tx, const std::vector<SupportInput>& supports) {
  for (size_t i = 0; i < supports.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (supports[j].number == supports[i].number) {
        return ConflictError("support_duplicate", "The same support number is given twice.",
                             fmt::format("/supports/{}/number", i));
      }
    }
    auto existing = FindSupportByNumber(tx, supports[i].number);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) {
      return ConflictError("support_duplicate",
                           fmt::format("The support {} belongs to another account.", supports[i].number),
                           fmt::format("/supports/{}/number", i));
    }
  }
  return OkStatus();
}

Status InsertSupports(Transaction& tx, int64_t holder_id, const std::vector<SupportInput>& supports,
                      int64_t now_ms) {
  for (const SupportInput& support : supports) {
    auto inserted = tx.Execute(
        "INSERT INTO wallet_supports (holder_id, number, technology, form, opposition, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, 'none', $5, $5)",
        {holder_id, support.number, support.technology,
         std::string(support.is_virtual ? "virtual" : "physical"), now_ms});
    if (!inserted.ok()) return std::move(inserted).error();
  }
  return OkStatus();
}

Status CheckEmailFree(Transaction& tx, const std::string& email, int64_t except_holder) {
  auto row = tx.QueryOne("SELECT id FROM wallet_holders WHERE email = $1 AND id <> $2", {email, except_holder});
  if (!row.ok()) return std::move(row).error();
  if (row->has_value()) {
    return ConflictError("holder_duplicate", "Another holder account has this e-mail address.", "/email");
  }
  return OkStatus();
}

Result<orgs::Organisation> WalletOrganisation(Transaction& tx, int64_t organisation_id) {
  auto org = orgs::Find(tx, organisation_id);
  if (!org.ok()) return std::move(org).error();
  if (!org->has_value()) {
    return Error::NotFound("organisation_not_found", "No such organisation.");
  }
  auto rule = orgs::FindKind((*org)->kind);
  if (!rule || rule->product != "wallet") {
    Error error{ErrorKind::kValidation, "validation_failed",
                "Holders belong to an organisation of the wallet's tree.",
                {{"/organisation_id", "not an organisation of the wallet"}}};
    return error;
  }
  return std::move(**org);
}


// An activation link: the token goes in the message, its hash in the table.
Status IssueActivation(Transaction& tx, const Holder& holder, std::string_view public_url, int64_t now_ms) {
  if (holder.email.empty()) return OkStatus();
  const std::string token = crypto::RandomToken(kTokenBytes);
  auto stored = tx.Execute("INSERT INTO wallet_activation_links (token_hash, holder_id, created_at, expires_at)"
                           " VALUES ($1, $2, $3, $4)",
                           {crypto::Sha256Hex(token), holder.id, now_ms, now_ms + kActivationLinkMs});
  if (!stored.ok()) return std::move(stored).error();
  auto marked = tx.Execute("UPDATE wallet_holders SET activation_sent_at = $1,"
                           " activation_sends = activation_sends + 1 WHERE id = $2",
                           {now_ms, holder.id});
  if (!marked.ok()) return std::move(marked).error();
  notify::OutboxMessage message;
  message.recipient = holder.email;
  message.template_code = "wallet.activation";
  message.language = holder.language;
  message.organisation_id = holder.organisation_id;
  message.person = privacy::PersonRef{std::string(kPersonType), holder.id};
  message.purpose = "transactional";
  // The token is the code; the page at /wallet/activate offers to activate or to deactivate
  // for good. Variables as the messages module's catalogue declares them.
  const object variables{
      {"display_name", fmt::format("{} {}", holder.first_name, holder.last_name)},
      {"activation_url", fmt::format("{}/wallet/activate#token={}", public_url, token)},
      {"code", token}};
  message.variables_json = boost::json::serialize(variables);
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

struct SessionRow {
  std::string token;
  std::string csrf;
};

Result<SessionRow> OpenHolderSession(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  SessionRow session{crypto::RandomToken(kTokenBytes), crypto::RandomToken(kTokenBytes)};
  auto inserted = tx.Execute("INSERT INTO wallet_holder_sessions (token_hash, holder_id, csrf_token,"
                             " created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
                             {crypto::Sha256Hex(session.token), holder_id, session.csrf, now_ms,
                              now_ms + kHolderSessionAbsoluteMs});
  if (!inserted.ok()) return std::move(inserted).error();
  return session;
}

Status RecordChange(Transaction& tx, const Caller* caller, int64_t holder_id, std::string_view field,
                    const std::string& old_value, const std::string& new_value, std::string_view source,
                    std::string_view request_id, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO wallet_holder_changes (holder_id, field, old_value, new_value, source, actor_type,"
      " actor_id, at_ms, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {holder_id, std::string(field), NullableText(old_value), NullableText(new_value), std::string(source),
       caller != nullptr ? internal::ActorType(*caller) : std::string("system"),
       caller != nullptr ? Nullable(internal::ActorId(*caller)) : storage::Param(nullptr), now_ms,
       std::string(request_id)});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::vector<StatementLine>> ReadStatement(Transaction& tx, int64_t holder_id, const StatementQuery& query) {
  std::string sql =
      "SELECT m.id, m.at_ms, m.counter_code, m.direction, m.kind, m.mode, m.label, m.transfer_id, m.amount,"
      " m.fee_amount, m.balance_after, s.number FROM wallet_movements m LEFT JOIN wallet_supports s"
      " ON s.id = m.support_id WHERE m.holder_id = $1";
  storage::Params params{holder_id};
  auto add = [&](std::string_view condition, storage::Param param) {
    params.push_back(std::move(param));
    sql += fmt::format(" AND {} ${}", condition, params.size());
  };
  if (query.counter) add("m.counter_code =", *query.counter);
  if (query.kind) add("m.kind =", *query.kind);
  if (query.from_ms) add("m.at_ms >=", *query.from_ms);
  if (query.to_ms) add("m.at_ms <", *query.to_ms);
  if (query.before_id) add("m.id <", *query.before_id);
  params.push_back(std::clamp<int64_t>(query.limit, 1, kStatementPageMax));
  sql += fmt::format(" ORDER BY m.id DESC LIMIT ${}", params.size());
  auto rows = tx.Query(sql, params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<StatementLine> lines;
  for (const Row& row : rows->rows) {
    StatementLine line;
    line.id = row.Int(0);
    line.at_ms = row.Int(1);
    line.counter = row.Text(2);
    line.direction = row.Text(3);
    line.kind = row.Text(4);
    line.mode = row.Text(5);
    line.label = row.Text(6);
    line.transfer_id = row.Text(7);
    line.amount = row.Int(8);
    line.fee = row.Int(9);
    line.balance_after = row.Int(10);
    line.support_number = row.OptionalText(11).value_or("");
    lines.push_back(std::move(line));
  }
  return lines;
}

Status RequireNational(const identity::Authorizer& authorizer, const Caller& caller) {
  // Settings are national: the right must be held at a root of the tree.
  if (caller.kind == Caller::Kind::kSystem) return OkStatus();
  for (const std::string& scope : authorizer.Scopes(caller, right::kSettings)) {
    if (std::count(scope.begin(), scope.end(), '/') == 2) return OkStatus();
  }
  if (caller.anonymous()) return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to do this.", {}};
  return Error{ErrorKind::kForbidden, "forbidden", "Only a national administrator can change this.", {}};
}

Status CheckCounterCode(std::string_view counter_code) {
  bool ok = !counter_code.empty() && static_cast<int64_t>(counter_code.size()) <= ledger::kLedgerBytesMax &&
            counter_code[0] >= 'A' && counter_code[0] <= 'Z';
  for (char c : counter_code) ok = ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    return Error{ErrorKind::kValidation, "validation_failed", "A counter code is 1-16 of A-Z, 0-9, _.",
                 {{"/code", "must be 1-16 of A-Z, 0-9, _, starting with a letter"}}};
  }
  return OkStatus();
}

}  // namespace

// ---- Permissions -------------------------------------------------------------------------------

void DeclarePermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(right::kCreate),
                         "Create holder accounts of one's institutions, one at a time or by file upload"});
  catalog.AddPermission({std::string(right::kRead),
                         "Search holders, read their profile, supports, balances and full history"});
  catalog.AddPermission({std::string(right::kUpdate),
                         "Update a holder's profile (not bank data) and resend the activation message"});
  catalog.AddPermission({std::string(right::kOppose), "Block a holder account or oppose a support"});
  catalog.AddPermission({std::string(right::kReactivate),
                         "Reactivate a blocked account or an opposed support (administrators)"});
  catalog.AddPermission({std::string(right::kSettings),
                         "Set the wallet's counters and thresholds (national administrators)"});
}

Status ValidateNewHolder(const NewHolder& holder) {
  Checker check;
  if (holder.organisation_id <= 0) check.Fail("organisation_id", "is required");
  check.Text("university_id", holder.university_id, true, kTextFieldLengthMax);
  check.Text("ine", holder.ine, false, kTextFieldLengthMax);
  check.Text("tariff_profile", holder.tariff_profile, false, kTextFieldLengthMax);
  check.Text("last_name", holder.last_name, true, kTextFieldLengthMax);
  check.Text("first_name", holder.first_name, true, kTextFieldLengthMax);
  check.Email("email", holder.email);
  check.Date("birth_date", holder.birth_date, false);
  check.Phone("phone", holder.phone);
  check.Language("language", holder.language);
  check.Date("end_of_validity", holder.end_of_validity, false);
  check.Supports(holder.supports, true);
  return check.Finish();
}

Status ValidateChange(const HolderChange& change) {
  Checker check;
  if (change.organisation_id && *change.organisation_id <= 0) check.Fail("organisation_id", "must be positive");
  if (change.university_id) check.Text("university_id", *change.university_id, true, kTextFieldLengthMax);
  if (change.ine) check.Text("ine", *change.ine, false, kTextFieldLengthMax);
  if (change.tariff_profile) check.Text("tariff_profile", *change.tariff_profile, false, kTextFieldLengthMax);
  if (change.last_name) check.Text("last_name", *change.last_name, true, kTextFieldLengthMax);
  if (change.first_name) check.Text("first_name", *change.first_name, true, kTextFieldLengthMax);
  if (change.email) check.Email("email", *change.email);
  if (change.birth_date) check.Date("birth_date", *change.birth_date, false);
  if (change.phone) check.Phone("phone", *change.phone);
  if (change.language) check.Language("language", *change.language);
  if (change.end_of_validity) check.Date("end_of_validity", *change.end_of_validity, false);
  check.Supports(change.supports, false);
  return check.Finish();
}

// ---- JSON --------------------------------------------------------------------------------------

namespace {
value OptionalMs(const std::optional<int64_t>& ms) { return ms ? value(*ms) : value(nullptr); }
value OptionalText(const std::string& text) { return text.empty() ? value(nullptr) : value(text); }
}  // namespace

object SupportJson(const Support& support) {
  return {{"id", support.id},
          {"holder_id", support.holder_id},
          {"number", support.number},
          {"technology", support.technology},
          {"form", support.is_virtual ? "virtual" : "physical"},
          {"opposition", OppositionName(support.opposition)},
          {"opposed_at_ms", OptionalMs(support.opposed_at_ms)},
          {"created_at_ms", support.created_at_ms}};
}

object HolderJson(const Holder& holder) {
  array supports;
  for (const Support& support : holder.supports) supports.push_back(SupportJson(support));
  return {{"id", holder.id},
          {"organisation_id", holder.organisation_id},
          {"university_id", OptionalText(holder.university_id)},
          {"ine", OptionalText(holder.ine)},
          {"tariff_profile", OptionalText(holder.tariff_profile)},
          {"last_name", OptionalText(holder.last_name)},
          {"first_name", OptionalText(holder.first_name)},
          {"email", OptionalText(holder.email)},
          {"birth_date", OptionalText(holder.birth_date)},
          {"phone", OptionalText(holder.phone)},
          {"language", holder.language},
          {"end_of_validity", OptionalText(holder.end_of_validity)},
          {"state", HolderStateName(holder.state)},
          {"opposition", OppositionName(holder.opposition)},
          {"activated_at_ms", OptionalMs(holder.activated_at_ms)},
          {"last_activity_at_ms", holder.last_activity_at_ms},
          {"federated_into", OptionalMs(holder.federated_into)},
          {"federated_at_ms", OptionalMs(holder.federated_at_ms)},
          {"closed_at_ms", OptionalMs(holder.closed_at_ms)},
          {"created_at_ms", holder.created_at_ms},
          {"updated_at_ms", holder.updated_at_ms},
          {"version", holder.version},
          {"supports", std::move(supports)}};
}

object CounterJson(const Counter& counter) {
  array labels;
  for (const std::string& label : counter.labels) labels.push_back(value(label));
  return {{"code", counter.code},
          {"kind", counter.euro ? "euro" : "token"},
          {"nature", counter.nature},
          {"token_name", counter.token_name},
          {"information_fr", counter.information_fr},
          {"information_en", counter.information_en},
          {"labels", std::move(labels)},
          {"active", counter.active},
          {"updated_at_ms", counter.updated_at_ms}};
}

object AccountJson(const HolderAccount& account) {
  array fields;
  for (int64_t i = 0; i < kDateTimeFields; ++i) {
    fields.push_back(object{{"label", account.counter.labels[i]}, {"at_ms", OptionalMs(account.at_ms[i])}});
  }
  return {{"counter", CounterJson(account.counter)},
          {"balance", account.balance},
          {"available", account.available},
          {"date_fields", std::move(fields)}};
}

object ThresholdsJson(const Thresholds& thresholds) {
  object per_type{{std::string(kAnySupportType), thresholds.max_transaction_default}};
  for (const auto& [type, cents] : thresholds.max_transaction_by_type) per_type[type] = cents;
  return {{"max_transaction", std::move(per_type)},
          {"max_reload", thresholds.max_reload},
          {"max_balance", thresholds.max_balance},
          {"qr_lifetime_s", thresholds.qr_lifetime_s}};
}

object StatementLineJson(const StatementLine& line) {
  return {{"id", line.id},
          {"at_ms", line.at_ms},
          {"counter", line.counter},
          {"direction", line.direction},
          {"kind", line.kind},
          {"mode", line.mode},
          {"label", line.label},
          {"transfer_id", line.transfer_id},
          {"amount", line.amount},
          {"fee", line.fee},
          {"balance_after", line.balance_after},
          {"support_number", OptionalText(line.support_number)}};
}

namespace {

// The holder's phones enrolled for QR codes (and the service's printer of codes for it): when
// enrolled and revoked, and by whom. No key material: a phone's public key identifies the device
// to the service and means nothing to the holder.
Result<array> HolderPhonesExport(Transaction& tx, int64_t holder_id) {
  auto rows = tx.Query("SELECT id, kind, label, status, created_at, revoked_at, revoked_by, certificate_expires_at"
                       " FROM wallet_qr_phones WHERE holder_id = $1 ORDER BY id LIMIT $2",
                       {holder_id, kExportLinesMax});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& row : rows->rows) {
    items.push_back(object{{"id", row.Int(0)},
                           {"kind", row.Text(1)},
                           {"label", row.Text(2)},
                           {"status", row.Text(3)},
                           {"enrolled_at_ms", row.Int(4)},
                           {"revoked_at_ms", OptionalMs(row.OptionalInt(5))},
                           {"revoked_by", OptionalText(row.OptionalText(6).value_or(""))},
                           {"certificate_expires_at_ms", row.Int(7)}});
  }
  return items;
}

// The holder's operations at points of sale, refused ones included: where (merchant and point),
// what, how much, and what became of each.
Result<array> HolderPosTransactionsExport(Transaction& tx, int64_t holder_id) {
  auto rows = tx.Query(
      "SELECT t.id, o.name, p.location, p.institution_id, t.operation, t.counter, t.amount, t.state,"
      " t.refusal_code, t.point_at_ms, t.received_at_ms, t.acknowledged_at_ms, s.number, t.cancels_id"
      " FROM wallet_pos_transactions t JOIN wallet_points p ON p.id = t.point_id"
      " JOIN organisations o ON o.id = t.merchant_org_id LEFT JOIN wallet_supports s ON s.id = t.support_id"
      " WHERE t.holder_id = $1 ORDER BY t.id LIMIT $2",
      {holder_id, kExportLinesMax});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& row : rows->rows) {
    items.push_back(object{{"id", row.Int(0)},
                           {"merchant", row.Text(1)},
                           {"point", object{{"location", row.Text(2)}, {"institution_id", row.Text(3)}}},
                           {"operation", row.Text(4)},
                           {"counter", row.Text(5)},
                           {"amount", row.Int(6)},
                           {"state", row.Text(7)},
                           {"refusal_code", OptionalText(row.OptionalText(8).value_or(""))},
                           {"point_at_ms", row.Int(9)},
                           {"received_at_ms", row.Int(10)},
                           {"acknowledged_at_ms", OptionalMs(row.OptionalInt(11))},
                           {"support_number", OptionalText(row.OptionalText(12).value_or(""))},
                           {"cancels_id", OptionalMs(row.OptionalInt(13))}});
  }
  return items;
}

}  // namespace

Result<object> HolderExport(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return NotFoundHolder();
  object section{{"profile", HolderJson(**holder)}};
  auto balances = tx.Query("SELECT c.code, a.credits_posted - a.debits_posted FROM wallet_holder_accounts ha"
                           " JOIN ledger_accounts a ON a.id = ha.ledger_account_id JOIN wallet_counters c"
                           " ON c.id = ha.counter_id WHERE ha.holder_id = $1 ORDER BY c.id",
                           {holder_id});
  if (!balances.ok()) return std::move(balances).error();
  array balance_items;
  for (const Row& row : balances->rows) balance_items.push_back(object{{"counter", row.Text(0)}, {"balance", row.Int(1)}});
  section["balances"] = std::move(balance_items);
  StatementQuery query;
  query.limit = kStatementPageMax;
  array lines;
  for (;;) {
    auto page = ReadStatement(tx, holder_id, query);
    if (!page.ok()) return std::move(page).error();
    for (const StatementLine& line : *page) lines.push_back(StatementLineJson(line));
    if (static_cast<int64_t>(page->size()) < kStatementPageMax || static_cast<int64_t>(lines.size()) >= kExportLinesMax) break;
    query.before_id = page->back().id;
  }
  section["statement"] = std::move(lines);
  auto changes = tx.Query("SELECT field, old_value, new_value, source, at_ms FROM wallet_holder_changes"
                          " WHERE holder_id = $1 ORDER BY id LIMIT $2",
                          {holder_id, kExportLinesMax});
  if (!changes.ok()) return std::move(changes).error();
  array change_items;
  for (const Row& row : changes->rows) {
    change_items.push_back(object{{"field", row.Text(0)},
                                  {"old_value", row.OptionalText(1) ? value(*row.OptionalText(1)) : value(nullptr)},
                                  {"new_value", row.OptionalText(2) ? value(*row.OptionalText(2)) : value(nullptr)},
                                  {"source", row.Text(3)},
                                  {"at_ms", row.Int(4)}});
  }
  section["profile_changes"] = std::move(change_items);
  auto phones = HolderPhonesExport(tx, holder_id);
  if (!phones.ok()) return std::move(phones).error();
  section["qr_phones"] = std::move(*phones);
  auto pos = HolderPosTransactionsExport(tx, holder_id);
  if (!pos.ok()) return std::move(pos).error();
  section["pos_transactions"] = std::move(*pos);
  (void)now_ms;
  return section;
}

// ---- Wallet ------------------------------------------------------------------------------------

Wallet::Wallet(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
               WalletOptions options)
    : database_(database), clock_(clock), authorizer_(authorizer), options_(std::move(options)) {}

Result<Holder> Wallet::CreateHolder(const Caller& caller, const NewHolder& input, std::string_view source) {
  NewHolder request = input;
  request.email = Lower(request.email);
  GUICHET_TRY_STATUS(ValidateNewHolder(request));
  std::optional<std::string> password_hash;
  if (request.initial_password) {
    if (caller.kind != Caller::Kind::kSystem) {
      return Error{ErrorKind::kForbidden, "forbidden", "Only set-up may give an initial password.", {}};
    }
    GUICHET_TRY_STATUS(identity::CheckPasswordPolicy(*request.initial_password, {request.last_name, request.first_name}));
    auto hash = identity::HashPassword(*request.initial_password, options_.password_hash);
    if (!hash.ok()) return std::move(hash).error();
    password_hash = *hash;
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto org = WalletOrganisation(tx, request.organisation_id);
    if (!org.ok()) return std::move(org).error();
    GUICHET_TRY_STATUS(authorizer_.Require(caller, right::kCreate, org->path));
    auto same = tx.QueryOne("SELECT id FROM wallet_holders WHERE organisation_id = $1 AND university_id = $2",
                            {request.organisation_id, request.university_id});
    if (!same.ok()) return std::move(same).error();
    if (same->has_value()) {
      return ConflictError("holder_duplicate", "This institution already has a holder with this university id.",
                           "/university_id");
    }
    GUICHET_TRY_STATUS(CheckEmailFree(tx, request.email, 0));
    GUICHET_TRY_STATUS(CheckSupportsFree(tx, request.supports));
    auto inserted = tx.QueryOne(
        "INSERT INTO wallet_holders (organisation_id, university_id, ine, tariff_profile, last_name, first_name,"
        " email, birth_date, phone, language, end_of_validity, state, opposition, last_activity_at,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
        " 'pending_activation', 'none', $12, $12, $12) RETURNING id",
        {request.organisation_id, request.university_id, NullableText(request.ine),
         NullableText(request.tariff_profile), request.last_name, request.first_name, request.email,
         NullableText(request.birth_date), NullableText(request.phone), request.language,
         NullableText(request.end_of_validity), now});
    if (!inserted.ok()) return std::move(inserted).error();
    const int64_t id = (*inserted)->Int(0);
    GUICHET_TRY_STATUS(InsertSupports(tx, id, request.supports, now));
    auto accounts = HolderAccounts(tx, id, now);
    if (!accounts.ok()) return std::move(accounts).error();
    if (password_hash) {
      auto activated = tx.Execute("UPDATE wallet_holders SET state = 'active', password_hash = $1, activated_at = $2"
                                  " WHERE id = $3",
                                  {*password_hash, now, id});
      if (!activated.ok()) return std::move(activated).error();
    }
    auto holder = LoadHolder(tx, id);
    if (!holder.ok()) return std::move(holder).error();
    if (!password_hash) GUICHET_TRY_STATUS(IssueActivation(tx, *holder, options_.public_url, now));
    object after = HolderJson(*holder);
    after["source"] = std::string(source);
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.holder.create", "wallet_holder", id,
                                       holder->organisation_id, nullptr, after, caller.request_id, now));
    return LoadHolder(tx, id);
  });
}

Result<Holder> Wallet::UpdateHolder(const Caller& caller, int64_t holder_id, const HolderChange& input,
                                    std::string_view source) {
  HolderChange change = input;
  if (change.email) change.email = Lower(*change.email);
  GUICHET_TRY_STATUS(ValidateChange(change));
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto before = HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kUpdate));
    if (!before.ok()) {
      // Outside the update scope: 404 when it cannot be read either, 403 otherwise.
      auto readable = HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kRead));
      if (readable.ok()) return Error{ErrorKind::kForbidden, "forbidden", "You cannot update this holder.", {}};
      return std::move(before).error();
    }
    if (before->state == HolderState::kDeactivated || before->state == HolderState::kClosed) {
      return Error::Conflict(std::string(code::kHolderNotActive), "This account is no longer active.");
    }
    struct Field {
      std::string_view name;
      const std::optional<std::string>& next;
      const std::string& current;
    };
    const Field fields[] = {{"university_id", change.university_id, before->university_id},
                            {"ine", change.ine, before->ine},
                            {"tariff_profile", change.tariff_profile, before->tariff_profile},
                            {"last_name", change.last_name, before->last_name},
                            {"first_name", change.first_name, before->first_name},
                            {"email", change.email, before->email},
                            {"birth_date", change.birth_date, before->birth_date},
                            {"phone", change.phone, before->phone},
                            {"language", change.language, before->language},
                            {"end_of_validity", change.end_of_validity, before->end_of_validity}};
    int64_t changed = 0;
    for (const Field& field : fields) {
      if (!field.next || *field.next == field.current) continue;
      if (field.name == "email") GUICHET_TRY_STATUS(CheckEmailFree(tx, *field.next, holder_id));
      if (field.name == "university_id") {
        auto same = tx.QueryOne("SELECT id FROM wallet_holders WHERE organisation_id = $1 AND university_id = $2",
                                {before->organisation_id, *field.next});
        if (!same.ok()) return std::move(same).error();
        if (same->has_value()) {
          return ConflictError("holder_duplicate", "Another holder has this university id.", "/university_id");
        }
      }
      auto updated = tx.Execute(fmt::format("UPDATE wallet_holders SET {} = $1 WHERE id = $2", field.name),
                                {NullableText(*field.next), holder_id});
      if (!updated.ok()) return std::move(updated).error();
      GUICHET_TRY_STATUS(RecordChange(tx, &caller, holder_id, field.name, field.current, *field.next, source,
                                      caller.request_id, now));
      ++changed;
    }
    if (change.organisation_id && *change.organisation_id != before->organisation_id) {
      auto org = WalletOrganisation(tx, *change.organisation_id);
      if (!org.ok()) return std::move(org).error();
      GUICHET_TRY_STATUS(authorizer_.Require(caller, right::kUpdate, org->path));
      auto moved = tx.Execute("UPDATE wallet_holders SET organisation_id = $1 WHERE id = $2",
                              {*change.organisation_id, holder_id});
      if (!moved.ok()) return std::move(moved).error();
      GUICHET_TRY_STATUS(RecordChange(tx, &caller, holder_id, "organisation_id",
                                      std::to_string(before->organisation_id),
                                      std::to_string(*change.organisation_id), source, caller.request_id, now));
      ++changed;
    }
    std::vector<SupportInput> fresh;
    for (const SupportInput& support : change.supports) {
      const bool known = std::any_of(before->supports.begin(), before->supports.end(),
                                     [&](const Support& s) { return s.number == support.number; });
      if (!known) fresh.push_back(support);
    }
    if (!fresh.empty()) {
      GUICHET_TRY_STATUS(CheckSupportsFree(tx, fresh));
      GUICHET_TRY_STATUS(InsertSupports(tx, holder_id, fresh, now));
      for (const SupportInput& support : fresh) {
        GUICHET_TRY_STATUS(RecordChange(tx, &caller, holder_id, "support", "", support.number, source,
                                        caller.request_id, now));
      }
      ++changed;
    }
    if (changed == 0) return std::move(*before);
    auto bumped = tx.Execute("UPDATE wallet_holders SET updated_at = $1, version = version + 1 WHERE id = $2",
                             {now, holder_id});
    if (!bumped.ok()) return std::move(bumped).error();
    auto after = LoadHolder(tx, holder_id);
    if (!after.ok()) return std::move(after).error();
    object after_json = HolderJson(*after);
    after_json["source"] = std::string(source);
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.holder.update", "wallet_holder", holder_id,
                                       after->organisation_id, HolderJson(*before), after_json,
                                       caller.request_id, now));
    return after;
  });
}

Result<std::optional<int64_t>> Wallet::HolderByUniversityId(const Caller& caller, int64_t organisation_id,
                                                            std::string_view university_id) {
  return database_.Transact<std::optional<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<int64_t>> {
        auto org = WalletOrganisation(tx, organisation_id);
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(authorizer_.Require(caller, right::kCreate, org->path));
        auto row = tx.QueryOne("SELECT id FROM wallet_holders WHERE organisation_id = $1 AND university_id = $2",
                               {organisation_id, std::string(university_id)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<int64_t>();
        return std::optional<int64_t>((*row)->Int(0));
      });
}

Result<Holder> Wallet::GetHolder(const Caller& caller, int64_t holder_id) {
  return database_.Transact<Holder>(TransactionMode::kRead, [&](Transaction& tx) {
    return HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kRead));
  });
}

Result<std::vector<Holder>> Wallet::Search(const Caller& caller, const SearchQuery& query) {
  const auto scopes = authorizer_.Scopes(caller, right::kRead);
  if (scopes.empty()) return Error{ErrorKind::kForbidden, "forbidden", "You cannot search holders.", {}};
  return database_.Transact<std::vector<Holder>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Holder>> {
        std::string sql =
            "SELECT DISTINCT h.id FROM wallet_holders h JOIN organisations o ON o.id = h.organisation_id"
            " LEFT JOIN wallet_supports s ON s.holder_id = h.id WHERE (";
        storage::Params params;
        for (size_t i = 0; i < scopes.size(); ++i) {
          params.push_back(scopes[i] + "%");
          sql += fmt::format("{}o.path LIKE ${}", i == 0 ? "" : " OR ", params.size());
        }
        sql += ")";
        auto add = [&](std::string_view condition, std::string param) {
          params.push_back(std::move(param));
          sql += fmt::format(" AND {}", fmt::format(fmt::runtime(condition), params.size()));
        };
        if (query.last_name) add("lower(h.last_name) LIKE ${}", Lower(*query.last_name) + "%");
        if (query.first_name) add("lower(h.first_name) LIKE ${}", Lower(*query.first_name) + "%");
        if (query.birth_date) add("h.birth_date = ${}", *query.birth_date);
        if (query.support_number) add("s.number = ${}", *query.support_number);
        if (query.university_id) add("h.university_id = ${}", *query.university_id);
        if (query.state) add("h.state = ${}", *query.state);
        if (query.opposition) add("h.opposition = ${}", *query.opposition);
        if (query.after_id) {
          params.push_back(*query.after_id);
          sql += fmt::format(" AND h.id > ${}", params.size());
        }
        params.push_back(std::clamp<int64_t>(query.limit, 1, kSearchPageMax));
        sql += fmt::format(" ORDER BY h.id LIMIT ${}", params.size());
        auto rows = tx.Query(sql, params);
        if (!rows.ok()) return std::move(rows).error();
        std::vector<Holder> holders;
        for (const Row& row : rows->rows) {
          auto holder = LoadHolder(tx, row.Int(0));
          if (!holder.ok()) return std::move(holder).error();
          holders.push_back(std::move(*holder));
        }
        return holders;
      });
}

Result<std::vector<ProfileChange>> Wallet::ProfileHistory(const Caller& caller, int64_t holder_id) {
  return database_.Transact<std::vector<ProfileChange>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<ProfileChange>> {
        auto holder = HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kRead));
        if (!holder.ok()) return std::move(holder).error();
        auto rows = tx.Query("SELECT id, field, old_value, new_value, source, actor_type, actor_id, at_ms"
                             " FROM wallet_holder_changes WHERE holder_id = $1 ORDER BY id DESC LIMIT 1000",
                             {holder_id});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<ProfileChange> changes;
        for (const Row& row : rows->rows) {
          changes.push_back({row.Int(0), row.Text(1), row.OptionalText(2), row.OptionalText(3), row.Text(4),
                             row.Text(5), row.OptionalInt(6), row.Int(7)});
        }
        return changes;
      });
}

Result<std::vector<StatementLine>> Wallet::HolderStatement(const Caller& caller, int64_t holder_id,
                                                           const StatementQuery& query) {
  return database_.Transact<std::vector<StatementLine>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<StatementLine>> {
        auto holder = HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kRead));
        if (!holder.ok()) return std::move(holder).error();
        return ReadStatement(tx, holder_id, query);
      });
}

Result<std::vector<HolderAccount>> Wallet::Accounts(const Caller& caller, int64_t holder_id) {
  const int64_t now = clock_.NowMs();
  // A write transaction: an account appears on first look for a counter activated since.
  return database_.Transact<std::vector<HolderAccount>>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::vector<HolderAccount>> {
        auto holder = HolderInScope(tx, holder_id, authorizer_.Scopes(caller, right::kRead));
        if (!holder.ok()) return std::move(holder).error();
        return HolderAccounts(tx, holder_id, now);
      });
}

// ---- Oppositions -------------------------------------------------------------------------------

namespace {

Result<Holder> SetHolderOpposition(Transaction& tx, const Caller* caller, const Holder& holder,
                                   Opposition next, std::string_view action, std::string_view request_id,
                                   int64_t now_ms) {
  if (holder.opposition == Opposition::kPermanent) {
    return Error::Conflict("opposition_permanent", "This account is opposed for good.");
  }
  auto updated = tx.Execute("UPDATE wallet_holders SET opposition = $1, updated_at = $2, version = version + 1"
                            " WHERE id = $3",
                            {std::string(OppositionName(next)), now_ms, holder.id});
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_TRY_STATUS(PublishHolderSupportOppositions(tx, holder.id, now_ms));
  auto after = LoadHolder(tx, holder.id);
  if (!after.ok()) return std::move(after).error();
  object before_json{{"opposition", OppositionName(holder.opposition)}};
  object after_json{{"opposition", OppositionName(next)}};
  if (caller == nullptr) after_json["by"] = "holder";
  GUICHET_TRY_STATUS(internal::Audit(tx, caller, action, "wallet_holder", holder.id, holder.organisation_id,
                                     before_json, after_json, request_id, now_ms));
  return after;
}

Result<Support> SetSupportOpposition(Transaction& tx, const Caller* caller, const Support& support,
                                     const Holder& holder, Opposition next, std::string_view action,
                                     std::string_view request_id, int64_t now_ms) {
  if (support.opposition == Opposition::kPermanent) {
    return Error::Conflict("opposition_permanent", "This support is opposed for good.");
  }
  auto updated = tx.Execute("UPDATE wallet_supports SET opposition = $1, opposed_at = $2, updated_at = $3"
                            " WHERE id = $4",
                            {std::string(OppositionName(next)),
                             next == Opposition::kNone ? storage::Param(nullptr) : storage::Param(now_ms), now_ms,
                             support.id});
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_TRY_STATUS(PublishSupportOpposition(tx, support.id, now_ms));
  auto after = FindSupport(tx, support.id);
  if (!after.ok()) return std::move(after).error();
  object before_json{{"number", support.number}, {"opposition", OppositionName(support.opposition)}};
  object after_json{{"number", support.number}, {"opposition", OppositionName(next)}};
  if (caller == nullptr) after_json["by"] = "holder";
  GUICHET_TRY_STATUS(internal::Audit(tx, caller, action, "wallet_support", support.id, holder.organisation_id,
                                     before_json, after_json, request_id, now_ms));
  return std::move(**after);
}

Result<std::pair<Support, Holder>> SupportInScope(Transaction& tx, int64_t support_id,
                                                  const std::vector<std::string>& scopes) {
  auto support = FindSupport(tx, support_id);
  if (!support.ok()) return std::move(support).error();
  if (!support->has_value()) return NotFoundSupport();
  auto holder = HolderInScope(tx, (*support)->holder_id, scopes);
  if (!holder.ok()) return NotFoundSupport();
  return std::make_pair(std::move(**support), std::move(*holder));
}

// The holder for an action needing `needed`: 404 outside what the caller can read, 403 when the
// caller can read it but lacks the right there.
Result<Holder> HolderForAction(Transaction& tx, const identity::Authorizer& authorizer, const Caller& caller,
                               int64_t holder_id, std::string_view needed) {
  auto holder = HolderInScope(tx, holder_id, authorizer.Scopes(caller, needed));
  if (holder.ok()) return holder;
  if (HolderInScope(tx, holder_id, authorizer.Scopes(caller, right::kRead)).ok()) {
    return Error{ErrorKind::kForbidden, "forbidden", fmt::format("You do not have the right {} here.", needed), {}};
  }
  return holder;
}

Result<std::pair<Support, Holder>> SupportForAction(Transaction& tx, const identity::Authorizer& authorizer,
                                                    const Caller& caller, int64_t support_id, std::string_view needed) {
  auto found = SupportInScope(tx, support_id, authorizer.Scopes(caller, needed));
  if (found.ok()) return found;
  if (SupportInScope(tx, support_id, authorizer.Scopes(caller, right::kRead)).ok()) {
    return Error{ErrorKind::kForbidden, "forbidden", fmt::format("You do not have the right {} here.", needed), {}};
  }
  return found;
}

Error OppositionKindError() {
  return Error{ErrorKind::kValidation, "validation_failed", "The kind of opposition is temporary or permanent.",
               {{"/kind", "must be temporary or permanent"}}};
}

}  // namespace

Result<bool> OpposeSupportForFraud(Transaction& tx, int64_t support_id, std::string_view rule,
                                   int64_t now_ms) {
  auto support = FindSupport(tx, support_id);
  if (!support.ok()) return std::move(support).error();
  if (!support->has_value()) return NotFoundSupport();
  if ((*support)->opposition != Opposition::kNone) return false;
  auto holder = LoadHolder(tx, (*support)->holder_id);
  if (!holder.ok()) return std::move(holder).error();
  Caller system;
  system.kind = Caller::Kind::kSystem;
  system.request_id = fmt::format("fraud:{}", rule);
  auto opposed = SetSupportOpposition(tx, &system, **support, *holder, Opposition::kTemporary,
                                      "wallet.support.fraud_oppose", system.request_id, now_ms);
  if (!opposed.ok()) return std::move(opposed).error();
  return true;
}

Result<Holder> Wallet::OpposeHolder(const Caller& caller, int64_t holder_id, Opposition kind) {
  if (kind == Opposition::kNone) return OppositionKindError();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto holder = HolderForAction(tx, authorizer_, caller, holder_id, right::kOppose);
    if (!holder.ok()) return std::move(holder).error();
    return SetHolderOpposition(tx, &caller, *holder, kind, "wallet.holder.oppose", caller.request_id, now);
  });
}

Result<Holder> Wallet::ReactivateHolder(const Caller& caller, int64_t holder_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto holder = HolderForAction(tx, authorizer_, caller, holder_id, right::kReactivate);
    if (!holder.ok()) return std::move(holder).error();
    if (holder->opposition == Opposition::kNone) {
      return Error::Conflict("not_opposed", "This account is not opposed.");
    }
    return SetHolderOpposition(tx, &caller, *holder, Opposition::kNone, "wallet.holder.reactivate",
                               caller.request_id, now);
  });
}

Result<Support> Wallet::OpposeSupport(const Caller& caller, int64_t support_id, Opposition kind) {
  if (kind == Opposition::kNone) return OppositionKindError();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Support>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Support> {
    auto found = SupportForAction(tx, authorizer_, caller, support_id, right::kOppose);
    if (!found.ok()) return std::move(found).error();
    return SetSupportOpposition(tx, &caller, found->first, found->second, kind, "wallet.support.oppose",
                                caller.request_id, now);
  });
}

Result<Support> Wallet::ReactivateSupport(const Caller& caller, int64_t support_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Support>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Support> {
    auto found = SupportForAction(tx, authorizer_, caller, support_id, right::kReactivate);
    if (!found.ok()) return std::move(found).error();
    if (found->first.opposition == Opposition::kNone) {
      return Error::Conflict("not_opposed", "This support is not opposed.");
    }
    return SetSupportOpposition(tx, &caller, found->first, found->second, Opposition::kNone,
                                "wallet.support.reactivate", caller.request_id, now);
  });
}

Result<std::vector<std::pair<Support, Holder>>> Wallet::OpposedSupports(const Caller& caller, int64_t limit,
                                                                        std::optional<int64_t> after_id) {
  const auto scopes = authorizer_.Scopes(caller, right::kRead);
  if (scopes.empty()) return Error{ErrorKind::kForbidden, "forbidden", "You cannot list supports.", {}};
  return database_.Transact<std::vector<std::pair<Support, Holder>>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<std::pair<Support, Holder>>> {
        std::string sql =
            "SELECT s.id FROM wallet_supports s JOIN wallet_holders h ON h.id = s.holder_id JOIN organisations o"
            " ON o.id = h.organisation_id WHERE s.opposition <> 'none' AND s.id > $1 AND (";
        storage::Params params{after_id.value_or(0)};
        for (size_t i = 0; i < scopes.size(); ++i) {
          params.push_back(scopes[i] + "%");
          sql += fmt::format("{}o.path LIKE ${}", i == 0 ? "" : " OR ", params.size());
        }
        params.push_back(std::clamp<int64_t>(limit, 1, kSearchPageMax));
        sql += fmt::format(") ORDER BY s.id LIMIT ${}", params.size());
        auto rows = tx.Query(sql, params);
        if (!rows.ok()) return std::move(rows).error();
        std::vector<std::pair<Support, Holder>> out;
        for (const Row& row : rows->rows) {
          auto found = SupportInScope(tx, row.Int(0), scopes);
          if (!found.ok()) return std::move(found).error();
          out.push_back(std::move(*found));
        }
        return out;
      });
}

// ---- Activation and holder sessions ------------------------------------------------------------

Status Wallet::ResendActivation(const Caller& caller, int64_t holder_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto holder = HolderForAction(tx, authorizer_, caller, holder_id, right::kUpdate);
    if (!holder.ok()) return std::move(holder).error();
    if (holder->state != HolderState::kPendingActivation) {
      return Error::Conflict("holder_already_activated", "This account is not waiting for activation.");
    }
    GUICHET_TRY_STATUS(IssueActivation(tx, *holder, options_.public_url, now));
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.holder.activation_resend", "wallet_holder", holder_id,
                                       holder->organisation_id, nullptr, object{{"resent", true}},
                                       caller.request_id, now));
    return Ok{};
  });
}

namespace {

Error LinkInvalid() {
  return Error{ErrorKind::kNotFound, "activation_link_invalid",
               "This activation link is unknown, used or expired: ask your institution to send a new one.",
               {}};
}

// The holder behind an unused, unexpired link; the link is marked used.
Result<Holder> ConsumeLink(Transaction& tx, std::string_view token, int64_t now_ms) {
  auto link = tx.QueryOne("SELECT holder_id FROM wallet_activation_links WHERE token_hash = $1 AND used_at IS NULL"
                          " AND expires_at > $2",
                          {crypto::Sha256Hex(token), now_ms});
  if (!link.ok()) return std::move(link).error();
  if (!link->has_value()) return LinkInvalid();
  const int64_t holder_id = (*link)->Int(0);
  auto used = tx.Execute("UPDATE wallet_activation_links SET used_at = $1 WHERE holder_id = $2 AND used_at IS NULL",
                         {now_ms, holder_id});
  if (!used.ok()) return std::move(used).error();
  auto holder = LoadHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (holder->state != HolderState::kPendingActivation) return LinkInvalid();
  return holder;
}

}  // namespace

Result<ActivationTokens> Wallet::Activate(std::string_view token, std::string_view password,
                                          std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  // Check the link first (read), so a weak password does not burn it.
  auto peek = database_.Transact<Holder>(TransactionMode::kRead, [&](Transaction& tx) -> Result<Holder> {
    auto link = tx.QueryOne("SELECT holder_id FROM wallet_activation_links WHERE token_hash = $1 AND"
                            " used_at IS NULL AND expires_at > $2",
                            {crypto::Sha256Hex(token), now});
    if (!link.ok()) return std::move(link).error();
    if (!link->has_value()) return LinkInvalid();
    return LoadHolder(tx, (*link)->Int(0));
  });
  if (!peek.ok()) return std::move(peek).error();
  const std::vector<std::string> personal{peek->last_name, peek->first_name, peek->email, peek->university_id};
  auto policy = identity::CheckPasswordPolicy(password, personal);
  if (!policy.ok()) {
    Error error = std::move(policy).error();
    if (error.fields.empty()) error.fields.push_back({"/password", error.message});
    return error;
  }
  auto hash = identity::HashPassword(password, options_.password_hash);
  if (!hash.ok()) return std::move(hash).error();
  return database_.Transact<ActivationTokens>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<ActivationTokens> {
    auto holder = ConsumeLink(tx, token, now);
    if (!holder.ok()) return std::move(holder).error();
    auto updated = tx.Execute("UPDATE wallet_holders SET state = 'active', password_hash = $1, activated_at = $2,"
                              " last_activity_at = $2, updated_at = $2, version = version + 1 WHERE id = $3",
                              {*hash, now, holder->id});
    if (!updated.ok()) return std::move(updated).error();
    auto session = OpenHolderSession(tx, holder->id, now);
    if (!session.ok()) return std::move(session).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.activate", "wallet_holder", holder->id,
                                       holder->organisation_id, object{{"state", "pending_activation"}},
                                       object{{"state", "active"}, {"by", "holder"}}, request_id, now));
    auto after = LoadHolder(tx, holder->id);
    if (!after.ok()) return std::move(after).error();
    return ActivationTokens{session->token, session->csrf, std::move(*after)};
  });
}

Status Wallet::DeactivateForGood(std::string_view token, std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto holder = ConsumeLink(tx, token, now);
    if (!holder.ok()) return std::move(holder).error();
    // Only the trace stays: the institution, the state and the support numbers (opposed for good).
    auto erased = tx.Execute(
        "UPDATE wallet_holders SET university_id = NULL, ine = NULL, tariff_profile = NULL, last_name = NULL,"
        " first_name = NULL, email = NULL, birth_date = NULL, phone = NULL, end_of_validity = NULL,"
        " password_hash = NULL, state = 'deactivated', opposition = 'permanent', updated_at = $1,"
        " version = version + 1 WHERE id = $2",
        {now, holder->id});
    if (!erased.ok()) return std::move(erased).error();
    auto supports = tx.Execute("UPDATE wallet_supports SET opposition = 'permanent', opposed_at = $1, updated_at = $1"
                               " WHERE holder_id = $2",
                               {now, holder->id});
    if (!supports.ok()) return std::move(supports).error();
    GUICHET_TRY_STATUS(PublishHolderSupportOppositions(tx, holder->id, now));
    auto history = tx.Execute("UPDATE wallet_holder_changes SET old_value = NULL, new_value = NULL WHERE holder_id = $1",
                              {holder->id});
    if (!history.ok()) return std::move(history).error();
    GUICHET_TRY_STATUS(audit::Redact(tx, "wallet_holder", std::to_string(holder->id)));
    array numbers;
    for (const Support& support : holder->supports) numbers.push_back(value(support.number));
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.deactivate", "wallet_holder", holder->id,
                                       holder->organisation_id, nullptr,
                                       object{{"state", "deactivated"}, {"by", "holder"}, {"supports", numbers}},
                                       request_id, now));
    return Ok{};
  });
}

Result<int64_t> Wallet::ResendDueActivations() {
  const int64_t now = clock_.NowMs();
  return database_.Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
    auto due = tx.Query("SELECT id FROM wallet_holders WHERE state = 'pending_activation' AND email IS NOT NULL"
                        " AND (activation_sent_at IS NULL OR activation_sent_at <= $1) ORDER BY id LIMIT 1000",
                        {now - kActivationResendMs});
    if (!due.ok()) return std::move(due).error();
    for (const Row& row : due->rows) {
      auto holder = LoadHolder(tx, row.Int(0));
      if (!holder.ok()) return std::move(holder).error();
      GUICHET_TRY_STATUS(IssueActivation(tx, *holder, options_.public_url, now));
    }
    return static_cast<int64_t>(due->rows.size());
  });
}

Result<int64_t> Wallet::VerifyHolderPassword(std::string_view email, std::string_view password,
                                             std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  const std::string normalized = Lower(email);
  struct Account {
    int64_t id = 0;
    std::string hash;
    int64_t failed = 0;
    int64_t locked_until = 0;
    int64_t organisation_id = 0;
  };
  auto found = database_.Transact<std::optional<Account>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<Account>> {
        auto row = tx.QueryOne("SELECT id, password_hash, failed_logins, locked_until, organisation_id"
                               " FROM wallet_holders WHERE email = $1 AND state = 'active' AND password_hash IS NOT NULL",
                               {normalized});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<Account>();
        return std::optional<Account>(
            Account{(*row)->Int(0), (*row)->Text(1), (*row)->Int(2), (*row)->Int(3), (*row)->Int(4)});
      });
  if (!found.ok()) return std::move(found).error();
  const Error failed{ErrorKind::kUnauthenticated, "login_failed", "Wrong e-mail or password.", {}};
  if (!found->has_value()) {
    // A decoy verification keeps the time the same for unknown addresses.
    static const std::string decoy = identity::HashPassword("not-a-password-of-anyone", options_.password_hash).value();
    (void)identity::VerifyPassword(password, decoy);
    return failed;
  }
  const Account account = **found;
  if (account.locked_until > now) {
    const int64_t minutes = (account.locked_until - now + 59999) / 60000;
    return Error{ErrorKind::kTooManyRequests, "account_locked",
                 fmt::format("Too many failed attempts: try again in {} minute{}.", minutes, minutes > 1 ? "s" : ""),
                 {}};
  }
  const bool verified = identity::VerifyPassword(password, account.hash);
  // A failure is committed (the counter, the lock): the transaction succeeds and the refusal
  // is returned after it.
  auto counted = database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    if (verified) {
      auto reset = tx.Execute("UPDATE wallet_holders SET failed_logins = 0, locked_until = 0 WHERE id = $1", {account.id});
      if (!reset.ok()) return std::move(reset).error();
      return Ok{};
    }
    const bool lock = account.failed + 1 >= kHolderLoginFailuresMax;
    auto updated = tx.Execute("UPDATE wallet_holders SET failed_logins = CASE WHEN $2 THEN 0 ELSE failed_logins + 1 END,"
                              " locked_until = CASE WHEN $2 THEN $3 ELSE locked_until END WHERE id = $1",
                              {account.id, lock, now + kHolderLockoutMs});
    if (!updated.ok()) return std::move(updated).error();
    if (lock) {
      GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.locked", "wallet_holder", account.id,
                                         account.organisation_id, nullptr,
                                         object{{"locked_for_s", kHolderLockoutMs / 1000}}, request_id, now));
    }
    return Ok{};
  });
  if (!counted.ok()) return std::move(counted).error();
  if (!verified) return failed;
  return account.id;
}

Result<ActivationTokens> Wallet::HolderLogin(std::string_view email, std::string_view password,
                                             std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  auto verified = VerifyHolderPassword(email, password, request_id);
  if (!verified.ok()) return std::move(verified).error();
  const int64_t holder_id = *verified;
  return database_.Transact<ActivationTokens>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<ActivationTokens> {
    auto session = OpenHolderSession(tx, holder_id, now);
    if (!session.ok()) return std::move(session).error();
    // Logging in is activity: the inactivity clock and any notice start again.
    auto touched = tx.Execute("UPDATE wallet_holders SET last_activity_at = $1, notice_kind = NULL,"
                              " notice_sent_at = NULL WHERE id = $2",
                              {now, holder_id});
    if (!touched.ok()) return std::move(touched).error();
    auto holder = LoadHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.login", "wallet_holder", holder_id,
                                       holder->organisation_id, nullptr, object{{"by", "holder"}}, request_id, now));
    return ActivationTokens{session->token, session->csrf, std::move(*holder)};
  });
}

Result<Wallet::HolderSession> Wallet::AuthenticateHolder(std::string_view session_token) {
  const int64_t now = clock_.NowMs();
  const std::string hash = crypto::Sha256Hex(session_token);
  return database_.Transact<HolderSession>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<HolderSession> {
    auto row = tx.QueryOne(
        "SELECT s.holder_id, s.csrf_token FROM wallet_holder_sessions s JOIN wallet_holders h ON h.id = s.holder_id"
        " WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND h.state = 'active'",
        {hash, now, now - kHolderSessionIdleMs});
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value()) {
      return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to your wallet to do this.", {}};
    }
    auto touched = tx.Execute("UPDATE wallet_holder_sessions SET last_seen_at = $1 WHERE token_hash = $2", {now, hash});
    if (!touched.ok()) return std::move(touched).error();
    return HolderSession{(*row)->Int(0), (*row)->Text(1)};
  });
}

Status Wallet::HolderLogout(std::string_view session_token) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto deleted = tx.Execute("DELETE FROM wallet_holder_sessions WHERE token_hash = $1",
                              {crypto::Sha256Hex(session_token)});
    if (!deleted.ok()) return std::move(deleted).error();
    return Ok{};
  });
}

Result<Holder> Wallet::Me(int64_t holder_id) {
  return database_.Transact<Holder>(TransactionMode::kRead, [&](Transaction& tx) { return LoadHolder(tx, holder_id); });
}

Result<std::vector<HolderAccount>> Wallet::MyAccounts(int64_t holder_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<std::vector<HolderAccount>>(
      TransactionMode::kWrite, [&](Transaction& tx) { return HolderAccounts(tx, holder_id, now); });
}

Result<std::vector<StatementLine>> Wallet::MyStatement(int64_t holder_id, const StatementQuery& query) {
  return database_.Transact<std::vector<StatementLine>>(
      TransactionMode::kRead, [&](Transaction& tx) { return ReadStatement(tx, holder_id, query); });
}

Result<Holder> Wallet::OpposeMyAccount(int64_t holder_id, Opposition kind, std::string_view request_id) {
  if (kind == Opposition::kNone) return OppositionKindError();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto holder = LoadHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    return SetHolderOpposition(tx, nullptr, *holder, kind, "wallet.holder.oppose", request_id, now);
  });
}

Result<Support> Wallet::OpposeMySupport(int64_t holder_id, int64_t support_id, Opposition kind,
                                        std::string_view request_id) {
  if (kind == Opposition::kNone) return OppositionKindError();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Support>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Support> {
    auto support = FindSupport(tx, support_id);
    if (!support.ok()) return std::move(support).error();
    if (!support->has_value() || (*support)->holder_id != holder_id) return NotFoundSupport();
    auto holder = LoadHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    return SetSupportOpposition(tx, nullptr, **support, *holder, kind, "wallet.support.oppose", request_id, now);
  });
}

Result<object> Wallet::ExportMine(int64_t holder_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<object>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<object> {
    auto section = HolderExport(tx, holder_id, now);
    if (!section.ok()) return std::move(section).error();
    auto holder = LoadHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.export", "wallet_holder", holder_id,
                                       holder->organisation_id, nullptr, object{{"by", "holder"}}, "", now));
    return section;
  });
}

// ---- Counters and thresholds -------------------------------------------------------------------

Result<std::vector<Counter>> Wallet::Counters(const Caller& caller) {
  if (authorizer_.Scopes(caller, right::kRead).empty() && authorizer_.Scopes(caller, right::kSettings).empty()) {
    return Error{ErrorKind::kForbidden, "forbidden", "You cannot read the counters.", {}};
  }
  return database_.Transact<std::vector<Counter>>(TransactionMode::kRead,
                                                  [&](Transaction& tx) { return ListCounters(tx); });
}

namespace {

Status ValidateCounterTexts(const CounterInput& input, bool creating) {
  Checker check;
  auto text = [&](std::string_view field, const std::optional<std::string>& given, int64_t max) {
    if (given) {
      check.Text(field, *given, true, max);
    } else if (creating) {
      check.Fail(field, "is required");
    }
  };
  text("nature", input.nature, kTextFieldLengthMax);
  text("token_name", input.token_name, kTextFieldLengthMax);
  text("information_fr", input.information_fr, kCounterTextLengthMax);
  text("information_en", input.information_en, kCounterTextLengthMax);
  for (int64_t i = 0; i < kDateTimeFields; ++i) {
    if (input.labels[i]) check.Text(fmt::format("labels/{}", i), *input.labels[i], true, kCounterLabelLengthMax);
  }
  return check.Finish();
}

}  // namespace

Result<Counter> Wallet::DefineCounter(const Caller& caller, const CounterInput& input) {
  GUICHET_TRY_STATUS(RequireNational(authorizer_, caller));
  {
    // Every problem at once: the code's and the texts'.
    Status code_ok = CheckCounterCode(input.code);
    Status texts_ok = ValidateCounterTexts(input, true);
    if (!code_ok.ok() || !texts_ok.ok()) {
      Error error = !code_ok.ok() ? code_ok.error() : texts_ok.error();
      if (!code_ok.ok() && !texts_ok.ok()) {
        for (const FieldError& field : texts_ok.error().fields) error.fields.push_back(field);
      }
      return error;
    }
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<Counter>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Counter> {
    auto existing = tx.QueryOne("SELECT count(*) FROM wallet_counters WHERE code = $1", {input.code});
    if (!existing.ok()) return std::move(existing).error();
    if ((*existing)->Int(0) > 0) {
      return ConflictError("counter_duplicate", fmt::format("A counter {} exists already.", input.code), "/code");
    }
    auto tokens = tx.QueryOne("SELECT count(*) FROM wallet_counters WHERE kind = 'token'", {});
    if (!tokens.ok()) return std::move(tokens).error();
    if ((*tokens)->Int(0) >= kTokenCountersMax) {
      return Error::Conflict("counters_full", fmt::format("The service has {} token counters at most.", kTokenCountersMax));
    }
    std::string labels[kDateTimeFields];
    for (int64_t i = 0; i < kDateTimeFields; ++i) labels[i] = input.labels[i].value_or(fmt::format("D{}", i + 1));
    auto inserted = tx.Execute(
        "INSERT INTO wallet_counters (code, kind, nature, token_name, information_fr, information_en, label1,"
        " label2, label3, label4, active, created_at, updated_at) VALUES ($1, 'token', $2, $3, $4, $5, $6, $7,"
        " $8, $9, $10, $11, $11)",
        {input.code, *input.nature, *input.token_name, *input.information_fr, *input.information_en, labels[0],
         labels[1], labels[2], labels[3], input.active.value_or(false), now});
    if (!inserted.ok()) return std::move(inserted).error();
    auto counter = CounterByCode(tx, input.code);
    if (!counter.ok()) return std::move(counter).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.counter.define", "wallet_counter", counter->id,
                                       std::nullopt, nullptr, CounterJson(*counter), caller.request_id, now));
    return counter;
  });
}

Result<Counter> Wallet::UpdateCounter(const Caller& caller, const CounterInput& input) {
  GUICHET_TRY_STATUS(RequireNational(authorizer_, caller));
  GUICHET_TRY_STATUS(ValidateCounterTexts(input, false));
  const int64_t now = clock_.NowMs();
  return database_.Transact<Counter>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Counter> {
    auto before = CounterByCode(tx, input.code);
    if (!before.ok()) return std::move(before).error();
    if (before->euro && input.active && !*input.active) {
      return Error::Conflict("euro_counter_always_active", "The euro counter cannot be deactivated.");
    }
    Counter next = *before;
    if (input.nature) next.nature = *input.nature;
    if (input.token_name) next.token_name = *input.token_name;
    if (input.information_fr) next.information_fr = *input.information_fr;
    if (input.information_en) next.information_en = *input.information_en;
    for (int64_t i = 0; i < kDateTimeFields; ++i) {
      if (input.labels[i]) next.labels[i] = *input.labels[i];
    }
    if (input.active) next.active = *input.active;
    auto updated = tx.Execute(
        "UPDATE wallet_counters SET nature = $1, token_name = $2, information_fr = $3, information_en = $4,"
        " label1 = $5, label2 = $6, label3 = $7, label4 = $8, active = $9, updated_at = $10 WHERE id = $11",
        {next.nature, next.token_name, next.information_fr, next.information_en, next.labels[0], next.labels[1],
         next.labels[2], next.labels[3], next.active, now, before->id});
    if (!updated.ok()) return std::move(updated).error();
    auto after = CounterByCode(tx, input.code);
    if (!after.ok()) return std::move(after).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.counter.update", "wallet_counter", before->id,
                                       std::nullopt, CounterJson(*before), CounterJson(*after), caller.request_id,
                                       now));
    return after;
  });
}

Status Wallet::AuthoriseCounterClient(const Caller& caller, std::string_view counter_code,
                                      std::string_view client_type, int64_t client_id, bool may_load,
                                      bool may_debit) {
  GUICHET_TRY_STATUS(RequireNational(authorizer_, caller));
  if (client_type != "api_key" && client_type != "device") {
    return Error{ErrorKind::kValidation, "validation_failed", "The client is an api_key or a device.",
                 {{"/client_type", "must be api_key or device"}}};
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto counter = CounterByCode(tx, counter_code);
    if (!counter.ok()) return std::move(counter).error();
    const std::string table = client_type == "api_key" ? "api_keys" : "devices";
    auto client = tx.QueryOne(fmt::format("SELECT id FROM {} WHERE id = $1", table), {client_id});
    if (!client.ok()) return std::move(client).error();
    if (!client->has_value()) return Error::NotFound("client_not_found", "No such API key or device.");
    auto removed = tx.Execute("DELETE FROM wallet_counter_clients WHERE counter_id = $1 AND client_type = $2"
                              " AND client_id = $3",
                              {counter->id, std::string(client_type), client_id});
    if (!removed.ok()) return std::move(removed).error();
    if (may_load || may_debit) {
      auto inserted = tx.Execute("INSERT INTO wallet_counter_clients (counter_id, client_type, client_id, may_load,"
                                 " may_debit, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                                 {counter->id, std::string(client_type), client_id, may_load, may_debit, now});
      if (!inserted.ok()) return std::move(inserted).error();
    }
    GUICHET_TRY_STATUS(internal::Audit(
        tx, &caller, "wallet.counter.authorise", "wallet_counter", counter->id, std::nullopt, nullptr,
        object{{"client_type", client_type}, {"client_id", client_id}, {"may_load", may_load}, {"may_debit", may_debit}},
        caller.request_id, now));
    return Ok{};
  });
}

Result<Thresholds> Wallet::GetThresholds(const Caller& caller) {
  if (authorizer_.Scopes(caller, right::kRead).empty() && authorizer_.Scopes(caller, right::kSettings).empty()) {
    return Error{ErrorKind::kForbidden, "forbidden", "You cannot read the thresholds.", {}};
  }
  return database_.Transact<Thresholds>(TransactionMode::kRead, [&](Transaction& tx) { return LoadThresholds(tx); });
}

Result<Thresholds> Wallet::SetThresholds(const Caller& caller, const ThresholdsInput& input) {
  GUICHET_TRY_STATUS(RequireNational(authorizer_, caller));
  Checker check;
  auto cents = [&](std::string_view field, int64_t amount, int64_t max) {
    if (amount <= 0 || amount > max) check.Fail(field, fmt::format("must be between 1 and {}", max));
  };
  for (const auto& [type, amount] : input.max_transaction) {
    const bool type_ok = type == kAnySupportType ||
                         (!type.empty() && static_cast<int64_t>(type.size()) <= kTechnologyLengthMax &&
                          std::all_of(type.begin(), type.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                          }));
    if (!type_ok) check.Fail(fmt::format("max_transaction/{}", type), "unknown kind of support type");
    cents(fmt::format("max_transaction/{}", type), amount, kThresholdCentsMax);
  }
  if (input.max_reload) cents("max_reload", *input.max_reload, kThresholdCentsMax);
  if (input.max_balance) cents("max_balance", *input.max_balance, kThresholdCentsMax);
  if (input.qr_lifetime_s) cents("qr_lifetime_s", *input.qr_lifetime_s, kQrLifetimeSMax);
  GUICHET_TRY_STATUS(check.Finish());
  const int64_t now = clock_.NowMs();
  return database_.Transact<Thresholds>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Thresholds> {
    auto before = LoadThresholds(tx);
    if (!before.ok()) return std::move(before).error();
    auto set = [&](std::string_view name, const std::string& type, int64_t amount) -> Status {
      auto removed = tx.Execute("DELETE FROM wallet_thresholds WHERE name = $1 AND support_type = $2",
                                {std::string(name), type});
      if (!removed.ok()) return std::move(removed).error();
      auto inserted = tx.Execute("INSERT INTO wallet_thresholds (name, support_type, value, updated_at, updated_by)"
                                 " VALUES ($1, $2, $3, $4, $5)",
                                 {std::string(name), type, amount, now, Nullable(internal::ActorId(caller))});
      if (!inserted.ok()) return std::move(inserted).error();
      return OkStatus();
    };
    for (const auto& [type, amount] : input.max_transaction) {
      GUICHET_TRY_STATUS(set(threshold::kMaxTransaction, type, amount));
    }
    if (input.max_reload) GUICHET_TRY_STATUS(set(threshold::kMaxReload, "", *input.max_reload));
    if (input.max_balance) GUICHET_TRY_STATUS(set(threshold::kMaxBalance, "", *input.max_balance));
    if (input.qr_lifetime_s) GUICHET_TRY_STATUS(set(threshold::kQrLifetimeS, "", *input.qr_lifetime_s));
    auto after = LoadThresholds(tx);
    if (!after.ok()) return std::move(after).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.thresholds.set", "wallet_thresholds", 1, std::nullopt,
                                       ThresholdsJson(*before), ThresholdsJson(*after), caller.request_id, now));
    return after;
  });
}

}  // namespace guichet::wallet
