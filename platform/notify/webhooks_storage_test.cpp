// Webhook events and push subscriptions in the database, on both backends: events are outbox
// rows of the caller's transaction (gone with it when it rolls back), they go to the enabled
// endpoints subscribed at the event's organisation or above only, and subscriptions are kept
// per person. The network side is tested end to end in tests/api/notify_hooks.test.mjs.
#include <gtest/gtest.h>

#include "platform/audit/audit.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/outbox.h"
#include "platform/notify/webhooks.h"
#include "platform/notify/webpush.h"
#include "platform/orgs/orgs.h"
#include "tests/support/test_databases.h"

namespace guichet::notify {
namespace {

using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kStartMs = 1'800'000'000'000;

class WebhooksStorageTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = testing::TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), Migrations(),
                        WebhookMigrations(), PushMigrations()}) {
      all.insert(all.end(), pieces.begin(), pieces.end());
    }
    auto migrated = storage::Migrate(db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    syndicate_ = Org(std::nullopt, "syndicate", "Syndicat");
    city_a_ = Org(syndicate_, "city", "Ville A");
    city_b_ = Org(syndicate_, "city", "Ville B");
  }
  storage::Database& db() { return test_->db(); }

  int64_t Org(std::optional<int64_t> parent, std::string kind, std::string name) {
    auto org = db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
      return orgs::Create(tx, {parent, kind, name}, clock_.NowMs());
    });
    EXPECT_TRUE(org.ok());
    return org.ok() ? org->id : 0;
  }

  int64_t Endpoint(int64_t organisation_id, std::string types, bool enabled = true) {
    auto id =
        db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
          auto row = tx.QueryOne(
              "INSERT INTO notify_webhook_endpoints (organisation_id, url, description, "
              "event_types, secret, enabled,"
              " created_at, updated_at) VALUES ($1, $2, '', $3, $4, $5, $6, $6) RETURNING id",
              {organisation_id, "https://partner.example/" + std::to_string(organisation_id), types,
               NewWebhookSecret(), int64_t{enabled ? 1 : 0}, clock_.NowMs()});
          if (!row.ok()) return std::move(row).error();
          return (*row)->Int(0);
        });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  int64_t Count(const std::string& sql) {
    auto n =
        db().Transact<int64_t>(TransactionMode::kRead, [&](Transaction& tx) -> Result<int64_t> {
          auto row = tx.QueryOne(sql, {});
          if (!row.ok()) return std::move(row).error();
          return (*row)->Int(0);
        });
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  ManualClock clock_{kStartMs};
  std::unique_ptr<testing::TestDatabase> test_;
  int64_t syndicate_ = 0;
  int64_t city_a_ = 0;
  int64_t city_b_ = 0;
};

TEST_P(WebhooksStorageTest,
       AnEventGoesWithItsTransactionToSubscribedEndpointsAtOrAboveItsOrganisation) {
  const int64_t at_syndicate = Endpoint(syndicate_, "x.created x.deleted");
  const int64_t at_city_a = Endpoint(city_a_, "x.created");
  Endpoint(city_b_, "x.created");            // a sibling: not told of city A's events
  Endpoint(syndicate_, "x.deleted");         // not subscribed to this type
  Endpoint(syndicate_, "x.created", false);  // disabled

  // The change fails after emitting: nothing is left behind.
  auto failed =
      db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto ids = EmitWebhookEvent(tx, city_a_, "x.created", R"({"n":1})", clock_.NowMs());
        if (!ids.ok()) return std::move(ids).error();
        EXPECT_EQ(ids->size(), 2u);
        return Error::Conflict("change_refused", "the change itself fails");
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_webhook_messages"), 0);

  auto ids = db().Transact<std::vector<int64_t>>(TransactionMode::kWrite, [&](Transaction& tx) {
    return EmitWebhookEvent(tx, city_a_, "x.created", R"({"n":2})", clock_.NowMs());
  });
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 2u);
  auto endpoints = db().Transact<std::vector<
      int64_t>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<int64_t>> {
    auto rows = tx.Query(
        "SELECT w.endpoint_id, m.channel, m.variables, w.webhook_id FROM notify_webhook_messages w"
        " JOIN outbox_messages m ON m.id = w.message_id ORDER BY w.endpoint_id",
        {});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<int64_t> list;
    for (const storage::Row& row : rows->rows) {
      list.push_back(row.Int(0));
      EXPECT_EQ(row.Text(1), "webhook");
      EXPECT_NE(row.Text(2).find(R"("type":"x.created")"), std::string::npos);
      EXPECT_NE(row.Text(2).find(R"("data":{"n":2})"), std::string::npos);
      EXPECT_TRUE(row.Text(3).starts_with("msg_"));
    }
    return list;
  });
  ASSERT_TRUE(endpoints.ok());
  EXPECT_EQ(*endpoints, (std::vector<int64_t>{at_syndicate, at_city_a}));
}

TEST_P(WebhooksStorageTest, TheChannelRefusesWithoutTheNetworkWhenTheEndpointIsDisabledOrUnknown) {
  const int64_t endpoint = Endpoint(syndicate_, "x.created");
  auto ids = db().Transact<std::vector<int64_t>>(TransactionMode::kWrite, [&](Transaction& tx) {
    return EmitWebhookEvent(tx, city_a_, "x.created", "{}", clock_.NowMs());
  });
  ASSERT_TRUE(ids.ok() && ids->size() == 1);
  auto disabled = db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
    return tx.Execute("UPDATE notify_webhook_endpoints SET enabled = 0 WHERE id = $1", {endpoint});
  });
  ASSERT_TRUE(disabled.ok());
  WebhookChannel channel(db(), clock_, WebhookOptions{});
  QueuedMessage message;
  message.id = ids->front();
  message.channel = "webhook";
  message.attempts = 1;
  ComposedMessage composed;
  composed.text = "{}";
  EXPECT_EQ(channel.Deliver(message, composed).kind, DeliveryOutcome::Kind::kRejected);
  message.id = 999999;
  EXPECT_EQ(channel.Deliver(message, composed).kind, DeliveryOutcome::Kind::kRejected);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM notify_webhook_attempts"), 0);
}

TEST_P(WebhooksStorageTest, PushSubscriptionsArePerPersonReplacedByEndpointAndQueuedPerDevice) {
  PushOptions options;
  PushSubscriptions subscriptions(db(), clock_, options);
  const P256Key browser = NewP256Key();
  const std::string p256dh = Base64UrlEncode(browser.public_point);
  const std::string auth = Base64UrlEncode(std::string(16, 'a'));
  const privacy::PersonRef alice{"staff", 1};
  const privacy::PersonRef bob{"staff", 2};

  auto refused = subscriptions.Subscribe(alice, "http://push.example/1", p256dh, auth);
  ASSERT_FALSE(refused.ok());  // https only unless allowed
  EXPECT_EQ(refused.error().code, "validation_failed");
  auto bad_key = subscriptions.Subscribe(alice, "https://push.example/1",
                                         Base64UrlEncode("not a point"), "xx");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().fields.size(), 2u);

  ASSERT_TRUE(subscriptions.Subscribe(alice, "https://push.example/1", p256dh, auth).ok());
  ASSERT_TRUE(subscriptions.Subscribe(alice, "https://push.example/2", p256dh, auth).ok());
  // The same browser endpoint subscribed by another person now belongs to them.
  ASSERT_TRUE(subscriptions.Subscribe(bob, "https://push.example/2", p256dh, auth).ok());
  EXPECT_EQ(subscriptions.List(alice)->size(), 1u);
  EXPECT_EQ(subscriptions.List(bob)->size(), 1u);
  auto not_hers = subscriptions.Unsubscribe(alice, "https://push.example/2");
  ASSERT_FALSE(not_hers.ok());
  EXPECT_EQ(not_hers.error().code, "push_subscription_not_found");

  ASSERT_TRUE(subscriptions.Subscribe(alice, "https://push.example/3", p256dh, auth).ok());
  auto queued = db().Transact<std::vector<int64_t>>(TransactionMode::kWrite, [&](Transaction& tx) {
    return QueuePushToPerson(tx, alice, city_a_, "wallet.low_balance", "fr",
                             R"({"subject":"Solde"})", "alerts", clock_.NowMs());
  });
  ASSERT_TRUE(queued.ok()) << queued.error().message;
  EXPECT_EQ(queued->size(), 2u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE channel = 'push' AND person_id = 1"),
            2);

  for (int i = 0; i < kPushSubscriptionsPerPersonMax; ++i) {
    (void)subscriptions.Subscribe(bob, "https://push.example/bob/" + std::to_string(i), p256dh,
                                  auth);
  }
  auto over = subscriptions.Subscribe(bob, "https://push.example/bob/extra", p256dh, auth);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, "push_subscription_limit");
}

TEST_P(WebhooksStorageTest, TheVapidKeyIsGeneratedOnceAndKept) {
  auto first = LoadVapidKey(db(), "", clock_.NowMs());
  auto second = LoadVapidKey(db(), "", clock_.NowMs());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->public_point, second->public_point);
  EXPECT_EQ(first->public_point.size(), 65u);
  auto configured =
      LoadVapidKey(db(), "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw", clock_.NowMs());
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(
      Base64UrlEncode(configured->public_point),
      "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
  auto wrong = LoadVapidKey(db(), "not-a-key", clock_.NowMs());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "vapid_key_invalid");
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhooksStorageTest,
                         ::testing::ValuesIn(testing::TestBackends()), [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::notify
