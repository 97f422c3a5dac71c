#include "platform/identity/machines.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdlib>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/http/json.h"
#include "platform/orgs/orgs.h"
#include "platform/tokens/qr.h"

namespace guichet::identity {
namespace {

using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

std::string SchemaSql(std::string_view id_column) {
  return fmt::format(
      "CREATE TABLE api_keys ({id}, public_id TEXT NOT NULL UNIQUE,"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id), label TEXT NOT NULL,"
      " scopes TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),"
      " created_by BIGINT NOT NULL REFERENCES users (id), created_at BIGINT NOT NULL,"
      " rotated_at BIGINT, revoked_at BIGINT, last_used_at BIGINT);"
      "CREATE INDEX api_keys_organisation ON api_keys (organisation_id);"
      // expires_at NULL: the current secret; set at rotation for the grace period.
      "CREATE TABLE api_key_secrets (secret_hash TEXT PRIMARY KEY,"
      " api_key_id BIGINT NOT NULL REFERENCES api_keys (id), created_at BIGINT NOT NULL,"
      " expires_at BIGINT);"
      "CREATE INDEX api_key_secrets_key ON api_key_secrets (api_key_id);"
      // code_hash is cleared once the code is spent or long expired, so codes can recur.
      "CREATE TABLE device_pairings ({id}, code_hash TEXT UNIQUE,"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
      " kind TEXT NOT NULL CHECK (kind IN ('pos', 'scanner', 'tablet')), label TEXT NOT NULL,"
      " created_by BIGINT NOT NULL REFERENCES users (id), created_at BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL, used_at BIGINT);"
      "CREATE INDEX device_pairings_expires ON device_pairings (expires_at);"
      "CREATE TABLE devices ({id}, organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
      " kind TEXT NOT NULL CHECK (kind IN ('pos', 'scanner', 'tablet')), label TEXT NOT NULL,"
      " public_key TEXT NOT NULL UNIQUE,"
      " status TEXT NOT NULL CHECK (status IN ('active', 'opposed')),"
      " pairing_id BIGINT NOT NULL REFERENCES device_pairings (id), created_at BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL, last_seen_at BIGINT);"
      "CREATE INDEX devices_organisation ON devices (organisation_id);"
      "CREATE TABLE device_events ({id}, device_id BIGINT NOT NULL REFERENCES devices (id),"
      " event TEXT NOT NULL CHECK (event IN ('paired', 'opposed', 'reactivated')), reason TEXT,"
      " actor_type TEXT NOT NULL, actor_id BIGINT, occurred_at BIGINT NOT NULL);"
      "CREATE INDEX device_events_device ON device_events (device_id, id);"
      // Signatures seen, kept while their timestamp is acceptable: a second use is a replay.
      "CREATE TABLE device_signatures (device_id BIGINT NOT NULL REFERENCES devices (id),"
      " signature_hash TEXT NOT NULL, expires_at BIGINT NOT NULL,"
      " PRIMARY KEY (device_id, signature_hash));",
      fmt::arg("id", id_column));
}

Error NotFound(std::string code, std::string message) {
  return Error::NotFound(std::move(code), std::move(message));
}

Error Unauthenticated(std::string code, std::string message) {
  return Error{ErrorKind::kUnauthenticated, std::move(code), std::move(message), {}};
}

Error Validation(std::string_view pointer, std::string message) {
  return Error{
      ErrorKind::kValidation, "validation_failed", message, {{std::string(pointer), message}}};
}

Status RequirePerson(const Caller& caller) {
  if (caller.anonymous()) return Unauthenticated("unauthenticated", "Log in to do this.");
  if (caller.kind == Caller::Kind::kUser) return OkStatus();
  return Error{ErrorKind::kForbidden,
               "people_only",
               "Only a person who logs in can do this, not an API key or a device.",
               {}};
}

std::string_view ActorType(const Caller& caller) {
  switch (caller.kind) {
    case Caller::Kind::kUser:
      return "user";
    case Caller::Kind::kApiKey:
      return "api_key";
    case Caller::Kind::kDevice:
      return "device";
    case Caller::Kind::kSystem:
    case Caller::Kind::kAnonymous:
      break;
  }
  return "system";
}

// The audit entry of a change, attributed to whoever made it (a person, a key, a device).
Status Record(Transaction& tx, const Caller& caller, std::string_view action,
              std::string_view record_type, int64_t record_id, int64_t organisation_id,
              const boost::json::value& before, const boost::json::value& after, int64_t now_ms) {
  audit::AuditEntry entry;
  entry.actor_type = std::string(ActorType(caller));
  if (entry.actor_type != "system") entry.actor_id = caller.id;
  entry.organisation_id = organisation_id;
  entry.action = std::string(action);
  entry.record_type = std::string(record_type);
  entry.record_id = std::to_string(record_id);
  entry.before_json = boost::json::serialize(before);
  entry.after_json = boost::json::serialize(after);
  entry.request_id = caller.request_id;
  auto appended = audit::Append(tx, entry, now_ms);
  if (!appended.ok()) return std::move(appended).error();
  return OkStatus();
}

// The organisation a person manages machines of: 404 when outside what they can see, 403 when
// they see it without the right to manage it (as for staff).
Result<orgs::Organisation> ManagedOrganisation(Transaction& tx, const Authorizer& authorizer,
                                               const Caller& caller, int64_t id,
                                               std::string_view permission) {
  auto org = orgs::Find(tx, id);
  if (!org.ok()) return std::move(org).error();
  const bool found = org->has_value();
  if (found && authorizer.Allows(caller, permission, (*org)->path)) return std::move(**org);
  if (found && authorizer.Allows(caller, "identity.orgs.read", (*org)->path)) {
    return Error{ErrorKind::kForbidden,
                 "forbidden",
                 fmt::format("You do not have the right {} here.", permission),
                 {}};
  }
  return NotFound("organisation_not_found", "No such organisation in your scope.");
}

// The first path after every path of the subtree at `path` ("/1/5/" → "/1/50"): a subtree is
// then one indexed range.
std::string SubtreeEnd(std::string path) {
  GUICHET_ASSERT(!path.empty() && path.back() == '/');
  path.back() = '0';
  return path;
}

std::optional<int64_t> OptionalMs(const Row& row, size_t column) { return row.OptionalInt(column); }

boost::json::value OptionalTime(const std::optional<int64_t>& ms) {
  return ms ? boost::json::value(FormatIso8601(*ms)) : boost::json::value(nullptr);
}

std::optional<std::string> DecodeBase64Url(std::string_view text, size_t size) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // tolerate padding
  std::string bytes(size + 1, '\0');
  size_t length = 0;
  const char* end = nullptr;
  const int failed = sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                                       text.data(), text.size(), nullptr, &length, &end,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (failed != 0 || end != text.data() + text.size() || length != size) return std::nullopt;
  bytes.resize(size);
  return bytes;
}

std::optional<int64_t> ParsePositive(std::string_view text, size_t digits_max) {
  int64_t value = 0;
  if (text.empty() || text.size() > digits_max) return std::nullopt;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (failure != std::errc() || end != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::vector<storage::Migration> MachineMigrations() {
  return {{"platform.identity.machines", 1, "create api keys, devices, pairings, device events",
           SchemaSql("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           SchemaSql("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

void DeclareMachinePermissions(RightsCatalog& catalog) {
  catalog.AddPermission(
      {"identity.apikeys.manage", "Create, rotate and revoke API keys of institution systems"});
  catalog.AddPermission({"identity.devices.manage",
                         "Pair points of sale, scanners and tablets; oppose and reactivate them"});
  catalog.AddPermission({"devices.self", "A device reads its own record (devices only)"});
  for (std::string_view kind : kDeviceKinds) catalog.AddDevicePermission(kind, "devices.self");
}

std::string DeviceSigningString(std::string_view method, std::string_view target,
                                std::string_view timestamp, std::string_view body) {
  return fmt::format("{}\n{}\n{}\n{}", method, target, timestamp, crypto::Sha256Hex(body));
}

boost::json::object ApiKeyJson(const ApiKeyView& key) {
  return {{"id", key.id},
          {"public_id", key.public_id},
          {"organisation_id", key.organisation_id},
          {"organisation_name", key.organisation_name},
          {"label", key.label},
          {"scopes", boost::json::array(key.scopes.begin(), key.scopes.end())},
          {"status", key.status},
          {"created_by", key.created_by},
          {"created_at", FormatIso8601(key.created_at_ms)},
          {"rotated_at", OptionalTime(key.rotated_at_ms)},
          {"revoked_at", OptionalTime(key.revoked_at_ms)},
          {"last_used_at", OptionalTime(key.last_used_at_ms)}};
}

boost::json::object DeviceJson(const DeviceView& device) {
  return {{"id", device.id},
          {"organisation_id", device.organisation_id},
          {"organisation_name", device.organisation_name},
          {"kind", device.kind},
          {"label", device.label},
          {"status", device.status},
          {"paired_at", FormatIso8601(device.paired_at_ms)},
          {"last_seen_at", OptionalTime(device.last_seen_at_ms)}};
}

boost::json::object DeviceEventJson(const DeviceEvent& event) {
  return {{"id", event.id},
          {"event", event.event},
          {"reason", event.reason ? boost::json::value(*event.reason) : nullptr},
          {"actor_type", event.actor_type},
          {"actor_id", event.actor_id ? boost::json::value(*event.actor_id) : nullptr},
          {"at", FormatIso8601(event.at_ms)}};
}

Machines::Machines(storage::Database& database, const Clock& clock, const Authorizer& authorizer)
    : database_(database), clock_(clock), authorizer_(authorizer) {}

// ---------------------------------------------------------------------------------------------
// API keys

namespace {

struct KeyRow {
  ApiKeyView view;
  std::string organisation_path;
};

constexpr std::string_view kKeyColumns =
    "k.id, k.public_id, k.organisation_id, o.name, k.label, k.scopes, k.status, k.created_by,"
    " k.created_at, k.rotated_at, k.revoked_at, k.last_used_at, o.path";
constexpr std::string_view kKeyTables =
    "api_keys k JOIN organisations o ON o.id = k.organisation_id";

std::vector<std::string> SplitScopes(std::string_view text) {
  std::vector<std::string> scopes;
  while (!text.empty()) {
    const size_t end = text.find(' ');
    if (end != 0) scopes.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return scopes;
}

KeyRow ToKey(const Row& row) {
  KeyRow key;
  key.view.id = row.Int(0);
  key.view.public_id = row.Text(1);
  key.view.organisation_id = row.Int(2);
  key.view.organisation_name = row.Text(3);
  key.view.label = row.Text(4);
  key.view.scopes = SplitScopes(row.Text(5));
  key.view.status = row.Text(6);
  key.view.created_by = row.Int(7);
  key.view.created_at_ms = row.Int(8);
  key.view.rotated_at_ms = OptionalMs(row, 9);
  key.view.revoked_at_ms = OptionalMs(row, 10);
  key.view.last_used_at_ms = OptionalMs(row, 11);
  key.organisation_path = row.Text(12);
  GUICHET_ASSERT(key.view.id > 0 && !key.view.scopes.empty());
  GUICHET_ASSERT((key.view.status == "revoked") == key.view.revoked_at_ms.has_value());
  return key;
}

Error KeyNotFound() {
  // The same answer for a key outside the caller's scope: ids cannot be probed.
  return NotFound("api_key_not_found", "No such API key in your organisations.");
}

Result<KeyRow> VisibleKey(Transaction& tx, const Authorizer& authorizer, const Caller& caller,
                          int64_t id) {
  auto row =
      tx.QueryOne(fmt::format("SELECT {} FROM {} WHERE k.id = $1", kKeyColumns, kKeyTables), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return KeyNotFound();
  KeyRow key = ToKey(**row);
  if (!authorizer.Allows(caller, "identity.apikeys.manage", key.organisation_path)) {
    return KeyNotFound();
  }
  return key;
}

// Scopes are permissions the creator holds in the key's organisation, never more, and none of
// the people-only ones. Returns them sorted and without repeats.
Result<std::vector<std::string>> CheckScopes(const Authorizer& authorizer, const Caller& caller,
                                             const std::vector<std::string>& requested,
                                             std::string_view organisation_path) {
  if (requested.empty()) return Validation("/scopes", "Give at least one permission.");
  std::set<std::string> scopes;
  for (size_t i = 0; i < requested.size(); ++i) {
    const std::string& scope = requested[i];
    const std::string pointer = fmt::format("/scopes/{}", i);
    if (!authorizer.catalog().HasPermission(scope)) {
      return Validation(pointer, fmt::format("'{}' is not a permission.", scope));
    }
    const auto& people_only = kPeopleOnlyPermissions;
    if (std::find(std::begin(people_only), std::end(people_only), scope) != std::end(people_only)) {
      return Validation(pointer, fmt::format("{} cannot be given to an API key.", scope));
    }
    if (!authorizer.Allows(caller, scope, organisation_path)) {
      return Error{ErrorKind::kForbidden,
                   "grant_exceeds_own_rights",
                   fmt::format("You cannot give {} to a key: you do not hold it there.", scope),
                   {}};
    }
    scopes.insert(scope);
  }
  return std::vector<std::string>(scopes.begin(), scopes.end());
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string text;
  for (const std::string& scope : scopes) text += (text.empty() ? "" : " ") + scope;
  return text;
}

// "gk_<public id>_<secret>": the public id names the key in logs and lists; the whole token is
// the credential.
std::string NewSecret(std::string_view public_id) {
  return fmt::format("{}{}_{}", kApiKeyPrefix, public_id, crypto::RandomToken(kApiKeySecretBytes));
}

Status InsertSecret(Transaction& tx, int64_t key_id, const std::string& secret, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO api_key_secrets (secret_hash, api_key_id, created_at) VALUES ($1, $2, $3)",
      {crypto::Sha256Hex(secret), key_id, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

// The public id of a well-shaped token, or nullopt.
std::optional<std::string_view> PublicIdOf(std::string_view token) {
  if (token.size() > static_cast<size_t>(kApiKeyTokenBytesMax)) return std::nullopt;
  if (token.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix) return std::nullopt;
  token.remove_prefix(kApiKeyPrefix.size());
  const size_t separator = token.find('_');
  if (separator == 0 || separator == std::string_view::npos) return std::nullopt;
  const std::string_view public_id = token.substr(0, separator);
  const bool hex = std::all_of(public_id.begin(), public_id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex || token.size() - separator - 1 < 32) return std::nullopt;
  return public_id;
}

Caller ApiKeyCaller(const KeyRow& key, std::string_view request_id) {
  Caller caller;
  caller.kind = Caller::Kind::kApiKey;
  caller.id = key.view.id;
  caller.request_id = std::string(request_id);
  Grant grant;
  grant.organisation_id = key.view.organisation_id;
  grant.organisation_path = key.organisation_path;
  grant.permissions = std::set<std::string>(key.view.scopes.begin(), key.view.scopes.end());
  caller.grants.push_back(std::move(grant));
  return caller;
}

}  // namespace

Result<ApiKeySecret> Machines::CreateApiKey(const Caller& caller, const NewApiKey& request) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t label_length = http::Utf8Length(request.label);
  if (label_length < 1 || label_length > kApiKeyLabelLengthMax) {
    return Validation(
        "/label", fmt::format("The label must have 1 to {} characters.", kApiKeyLabelLengthMax));
  }
  if (static_cast<int64_t>(request.scopes.size()) > kApiKeyScopesMax) {
    return Validation("/scopes", fmt::format("At most {} permissions.", kApiKeyScopesMax));
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<ApiKeySecret>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ApiKeySecret> {
        auto org = ManagedOrganisation(tx, authorizer_, caller, request.organisation_id,
                                       "identity.apikeys.manage");
        if (!org.ok()) return std::move(org).error();
        auto scopes = CheckScopes(authorizer_, caller, request.scopes, org->path);
        if (!scopes.ok()) return std::move(scopes).error();
        const std::string public_id = crypto::ToHex(crypto::RandomBytes(8));
        auto id = tx.QueryOne(
            "INSERT INTO api_keys (public_id, organisation_id, label, scopes, status, created_by,"
            " created_at) VALUES ($1, $2, $3, $4, 'active', $5, $6) RETURNING id",
            {public_id, org->id, request.label, JoinScopes(*scopes), caller.id, now});
        if (!id.ok()) return std::move(id).error();
        const int64_t key_id = (*id)->Int(0);
        ApiKeySecret created;
        created.secret = NewSecret(public_id);
        GUICHET_TRY_STATUS(InsertSecret(tx, key_id, created.secret, now));
        auto key = VisibleKey(tx, authorizer_, caller, key_id);
        if (!key.ok()) return std::move(key).error();
        created.key = std::move(key->view);
        GUICHET_TRY_STATUS(Record(tx, caller, "identity.api_key.create", "api_key", key_id, org->id,
                                  nullptr, ApiKeyJson(created.key), now));
        return created;
      });
}

Result<std::vector<ApiKeyView>> Machines::ListApiKeys(const Caller& caller) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  using List = std::vector<ApiKeyView>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    const auto scopes = authorizer_.Scopes(caller, "identity.apikeys.manage");
    if (scopes.empty()) {
      return Error{ErrorKind::kForbidden, "forbidden", "You cannot list API keys.", {}};
    }
    List keys;
    for (const std::string& scope : scopes) {
      auto rows = tx.Query(fmt::format("SELECT {} FROM {} WHERE o.path >= $1 AND o.path < $2"
                                       " ORDER BY k.id LIMIT {}",
                                       kKeyColumns, kKeyTables, kMachinesListMax),
                           {scope, SubtreeEnd(scope)});
      if (!rows.ok()) return std::move(rows).error();
      for (const Row& row : rows->rows) keys.push_back(ToKey(row).view);
    }
    return keys;
  });
}

Result<ApiKeySecret> Machines::RotateApiKey(const Caller& caller, int64_t id) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t now = clock_.NowMs();
  const int64_t grace_end = now + kApiKeyRotationGraceS * 1000;
  return database_.Transact<ApiKeySecret>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ApiKeySecret> {
        auto before = VisibleKey(tx, authorizer_, caller, id);
        if (!before.ok()) return std::move(before).error();
        auto rotated = tx.Execute(
            "UPDATE api_keys SET rotated_at = $1 WHERE id = $2 AND status = 'active'", {now, id});
        if (!rotated.ok()) return std::move(rotated).error();
        if (*rotated != 1) return Error::Conflict("api_key_revoked", "This key is revoked.");
        // Secrets past their grace go; the current one gets its grace; a new one is issued.
        GUICHET_TRY_STATUS(tx.Execute(
            "DELETE FROM api_key_secrets WHERE api_key_id = $1 AND expires_at <= $2", {id, now}));
        GUICHET_TRY_STATUS(tx.Execute(
            "UPDATE api_key_secrets SET expires_at = $1 WHERE api_key_id = $2 AND expires_at IS "
            "NULL",
            {grace_end, id}));
        ApiKeySecret result;
        result.secret = NewSecret(before->view.public_id);
        result.previous_secret_valid_until_ms = grace_end;
        GUICHET_TRY_STATUS(InsertSecret(tx, id, result.secret, now));
        auto after = VisibleKey(tx, authorizer_, caller, id);
        if (!after.ok()) return std::move(after).error();
        result.key = std::move(after->view);
        boost::json::object recorded = ApiKeyJson(result.key);
        recorded["previous_secret_valid_until"] = FormatIso8601(grace_end);
        GUICHET_TRY_STATUS(Record(tx, caller, "identity.api_key.rotate", "api_key", id,
                                  result.key.organisation_id, ApiKeyJson(before->view), recorded,
                                  now));
        return result;
      });
}

Status Machines::RevokeApiKey(const Caller& caller, int64_t id) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto before = VisibleKey(tx, authorizer_, caller, id);
    if (!before.ok()) return std::move(before).error();
    auto revoked = tx.Execute(
        "UPDATE api_keys SET status = 'revoked', revoked_at = $1 WHERE id = $2 AND status = "
        "'active'",
        {now, id});
    if (!revoked.ok()) return std::move(revoked).error();
    if (*revoked != 1) return Error::Conflict("api_key_revoked", "This key is already revoked.");
    auto after = VisibleKey(tx, authorizer_, caller, id);
    if (!after.ok()) return std::move(after).error();
    GUICHET_TRY_STATUS(Record(tx, caller, "identity.api_key.revoke", "api_key", id,
                              before->view.organisation_id, ApiKeyJson(before->view),
                              ApiKeyJson(after->view), now));
    return Ok{};
  });
}

Result<Caller> Machines::AuthenticateApiKey(std::string_view secret, std::string_view request_id) {
  const auto public_id = PublicIdOf(secret);
  if (!public_id) return Unauthenticated("api_key_invalid", "This API key is not valid.");
  const std::string secret_hash = crypto::Sha256Hex(secret);
  const int64_t now = clock_.NowMs();
  return database_.Transact<Caller>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Caller> {
        // The secret's own expiry comes last (column 13).
        auto row = tx.QueryOne(
            fmt::format(
                "SELECT {}, s.expires_at FROM {} JOIN api_key_secrets s ON s.api_key_id = k.id"
                " WHERE s.secret_hash = $1 AND k.public_id = $2",
                kKeyColumns, kKeyTables),
            {secret_hash, std::string(*public_id)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value())
          return Unauthenticated("api_key_invalid", "This API key is not valid.");
        const KeyRow key = ToKey(**row);
        if (key.view.status != "active") {
          return Unauthenticated("api_key_revoked", "This API key was revoked.");
        }
        if (auto expires = (*row)->OptionalInt(13); expires && *expires <= now) {
          return Unauthenticated("api_key_expired",
                                 "This secret was replaced and its grace period is over.");
        }
        // At most one write a minute per key: keys may call many times a second.
        GUICHET_TRY_STATUS(tx.Execute(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR "
            "last_used_at <= $3)",
            {now, key.view.id, now - kLastUsedResolutionS * 1000}));
        return ApiKeyCaller(key, request_id);
      });
}

// ---------------------------------------------------------------------------------------------
// Devices

namespace {

constexpr std::string_view kDeviceColumns =
    "d.id, d.organisation_id, o.name, d.kind, d.label, d.status, d.created_at, d.last_seen_at,"
    " o.path, d.public_key";
constexpr std::string_view kDeviceTables =
    "devices d JOIN organisations o ON o.id = d.organisation_id";

struct DeviceRow {
  DeviceView view;
  std::string organisation_path;
  std::string public_key;  // base64url of the 32-byte Ed25519 public key
};

DeviceRow ToDevice(const Row& row) {
  DeviceRow device;
  device.view.id = row.Int(0);
  device.view.organisation_id = row.Int(1);
  device.view.organisation_name = row.Text(2);
  device.view.kind = row.Text(3);
  device.view.label = row.Text(4);
  device.view.status = row.Text(5);
  device.view.paired_at_ms = row.Int(6);
  device.view.last_seen_at_ms = OptionalMs(row, 7);
  device.organisation_path = row.Text(8);
  device.public_key = row.Text(9);
  GUICHET_ASSERT(device.view.id > 0);
  GUICHET_ASSERT(device.view.status == "active" || device.view.status == "opposed");
  return device;
}

Result<std::optional<DeviceRow>> FindDevice(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM {} WHERE d.id = $1", kDeviceColumns, kDeviceTables), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<DeviceRow>();
  return std::optional<DeviceRow>(ToDevice(**row));
}

Result<DeviceRow> VisibleDevice(Transaction& tx, const Authorizer& authorizer, const Caller& caller,
                                int64_t id) {
  auto device = FindDevice(tx, id);
  if (!device.ok()) return std::move(device).error();
  if (!device->has_value() ||
      !authorizer.Allows(caller, "identity.devices.manage", (*device)->organisation_path)) {
    return NotFound("device_not_found", "No such device in your organisations.");
  }
  return std::move(**device);
}

bool KnownKind(std::string_view kind) {
  return std::find(std::begin(kDeviceKinds), std::end(kDeviceKinds), kind) !=
         std::end(kDeviceKinds);
}

std::string NewPairingCode() {
  std::string code;
  for (size_t i = 0; i < kPairingCodeLength; ++i) {
    code.push_back(kPairingCodeAlphabet[crypto::RandomBelow(kPairingCodeAlphabet.size())]);
  }
  return code;
}

// Codes are typed by people: case, spaces and dashes do not matter.
std::string NormalizeCode(std::string_view raw) {
  std::string code;
  for (char c : raw) {
    if (c == ' ' || c == '-') continue;
    code.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return code;
}

bool WellShapedCode(std::string_view code) {
  return code.size() == kPairingCodeLength &&
         code.find_first_not_of(kPairingCodeAlphabet) == std::string_view::npos;
}

Status InsertEvent(Transaction& tx, int64_t device_id, std::string_view event,
                   std::optional<std::string_view> reason, std::string_view actor_type,
                   std::optional<int64_t> actor_id, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO device_events (device_id, event, reason, actor_type, actor_id, occurred_at)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      {device_id, std::string(event),
       reason ? storage::Param(std::string(*reason)) : storage::Param(nullptr),
       std::string(actor_type), actor_id ? storage::Param(*actor_id) : storage::Param(nullptr),
       now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::vector<DeviceEvent>> LoadEvents(Transaction& tx, int64_t device_id) {
  auto rows = tx.Query(fmt::format("SELECT id, event, reason, actor_type, actor_id, occurred_at"
                                   " FROM device_events WHERE device_id = $1 ORDER BY id DESC"
                                   " LIMIT {}",
                                   kDeviceHistoryMax),
                       {device_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<DeviceEvent> events;
  for (const Row& row : rows->rows) {
    events.push_back({row.Int(0), row.Text(1), row.OptionalText(2), row.Text(3), row.OptionalInt(4),
                      row.Int(5)});
  }
  return events;
}

Caller DeviceCaller(const DeviceRow& device, const RightsCatalog& catalog,
                    std::string_view request_id) {
  Caller caller;
  caller.kind = Caller::Kind::kDevice;
  caller.id = device.view.id;
  caller.request_id = std::string(request_id);
  Grant grant;
  grant.organisation_id = device.view.organisation_id;
  grant.organisation_path = device.organisation_path;
  grant.permissions = catalog.DevicePermissions(device.view.kind);
  caller.grants.push_back(std::move(grant));
  return caller;
}

Result<int64_t> InsertPairing(Transaction& tx, const NewPairing& request, const Caller& caller,
                              const std::string& code, int64_t now_ms) {
  auto row = tx.QueryOne(
      "INSERT INTO device_pairings (code_hash, organisation_id, kind, label, created_by,"
      " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
      " ON CONFLICT (code_hash) DO NOTHING RETURNING id",
      {crypto::Sha256Hex(code), request.organisation_id, request.kind, request.label, caller.id,
       now_ms, now_ms + kPairingLifetimeS * 1000});
  if (!row.ok()) return std::move(row).error();
  return row->has_value() ? (*row)->Int(0) : int64_t{0};  // 0: the code is taken
}

Error InvalidSignature(std::string message) {
  return Unauthenticated("device_signature_invalid", std::move(message));
}

}  // namespace

Result<Pairing> Machines::CreatePairing(const Caller& caller, const NewPairing& request) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  if (!KnownKind(request.kind)) return Validation("/kind", "The kind is pos, scanner or tablet.");
  const int64_t label_length = http::Utf8Length(request.label);
  if (label_length < 1 || label_length > kDeviceLabelLengthMax) {
    return Validation(
        "/label", fmt::format("The label must have 1 to {} characters.", kDeviceLabelLengthMax));
  }
  const int64_t now = clock_.NowMs();
  auto pairing =
      database_.Transact<Pairing>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Pairing> {
        auto org = ManagedOrganisation(tx, authorizer_, caller, request.organisation_id,
                                       "identity.devices.manage");
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(tx.Execute(
            "UPDATE device_pairings SET code_hash = NULL WHERE code_hash IS NOT NULL AND "
            "expires_at < $1",
            {now - kPairingCodeMemoryS * 1000}));
        Pairing made{0, "", org->id, request.kind, request.label, now + kPairingLifetimeS * 1000,
                     ""};
        // Codes are short enough to recur: draw again while one is still live.
        for (int64_t attempt = 0; attempt < kPairingCodeAttemptsMax && made.id == 0; ++attempt) {
          made.code = NewPairingCode();
          auto id = InsertPairing(tx, request, caller, made.code, now);
          if (!id.ok()) return std::move(id).error();
          made.id = *id;
        }
        if (made.id == 0) return Error::Internal("no free pairing code after several draws");
        GUICHET_TRY_STATUS(
            Record(tx, caller, "identity.device.pairing_create", "device_pairing", made.id, org->id,
                   nullptr,
                   boost::json::object{{"organisation_id", org->id},
                                       {"kind", made.kind},
                                       {"label", made.label},
                                       {"expires_at", FormatIso8601(made.expires_at_ms)}},
                   now));
        return made;
      });
  if (!pairing.ok()) return std::move(pairing).error();
  tokens::QrOptions qr;
  qr.aria_label = "Pairing code";
  auto svg = tokens::QrSvg(std::string(kPairingQrPrefix) + pairing->code, qr);
  if (!svg.ok()) return std::move(svg).error();
  pairing->qr_svg = std::move(*svg);
  return pairing;
}

Result<DeviceView> Machines::Pair(std::string_view raw_code, std::string_view public_key,
                                  std::string_view request_id) {
  const std::string code = NormalizeCode(raw_code);
  if (!WellShapedCode(code)) {
    return Validation("/code",
                      fmt::format("The code has {} letters and digits.", kPairingCodeLength));
  }
  const auto key = DecodeBase64Url(public_key, crypto_sign_PUBLICKEYBYTES);
  // A point of small order would let anything verify; libsodium refuses those too, but a
  // device should learn of its bug at pairing, not at its first request.
  if (!key || crypto_core_ed25519_is_valid_point(
                  reinterpret_cast<const unsigned char*>(key->data())) != 1) {
    return Validation("/public_key", "This is not an Ed25519 public key (32 bytes, base64url).");
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<
      DeviceView>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<DeviceView> {
    auto pairing = tx.QueryOne(
        "SELECT id, organisation_id, kind, label, created_by, expires_at FROM device_pairings"
        " WHERE code_hash = $1 AND used_at IS NULL",
        {crypto::Sha256Hex(code)});
    if (!pairing.ok()) return std::move(pairing).error();
    if (!pairing->has_value()) {
      return NotFound("pairing_code_invalid",
                      "This pairing code is not valid or was already used: ask for a new one.");
    }
    const Row& found = **pairing;
    if (found.Int(5) <= now) {
      return NotFound("pairing_code_expired", "This pairing code has expired: ask for a new one.");
    }
    // Single use, even when two devices race with the same code.
    auto used = tx.Execute(
        "UPDATE device_pairings SET used_at = $1, code_hash = NULL WHERE id = $2 AND used_at IS "
        "NULL",
        {now, found.Int(0)});
    if (!used.ok()) return std::move(used).error();
    if (*used != 1) {
      return NotFound("pairing_code_invalid", "This pairing code was already used.");
    }
    auto inserted = tx.QueryOne(
        "INSERT INTO devices (organisation_id, kind, label, public_key, status, pairing_id,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, 'active', $5, $6, $6) RETURNING id",
        {found.Int(1), found.Text(2), found.Text(3), crypto::ToBase64Url(*key), found.Int(0), now});
    if (!inserted.ok()) {
      if (inserted.error().code == storage::kUniqueViolation) {
        return Error::Conflict("public_key_taken", "Another device already uses this key.");
      }
      return std::move(inserted).error();
    }
    const int64_t id = (*inserted)->Int(0);
    GUICHET_TRY_STATUS(InsertEvent(tx, id, "paired", std::nullopt, "user", found.Int(4), now));
    auto device = FindDevice(tx, id);
    if (!device.ok()) return std::move(device).error();
    GUICHET_ASSERT(device->has_value());
    const Caller actor = DeviceCaller(**device, authorizer_.catalog(), request_id);
    GUICHET_TRY_STATUS(Record(tx, actor, "identity.device.pair", "device", id, found.Int(1),
                              nullptr, DeviceJson((*device)->view), now));
    return (*device)->view;
  });
}

namespace {
// Expired replay records are deleted by one device request in 16 (one leading hex digit of zero).
constexpr size_t kSignaturePruneOneInHexDigits = 1;
}  // namespace

Result<Caller> Machines::AuthenticateDevice(const SignedRequest& request,
                                            std::string_view request_id) {
  const auto id = ParsePositive(request.device_id, kDeviceIdDigitsMax);
  if (!id) return Unauthenticated("device_unknown", "No device has this id.");
  const auto timestamp = ParsePositive(request.timestamp, kDeviceTimestampDigitsMax);
  if (!timestamp) return InvalidSignature("X-Device-Timestamp must be Unix time in milliseconds.");
  const auto signature = request.signature.size() <= kDeviceSignatureTextMax
                             ? DecodeBase64Url(request.signature, crypto_sign_BYTES)
                             : std::nullopt;
  if (!signature) return InvalidSignature("X-Device-Signature must be 64 bytes in base64url.");
  const std::string message =
      DeviceSigningString(request.method, request.target, request.timestamp, request.body);
  const int64_t now = clock_.NowMs();
  return database_.Transact<
      Caller>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Caller> {
    auto device = FindDevice(tx, *id);
    if (!device.ok()) return std::move(device).error();
    if (!device->has_value()) return Unauthenticated("device_unknown", "No device has this id.");
    const DeviceRow& found = **device;
    const auto key = DecodeBase64Url(found.public_key, crypto_sign_PUBLICKEYBYTES);
    GUICHET_ASSERT(key.has_value());  // validated at pairing
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                    reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size(),
                                    reinterpret_cast<const unsigned char*>(key->data())) != 0) {
      return InvalidSignature("The signature does not match this request and this device.");
    }
    // Read on every request, never cached: an opposition takes effect at once.
    if (found.view.status != "active") {
      return Unauthenticated("device_opposed", "This device is opposed: it can no longer act.");
    }
    if (std::abs(*timestamp - now) > kDeviceClockSkewMaxS * 1000) {
      return Unauthenticated(
          "device_clock_skew",
          fmt::format("The device clock is more than {} s off: server time is {} ms ({}).",
                      kDeviceClockSkewMaxS, now, FormatIso8601(now)));
    }
    // A signature is kept while its timestamp is acceptable, so any replay finds it.
    const std::string signature_hash = crypto::Sha256Hex(*signature);
    // Expired records are dropped now and then rather than on every request (a statement less
    // on the hot path): one request in kSignaturePruneOneIn, chosen by its uniformly random hash.
    // An expired record only takes room: a request that old is refused for its clock first.
    if (signature_hash.compare(0, kSignaturePruneOneInHexDigits,
                               std::string(kSignaturePruneOneInHexDigits, '0')) == 0) {
      GUICHET_TRY_STATUS(tx.Execute(
          "DELETE FROM device_signatures WHERE device_id = $1 AND expires_at < $2", {*id, now}));
    }
    auto fresh = tx.Execute(
        "INSERT INTO device_signatures (device_id, signature_hash, expires_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (device_id, signature_hash) DO NOTHING",
        {*id, signature_hash, *timestamp + kDeviceClockSkewMaxS * 1000});
    if (!fresh.ok()) return std::move(fresh).error();
    if (*fresh != 1) {
      return Unauthenticated("device_signature_replayed", "This signed request was already used.");
    }
    // last_seen_at moves at most once a kLastUsedResolutionS: no write when the row just read is
    // recent enough (the UPDATE's own condition stays, for concurrent requests).
    const auto last_seen = found.view.last_seen_at_ms;
    if (!last_seen || *last_seen <= now - kLastUsedResolutionS * 1000) {
      GUICHET_TRY_STATUS(tx.Execute(
          "UPDATE devices SET last_seen_at = $1 WHERE id = $2 AND (last_seen_at IS NULL OR "
          "last_seen_at <= $3)",
          {now, *id, now - kLastUsedResolutionS * 1000}));
    }
    return DeviceCaller(found, authorizer_.catalog(), request_id);
  });
}

Result<DeviceView> Machines::OwnDevice(const Caller& caller) {
  if (caller.kind != Caller::Kind::kDevice) {
    return Error{ErrorKind::kForbidden, "devices_only", "Only a device has a device record.", {}};
  }
  return database_.Transact<DeviceView>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<DeviceView> {
        auto device = FindDevice(tx, caller.id);
        if (!device.ok()) return std::move(device).error();
        GUICHET_ASSERT(device->has_value());  // devices are never deleted
        return (*device)->view;
      });
}

Result<std::vector<DeviceView>> Machines::ListDevices(const Caller& caller) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  using List = std::vector<DeviceView>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    const auto scopes = authorizer_.Scopes(caller, "identity.devices.manage");
    if (scopes.empty()) {
      return Error{ErrorKind::kForbidden, "forbidden", "You cannot list devices.", {}};
    }
    List devices;
    for (const std::string& scope : scopes) {
      auto rows = tx.Query(fmt::format("SELECT {} FROM {} WHERE o.path >= $1 AND o.path < $2"
                                       " ORDER BY d.id LIMIT {}",
                                       kDeviceColumns, kDeviceTables, kMachinesListMax),
                           {scope, SubtreeEnd(scope)});
      if (!rows.ok()) return std::move(rows).error();
      for (const Row& row : rows->rows) devices.push_back(ToDevice(row).view);
    }
    return devices;
  });
}

Result<DeviceView> Machines::OpposeDevice(const Caller& caller, int64_t id,
                                          std::string_view reason) {
  return ChangeDeviceStatus(caller, id, reason, true);
}

Result<DeviceView> Machines::ReactivateDevice(const Caller& caller, int64_t id,
                                              std::string_view reason) {
  return ChangeDeviceStatus(caller, id, reason, false);
}

Result<DeviceView> Machines::ChangeDeviceStatus(const Caller& caller, int64_t id,
                                                std::string_view reason, bool oppose) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t reason_length = http::Utf8Length(reason);
  if (reason_length < 1 || reason_length > kDeviceReasonLengthMax) {
    return Validation("/reason",
                      fmt::format("Give a reason of 1 to {} characters.", kDeviceReasonLengthMax));
  }
  const std::string_view from = oppose ? "active" : "opposed";
  const std::string_view to = oppose ? "opposed" : "active";
  const int64_t now = clock_.NowMs();
  return database_.Transact<DeviceView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<DeviceView> {
        auto before = VisibleDevice(tx, authorizer_, caller, id);
        if (!before.ok()) return std::move(before).error();
        auto changed = tx.Execute(
            "UPDATE devices SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
            {std::string(to), now, id, std::string(from)});
        if (!changed.ok()) return std::move(changed).error();
        if (*changed != 1) {
          return oppose
                     ? Error::Conflict("device_already_opposed", "This device is opposed already.")
                     : Error::Conflict("device_not_opposed", "This device is not opposed.");
        }
        GUICHET_TRY_STATUS(InsertEvent(tx, id, oppose ? "opposed" : "reactivated", reason,
                                       ActorType(caller), caller.id, now));
        auto after = VisibleDevice(tx, authorizer_, caller, id);
        if (!after.ok()) return std::move(after).error();
        boost::json::object recorded = DeviceJson(after->view);
        recorded["reason"] = reason;
        GUICHET_TRY_STATUS(Record(
            tx, caller, oppose ? "identity.device.oppose" : "identity.device.reactivate", "device",
            id, after->view.organisation_id, DeviceJson(before->view), recorded, now));
        return after->view;
      });
}

Result<std::vector<DeviceEvent>> Machines::DeviceHistory(const Caller& caller, int64_t id) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  using List = std::vector<DeviceEvent>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    auto device = VisibleDevice(tx, authorizer_, caller, id);
    if (!device.ok()) return std::move(device).error();
    return LoadEvents(tx, id);
  });
}

}  // namespace guichet::identity
