// Message content on both databases: templates per organisation and language, Notify and
// preferences, digests across days and weeks (driven by the clock), consent decided again at
// delivery time, unsubscribe tokens, campaigns (targeting, scheduling, statistics), automated
// rules, history and scoping.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/identity/identity.h"
#include "platform/identity/identity_http.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/campaigns.h"
#include "platform/notify/composer.h"
#include "platform/notify/content.h"
#include "platform/notify/delivery.h"
#include "platform/notify/digests.h"
#include "platform/notify/outbox.h"
#include "platform/notify/preferences.h"
#include "platform/privacy/privacy.h"
#include "tests/support/identity_world.h"
#include "tests/support/test_databases.h"

namespace guichet::notify {
namespace {

using boost::json::object;
using identity::Caller;
using privacy::PersonRef;
using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
// Tuesday 2026-11-24 10:00 Paris (09:00 UTC).
constexpr int64_t kTuesdayMs = 1795510800000;
constexpr std::string_view kSecret = "test-link-secret-0123456789abcdef";

identity::RightsCatalog TestCatalog() {
  identity::RightsCatalog catalog;
  identity::DeclarePermissions(catalog);
  privacy::DeclarePermissions(catalog);
  DeclareContentPermissions(catalog);
  catalog.AddProfile({"agent", "test", "Agent", "Agent", std::nullopt, {"identity.orgs.read"}, false, {"city"}});
  catalog.AddProfile({"admin", "test", "Admin", "Admin", "agent",
                      {"identity.staff.read", "identity.staff.manage", "identity.orgs.manage",
                       std::string(kTemplatesManage), std::string(kCampaignsManage), std::string(kPeopleRead),
                       std::string(kPreferencesManage), "privacy.export", "privacy.erase"},
                      false, {"syndicate", "city"}});
  return catalog;
}

// The seam's double for the last hop: what the engine hands a channel, kept for assertions.
// Real SMTP delivery of composed messages is covered by tests/api/notify_content.test.mjs.
class KeepingChannel final : public Channel {
 public:
  std::string_view Name() const override { return "email"; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override {
    kept.push_back({message, composed});
    DeliveryOutcome outcome;
    outcome.kind = DeliveryOutcome::Kind::kSent;
    outcome.detail = "250 kept";
    outcome.status_code = 250;
    return outcome;
  }
  std::vector<std::pair<QueuedMessage, ComposedMessage>> kept;
};

class ContentTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = testing::TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = testing::MigrateIdentityStack(db(), clock_, {privacy::Migrations(), ContentMigrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    identity::IdentityOptions options;
    options.password_hash = {1, int64_t{8} * 1024};
    identity_ = std::make_unique<identity::Identity>(db(), clock_, authorizer_, options);
    const auto made = testing::MakeSyndicateWithTwoCities(db(), clock_);
    ASSERT_EQ(made.size(), 3u);
    syndicate_ = made[0];
    city_a_ = made[1];
    city_b_ = made[2];
    AddPlatformTemplates(templates_);
    RegisterStaffContacts(contacts_);
    RegisterStaffAudience(audiences_);
    admin_ = Staff("admin@test.fr", syndicate_.id, {"admin"}, "fr");
    admin_b_ = Staff("admin.b@test.fr", city_b_.id, {"admin"}, "fr");
    agent_a1_ = Staff("agent.a1@test.fr", city_a_.id, {"agent"}, "fr");
    agent_a2_ = Staff("agent.a2@test.fr", city_a_.id, {"agent"}, "en");
    agent_b_ = Staff("agent.b@test.fr", city_b_.id, {"agent"}, "fr");
    content_ = std::make_unique<Content>(db(), clock_, authorizer_, templates_, contacts_, audiences_,
                                         ContentOptions{std::string(kSecret)});
    composer_ = std::make_unique<TemplateComposer>(templates_, clock_,
                                                   ComposerOptions{"https://guichet.test", std::string(kSecret)});
  }

  storage::Database& db() { return test_->db(); }

  int64_t Staff(const std::string& email, int64_t org, std::vector<std::string> profiles, std::string language) {
    identity::NewStaff staff;
    staff.email = email;
    staff.display_name = "Camille " + email.substr(0, email.find('@'));
    staff.language = std::move(language);
    staff.organisation_id = org;
    staff.profiles = std::move(profiles);
    staff.initial_password = std::string(testing::kTestPassword);
    staff.must_change_password = false;
    auto id = identity_->BootstrapStaff(staff);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  Caller LogIn(const std::string& email) { return testing::LogIn(*identity_, email); }

  static PersonRef P(int64_t id) { return {"staff", id}; }

  NotifyOutcome Send(int64_t person, std::string code, object variables, std::string purpose,
                     std::optional<std::string> channel = std::nullopt) {
    auto outcome = db().Transact<NotifyOutcome>(TransactionMode::kWrite, [&](Transaction& tx) {
      NotifyRequest request;
      request.person = P(person);
      request.template_code = code;
      request.variables = variables;
      request.purpose = purpose;
      request.channel = channel;
      return Notify(tx, contacts_, templates_, request, clock_.NowMs());
    });
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
    return outcome.ok() ? *outcome : NotifyOutcome{};
  }

  void SetFrequency(int64_t person, Frequency frequency) {
    auto saved = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) {
      Preferences preferences;
      preferences.alert_frequency = frequency;
      return SavePreferences(tx, P(person), preferences, clock_.NowMs());
    });
    ASSERT_TRUE(saved.ok());
  }

  void Consent(int64_t person, std::string purpose, std::string channel, bool granted) {
    auto recorded = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) {
      return RecordConsent(tx, P(person), purpose, channel, granted, "J'accepte / I agree", "v1", "web", "req",
                           clock_.NowMs());
    });
    ASSERT_TRUE(recorded.ok());
  }

  int64_t Count(const std::string& sql, storage::Params params = {}) {
    auto row = db().Transact<std::optional<storage::Row>>(TransactionMode::kRead,
                                                          [&](Transaction& tx) { return tx.QueryOne(sql, params); });
    EXPECT_TRUE(row.ok());
    return row.ok() && *row ? (*row)->Int(0) : -1;
  }

  QueuedMessage Row(int64_t id) {
    auto row = db().Transact<std::optional<storage::Row>>(TransactionMode::kRead, [&](Transaction& tx) {
      return tx.QueryOne(
          "SELECT id, channel, recipient, template_code, language, variables, organisation_id, person_type, person_id,"
          " purpose, campaign_id FROM outbox_messages WHERE id = $1",
          {id});
    });
    EXPECT_TRUE(row.ok() && row->has_value());
    const storage::Row& r = **row;
    QueuedMessage message;
    message.id = r.Int(0);
    message.channel = r.Text(1);
    message.recipient = r.Text(2);
    message.template_code = r.Text(3);
    message.language = r.Text(4);
    message.variables_json = r.Text(5);
    message.organisation_id = r.OptionalInt(6);
    if (!r.IsNull(7)) message.person = PersonRef{r.Text(7), r.Int(8)};
    message.purpose = r.Text(9);
    message.campaign_id = r.OptionalInt(10);
    return message;
  }

  ComposedMessage Compose(const QueuedMessage& message) {
    auto composed = db().Transact<ComposedMessage>(TransactionMode::kRead,
                                                   [&](Transaction& tx) { return composer_->Compose(tx, message); });
    EXPECT_TRUE(composed.ok()) << composed.error().message;
    return composed.ok() ? *composed : ComposedMessage{};
  }

  Verdict Decide(const QueuedMessage& message) {
    auto verdict = db().Transact<Verdict>(TransactionMode::kRead,
                                          [&](Transaction& tx) { return composer_->Decide(tx, message); });
    EXPECT_TRUE(verdict.ok());
    return verdict.ok() ? *verdict : Verdict::kSend;
  }

  ManualClock clock_{kTuesdayMs};
  std::unique_ptr<testing::TestDatabase> test_;
  identity::RightsCatalog catalog_ = TestCatalog();
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<identity::Identity> identity_;
  TemplateCatalog templates_;
  ContactDirectory contacts_;
  AudienceRegistry audiences_;
  std::unique_ptr<Content> content_;
  std::unique_ptr<TemplateComposer> composer_;
  orgs::Organisation syndicate_, city_a_, city_b_;
  int64_t admin_ = 0, admin_b_ = 0, agent_a1_ = 0, agent_a2_ = 0, agent_b_ = 0;
};

const object kMovement = {{"display_name", "Camille"},
                          {"amount_cents", -1250},
                          {"balance_cents", 3475},
                          {"label", "Cantine <midi>"},
                          {"at", kTuesdayMs}};

TEST_P(ContentTest, EachPersonGetsTheirLanguageAndEscapedHtml) {
  SetFrequency(agent_a1_, Frequency::kEach);
  SetFrequency(agent_a2_, Frequency::kEach);
  const NotifyOutcome fr = Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  const NotifyOutcome en = Send(agent_a2_, "wallet.movement", kMovement, "alerts");
  ASSERT_EQ(fr.queued.size(), 1u);
  ASSERT_EQ(en.queued.size(), 1u);
  const ComposedMessage french = Compose(Row(fr.queued[0]));
  const ComposedMessage english = Compose(Row(en.queued[0]));
  EXPECT_EQ(french.subject, "Mouvement sur votre porte-monnaie : -12,50\u00a0€");
  EXPECT_EQ(english.subject, "Movement on your wallet: -€12.50");
  EXPECT_NE(french.html.find("Cantine &lt;midi&gt;"), std::string::npos);
  EXPECT_NE(french.text.find("Cantine <midi>"), std::string::npos);
  EXPECT_TRUE(french.unsubscribe_url.empty());  // mandatory alerts: no unsubscribe link
}

TEST_P(ContentTest, TemplatesAreInheritedAndOverriddenDownTheTree) {
  const Caller admin = LogIn("admin@test.fr");
  auto saved = content_->PutTemplate(admin, syndicate_.id, "wallet.movement", "fr",
                                     {"Syndicat : {{ amount_cents | money }}", "texte {{ label }}", ""});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->source, "own");
  auto inherited = content_->GetTemplate(admin, city_a_.id, "wallet.movement", "fr");
  ASSERT_TRUE(inherited.ok());
  EXPECT_EQ(inherited->source, "inherited");
  EXPECT_EQ(inherited->organisation_id, syndicate_.id);
  ASSERT_TRUE(content_->PutTemplate(admin, city_b_.id, "wallet.movement", "fr", {"Ville B", "texte B", ""}).ok());
  auto own = content_->GetTemplate(admin, city_b_.id, "wallet.movement", "fr");
  EXPECT_EQ(own->source, "own");
  auto english = content_->GetTemplate(admin, city_b_.id, "wallet.movement", "en");
  EXPECT_EQ(english->source, "builtin");
  // The composer renders the effective template of the row's organisation.
  SetFrequency(agent_a1_, Frequency::kEach);
  const NotifyOutcome sent = Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  EXPECT_EQ(Compose(Row(sent.queued.at(0))).subject, "Syndicat : -12,50\u00a0€");
  // Unknown variable refused with its name and part; deleting restores the inherited one.
  auto refused = content_->PutTemplate(admin, city_a_.id, "wallet.movement", "fr", {"{{ iban }}", "t", ""});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "template_variable_unknown");
  EXPECT_NE(refused.error().message.find("iban"), std::string::npos);
  ASSERT_TRUE(content_->RemoveTemplate(admin, city_b_.id, "wallet.movement", "fr").ok());
  EXPECT_EQ(content_->GetTemplate(admin, city_b_.id, "wallet.movement", "fr")->source, "inherited");
  EXPECT_EQ(content_->RemoveTemplate(admin, city_b_.id, "wallet.movement", "fr").error().code, "template_not_found");
  // Another city's admin sees nothing of the syndicate.
  const Caller admin_b = LogIn("admin.b@test.fr");
  EXPECT_EQ(content_->GetTemplate(admin_b, city_a_.id, "wallet.movement", "fr").error().kind, ErrorKind::kNotFound);
  const Caller agent = LogIn("agent.a1@test.fr");
  EXPECT_EQ(content_->GetTemplate(agent, city_a_.id, "wallet.movement", "fr").error().kind, ErrorKind::kForbidden);
  // Preview with samples and with given variables.
  auto preview = content_->Preview(admin, city_a_.id, {"wallet.movement", "en", std::nullopt, object{{"amount_cents", 99}}});
  ASSERT_TRUE(preview.ok());
  EXPECT_EQ(preview->subject, "Movement on your wallet: €0.99");
}

TEST_P(ContentTest, WeeklyDigestCompiledOnceTheWeekHasEnded) {
  // Default frequency: weekly. Tuesday and Sunday alerts wait; Monday's job compiles them.
  EXPECT_FALSE(Send(agent_a1_, "wallet.movement", kMovement, "alerts").digest_item == std::nullopt);
  clock_.Advance(5 * kDayMs);  // Sunday 10:00
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  auto run = CompileDigests(db(), contacts_, templates_, clock_.NowMs());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->items, 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code = 'notify.digest'"), 0);
  clock_.Set(kTuesdayMs + 6 * kDayMs - 10 * kHourMs - 1);  // Sunday 23:59:59.999 Paris
  run = CompileDigests(db(), contacts_, templates_, clock_.NowMs());
  EXPECT_EQ(run->items, 0);
  clock_.Set(kTuesdayMs + 6 * kDayMs - 10 * kHourMs);  // Monday 00:00 Paris
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");  // next week's
  run = CompileDigests(db(), contacts_, templates_, clock_.NowMs());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->items, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code = 'notify.digest'"), 1);
  auto id = Count("SELECT id FROM outbox_messages WHERE template_code = 'notify.digest'");
  const ComposedMessage digest = Compose(Row(id));
  EXPECT_NE(digest.subject.find("2 mouvement"), std::string::npos) << digest.subject;
  EXPECT_NE(digest.text.find("- Mouvement sur votre porte-monnaie : -12,50\u00a0€"), std::string::npos) << digest.text;
  // Compiled once: running again sends nothing more; the third item waits for its week.
  run = CompileDigests(db(), contacts_, templates_, clock_.NowMs());
  EXPECT_EQ(run->items, 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_digest_items WHERE message_id IS NULL"), 1);
}

TEST_P(ContentTest, DailyDigestAcrossDaysAndEachGoesAtOnce) {
  SetFrequency(agent_a1_, Frequency::kDaily);
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");          // Tuesday 10:00
  clock_.Advance(13 * kHourMs);                                      // Tuesday 23:00
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  EXPECT_EQ(CompileDigests(db(), contacts_, templates_, clock_.NowMs())->items, 0);
  clock_.Advance(kHourMs);                                           // Wednesday 00:00
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  EXPECT_EQ(CompileDigests(db(), contacts_, templates_, clock_.NowMs())->items, 2);
  clock_.Advance(kDayMs);                                            // Thursday 00:00
  EXPECT_EQ(CompileDigests(db(), contacts_, templates_, clock_.NowMs())->items, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code = 'notify.digest'"), 2);
  SetFrequency(agent_a1_, Frequency::kEach);
  const NotifyOutcome now = Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  EXPECT_EQ(now.queued.size(), 1u);
  EXPECT_FALSE(now.digest_item.has_value());
}

TEST_P(ContentTest, ConsentRespectedWhenQueuedAndAgainAtDelivery) {
  // No consent: a campaign message is not even queued.
  NotifyOutcome refused = Send(agent_a1_, "notify.campaign", {{"title", "t"}, {"body", "b"}}, "campaign");
  EXPECT_TRUE(refused.queued.empty());
  ASSERT_EQ(refused.skipped.size(), 1u);
  EXPECT_EQ(refused.skipped[0], "email: no consent");
  // Consent: queued, with an unsubscribe link; withdrawn before delivery: suppressed.
  Consent(agent_a1_, "campaign", "email", true);
  NotifyOutcome queued = Send(agent_a1_, "notify.campaign", {{"title", "t"}, {"body", "b"}}, "campaign");
  ASSERT_EQ(queued.queued.size(), 1u);
  const QueuedMessage message = Row(queued.queued[0]);
  EXPECT_EQ(Decide(message), Verdict::kSend);
  EXPECT_NE(Compose(message).unsubscribe_url.find("https://guichet.test/api/v1/notify/unsubscribe?token="),
            std::string::npos);
  Consent(agent_a1_, "campaign", "email", false);
  EXPECT_EQ(Decide(message), Verdict::kSuppress);
  // Through the delivery engine: nothing reaches the channel, the row says suppressed.
  KeepingChannel channel;
  DeliveryEngine engine(db(), clock_, *composer_, DeliveryOptions{});
  engine.AddChannel(channel);
  ASSERT_TRUE(engine.RunUntilIdle(10).ok());
  EXPECT_TRUE(channel.kept.empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE state = 'suppressed'"), 1);
  // SMS alerts need consent and a phone: staff have no phone, so only e-mail goes.
  SetFrequency(agent_a1_, Frequency::kEach);
  Consent(agent_a1_, "alerts", "sms", true);
  EXPECT_EQ(Send(agent_a1_, "wallet.movement", kMovement, "alerts").queued.size(), 1u);
}

TEST_P(ContentTest, UnsubscribeTokensForgedOrExpiredAreRefused) {
  const UnsubscribeToken token{P(agent_a1_), "campaign", "email", clock_.NowMs() + kDayMs};
  const std::string signed_token = SignUnsubscribe(kSecret, token);
  ASSERT_TRUE(VerifyUnsubscribe(kSecret, signed_token, clock_.NowMs()).ok());
  std::string forged = signed_token;
  forged.replace(forged.find("~campaign~"), 10, "~alerts~~~");
  EXPECT_EQ(VerifyUnsubscribe(kSecret, forged, clock_.NowMs()).error().code, "unsubscribe_token_invalid");
  EXPECT_EQ(VerifyUnsubscribe("another secret", signed_token, clock_.NowMs()).error().code,
            "unsubscribe_token_invalid");
  EXPECT_EQ(VerifyUnsubscribe(kSecret, "u1~staff~1", clock_.NowMs()).error().code, "unsubscribe_token_invalid");
  EXPECT_EQ(VerifyUnsubscribe(kSecret, signed_token, clock_.NowMs() + kDayMs).error().code,
            "unsubscribe_token_expired");
  // A valid click withdraws the consent (idempotent), and the next message is not queued.
  Consent(agent_a1_, "campaign", "email", true);
  auto view = content_->Unsubscribe(signed_token, "req-click");
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_FALSE(view->already);
  EXPECT_TRUE(content_->Unsubscribe(signed_token, "req-click-2")->already);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consents WHERE person_id = $1 AND NOT granted", {agent_a1_}), 1);
  EXPECT_TRUE(Send(agent_a1_, "notify.campaign", {{"title", "t"}, {"body", "b"}}, "campaign").queued.empty());
  // Mandatory messages have no working unsubscribe link.
  const std::string mandatory = SignUnsubscribe(kSecret, {P(agent_a1_), "alerts", "email", clock_.NowMs() + kDayMs});
  EXPECT_EQ(content_->Unsubscribe(mandatory, "req").error().code, "unsubscribe_token_invalid");
}

TEST_P(ContentTest, CampaignTargetingSchedulingAndStatistics) {
  const Caller admin = LogIn("admin@test.fr");
  Consent(agent_a1_, "campaign", "email", true);
  Consent(agent_b_, "campaign", "email", true);  // outside the audience
  CampaignDraft draft;
  draft.organisation_id = syndicate_.id;
  draft.name = "Fermeture";
  draft.template_code = "notify.campaign";
  draft.person_type = "staff";
  draft.criteria = {{"organisation_id", city_a_.id}, {"profile", "agent"}};
  draft.variables = {{"title", "Fermeture"}, {"body", "Le 24 décembre"}};
  auto campaign = content_->CreateCampaign(admin, draft);
  ASSERT_TRUE(campaign.ok()) << campaign.error().message;
  // Criteria checked when saved.
  CampaignDraft bad = draft;
  bad.criteria = {{"shoe_size", 42}};
  EXPECT_EQ(content_->CreateCampaign(admin, bad).error().code, "audience_criteria_invalid");
  // Scheduled tomorrow: nothing before, once at the time.
  ASSERT_TRUE(content_->Schedule(admin, campaign->id, clock_.NowMs() + kDayMs).ok());
  EXPECT_EQ(*SendDueCampaigns(db(), contacts_, templates_, audiences_, clock_.NowMs()), 0);
  clock_.Advance(kDayMs);
  EXPECT_EQ(*SendDueCampaigns(db(), contacts_, templates_, audiences_, clock_.NowMs()), 1);
  EXPECT_EQ(*SendDueCampaigns(db(), contacts_, templates_, audiences_, clock_.NowMs()), 0);
  EXPECT_EQ(content_->Cancel(admin, campaign->id).error().code, "campaign_already_sent");
  // Audience: the two agents of city A; one without consent is skipped.
  auto stats = content_->Stats(admin, campaign->id);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->audience, 2);
  EXPECT_EQ(stats->skipped, 1);
  EXPECT_EQ(stats->queued, 1);
  EXPECT_EQ(Count("SELECT person_id FROM outbox_messages WHERE campaign_id = $1", {campaign->id}), agent_a1_);
  // Delivered through the engine; an open is counted once per message.
  KeepingChannel channel;
  DeliveryEngine engine(db(), clock_, *composer_, DeliveryOptions{});
  engine.AddChannel(channel);
  ASSERT_TRUE(engine.RunUntilIdle(10).ok());
  ASSERT_EQ(channel.kept.size(), 1u);
  const std::string& html = channel.kept[0].second.html;
  const size_t at = html.find("/api/v1/notify/opened/");
  ASSERT_NE(at, std::string::npos);
  const std::string open_token = html.substr(at + 22, html.find('"', at) - at - 22);
  ASSERT_TRUE(content_->Opened(open_token).ok());
  ASSERT_TRUE(content_->Opened(open_token).ok());
  EXPECT_EQ(content_->Opened(open_token + "x").error().code, "open_token_invalid");
  stats = content_->Stats(admin, campaign->id);
  EXPECT_EQ(stats->sent, 1);
  EXPECT_EQ(stats->opened, 1);
  EXPECT_EQ(stats->waiting + stats->sent + stats->failed + stats->suppressed + stats->uncertain, stats->queued);
  // Scope: city B's admin does not see it; a person outside the campaign's organisation is refused.
  const Caller admin_b = LogIn("admin.b@test.fr");
  EXPECT_EQ(content_->GetCampaign(admin_b, campaign->id).error().code, "campaign_not_found");
  CampaignDraft single;
  single.organisation_id = city_b_.id;
  single.name = "Un seul";
  single.template_code = "notify.campaign";
  single.person = P(agent_a1_);
  EXPECT_EQ(content_->CreateCampaign(admin_b, single).error().code, "notify_person_unknown");
  single.person = P(agent_b_);
  auto one = content_->CreateCampaign(admin_b, single);
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(content_->Schedule(admin_b, one->id, std::nullopt).ok());
  EXPECT_EQ(*SendDueCampaigns(db(), contacts_, templates_, audiences_, clock_.NowMs()), 1);
  EXPECT_EQ(content_->Stats(admin_b, one->id)->queued, 1);
}

TEST_P(ContentTest, AutomatedRulesFireOncePerPersonAndEvent) {
  const Caller admin = LogIn("admin@test.fr");
  Rule rule;
  rule.organisation_id = city_a_.id;
  rule.event = "pass.stay_ended";
  rule.delay_days = 2;
  rule.template_code = "notify.campaign";
  rule.purpose = "campaign";
  rule.channel = "email";
  rule.variables = {{"title", "Votre avis"}, {"body", "Comment était votre séjour ?"}};
  ASSERT_TRUE(content_->CreateRule(admin, rule).ok());
  Consent(agent_a1_, "campaign", "email", true);
  Consent(agent_b_, "campaign", "email", true);
  auto recorded = db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
    auto first = RecordEvent(tx, P(agent_a1_), city_a_.id, "pass.stay_ended", clock_.NowMs(), clock_.NowMs());
    if (!first.ok()) return first;
    auto other = RecordEvent(tx, P(agent_b_), city_b_.id, "pass.stay_ended", clock_.NowMs(), clock_.NowMs());
    if (!other.ok()) return other;
    return RecordEvent(tx, P(agent_a1_), city_a_.id, "pass.issued", clock_.NowMs(), clock_.NowMs());
  });
  ASSERT_TRUE(recorded.ok());
  clock_.Advance(kDayMs);
  EXPECT_EQ(*FireRules(db(), contacts_, templates_, clock_.NowMs()), 0);
  clock_.Advance(kDayMs);
  EXPECT_EQ(*FireRules(db(), contacts_, templates_, clock_.NowMs()), 1);  // city A's stay only
  EXPECT_EQ(*FireRules(db(), contacts_, templates_, clock_.NowMs()), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code = 'notify.campaign'"), 1);
  EXPECT_EQ(Count("SELECT person_id FROM outbox_messages WHERE template_code = 'notify.campaign'"), agent_a1_);
}

TEST_P(ContentTest, HistoryHoldsEveryMessageOfThePersonWithItsStates) {
  SetFrequency(agent_a1_, Frequency::kEach);
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  SetFrequency(agent_a1_, Frequency::kWeekly);
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");
  Send(agent_a2_, "wallet.movement", kMovement, "alerts");
  KeepingChannel channel;
  DeliveryEngine engine(db(), clock_, *composer_, DeliveryOptions{});
  engine.AddChannel(channel);
  ASSERT_TRUE(engine.RunUntilIdle(10).ok());
  const Caller admin = LogIn("admin@test.fr");
  auto history = content_->History(admin, P(agent_a1_));
  ASSERT_TRUE(history.ok());
  const auto& items = history->at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    EXPECT_EQ(item.at("state").as_string(), "sent");
    EXPECT_FALSE(item.at("log").as_array().empty());
  }
  EXPECT_EQ(history->at("digest_items").as_array().size(), 1u);
  const Caller admin_b = LogIn("admin.b@test.fr");
  EXPECT_EQ(content_->History(admin_b, P(agent_a1_)).error().code, "notify_person_unknown");
  const Caller agent = LogIn("agent.a1@test.fr");
  EXPECT_EQ(content_->History(agent, P(agent_a1_)).error().kind, ErrorKind::kForbidden);
}

TEST_P(ContentTest, PreferencesOwnAndOnBehalfAndLowBalance) {
  const Caller agent = LogIn("agent.a1@test.fr");
  auto mine = content_->MyPreferences(agent);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->at("alert_frequency").as_string(), "weekly");
  PreferencesChange change;
  change.alert_frequency = Frequency::kDaily;
  change.threshold_given = true;
  change.low_balance_threshold_cents = 500;
  ASSERT_TRUE(content_->SetMyPreferences(agent, change).ok());
  auto threshold = db().Transact<std::optional<int64_t>>(TransactionMode::kRead, [&](Transaction& tx) {
    return LowBalanceThreshold(tx, P(agent_a1_));
  });
  EXPECT_EQ(threshold->value_or(-1), 500);
  // Low balance alerts also need the consent.
  object low = {{"balance_cents", 300}, {"threshold_cents", 500}};
  EXPECT_TRUE(Send(agent_a1_, "wallet.low_balance", low, "low_balance").queued.empty());
  Consent(agent_a1_, "low_balance", "email", true);
  EXPECT_EQ(Send(agent_a1_, "wallet.low_balance", low, "low_balance").queued.size(), 1u);
  const Caller admin = LogIn("admin@test.fr");
  PreferencesChange weekly;
  weekly.alert_frequency = Frequency::kWeekly;
  auto theirs = content_->SetPersonPreferences(admin, P(agent_a1_), weekly);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->at("alert_frequency").as_string(), "weekly");
  EXPECT_EQ(theirs->at("low_balance_threshold_cents").as_int64(), 500);
  const Caller admin_b = LogIn("admin.b@test.fr");
  EXPECT_EQ(content_->SetPersonPreferences(admin_b, P(agent_a1_), weekly).error().code, "notify_person_unknown");
  auto without = content_->WithoutConsent(admin, city_a_.id, "campaign", "email", 100);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->size(), 2u);  // both agents of city A
}

TEST_P(ContentTest, ExportAndErasureCoverPreferencesDigestItemsAndEvents) {
  privacy::Privacy privacy(db(), clock_, authorizer_);
  RegisterPrivacy(privacy);
  EXPECT_TRUE(privacy.processing().IsConsentPurpose("campaign"));
  Send(agent_a1_, "wallet.movement", kMovement, "alerts");  // weekly: a digest item
  SetFrequency(agent_a1_, Frequency::kDaily);
  auto recorded = db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
    return RecordEvent(tx, P(agent_a1_), city_a_.id, "pass.issued", clock_.NowMs(), clock_.NowMs());
  });
  ASSERT_TRUE(recorded.ok());
  const Caller admin = LogIn("admin@test.fr");
  auto exported = privacy.ExportStaff(admin, agent_a1_);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  const auto& messages = exported->at("sections").as_object().at("message_preferences").as_object();
  EXPECT_EQ(messages.at("alert_frequency").as_string(), "daily");
  EXPECT_EQ(messages.at("digest_items").as_array().size(), 1u);
  EXPECT_EQ(messages.at("events").as_array().size(), 1u);
  auto erased = privacy.EraseStaff(admin, agent_a1_, "demande de la personne");
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_preferences WHERE person_id = $1", {agent_a1_}), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_digest_items WHERE person_id = $1", {agent_a1_}), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_events WHERE person_id = $1", {agent_a1_}), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ContentTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) { return testing::BackendParamName(param_info.param); });

}  // namespace
}  // namespace guichet::notify
