#include "platform/notify/smtp.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "platform/base/crypto.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/jobs/jobs.h"
#include "tests/support/test_databases.h"

namespace guichet::notify {
namespace {

// The SMTP channel against the real maildev that scripts/test starts (STARTTLS + AUTH, its
// certificate as the CA). Outside scripts/test the test is skipped, unless the run requires
// every service (GUICHET_TEST_REQUIRE_PG=1, as `make test` sets).
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

size_t Collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string HttpGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return body;
}

class SmtpChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("GUICHET_TEST_SMTP_URL").empty()) {
      if (Env("GUICHET_TEST_REQUIRE_PG") == "1") FAIL() << "GUICHET_TEST_SMTP_URL is not set (scripts/test starts maildev)";
      GTEST_SKIP() << "no maildev (run through scripts/test)";
    }
    test_ = testing::TestDatabase::Open(storage::Backend::kSqlite);
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), Migrations()}) all.insert(all.end(), pieces.begin(), pieces.end());
    ASSERT_TRUE(storage::Migrate(test_->db(), all, clock_).ok());
  }
  SmtpOptions Options() {
    SmtpOptions options;
    options.url = Env("GUICHET_TEST_SMTP_URL");
    options.user = Env("GUICHET_TEST_SMTP_USER");
    options.password = Env("GUICHET_TEST_SMTP_PASSWORD");
    options.ca_file = Env("GUICHET_TEST_SMTP_CA");
    options.starttls = "required";
    options.default_sender = {"ne-pas-repondre@guichet.example", "Guichet", "", "guichet.example", "", "", std::nullopt};
    return options;
  }
  ManualClock clock_{1'800'000'000'000};
  std::unique_ptr<testing::TestDatabase> test_;
};

TEST_F(SmtpChannelTest, DeliversOverStartTlsWithAuthentication) {
  SmtpChannel channel(test_->db(), clock_, Options());
  QueuedMessage message;
  message.id = 7;
  message.channel = "email";
  message.recipient = "unit-" + crypto::ToHex(crypto::RandomBytes(6)) + "@example.fr";
  ComposedMessage composed;
  composed.subject = "Essai unitaire";
  composed.text = "Bonjour";
  for (int i = 0; i < 2; ++i) {  // the second message reuses the session
    const DeliveryOutcome outcome = channel.Deliver(message, composed);
    EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.detail;
    EXPECT_EQ(outcome.status_code, 250);
    EXPECT_TRUE(outcome.provider_reference.ends_with("@guichet.example>"));
  }
  const std::string list = HttpGet(Env("GUICHET_TEST_MAILDEV_WEB") + "/api/email");
  size_t count = 0;
  for (size_t at = list.find(message.recipient); at != std::string::npos; at = list.find(message.recipient, at + 1)) ++count;
  EXPECT_GE(count, 2u);
}

TEST_F(SmtpChannelTest, WrongPasswordAndMissingServerAreRetriedNotMarkedBad) {
  SmtpOptions wrong = Options();
  wrong.password = "not-the-password";
  SmtpChannel refused(test_->db(), clock_, wrong);
  QueuedMessage message;
  message.id = 8;
  message.recipient = "someone@example.fr";
  ComposedMessage composed;
  composed.subject = "x";
  composed.text = "x";
  const DeliveryOutcome denied = refused.Deliver(message, composed);
  EXPECT_EQ(denied.kind, DeliveryOutcome::Kind::kRetry) << denied.detail;
  SmtpOptions plain = Options();
  plain.ca_file.clear();  // the self-signed certificate is not in the system store
  SmtpChannel untrusted(test_->db(), clock_, plain);
  const DeliveryOutcome unverified = untrusted.Deliver(message, composed);
  EXPECT_EQ(unverified.kind, DeliveryOutcome::Kind::kRetry) << unverified.detail;
}

TEST(SmtpReplies, MailboxRefusalsMarkTheAddressOthersAreRetried) {
  EXPECT_EQ(ClassifySmtpReply(250), DeliveryOutcome::Kind::kSent);
  EXPECT_EQ(ClassifySmtpReply(550), DeliveryOutcome::Kind::kRejected);
  EXPECT_EQ(ClassifySmtpReply(553), DeliveryOutcome::Kind::kRejected);
  EXPECT_EQ(ClassifySmtpReply(451), DeliveryOutcome::Kind::kRetry);
  EXPECT_EQ(ClassifySmtpReply(552), DeliveryOutcome::Kind::kRetry);
  EXPECT_EQ(ClassifySmtpReply(535), DeliveryOutcome::Kind::kRetry);
}

}  // namespace
}  // namespace guichet::notify
