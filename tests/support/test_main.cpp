// gtest entry point: quiet logs (GUICHET_TEST_LOG_LEVEL=info to see them).
#include <cstdlib>

#include <gtest/gtest.h>

#include "platform/base/crypto.h"
#include "platform/base/log.h"

int main(int argc, char** argv) {
  const char* level = std::getenv("GUICHET_TEST_LOG_LEVEL");
  guichet::log::Init(level != nullptr ? level : "error", "text");
  guichet::crypto::Initialize();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
