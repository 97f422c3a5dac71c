// Machine clients (C12): API keys for institution systems, and devices (points of sale,
// scanners, check-in tablets) enrolled by staff with a one-time pairing code, each holding its
// own Ed25519 key pair and signing every request with it.
//
// An API key acts in one organisation with exactly its scopes, a subset of what its creator
// held there. Its secret is shown once and stored as a SHA-256 digest (it is 32 random bytes:
// no slow hash is needed); rotation issues a new secret and keeps the previous one valid for
// kApiKeyRotationGraceS; revocation is immediate.
//
// A device signs, for every request, the canonical string (DeviceSigningString)
//     METHOD "\n" PATH_AND_QUERY "\n" TIMESTAMP "\n" hex(SHA-256(BODY))
// and sends X-Device-Id, X-Device-Timestamp (Unix ms) and X-Device-Signature (unpadded
// base64url). The server keeps each signature for as long as its timestamp is acceptable, in
// the database so every process agrees, and refuses it a second time. Opposition is read from
// the database on every request: it cuts a device off at once, and it and reactivations are kept
// in device_events.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::http {
class Router;
struct RequestContext;
}  // namespace guichet::http

namespace guichet::identity {

struct IdentityHttpContext;

// API keys.
inline constexpr int64_t kApiKeyRotationGraceS = 24 * 3600;  // the previous secret still works
inline constexpr int64_t kApiKeyLabelLengthMax = 120;        // characters
inline constexpr int64_t kApiKeyScopesMax = 50;
inline constexpr size_t kApiKeySecretBytes = 32;
inline constexpr int64_t kApiKeyTokenBytesMax = 200;  // a longer Authorization value is refused
inline constexpr std::string_view kApiKeyPrefix = "gk_";
// Permissions no API key may carry: their use cases treat the caller as a person (one's own
// account, one's own history, the one who granted) and administering people, rights and
// machines stays with people who log in, with a second factor where the profile asks it.
inline constexpr std::string_view kPeopleOnlyPermissions[] = {
    "identity.staff.read", "identity.staff.manage",   "identity.orgs.manage",
    "audit.read",          "identity.apikeys.manage", "identity.devices.manage",
    "privacy.export",      "privacy.erase",
};

// Devices.
inline constexpr std::string_view kDeviceKinds[] = {"pos", "scanner", "tablet"};
inline constexpr int64_t kPairingLifetimeS = 15 * 60;
inline constexpr size_t kPairingCodeLength = 8;
// No 0/O, 1/I/L: codes are read off a screen and typed on a terminal's keypad.
inline constexpr std::string_view kPairingCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
inline constexpr int64_t kPairingCodeAttemptsMax = 5;  // fresh codes tried on a collision
// An expired code is answered "expired" this long, then forgotten (its digest cleared).
inline constexpr int64_t kPairingCodeMemoryS = 24 * 3600;
inline constexpr std::string_view kPairingQrPrefix = "guichet-pair:";
inline constexpr int64_t kDeviceLabelLengthMax = 120;
inline constexpr int64_t kDeviceReasonLengthMax = 500;
inline constexpr int64_t kDeviceClockSkewMaxS = 300;  // ± around the server's clock
inline constexpr size_t kDeviceIdDigitsMax = 18;
inline constexpr size_t kDeviceTimestampDigitsMax = 15;
inline constexpr size_t kDeviceSignatureTextMax = 128;  // base64url of 64 bytes is 86
inline constexpr std::string_view kDeviceIdHeader = "X-Device-Id";
inline constexpr std::string_view kDeviceTimestampHeader = "X-Device-Timestamp";
inline constexpr std::string_view kDeviceSignatureHeader = "X-Device-Signature";

inline constexpr int64_t kLastUsedResolutionS = 60;  // last_used_at / last_seen_at write rate
inline constexpr int64_t kMachinesListMax = 1000;    // rows in one list answer
inline constexpr int64_t kDeviceHistoryMax = 500;

std::vector<storage::Migration> MachineMigrations();

// identity.apikeys.manage, identity.devices.manage and devices.self (held by every device kind).
void DeclareMachinePermissions(RightsCatalog& catalog);

struct ApiKeyView {
  int64_t id = 0;
  std::string public_id;  // the part of the secret that names the key: safe to log and show
  int64_t organisation_id = 0;
  std::string organisation_name;
  std::string label;
  std::vector<std::string> scopes;
  std::string status;  // active | revoked
  int64_t created_by = 0;
  int64_t created_at_ms = 0;
  std::optional<int64_t> rotated_at_ms;
  std::optional<int64_t> revoked_at_ms;
  std::optional<int64_t> last_used_at_ms;
};

struct NewApiKey {
  int64_t organisation_id = 0;
  std::string label;
  std::vector<std::string> scopes;
};

// What creation and rotation return: the only time the secret exists outside the client.
struct ApiKeySecret {
  ApiKeyView key;
  std::string secret;  // "gk_<public id>_<32 random bytes, base64url>"
  std::optional<int64_t> previous_secret_valid_until_ms;  // after a rotation
};

struct NewPairing {
  int64_t organisation_id = 0;
  std::string kind;  // one of kDeviceKinds
  std::string label;
};

struct Pairing {
  int64_t id = 0;
  std::string code;  // kPairingCodeLength characters of kPairingCodeAlphabet, shown once
  int64_t organisation_id = 0;
  std::string kind;
  std::string label;
  int64_t expires_at_ms = 0;
  std::string qr_svg;  // QR of kPairingQrPrefix + code
};

struct DeviceView {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string organisation_name;
  std::string kind;
  std::string label;
  std::string status;  // active | opposed
  int64_t paired_at_ms = 0;
  std::optional<int64_t> last_seen_at_ms;
};

struct DeviceEvent {
  int64_t id = 0;
  std::string event;  // paired | opposed | reactivated
  std::optional<std::string> reason;
  std::string actor_type;  // user | api_key | device | system
  std::optional<int64_t> actor_id;
  int64_t at_ms = 0;
};

// The raw parts of a signed device request, as received.
struct SignedRequest {
  std::string_view device_id;
  std::string_view timestamp;  // decimal Unix milliseconds, signed as sent
  std::string_view signature;  // base64url (unpadded) of the 64-byte Ed25519 signature
  std::string_view method;     // "POST"
  std::string_view target;     // path and query, exactly as in the request line
  std::string_view body;
};

// The bytes a device signs: METHOD\nPATH_AND_QUERY\nTIMESTAMP\nSHA256HEX(BODY).
std::string DeviceSigningString(std::string_view method, std::string_view target,
                                std::string_view timestamp, std::string_view body);

class Machines {
 public:
  Machines(storage::Database& database, const Clock& clock, const Authorizer& authorizer);

  // API keys: managed by people holding identity.apikeys.manage on the key's organisation.
  Result<ApiKeySecret> CreateApiKey(const Caller& caller, const NewApiKey& request);
  Result<std::vector<ApiKeyView>> ListApiKeys(const Caller& caller);
  Result<ApiKeySecret> RotateApiKey(const Caller& caller, int64_t id);
  Status RevokeApiKey(const Caller& caller, int64_t id);
  // The caller behind "gk_…": errors api_key_invalid, api_key_revoked, api_key_expired (401).
  Result<Caller> AuthenticateApiKey(std::string_view secret, std::string_view request_id);

  // Devices: pairings and oppositions by people holding identity.devices.manage.
  Result<Pairing> CreatePairing(const Caller& caller, const NewPairing& request);
  // Public: the device presents the code and its Ed25519 public key (base64url, 32 bytes).
  Result<DeviceView> Pair(std::string_view code, std::string_view public_key,
                          std::string_view request_id);
  // Errors (401): device_unknown, device_signature_invalid, device_opposed, device_clock_skew,
  // device_signature_replayed.
  Result<Caller> AuthenticateDevice(const SignedRequest& request, std::string_view request_id);
  Result<DeviceView> OwnDevice(const Caller& caller);
  Result<std::vector<DeviceView>> ListDevices(const Caller& caller);
  Result<DeviceView> OpposeDevice(const Caller& caller, int64_t id, std::string_view reason);
  Result<DeviceView> ReactivateDevice(const Caller& caller, int64_t id, std::string_view reason);
  // Newest first.
  Result<std::vector<DeviceEvent>> DeviceHistory(const Caller& caller, int64_t id);

 private:
  Result<DeviceView> ChangeDeviceStatus(const Caller& caller, int64_t id, std::string_view reason,
                                        bool oppose);

  storage::Database& database_;
  const Clock& clock_;
  const Authorizer& authorizer_;
};

boost::json::object ApiKeyJson(const ApiKeyView& key);
boost::json::object DeviceJson(const DeviceView& device);
boost::json::object DeviceEventJson(const DeviceEvent& event);

// HTTP (machines_http.cpp). The machine caller behind a request's `Authorization: Bearer gk_…`
// or X-Device-* headers, or nullopt when it carries neither (then the session cookie decides).
std::optional<Result<Caller>> AuthenticateMachineRequest(IdentityHttpContext& context,
                                                         const http::RequestContext& request);
void AddMachineRoutes(http::Router& router, IdentityHttpContext& context);

}  // namespace guichet::identity
