#include "platform/notify/webhooks.h"

#include <gtest/gtest.h>

namespace guichet::notify {
namespace {

// The Standard Webhooks specification's published example.
TEST(WebhookSignatureTest, ReproducesTheStandardWebhooksExample) {
  EXPECT_EQ(WebhookSignature({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                             "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignatureTest, DuringARotationBothSecretsSign) {
  const std::string current = NewWebhookSecret();
  const std::string previous = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string both = WebhookSignature({current, previous}, "msg_1", 1614265330, "{}");
  const std::string one = WebhookSignature({current}, "msg_1", 1614265330, "{}");
  const std::string old = WebhookSignature({previous}, "msg_1", 1614265330, "{}");
  EXPECT_EQ(both, one + " " + old);
  EXPECT_NE(one, old);
  // A different timestamp or body gives another signature.
  EXPECT_NE(WebhookSignature({current}, "msg_1", 1614265331, "{}"), one);
  EXPECT_NE(WebhookSignature({current}, "msg_1", 1614265330, "{ }"), one);
}

TEST(WebhookSignatureTest, SecretsAreFreshAndInTheStandardForm) {
  const std::string one = NewWebhookSecret();
  const std::string two = NewWebhookSecret();
  EXPECT_TRUE(one.starts_with("whsec_"));
  EXPECT_EQ(one.size(), 6u + 44u);  // base64 of 32 bytes
  EXPECT_NE(one, two);
}

TEST(WebhookEventCatalogTest, KnowsOnlyDeclaredTypes) {
  WebhookEventCatalog catalog;
  catalog.Declare({"wallet.transfer.completed", "A transfer was completed"});
  EXPECT_TRUE(catalog.Contains("wallet.transfer.completed"));
  EXPECT_FALSE(catalog.Contains("wallet.transfer"));
  EXPECT_EQ(catalog.types().size(), 1u);
}

}  // namespace
}  // namespace guichet::notify
