#include "platform/identity/totp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "platform/base/crypto.h"

namespace guichet::identity {
namespace {

// RFC 6238 Appendix B: each algorithm has its own seed, the ASCII digits repeated to the
// digest's length.
constexpr std::string_view kSeedSha1 = "12345678901234567890";
constexpr std::string_view kSeedSha256 = "12345678901234567890123456789012";
constexpr std::string_view kSeedSha512 =
    "1234567890123456789012345678901234567890123456789012345678901234";

struct TotpVector {
  int64_t unix_seconds;
  TotpAlgorithm algorithm;
  std::string code;
};

TEST(Totp, MatchesEveryRfc6238Vector) {
  const std::vector<TotpVector> vectors = {
      {59, TotpAlgorithm::kSha1, "94287082"},
      {59, TotpAlgorithm::kSha256, "46119246"},
      {59, TotpAlgorithm::kSha512, "90693936"},
      {1111111109, TotpAlgorithm::kSha1, "07081804"},
      {1111111109, TotpAlgorithm::kSha256, "68084774"},
      {1111111109, TotpAlgorithm::kSha512, "25091201"},
      {1111111111, TotpAlgorithm::kSha1, "14050471"},
      {1111111111, TotpAlgorithm::kSha256, "67062674"},
      {1111111111, TotpAlgorithm::kSha512, "99943326"},
      {1234567890, TotpAlgorithm::kSha1, "89005924"},
      {1234567890, TotpAlgorithm::kSha256, "91819424"},
      {1234567890, TotpAlgorithm::kSha512, "93441116"},
      {2000000000, TotpAlgorithm::kSha1, "69279037"},
      {2000000000, TotpAlgorithm::kSha256, "90698825"},
      {2000000000, TotpAlgorithm::kSha512, "38618901"},
      {20000000000, TotpAlgorithm::kSha1, "65353130"},
      {20000000000, TotpAlgorithm::kSha256, "77737706"},
      {20000000000, TotpAlgorithm::kSha512, "47863826"},
  };
  for (const TotpVector& v : vectors) {
    const std::string_view seed = v.algorithm == TotpAlgorithm::kSha1     ? kSeedSha1
                                  : v.algorithm == TotpAlgorithm::kSha256 ? kSeedSha256
                                                                          : kSeedSha512;
    EXPECT_EQ(TotpCode(seed, v.unix_seconds, 8, 30, v.algorithm), v.code)
        << "T=" << v.unix_seconds << " algorithm " << static_cast<int>(v.algorithm);
  }
}

TEST(Totp, MatchesEveryRfc4226HotpValue) {
  const std::vector<std::string> expected = {"755224", "287082", "359152", "969429", "338314",
                                             "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t count = 0; count < expected.size(); ++count) {
    EXPECT_EQ(HotpCode(kSeedSha1, count), expected[count]) << "count " << count;
    // A 1-second step turns TOTP into HOTP of the time itself.
    EXPECT_EQ(TotpCode(kSeedSha1, static_cast<int64_t>(count), 6, 1), expected[count]);
  }
}

class TotpVerify : public ::testing::Test {
 protected:
  // Step 50 000 000 (mid-2017), 12 seconds into it.
  static constexpr int64_t kStep = 50'000'000;
  static constexpr int64_t kNow = kStep * kTotpStepS + 12;

  std::string CodeAt(int64_t step) const {
    return TotpCode(*Base32Decode(secret_), step * kTotpStepS, kTotpDigits);
  }

  std::string secret_ = NewTotpSecret();
};

TEST_F(TotpVerify, AcceptsTheCurrentCodeAndReturnsItsStep) {
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep), kNow, kTotpNoStepUsed), kStep);
  // At the last second of the step too.
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep), kStep * kTotpStepS + 29, kTotpNoStepUsed, 0), kStep);
}

TEST_F(TotpVerify, AcceptsOneStepEitherSideAndRefusesTwo) {
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep - 1), kNow, kTotpNoStepUsed), kStep - 1);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep + 1), kNow, kTotpNoStepUsed), kStep + 1);
  for (int64_t step : {kStep - 2, kStep + 2}) {
    const std::string code = CodeAt(step);
    if (code == CodeAt(kStep) || code == CodeAt(kStep - 1) || code == CodeAt(kStep + 1)) continue;
    EXPECT_EQ(VerifyTotp(secret_, code, kNow, kTotpNoStepUsed), std::nullopt) << step;
  }
  // Without a window only the current step counts.
  if (CodeAt(kStep - 1) != CodeAt(kStep)) {
    EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep - 1), kNow, kTotpNoStepUsed, 0), std::nullopt);
  }
}

TEST_F(TotpVerify, RefusesAReplayedCodeAndOlderOnes) {
  const auto used = VerifyTotp(secret_, CodeAt(kStep), kNow, kTotpNoStepUsed);
  ASSERT_EQ(used, kStep);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep), kNow, *used), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep), kNow + 20, *used), std::nullopt);
  if (CodeAt(kStep - 1) != CodeAt(kStep + 1)) {
    EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep - 1), kNow, *used), std::nullopt);
  }
  // The next code is still good.
  EXPECT_EQ(VerifyTotp(secret_, CodeAt(kStep + 1), kNow + 30, *used), kStep + 1);
}

TEST_F(TotpVerify, RefusesMalformedCodesAndSecrets) {
  const std::string code = CodeAt(kStep);
  for (const std::string& bad : {std::string(), code.substr(0, 5), code + "0", " " + code.substr(1),
                                 code.substr(0, 5) + "a", code.substr(0, 3) + " " + code.substr(3),
                                 std::string("\xEF\xBC\x91") + code.substr(1),  // full-width 1
                                 code.substr(0, 5) + std::string(1, '\0')}) {
    EXPECT_EQ(VerifyTotp(secret_, bad, kNow, kTotpNoStepUsed), std::nullopt) << bad;
  }
  EXPECT_EQ(VerifyTotp("not base32!", code, kNow, kTotpNoStepUsed), std::nullopt);
  EXPECT_EQ(VerifyTotp("", code, kNow, kTotpNoStepUsed), std::nullopt);
  // 10 bytes is below RFC 4226's 128-bit minimum, whatever the code.
  const std::string short_secret = Base32Encode("0123456789");
  const std::string short_code = TotpCode("0123456789", kNow);
  EXPECT_EQ(VerifyTotp(short_secret, short_code, kNow, kTotpNoStepUsed), std::nullopt);
}

TEST_F(TotpVerify, ReadsTheSecretAsPeopleTypeIt) {
  std::string typed;
  for (size_t i = 0; i < secret_.size(); ++i) {
    if (i > 0 && i % 4 == 0) typed.push_back(' ');
    typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(secret_[i]))));
  }
  EXPECT_EQ(VerifyTotp(typed, CodeAt(kStep), kNow, kTotpNoStepUsed), kStep);
}

TEST(TotpBase32, EncodesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
}

TEST(TotpBase32, DecodesIgnoringCaseSpacesAndPadding) {
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI"), "foobar");
  EXPECT_EQ(*Base32Decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(*Base32Decode("mzxw 6ytb oi"), "foobar");
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(*Base32Decode("MY======"), "f");
  EXPECT_EQ(*Base32Decode(""), "");
}

TEST(TotpBase32, RefusesForeignCharactersAndImpossibleLengths) {
  for (std::string_view bad : {"MZXW6YQ1", "MZXW6YQ0", "MZXW8", "MZ=XQ", "MZXQ-", "M", "MZX",
                               "MZXW6Y", "MZXW6YTBO", "ÉTÉ"}) {
    auto decoded = Base32Decode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, "invalid_base32");
  }
}

TEST(TotpBase32, RoundTripsAnyBytes) {
  for (size_t length = 0; length <= 40; ++length) {
    const std::string bytes = crypto::RandomBytes(length);
    const std::string text = Base32Encode(bytes);
    EXPECT_EQ(text.size(), (length * 8 + 4) / 5);
    auto decoded = Base32Decode(text);
    ASSERT_TRUE(decoded.ok()) << text;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Totp, NewSecretsAre160RandomBits) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string secret = NewTotpSecret();
    EXPECT_EQ(secret.size(), 32u);
    EXPECT_EQ(Base32Decode(secret)->size(), kTotpSecretBytes);
    seen.insert(secret);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Totp, OtpauthUriFollowsTheKeyUriFormat) {
  // The example of Google's Key Uri Format documentation.
  EXPECT_EQ(OtpauthUri("ACME Co", "john.doe@email.com", "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"),
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
            "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30");
  // Accents, separators and query characters are encoded; the secret is written canonically.
  EXPECT_EQ(
      OtpauthUri("Ville de Saint-Étienne", "a:b&c=d?#", "hxdm vjec jjws rb3h wizr 4ifu gftm xboz"),
      "otpauth://totp/Ville%20de%20Saint-%C3%89tienne:a%3Ab%26c%3Dd%3F%23"
      "?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=Ville%20de%20Saint-%C3%89tienne"
      "&algorithm=SHA1&digits=6&period=30");
}

TEST(TotpRecoveryCodes, AreDistinctAndUseNoLookAlikes) {
  const std::vector<std::string> codes = NewRecoveryCodes();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  for (const std::string& code : codes) {
    ASSERT_EQ(code.size(), 14u) << code;
    EXPECT_EQ(code[4], '-');
    EXPECT_EQ(code[9], '-');
    for (size_t i : {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13}) {
      EXPECT_NE(std::string_view("abcdefghjkmnpqrstuvwxyz23456789").find(code[i]),
                std::string_view::npos)
          << code;
    }
  }
  EXPECT_EQ(NewRecoveryCodes(1).size(), 1u);
  EXPECT_EQ(NewRecoveryCodes(kRecoveryCodesMax).size(), static_cast<size_t>(kRecoveryCodesMax));
}

TEST(TotpRecoveryCodes, MatchHoweverTheyAreRetyped) {
  const std::string code = NewRecoveryCodes(1).front();
  std::string upper;
  for (char c : code) {
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  std::string spaced = upper;
  std::replace(spaced.begin(), spaced.end(), '-', ' ');

  EXPECT_EQ(NormalizeRecoveryCode("ABCD-efgh 2345"), "abcdefgh2345");
  EXPECT_EQ(HashRecoveryCode(code), HashRecoveryCode(upper));
  EXPECT_EQ(HashRecoveryCode(code), HashRecoveryCode(spaced));
  EXPECT_EQ(HashRecoveryCode(code), crypto::Sha256Hex(NormalizeRecoveryCode(code)));
  EXPECT_EQ(HashRecoveryCode(code).size(), 64u);
  EXPECT_NE(HashRecoveryCode("abcd-efgh-2345"), HashRecoveryCode("abcd-efgh-2346"));
}

}  // namespace
}  // namespace guichet::identity
