#include "platform/secrets/secrets.h"

#include <gtest/gtest.h>

#include "platform/base/clock.h"
#include "tests/support/test_databases.h"

namespace guichet::secrets {
namespace {

using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;

class SecretsTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = storage::Migrate(test_->db(), Migrations(), clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  }

  ManualClock clock_{kStart};
  std::unique_ptr<TestDatabase> test_;
};

TEST_P(SecretsTest, AStoredSecretIsCreatedOnceAndReadBackByEveryCaller) {
  auto first = LoadOrCreate(test_->db(), "notify.links", "", kStart);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->size(), static_cast<size_t>(2 * kSecretBytes));
  auto again = LoadOrCreate(test_->db(), "notify.links", "", kStart + 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  auto other = LoadOrCreate(test_->db(), "wallet.links", "", kStart);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *first);
}

TEST_P(SecretsTest, AConfiguredSecretWinsAndIsNotStored) {
  auto configured = LoadOrCreate(test_->db(), "notify.links", "operator-chosen-key", kStart);
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(*configured, "operator-chosen-key");
  auto stored = LoadOrCreate(test_->db(), "notify.links", "", kStart);
  ASSERT_TRUE(stored.ok());
  EXPECT_NE(*stored, "operator-chosen-key");
}

INSTANTIATE_TEST_SUITE_P(Backends, SecretsTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) { return testing::BackendParamName(param_info.param); });

}  // namespace
}  // namespace guichet::secrets
