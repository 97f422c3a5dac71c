#include "platform/base/markup.h"

#include <gtest/gtest.h>

namespace guichet {
namespace {

TEST(MarkupTest, EscapesTheFiveSpecialCharactersAndNothingElse) {
  EXPECT_EQ(EscapeMarkup(R"(<a href="x">Tom & Jerry's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("Élodie — 12,50 €"), "Élodie — 12,50 €");
  EXPECT_EQ(EscapeMarkup(""), "");
}

}  // namespace
}  // namespace guichet
