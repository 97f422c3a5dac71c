#include "platform/identity/machines.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/outbox.h"
#include "tests/support/identity_world.h"
#include "tests/support/test_databases.h"

namespace guichet::identity {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr std::string_view kPassword = testing::kTestPassword;

RightsCatalog TestCatalog() {
  RightsCatalog catalog;
  DeclarePermissions(catalog);
  DeclareMachinePermissions(catalog);
  catalog.AddPermission({"test.payments.read", "Read payments (held by treasurers only)"});
  catalog.AddProfile({"agent",
                      "test",
                      "Agent",
                      "Agent",
                      std::nullopt,
                      {"identity.orgs.read", "audit.read"},
                      false,
                      {"city"}});
  catalog.AddProfile({"admin",
                      "test",
                      "Admin",
                      "Admin",
                      "agent",
                      {"identity.staff.read", "identity.staff.manage", "identity.orgs.manage",
                       "identity.apikeys.manage", "identity.devices.manage"},
                      false,
                      {"syndicate", "city"}});
  catalog.AddProfile({"treasurer",
                      "test",
                      "Trésorier",
                      "Treasurer",
                      std::nullopt,
                      {"identity.orgs.read", "test.payments.read"},
                      false,
                      {"city"}});
  return catalog;
}

// A device as the test drives it: its own key pair, signing like a real terminal would.
struct TestDevice {
  int64_t id = 0;
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes

  static TestDevice Generate() {
    TestDevice device;
    device.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    device.secret_key.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(device.public_key.data()),
                        reinterpret_cast<unsigned char*>(device.secret_key.data()));
    return device;
  }

  std::string Sign(std::string_view message) const {
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(secret_key.data()));
    return crypto::ToBase64Url(signature);
  }
};

// The owned parts of one signed request; view() is what the gate hands the use case.
struct OwnedRequest {
  std::string device_id;
  std::string timestamp;
  std::string signature;
  std::string method = "GET";
  std::string target = "/api/v1/devices/me";
  std::string body;

  SignedRequest view() const { return {device_id, timestamp, signature, method, target, body}; }
};

OwnedRequest SignedBy(const TestDevice& device, int64_t timestamp_ms, std::string method = "GET",
                      std::string target = "/api/v1/devices/me", std::string body = "") {
  OwnedRequest request;
  request.device_id = std::to_string(device.id);
  request.timestamp = std::to_string(timestamp_ms);
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.signature = device.Sign(
      DeviceSigningString(request.method, request.target, request.timestamp, request.body));
  return request;
}

class MachineTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = testing::MigrateIdentityStack(db(), clock_, {MachineMigrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    options_.password_hash = {1, 8 * 1024};
    identity_ = std::make_unique<Identity>(db(), clock_, authorizer_, options_);
    machines_ = std::make_unique<Machines>(db(), clock_, authorizer_);
    orgs_ = testing::MakeSyndicateWithTwoCities(db(), clock_);
    ASSERT_EQ(orgs_.size(), 3u);
    admin_a_ = LogIn(Bootstrap("admin.a@test.fr", orgs_[1].id, {"admin"}));
    admin_b_ = LogIn(Bootstrap("admin.b@test.fr", orgs_[2].id, {"admin"}));
    agent_a_ = LogIn(Bootstrap("agent.a@test.fr", orgs_[1].id, {"agent"}));
    treasurer_a_ = LogIn(Bootstrap("treasurer.a@test.fr", orgs_[1].id, {"admin", "treasurer"}));
  }

  storage::Database& db() { return test_->db(); }

  std::string Bootstrap(const std::string& email, int64_t org, std::vector<std::string> profiles) {
    testing::BootstrapStaff(*identity_, email, org, std::move(profiles));
    return email;
  }

  Caller LogIn(const std::string& email) { return testing::LogIn(*identity_, email); }

  ApiKeySecret CreateKey(const Caller& caller, int64_t org, std::vector<std::string> scopes) {
    auto created = machines_->CreateApiKey(caller, {org, "Système de caisse", std::move(scopes)});
    EXPECT_TRUE(created.ok()) << created.error().message;
    return *created;
  }

  // Pairs a fresh device in `org` and returns it with its id.
  TestDevice PairDevice(int64_t org, std::string kind = "pos") {
    auto pairing = machines_->CreatePairing(admin_a_, {org, std::move(kind), "Caisse 1"});
    EXPECT_TRUE(pairing.ok()) << pairing.error().message;
    TestDevice device = TestDevice::Generate();
    auto paired = machines_->Pair(pairing->code, crypto::ToBase64Url(device.public_key), "pair");
    EXPECT_TRUE(paired.ok()) << paired.error().message;
    device.id = paired->id;
    return device;
  }

  std::string ErrorCode(const Result<Caller>& result) {
    return result.ok() ? "ok" : result.error().code;
  }

  std::vector<audit::AuditRecord> AuditOf(std::string_view type, int64_t id) {
    auto history = db().Transact<std::vector<audit::AuditRecord>>(
        TransactionMode::kRead, [&](Transaction& tx) {
          return audit::History(tx, type, std::to_string(id), audit::kHistoryPageMax, std::nullopt);
        });
    EXPECT_TRUE(history.ok());
    return *history;
  }

  ManualClock clock_{1'800'000'000'000};
  RightsCatalog catalog_ = TestCatalog();
  Authorizer authorizer_{catalog_};
  IdentityOptions options_;
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Identity> identity_;
  std::unique_ptr<Machines> machines_;
  std::vector<orgs::Organisation> orgs_;
  Caller admin_a_;
  Caller admin_b_;
  Caller agent_a_;
  Caller treasurer_a_;
};

// ----- API keys

TEST_P(MachineTest, ApiKeyScopesNeverExceedTheCreatorsRights) {
  auto beyond = machines_->CreateApiKey(admin_a_, {orgs_[1].id, "Caisse", {"test.payments.read"}});
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, "grant_exceeds_own_rights");
  auto device_right = machines_->CreateApiKey(admin_a_, {orgs_[1].id, "Caisse", {"devices.self"}});
  EXPECT_EQ(device_right.error().code, "grant_exceeds_own_rights");
  // Held, but administering people and machines stays with people.
  auto people_only =
      machines_->CreateApiKey(admin_a_, {orgs_[1].id, "Caisse", {"identity.staff.manage"}});
  ASSERT_FALSE(people_only.ok());
  EXPECT_EQ(people_only.error().code, "validation_failed");
  EXPECT_EQ(people_only.error().fields.at(0).pointer, "/scopes/0");
  auto unknown = machines_->CreateApiKey(admin_a_, {orgs_[1].id, "Caisse", {"no.such.right"}});
  EXPECT_EQ(unknown.error().code, "validation_failed");
  auto none = machines_->CreateApiKey(admin_a_, {orgs_[1].id, "Caisse", {}});
  EXPECT_EQ(none.error().code, "validation_failed");
  auto other_city =
      machines_->CreateApiKey(admin_a_, {orgs_[2].id, "Caisse", {"identity.orgs.read"}});
  EXPECT_EQ(other_city.error().code, "organisation_not_found");
  auto no_right = machines_->CreateApiKey(agent_a_, {orgs_[1].id, "Caisse", {"audit.read"}});
  EXPECT_EQ(no_right.error().code, "forbidden");
  // Someone who holds the permission may give it.
  ApiKeySecret held = CreateKey(treasurer_a_, orgs_[1].id, {"test.payments.read"});
  EXPECT_EQ(held.key.scopes, std::vector<std::string>{"test.payments.read"});
}

TEST_P(MachineTest, ApiKeyActsInItsOrganisationWithExactlyItsScopes) {
  ApiKeySecret created =
      CreateKey(treasurer_a_, orgs_[1].id, {"test.payments.read", "identity.orgs.read"});
  EXPECT_EQ(created.secret.rfind("gk_" + created.key.public_id + "_", 0), 0u);
  auto caller = machines_->AuthenticateApiKey(created.secret, "r1");
  ASSERT_TRUE(caller.ok()) << caller.error().message;
  EXPECT_EQ(caller->kind, Caller::Kind::kApiKey);
  EXPECT_EQ(caller->id, created.key.id);
  EXPECT_TRUE(authorizer_.Allows(*caller, "test.payments.read", orgs_[1].path));
  EXPECT_TRUE(authorizer_.Allows(*caller, "identity.orgs.read", orgs_[1].path));
  EXPECT_FALSE(authorizer_.Allows(*caller, "audit.read", orgs_[1].path));
  EXPECT_FALSE(authorizer_.Allows(*caller, "test.payments.read", orgs_[2].path));
  EXPECT_FALSE(authorizer_.Allows(*caller, "test.payments.read", orgs_[0].path));
  // A key is not a person: it cannot manage keys, even through the use case directly.
  auto by_key = machines_->CreateApiKey(*caller, {orgs_[1].id, "x", {"identity.orgs.read"}});
  EXPECT_EQ(by_key.error().code, "people_only");
  // Stored as a digest only.
  auto stored =
      db().Transact<int64_t>(TransactionMode::kRead, [&](Transaction& tx) -> Result<int64_t> {
        auto row = tx.QueryOne("SELECT COUNT(*) FROM api_key_secrets WHERE secret_hash = $1",
                               {crypto::Sha256Hex(created.secret)});
        if (!row.ok()) return std::move(row).error();
        return (*row)->Int(0);
      });
  EXPECT_EQ(*stored, 1);
  auto history = AuditOf("api_key", created.key.id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].entry.action, "identity.api_key.create");
  EXPECT_EQ(history[0].entry.actor_type, "user");
  EXPECT_EQ(history[0].entry.after_json.find(created.secret), std::string::npos);
}

TEST_P(MachineTest, ForgedOrMalformedApiKeysAreRefused) {
  ApiKeySecret created = CreateKey(admin_a_, orgs_[1].id, {"identity.orgs.read"});
  std::string forged = created.secret;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(forged, "r")), "api_key_invalid");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(
                "gk_0011223344556677_" + crypto::RandomToken(32), "r")),
            "api_key_invalid");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey("not-a-key", "r")), "api_key_invalid");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey("", "r")), "api_key_invalid");
}

TEST_P(MachineTest, RotationKeepsThePreviousSecretForTheGracePeriodOnly) {
  ApiKeySecret first = CreateKey(admin_a_, orgs_[1].id, {"identity.orgs.read"});
  clock_.Advance(1000);
  auto second = machines_->RotateApiKey(admin_a_, first.key.id);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(second->secret, first.secret);
  EXPECT_EQ(second->key.public_id, first.key.public_id);
  EXPECT_EQ(*second->previous_secret_valid_until_ms, clock_.NowMs() + kApiKeyRotationGraceS * 1000);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(first.secret, "r")), "ok");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(second->secret, "r")), "ok");
  clock_.Advance(kApiKeyRotationGraceS * 1000 - 1);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(first.secret, "r")), "ok");
  clock_.Advance(1);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(first.secret, "r")), "api_key_expired");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(second->secret, "r")), "ok");
  // A second rotation gives the second secret its own grace; the first one is gone.
  auto third = machines_->RotateApiKey(admin_a_, first.key.id);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(second->secret, "r")), "ok");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(third->secret, "r")), "ok");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(first.secret, "r")), "api_key_invalid");
  std::vector<std::string> actions;
  for (const auto& record : AuditOf("api_key", first.key.id))
    actions.push_back(record.entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"identity.api_key.rotate", "identity.api_key.rotate",
                                               "identity.api_key.create"}));
}

TEST_P(MachineTest, RevocationIsImmediateForEverySecret) {
  ApiKeySecret first = CreateKey(admin_a_, orgs_[1].id, {"identity.orgs.read"});
  auto second = machines_->RotateApiKey(admin_a_, first.key.id);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(machines_->RevokeApiKey(admin_a_, first.key.id).ok());
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(first.secret, "r")), "api_key_revoked");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateApiKey(second->secret, "r")), "api_key_revoked");
  EXPECT_EQ(machines_->RevokeApiKey(admin_a_, first.key.id).error().code, "api_key_revoked");
  EXPECT_EQ(machines_->RotateApiKey(admin_a_, first.key.id).error().code, "api_key_revoked");
  auto history = AuditOf("api_key", first.key.id);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0].entry.action, "identity.api_key.revoke");
}

TEST_P(MachineTest, KeysOfAnotherOrganisationAreInvisible) {
  ApiKeySecret key = CreateKey(admin_a_, orgs_[1].id, {"identity.orgs.read"});
  EXPECT_EQ(machines_->RevokeApiKey(admin_b_, key.key.id).error().code, "api_key_not_found");
  EXPECT_EQ(machines_->RotateApiKey(admin_b_, key.key.id).error().code, "api_key_not_found");
  auto listed_b = machines_->ListApiKeys(admin_b_);
  ASSERT_TRUE(listed_b.ok());
  EXPECT_TRUE(listed_b->empty());
  auto listed_a = machines_->ListApiKeys(admin_a_);
  ASSERT_TRUE(listed_a.ok());
  ASSERT_EQ(listed_a->size(), 1u);
  EXPECT_EQ(listed_a->at(0).id, key.key.id);
  EXPECT_EQ(machines_->ListApiKeys(agent_a_).error().code, "forbidden");
}

TEST_P(MachineTest, LastUsedIsWrittenAtMostOnceAMinute) {
  ApiKeySecret key = CreateKey(admin_a_, orgs_[1].id, {"identity.orgs.read"});
  auto last_used = [&]() { return machines_->ListApiKeys(admin_a_)->at(0).last_used_at_ms; };
  EXPECT_FALSE(last_used().has_value());
  const int64_t first_use = clock_.NowMs();
  ASSERT_TRUE(machines_->AuthenticateApiKey(key.secret, "r").ok());
  EXPECT_EQ(last_used(), first_use);
  clock_.Advance(30'000);
  ASSERT_TRUE(machines_->AuthenticateApiKey(key.secret, "r").ok());
  EXPECT_EQ(last_used(), first_use);
  clock_.Advance(31'000);
  ASSERT_TRUE(machines_->AuthenticateApiKey(key.secret, "r").ok());
  EXPECT_EQ(last_used(), clock_.NowMs());
}

// ----- Devices: pairing

TEST_P(MachineTest, PairingCodeIsSingleUse) {
  auto pairing = machines_->CreatePairing(admin_a_, {orgs_[1].id, "scanner", "Scanner musée"});
  ASSERT_TRUE(pairing.ok()) << pairing.error().message;
  ASSERT_EQ(pairing->code.size(), kPairingCodeLength);
  EXPECT_EQ(pairing->code.find_first_not_of(kPairingCodeAlphabet), std::string::npos);
  EXPECT_EQ(pairing->expires_at_ms, clock_.NowMs() + kPairingLifetimeS * 1000);
  EXPECT_EQ(pairing->qr_svg.rfind("<svg", 0), 0u);
  const TestDevice device = TestDevice::Generate();
  // Typed in lower case with a dash, as people do.
  const std::string typed = pairing->code.substr(0, 4) + "-" + pairing->code.substr(4);
  std::string lower;
  for (char c : typed) lower.push_back(static_cast<char>(std::tolower(c)));
  auto paired = machines_->Pair(lower, crypto::ToBase64Url(device.public_key), "p1");
  ASSERT_TRUE(paired.ok()) << paired.error().message;
  EXPECT_EQ(paired->organisation_id, orgs_[1].id);
  EXPECT_EQ(paired->kind, "scanner");
  EXPECT_EQ(paired->status, "active");
  const TestDevice other = TestDevice::Generate();
  auto again = machines_->Pair(pairing->code, crypto::ToBase64Url(other.public_key), "p2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "pairing_code_invalid");
  auto audit = AuditOf("device", paired->id);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].entry.action, "identity.device.pair");
  EXPECT_EQ(audit[0].entry.actor_type, "device");
}

TEST_P(MachineTest, PairingCodeExpiresAfterFifteenMinutes) {
  auto pairing = machines_->CreatePairing(admin_a_, {orgs_[1].id, "pos", "Caisse"});
  ASSERT_TRUE(pairing.ok());
  clock_.Advance(kPairingLifetimeS * 1000);
  const TestDevice device = TestDevice::Generate();
  auto late = machines_->Pair(pairing->code, crypto::ToBase64Url(device.public_key), "p");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "pairing_code_expired");
}

TEST_P(MachineTest, PairingRefusesBadInput) {
  EXPECT_EQ(machines_->CreatePairing(admin_a_, {orgs_[1].id, "toaster", "x"}).error().code,
            "validation_failed");
  EXPECT_EQ(machines_->CreatePairing(admin_a_, {orgs_[1].id, "pos", ""}).error().code,
            "validation_failed");
  EXPECT_EQ(machines_->CreatePairing(admin_a_, {orgs_[2].id, "pos", "x"}).error().code,
            "organisation_not_found");
  EXPECT_EQ(machines_->CreatePairing(agent_a_, {orgs_[1].id, "pos", "x"}).error().code,
            "forbidden");
  auto pairing = machines_->CreatePairing(admin_a_, {orgs_[1].id, "pos", "Caisse"});
  ASSERT_TRUE(pairing.ok());
  const std::string short_key = crypto::ToBase64Url(std::string(31, 'k'));
  EXPECT_EQ(machines_->Pair(pairing->code, short_key, "p").error().code, "validation_failed");
  // A point of small order (the identity) would accept forged signatures: refused.
  std::string identity_point(32, '\0');
  identity_point[0] = 1;
  EXPECT_EQ(machines_->Pair(pairing->code, crypto::ToBase64Url(identity_point), "p").error().code,
            "validation_failed");
  const TestDevice device = TestDevice::Generate();
  EXPECT_EQ(machines_->Pair("ZZZZ2222", crypto::ToBase64Url(device.public_key), "p").error().code,
            "pairing_code_invalid");
  EXPECT_EQ(machines_->Pair("short", crypto::ToBase64Url(device.public_key), "p").error().code,
            "validation_failed");
  // The code survived the refusals above.
  EXPECT_TRUE(machines_->Pair(pairing->code, crypto::ToBase64Url(device.public_key), "p").ok());
}

// ----- Devices: signed requests

TEST_P(MachineTest, SignedRequestAuthenticatesTheDevice) {
  const TestDevice device = PairDevice(orgs_[1].id);
  auto caller = machines_->AuthenticateDevice(SignedBy(device, clock_.NowMs()).view(), "r");
  ASSERT_TRUE(caller.ok()) << caller.error().message;
  EXPECT_EQ(caller->kind, Caller::Kind::kDevice);
  EXPECT_EQ(caller->id, device.id);
  EXPECT_TRUE(authorizer_.Allows(*caller, "devices.self", orgs_[1].path));
  EXPECT_FALSE(authorizer_.Allows(*caller, "identity.orgs.read", orgs_[1].path));
  EXPECT_FALSE(authorizer_.Allows(*caller, "devices.self", orgs_[2].path));
  auto own = machines_->OwnDevice(*caller);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->id, device.id);
  EXPECT_EQ(own->last_seen_at_ms, clock_.NowMs());
  EXPECT_EQ(machines_->OwnDevice(admin_a_).error().code, "devices_only");
}

TEST_P(MachineTest, TamperedRequestsAreForgeries) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const int64_t now = clock_.NowMs();
  const OwnedRequest good = SignedBy(device, now, "POST", "/api/v1/x?a=1", R"({"amount":100})");
  OwnedRequest body = good;
  body.body = R"({"amount":900})";
  OwnedRequest path = good;
  path.target = "/api/v1/x?a=2";
  OwnedRequest method = good;
  method.method = "PUT";
  OwnedRequest timestamp = good;
  timestamp.timestamp = std::to_string(now + 1);
  OwnedRequest other_key = good;
  other_key.signature = TestDevice::Generate().Sign(
      DeviceSigningString(good.method, good.target, good.timestamp, good.body));
  OwnedRequest garbage = good;
  garbage.signature = "not base64url!";
  for (const OwnedRequest* forged : {&body, &path, &method, &timestamp, &other_key, &garbage}) {
    EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(forged->view(), "r")),
              "device_signature_invalid")
        << forged->method << " " << forged->target << " " << forged->body;
  }
  OwnedRequest unknown = good;
  unknown.device_id = std::to_string(device.id + 1000);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(unknown.view(), "r")), "device_unknown");
  // None of the forgeries spent the genuine signature.
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(good.view(), "r")), "ok");
}

TEST_P(MachineTest, ReplayedSignatureIsRefused) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const OwnedRequest request = SignedBy(device, clock_.NowMs(), "POST", "/api/v1/pay", "{}");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(request.view(), "r1")), "ok");
  clock_.Advance(1000);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(request.view(), "r2")),
            "device_signature_replayed");
  // Another process (a second Machines on the same database) knows it too.
  Machines other(db(), clock_, authorizer_);
  EXPECT_EQ(ErrorCode(other.AuthenticateDevice(request.view(), "r3")), "device_signature_replayed");
  // Once the window is over the timestamp itself is refused, so forgetting it is safe.
  clock_.Advance(kDeviceClockSkewMaxS * 1000);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(request.view(), "r4")), "device_clock_skew");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(
                SignedBy(device, clock_.NowMs(), "POST", "/api/v1/pay", "{}").view(), "r5")),
            "ok");
}

TEST_P(MachineTest, ClockSkewBeyondTheWindowIsRefusedWithTheServerTime) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const int64_t now = clock_.NowMs();
  const int64_t window_ms = kDeviceClockSkewMaxS * 1000;
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, now - window_ms).view(), "r")),
            "ok");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, now + window_ms).view(), "r")),
            "ok");
  auto late = machines_->AuthenticateDevice(SignedBy(device, now - window_ms - 1).view(), "r");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "device_clock_skew");
  EXPECT_EQ(late.error().kind, ErrorKind::kUnauthenticated);
  EXPECT_NE(late.error().message.find(std::to_string(now)), std::string::npos);
  EXPECT_EQ(
      ErrorCode(machines_->AuthenticateDevice(SignedBy(device, now + window_ms + 1).view(), "r")),
      "device_clock_skew");
}

// ----- Devices: opposition

TEST_P(MachineTest, OppositionCutsTheDeviceOffAtOnceAndIsKeptInHistory) {
  const TestDevice device = PairDevice(orgs_[1].id);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, clock_.NowMs()).view(), "r")),
            "ok");
  auto opposed = machines_->OpposeDevice(admin_a_, device.id, "Terminal volé");
  ASSERT_TRUE(opposed.ok()) << opposed.error().message;
  EXPECT_EQ(opposed->status, "opposed");
  clock_.Advance(1);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, clock_.NowMs()).view(), "r")),
            "device_opposed");
  EXPECT_EQ(machines_->OpposeDevice(admin_a_, device.id, "again").error().code,
            "device_already_opposed");
  clock_.Advance(1);
  auto reactivated = machines_->ReactivateDevice(admin_a_, device.id, "Retrouvé");
  ASSERT_TRUE(reactivated.ok());
  EXPECT_EQ(reactivated->status, "active");
  EXPECT_EQ(machines_->ReactivateDevice(admin_a_, device.id, "again").error().code,
            "device_not_opposed");
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, clock_.NowMs()).view(), "r")),
            "ok");
  auto history = machines_->DeviceHistory(admin_a_, device.id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ(history->at(0).event, "reactivated");
  EXPECT_EQ(history->at(0).reason, "Retrouvé");
  EXPECT_EQ(history->at(0).actor_type, "user");
  EXPECT_EQ(history->at(0).actor_id, admin_a_.id);
  EXPECT_EQ(history->at(1).event, "opposed");
  EXPECT_EQ(history->at(1).reason, "Terminal volé");
  EXPECT_EQ(history->at(2).event, "paired");
  std::vector<std::string> actions;
  for (const auto& record : AuditOf("device", device.id)) actions.push_back(record.entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"identity.device.reactivate",
                                               "identity.device.oppose", "identity.device.pair"}));
}

TEST_P(MachineTest, DevicesOfAnotherOrganisationCannotBeTouched) {
  const TestDevice device = PairDevice(orgs_[1].id);
  EXPECT_EQ(machines_->OpposeDevice(admin_b_, device.id, "x").error().code, "device_not_found");
  EXPECT_EQ(machines_->DeviceHistory(admin_b_, device.id).error().code, "device_not_found");
  EXPECT_EQ(machines_->OpposeDevice(admin_a_, device.id, "").error().code, "validation_failed");
  EXPECT_TRUE(machines_->ListDevices(admin_b_)->empty());
  ASSERT_EQ(machines_->ListDevices(admin_a_)->size(), 1u);
  EXPECT_EQ(ErrorCode(machines_->AuthenticateDevice(SignedBy(device, clock_.NowMs()).view(), "r")),
            "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, MachineTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::identity
