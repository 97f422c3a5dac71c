#include "platform/privacy/privacy.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/totp.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/outbox.h"
#include "tests/support/identity_world.h"
#include "tests/support/test_databases.h"

namespace guichet::privacy {
namespace {

using boost::json::object;
using identity::Caller;
using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr std::string_view kPassword = "Vercors-Granit-Saule-47";
constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

identity::RightsCatalog TestCatalog() {
  identity::RightsCatalog catalog;
  identity::DeclarePermissions(catalog);
  privacy::DeclarePermissions(catalog);
  catalog.AddPermission({"test.money", "Handle money (a right the city admins lack)"});
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
                       "privacy.export", "privacy.erase"},
                      false,
                      {"syndicate", "city"}});
  // Sees staff but holds no privacy right: refused with 403, not 404.
  catalog.AddProfile({"hr",
                      "test",
                      "HR",
                      "HR",
                      std::nullopt,
                      {"identity.orgs.read", "identity.staff.read"},
                      false,
                      {"city"}});
  catalog.AddProfile({"treasurer",
                      "test",
                      "Treasurer",
                      "Treasurer",
                      "agent",
                      {"test.money"},
                      false,
                      {"syndicate", "city"}});
  return catalog;
}

class PrivacyTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = testing::MigrateIdentityStack(db(), clock_, {Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    identity::IdentityOptions options;
    options.password_hash = {1, int64_t{8} * 1024};
    identity_ = std::make_unique<identity::Identity>(db(), clock_, authorizer_, options);
    privacy_ = std::make_unique<Privacy>(db(), clock_, authorizer_);
    MakeOrganisations();
    top_ = Bootstrap("top@test.fr", syndicate_.id, {"admin", "treasurer"});
    admin_a_ = Bootstrap("admin.a@test.fr", city_a_.id, {"admin"});
    agent_a_ = Bootstrap("agent.a@test.fr", city_a_.id, {"agent"});
    hr_a_ = Bootstrap("hr.a@test.fr", city_a_.id, {"hr"});
    treasurer_a_ = Bootstrap("treasurer.a@test.fr", city_a_.id, {"treasurer"});
    admin_b_ = Bootstrap("admin.b@test.fr", city_b_.id, {"admin"});
  }

  storage::Database& db() { return test_->db(); }

  void MakeOrganisations() {
    const auto made = testing::MakeSyndicateWithTwoCities(db(), clock_);
    ASSERT_EQ(made.size(), 3u);
    syndicate_ = made[0];
    city_a_ = made[1];
    city_b_ = made[2];
  }

  int64_t Bootstrap(const std::string& email, int64_t org, std::vector<std::string> profiles) {
    identity::NewStaff staff;
    staff.email = email;
    staff.display_name = "Camille Testeur";
    staff.organisation_id = org;
    staff.profiles = std::move(profiles);
    staff.initial_password = std::string(kPassword);
    staff.must_change_password = false;
    auto id = identity_->BootstrapStaff(staff);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  struct Session {
    Caller caller;
    std::string token;
    std::string csrf;
  };

  Session LogIn(const std::string& email) {
    auto outcome = identity_->Login(email, kPassword, "req-login");
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
    auto authenticated = identity_->Authenticate(outcome->tokens.session_token, "req-test");
    EXPECT_TRUE(authenticated.ok());
    return {authenticated->caller, outcome->tokens.session_token, outcome->tokens.csrf_token};
  }

  Consent Choose(const Caller& caller, std::string purpose, std::string channel, bool granted,
                 std::string version) {
    ConsentChoice choice{std::move(purpose), std::move(channel), granted,
                         "J'accepte de recevoir les alertes du service.", std::move(version)};
    auto consent = privacy_->RecordMyConsent(caller, choice);
    EXPECT_TRUE(consent.ok()) << consent.error().message;
    clock_.Advance(1000);
    return consent.ok() ? *consent : Consent{};
  }

  template <typename T>
  T Read(const std::function<Result<T>(Transaction&)>& work) {
    auto result = db().Transact<T>(TransactionMode::kWrite, work);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return std::move(result).value();
  }

  int64_t Count(const std::string& sql, storage::Params params = {}) {
    return Read<int64_t>([&](Transaction& tx) -> Result<int64_t> {
      auto row = tx.QueryOne(sql, params);
      if (!row.ok()) return std::move(row).error();
      return (*row)->Int(0);
    });
  }

  std::string UserStatus(int64_t id) {
    return Read<std::string>([&](Transaction& tx) -> Result<std::string> {
      auto row = tx.QueryOne("SELECT status FROM users WHERE id = $1", {id});
      if (!row.ok()) return std::move(row).error();
      return (*row)->Text(0);
    });
  }

  ManualClock clock_{1'800'000'000'000};
  identity::RightsCatalog catalog_ = TestCatalog();
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<identity::Identity> identity_;
  std::unique_ptr<Privacy> privacy_;
  orgs::Organisation syndicate_, city_a_, city_b_;
  int64_t top_ = 0, admin_a_ = 0, agent_a_ = 0, hr_a_ = 0, treasurer_a_ = 0, admin_b_ = 0;
};

TEST_P(PrivacyTest, ConsentsKeepEveryChoiceAndTheLatestDecides) {
  const Caller agent = LogIn("agent.a@test.fr").caller;
  Choose(agent, "alerts", "email", true, "v1");
  Choose(agent, "newsletter", "email", true, "v1");
  Choose(agent, "alerts", "email", false, "v2");

  auto overview = privacy_->MyConsents(agent);
  ASSERT_TRUE(overview.ok()) << overview.error().message;
  ASSERT_EQ(overview->history.size(), 3u);
  EXPECT_EQ(overview->history[0].wording_version, "v2");  // newest first
  EXPECT_EQ(overview->history[2].purpose, "alerts");
  EXPECT_TRUE(overview->history[2].granted);
  EXPECT_EQ(overview->history[0].source, "web");
  EXPECT_EQ(overview->history[0].request_id, "req-test");
  EXPECT_EQ(overview->history[0].wording, "J'accepte de recevoir les alertes du service.");
  ASSERT_EQ(overview->current.size(), 2u);
  EXPECT_EQ(overview->current[0].purpose, "alerts");
  EXPECT_FALSE(overview->current[0].granted);
  EXPECT_EQ(overview->current[1].purpose, "newsletter");
  EXPECT_TRUE(overview->current[1].granted);
  EXPECT_EQ(overview->purposes, (std::vector<std::string>{"alerts", "newsletter", "surveys"}));

  auto state = [&](std::string purpose, std::string channel) {
    return Read<CurrentConsent>(
        [&](Transaction& tx) { return ConsentState(tx, kStaff, agent_a_, purpose, channel); });
  };
  EXPECT_FALSE(state("alerts", "email").granted);
  EXPECT_EQ(state("alerts", "email").latest->wording_version, "v2");
  EXPECT_TRUE(state("newsletter", "email").granted);
  EXPECT_FALSE(state("newsletter", "sms").granted);
  EXPECT_FALSE(state("surveys", "email").latest.has_value());  // never asked

  auto without = Read<std::vector<int64_t>>([&](Transaction& tx) {
    return PeopleWithoutConsent(tx, "newsletter", "email", {city_a_.path}, 100);
  });
  EXPECT_EQ(without, (std::vector<int64_t>{admin_a_, hr_a_, treasurer_a_}));
  auto alerts = Read<std::vector<int64_t>>([&](Transaction& tx) {
    return PeopleWithoutConsent(tx, "alerts", "email", {syndicate_.path}, 100);
  });
  EXPECT_EQ(alerts.size(), 6u);  // withdrawn counts as without
}

TEST_P(PrivacyTest, ConsentsRefuseBadChoicesAndAreAppendOnly) {
  const Caller agent = LogIn("agent.a@test.fr").caller;
  auto refused = [&](const ConsentChoice& choice) {
    auto result = privacy_->RecordMyConsent(agent, choice);
    EXPECT_FALSE(result.ok());
    return result.ok() ? std::string() : result.error().fields.front().pointer;
  };
  EXPECT_EQ(refused({"marketing", "email", true, "Oui", "v1"}), "/purpose");  // not declared
  EXPECT_EQ(refused({"alerts", "fax", true, "Oui", "v1"}), "/channel");
  EXPECT_EQ(refused({"alerts", "email", true, "", "v1"}), "/wording");
  EXPECT_EQ(refused({"alerts", "email", true, "Oui", ""}), "/wording_version");
  EXPECT_EQ(privacy_->MyConsents(Caller{}).error().kind, ErrorKind::kUnauthenticated);

  Choose(agent, "alerts", "email", true, "v1");
  auto changed = db().Transact<int64_t>(TransactionMode::kWrite, [](Transaction& tx) {
    return tx.Execute("UPDATE consents SET granted = FALSE");
  });
  EXPECT_FALSE(changed.ok());
  auto deleted = db().Transact<int64_t>(
      TransactionMode::kWrite, [](Transaction& tx) { return tx.Execute("DELETE FROM consents"); });
  EXPECT_FALSE(deleted.ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consents"), 1);

  PrivacyOptions small;
  small.consent_rows_per_person_max = 2;
  Privacy limited(db(), clock_, authorizer_, small);
  ASSERT_TRUE(limited.RecordMyConsent(agent, {"alerts", "sms", true, "Oui", "v1"}).ok());
  auto full = limited.RecordMyConsent(agent, {"alerts", "sms", false, "Non", "v1"});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "consent_history_full");
}

TEST_P(PrivacyTest, ExportHoldsEverySectionAndNoSecret) {
  Session agent = LogIn("agent.a@test.fr");
  auto enrolment = identity_->StartTotp(agent.caller);
  ASSERT_TRUE(enrolment.ok());
  const std::string secret_bytes = *identity::Base32Decode(enrolment->secret);
  auto codes =
      identity_->ConfirmTotp(agent.caller, identity::TotpCode(secret_bytes, clock_.NowMs() / 1000));
  ASSERT_TRUE(codes.ok()) << codes.error().message;
  ASSERT_TRUE(identity_->ChangePassword(agent.caller, kPassword, "Falaise-Ortie-Cobalt-58").ok());
  ASSERT_TRUE(identity_->RequestPasswordReset("agent.a@test.fr", "req-reset").ok());
  Choose(agent.caller, "surveys", "email", true, "v3");
  privacy_->exports().Add("test.module", [](Transaction&, const PersonRef& person) {
    return Result<boost::json::value>(object{{"seen", person.id}});
  });

  auto document = privacy_->ExportMine(agent.caller);
  ASSERT_TRUE(document.ok()) << document.error().message;
  const object& sections = document->at("sections").as_object();
  for (const char* name :
       {"account", "grants", "sessions", "consents", "audit", "messages", "test.module"}) {
    EXPECT_TRUE(sections.contains(name)) << name;
  }
  EXPECT_EQ(sections.at("account").at("email"), "agent.a@test.fr");
  EXPECT_EQ(sections.at("account").at("second_factor_enabled"), true);
  EXPECT_EQ(sections.at("grants").at("items").at(0).at("organisation_name"), "Ville A");
  EXPECT_EQ(sections.at("sessions").at("items").at(0).at("active"), true);
  EXPECT_EQ(sections.at("consents").at("history").as_array().size(), 1u);
  EXPECT_FALSE(sections.at("audit").at("about_me").at("items").as_array().empty());
  EXPECT_EQ(sections.at("audit").at("by_me").at("items").at(0).at("action"),
            "identity.user.password_changed");
  EXPECT_EQ(sections.at("messages").at("items").at(0).at("template"), "identity.password_reset");
  EXPECT_EQ(sections.at("test.module").at("seen"), agent_a_);

  const std::string text = boost::json::serialize(*document);
  const std::string reset_token = Read<std::string>([](Transaction& tx) -> Result<std::string> {
    auto row = tx.QueryOne("SELECT variables FROM outbox_messages ORDER BY id DESC LIMIT 1");
    if (!row.ok()) return std::move(row).error();
    return std::string(boost::json::parse((*row)->Text(0)).at("token").as_string());
  });
  for (const std::string& secret :
       {std::string("$argon2"), agent.token, crypto::Sha256Hex(agent.token), agent.csrf,
        enrolment->secret, codes->front(), reset_token, crypto::Sha256Hex(reset_token)}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "the export holds a secret: " << secret;
  }
  auto history = Read<std::vector<audit::AuditRecord>>([&](Transaction& tx) {
    return audit::History(tx, "user", std::to_string(agent_a_), 1, std::nullopt);
  });
  EXPECT_EQ(history.front().entry.action, "privacy.export");
}

TEST_P(PrivacyTest, StaffExportIsScopedLikeStaffAccounts) {
  const Caller admin_a = LogIn("admin.a@test.fr").caller;
  const Caller admin_b = LogIn("admin.b@test.fr").caller;
  const Caller top = LogIn("top@test.fr").caller;
  const Caller hr_a = LogIn("hr.a@test.fr").caller;
  auto exported = privacy_->ExportStaff(admin_a, agent_a_);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_EQ(exported->at("person").at("id"), agent_a_);
  EXPECT_TRUE(privacy_->ExportStaff(top, agent_a_).ok());
  EXPECT_EQ(privacy_->ExportStaff(admin_b, agent_a_).error().code, "staff_not_found");
  EXPECT_EQ(privacy_->ExportStaff(admin_a, 999999).error().code, "staff_not_found");
  EXPECT_EQ(privacy_->ExportStaff(admin_a, top_).error().code, "staff_not_found");
  auto forbidden = privacy_->ExportStaff(hr_a, agent_a_);
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().kind, ErrorKind::kForbidden);
}

TEST_P(PrivacyTest, ErasureAnonymisesAndRedactsWhileTheChainStillVerifies) {
  Session agent = LogIn("agent.a@test.fr");
  Choose(agent.caller, "alerts", "email", true, "v1");
  const Caller admin = LogIn("admin.a@test.fr").caller;
  ASSERT_TRUE(identity_->UpdateStaff(admin, agent_a_, {"Camille Renommé", {}, {}}).ok());
  const int64_t before = Count(
      "SELECT COUNT(*) FROM audit_entries WHERE record_id = $1 AND "
      "record_type = 'user'",
      {std::to_string(agent_a_)});

  auto report = privacy_->EraseStaff(admin, agent_a_, " Demande écrite du 3 mars ");
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->person.id, agent_a_);
  EXPECT_TRUE(report->holds.empty());

  EXPECT_EQ(UserStatus(agent_a_), "deleted");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM users WHERE id = $1 AND email = $2 AND password_hash "
                  "IS NULL AND display_name = 'deleted'",
                  {agent_a_, "deleted-" + std::to_string(agent_a_) + "@invalid"}),
            1);
  for (const char* table : {"sessions", "grants", "password_resets"}) {
    EXPECT_EQ(
        Count(std::string("SELECT COUNT(*) FROM ") + table + " WHERE user_id = $1", {agent_a_}), 0)
        << table;
  }
  EXPECT_FALSE(identity_->Authenticate(agent.token, "r").ok());
  EXPECT_FALSE(identity_->Login("agent.a@test.fr", kPassword, "r").ok());
  // Every earlier entry is redacted; the erasure entry keeps its own data.
  auto history = Read<std::vector<audit::AuditRecord>>([&](Transaction& tx) {
    return audit::History(tx, "user", std::to_string(agent_a_), 100, std::nullopt);
  });
  ASSERT_EQ(static_cast<int64_t>(history.size()), before + 1);
  EXPECT_EQ(history.front().entry.action, "privacy.erasure");
  EXPECT_FALSE(history.front().redacted);
  EXPECT_NE(history.front().entry.after_json.find("Demande écrite du 3 mars\""), std::string::npos);
  for (size_t i = 1; i < history.size(); ++i) EXPECT_TRUE(history[i].redacted) << i;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_entries WHERE before_json LIKE '%agent.a@%' OR "
                  "after_json LIKE '%agent.a@%' OR after_json LIKE '%Renomm%'"),
            0);
  auto verified = audit::Verify(db());
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << (verified->problems.empty() ? "" : verified->problems.front());
  // Consent proofs stay, their person marked erased, and nobody messages them any more.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consents WHERE person_id = $1", {agent_a_}), 1);
  auto state = Read<CurrentConsent>(
      [&](Transaction& tx) { return ConsentState(tx, kStaff, agent_a_, "alerts", "email"); });
  EXPECT_TRUE(state.person_erased);
  EXPECT_FALSE(state.granted);
  EXPECT_EQ(privacy_->EraseStaff(admin, agent_a_, "again").error().code, "already_erased");
}

TEST_P(PrivacyTest, ErasureRefusesSelfStrongerOutsideAndWithoutReason) {
  const Caller admin_a = LogIn("admin.a@test.fr").caller;
  const Caller admin_b = LogIn("admin.b@test.fr").caller;
  const Caller hr_a = LogIn("hr.a@test.fr").caller;
  EXPECT_EQ(privacy_->EraseStaff(admin_a, admin_a_, "moi").error().code, "cannot_change_self");
  EXPECT_EQ(privacy_->EraseStaff(admin_a, treasurer_a_, "plus fort").error().code,
            "grant_exceeds_own_rights");
  EXPECT_EQ(privacy_->EraseStaff(admin_a, top_, "au-dessus").error().code, "staff_not_found");
  EXPECT_EQ(privacy_->EraseStaff(admin_b, agent_a_, "ailleurs").error().code, "staff_not_found");
  EXPECT_EQ(privacy_->EraseStaff(hr_a, agent_a_, "sans droit").error().kind, ErrorKind::kForbidden);
  auto no_reason = privacy_->EraseStaff(admin_a, agent_a_, "   ");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().fields.front().pointer, "/reason");
  for (int64_t id : {admin_a_, treasurer_a_, top_, agent_a_}) EXPECT_EQ(UserStatus(id), "active");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM privacy_erasures"), 0);
  // Whoever holds every right the target holds may erase them.
  const Caller top = LogIn("top@test.fr").caller;
  EXPECT_TRUE(privacy_->EraseStaff(top, treasurer_a_, "départ").ok());
}

TEST_P(PrivacyTest, MachinesNeitherExportNorEraseNorHaveConsents) {
  // An API key scoped with both privacy rights over the whole tree, whose id is a user's id.
  Caller key;
  key.kind = Caller::Kind::kApiKey;
  key.id = agent_a_;
  key.grants.push_back({1, syndicate_.id, syndicate_.path, "",
                        std::set<std::string>{"privacy.export", "privacy.erase",
                                              "identity.staff.read", "identity.staff.manage"}});
  EXPECT_EQ(privacy_->ExportStaff(key, agent_a_).error().code, "people_only");
  EXPECT_EQ(privacy_->EraseStaff(key, agent_a_, "automatique").error().code, "people_only");
  EXPECT_EQ(privacy_->ExportMine(key).error().code, "people_only");
  EXPECT_EQ(privacy_->RecordMyConsent(key, {"alerts", "email", true, "Oui", "v1"}).error().code,
            "people_only");
  EXPECT_EQ(UserStatus(agent_a_), "active");
}

TEST_P(PrivacyTest, ErasureStepsKeepWhatTheLawRequiresOrBlockIt) {
  const Caller admin = LogIn("admin.a@test.fr").caller;
  const int64_t keep_until = clock_.NowMs() + 3650 * kDayMs;
  std::vector<int64_t> erased_by_step;
  bool block = true;
  privacy_->erasures().Add(
      {"test.ledger",
       [&](Transaction&, const PersonRef& person, int64_t) -> Result<std::vector<ErasureHold>> {
         if (person.id != agent_a_) return std::vector<ErasureHold>();
         return std::vector<ErasureHold>{
             {"test.ledger", "financial history kept 10 years", keep_until, block}};
       },
       [&](Transaction&, const PersonRef& person, int64_t) -> Status {
         erased_by_step.push_back(person.id);
         return OkStatus();
       }});
  auto refused = privacy_->EraseStaff(admin, agent_a_, "demande");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "erasure_refused");
  EXPECT_EQ(UserStatus(agent_a_), "active");
  EXPECT_TRUE(erased_by_step.empty());

  block = false;
  auto report = privacy_->EraseStaff(admin, agent_a_, "demande");
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->holds.size(), 1u);
  EXPECT_EQ(report->holds[0].keep_until_ms, keep_until);
  EXPECT_EQ(erased_by_step, std::vector<int64_t>{agent_a_});
  EXPECT_EQ(Count("SELECT COUNT(*) FROM privacy_erasures WHERE person_id = $1 AND holds LIKE "
                  "'%financial history%'",
                  {agent_a_}),
            1);
}

TEST_P(PrivacyTest, ADeletedAccountCanStillBeErasedWhereItsHistoryLies) {
  const Caller admin_a = LogIn("admin.a@test.fr").caller;
  const Caller admin_b = LogIn("admin.b@test.fr").caller;
  ASSERT_TRUE(identity_->DeleteStaff(admin_a, agent_a_).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_entries WHERE before_json LIKE '%agent.a@%'"), 1);
  EXPECT_EQ(privacy_->EraseStaff(admin_b, agent_a_, "ailleurs").error().code, "staff_not_found");
  ASSERT_TRUE(privacy_->EraseStaff(admin_a, agent_a_, "demande après départ").ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_entries WHERE before_json LIKE '%agent.a@%'"), 0);
  EXPECT_TRUE(audit::Verify(db())->ok);
}

class PrivacyPurgeTest : public PrivacyTest {
 protected:
  void AddSession(std::string token, int64_t expires_at) {
    Read<int64_t>([&](Transaction& tx) {
      return tx.Execute(
          "INSERT INTO sessions (token_hash, user_id, csrf_token, second_factor_done,"
          " pending_second_factor, created_at, last_seen_at, expires_at)"
          " VALUES ($1, $2, 'csrf', FALSE, FALSE, $3, $3, $4)",
          {std::move(token), agent_a_, expires_at - kHourMs, expires_at});
    });
  }
  void AddReset(std::string token, int64_t expires_at, std::optional<int64_t> used_at) {
    Read<int64_t>([&](Transaction& tx) {
      return tx.Execute(
          "INSERT INTO password_resets (token_hash, user_id, expires_at, used_at, created_at)"
          " VALUES ($1, $2, $3, $4, $5)",
          {std::move(token), agent_a_, expires_at,
           used_at ? storage::Param(*used_at) : storage::Param(nullptr), expires_at - kHourMs});
    });
  }
  int64_t RunAll(jobs::Runner& runner) {
    EXPECT_TRUE(runner.SchedulePeriodic().ok());
    int64_t ran = 0;
    while (true) {
      auto one = runner.RunOne();
      EXPECT_TRUE(one.ok());
      if (!one.ok() || !*one) return ran;
      ++ran;
    }
  }
};

TEST_P(PrivacyPurgeTest, PurgesDeleteOnlyWhatExpiredAndAtMostTheBoundPerRun) {
  const int64_t now = clock_.NowMs();
  for (int64_t i = 0; i < 5; ++i) AddSession("expired-" + std::to_string(i), now - (i + 1) * 1000);
  AddSession("live-1", now + kHourMs);
  AddSession("live-2", now + 2 * kHourMs);
  AddReset("used-long-ago", now - 39 * kDayMs, now - 40 * kDayMs);
  AddReset("expired-long-ago", now - 31 * kDayMs, std::nullopt);
  AddReset("used-recently", now + kHourMs, now - 10 * kDayMs);
  AddReset("expired-recently", now - 29 * kDayMs, std::nullopt);
  AddReset("pending", now + kHourMs, std::nullopt);

  jobs::Runner runner(db(), clock_, jobs::RunnerOptions{});
  RegisterRetentionJobs(runner, db(), clock_, {.purge_rows_max = 2});
  auto sessions_left = [&] {
    return Count("SELECT COUNT(*) FROM sessions WHERE user_id = $1", {agent_a_});
  };
  RunAll(runner);
  EXPECT_EQ(sessions_left(), 5);  // 2 of 5 expired purged: the bound
  EXPECT_EQ(Count("SELECT COUNT(*) FROM password_resets"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE kind LIKE 'privacy.purge.%' AND state = "
                  "'queued'"),
            2);  // each reached its bound and asked for another run
  clock_.Advance(kPurgeContinueDelayMs);
  RunAll(runner);
  EXPECT_EQ(sessions_left(), 3);
  clock_.Advance(kPurgeContinueDelayMs);
  RunAll(runner);
  EXPECT_EQ(sessions_left(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sessions WHERE token_hash LIKE 'live-%'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM password_resets WHERE token_hash IN ('used-recently',"
                  " 'expired-recently', 'pending')"),
            3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE kind LIKE 'privacy.purge.%' AND state = "
                  "'queued'"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE kind LIKE 'privacy.purge.%' AND state <> "
                  "'succeeded'"),
            0);
}

TEST_P(PrivacyPurgeTest, TheNextDayRunsThePurgesAgain) {
  jobs::Runner runner(db(), clock_, jobs::RunnerOptions{});
  RegisterRetentionJobs(runner, db(), clock_, {});
  RunAll(runner);
  AddSession("expired-later", clock_.NowMs() + 1000);
  EXPECT_EQ(RunAll(runner), 0);  // same day: nothing scheduled
  clock_.Advance(kDayMs);
  EXPECT_GE(RunAll(runner), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sessions"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, PrivacyTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });
INSTANTIATE_TEST_SUITE_P(Backends, PrivacyPurgeTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::privacy
