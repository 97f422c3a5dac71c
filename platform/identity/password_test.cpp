#include "platform/identity/password.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace guichet::identity {
namespace {

// libsodium's minimums for Argon2id: the tests check behaviour, not cost.
constexpr PasswordHashOptions kFast{.ops = 1, .memory_kib = 8};

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  auto hash = HashPassword("correct horse battery staple", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse battery stapl", *hash));
  EXPECT_FALSE(VerifyPassword("Correct horse battery staple", *hash));
  EXPECT_FALSE(VerifyPassword("", *hash));
}

TEST(PasswordHash, AHashOfOnePasswordNeverVerifiesAnother) {
  const std::vector<std::string> passwords = {"alpha bravo charlie", "alpha bravo charlie ",
                                              "pâte à crêpes ÷ 4", "pa\xCC\x82te", ""};
  std::vector<std::string> hashes;
  for (const std::string& password : passwords) {
    auto hash = HashPassword(password, kFast);
    ASSERT_TRUE(hash.ok());
    hashes.push_back(*hash);
  }
  for (size_t i = 0; i < passwords.size(); ++i) {
    for (size_t j = 0; j < hashes.size(); ++j) {
      EXPECT_EQ(VerifyPassword(passwords[i], hashes[j]), i == j) << i << " against " << j;
    }
  }
}

TEST(PasswordHash, IsSaltedSoTwoHashesOfOnePasswordDiffer) {
  auto first = HashPassword("the same password twice", kFast);
  auto second = HashPassword("the same password twice", kFast);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(VerifyPassword("the same password twice", *first));
  EXPECT_TRUE(VerifyPassword("the same password twice", *second));
}

TEST(PasswordHash, DefaultsAreArgon2idWithThreePassesOver64MiB) {
  auto hash = HashPassword("correct horse battery staple", PasswordHashOptions{});
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=3,p=1$")) << *hash;
  EXPECT_FALSE(NeedsRehash(*hash, PasswordHashOptions{}));
}

TEST(PasswordHash, NeedsRehashWhenTheParametersOrAlgorithmChange) {
  auto hash = HashPassword("correct horse battery staple", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << *hash;
  EXPECT_FALSE(NeedsRehash(*hash, kFast));
  EXPECT_TRUE(NeedsRehash(*hash, {.ops = 2, .memory_kib = 8}));
  EXPECT_TRUE(NeedsRehash(*hash, {.ops = 1, .memory_kib = 16}));
  EXPECT_TRUE(NeedsRehash(*hash, PasswordHashOptions{}));
  // A bcrypt hash imported from an older system, and rubbish.
  EXPECT_TRUE(NeedsRehash("$2y$10$abcdefghijklmnopqrstuuJm1dpV6E0p3ZpiF0PtH3n3Z2R7nO3Ga", kFast));
  EXPECT_TRUE(NeedsRehash("", kFast));
  EXPECT_TRUE(NeedsRehash("$argon2id$v=19$m=8,t=1,p=1$garbage", kFast));
}

TEST(PasswordHash, RefusesMalformedHashesAndOversizedPasswords) {
  auto hash = HashPassword("correct horse battery staple", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", ""));
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", "plain text"));
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", hash->substr(0, hash->size() - 2)));
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", *hash + std::string(1, '\0') + "x"));
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", std::string(200, 'a')));

  const std::string huge(kPasswordBytesMax + 1, 'a');
  auto refused = HashPassword(huge, kFast);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "password_too_long");
  EXPECT_FALSE(VerifyPassword(huge, *hash));
}

struct PolicyCase {
  std::string password;
  std::vector<std::string> personal_words;
  PasswordWeakness expected;
};

std::string Repeat(std::string_view text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

const std::vector<PolicyCase>& PolicyCases() {
  using W = PasswordWeakness;
  static const std::vector<PolicyCase> cases = {
      // Accepted: passphrases and random strings.
      {"correct horse battery staple", {}, W::kNone},
      {"correct horse battery staple", {"Jean Dupont", "jean.dupont@example.fr"}, W::kNone},
      {"xk7#Pq9!mZ2w", {}, W::kNone},
      {"lundi vélo piscine 42 fenêtre", {}, W::kNone},
      {"j'aime les frites croustillantes", {}, W::kNone},
      {"Guichet2026!", {}, W::kGuessable},  // the service's own name is a common word
      // Length, counted in characters.
      {"", {}, W::kTooShort},
      {"Tr0ub4dor&3", {}, W::kTooShort},
      {"éèàçùâêîôûë", {}, W::kTooShort},  // 11 characters, 22 bytes
      {std::string(129, 'x'), {}, W::kTooLong},
      {Repeat("é", 129), {}, W::kTooLong},
      // Mostly a run or a sequence.
      {"aaaaaaaaaaaa", {}, W::kRepetitive},
      {"abcdefghijkl", {}, W::kRepetitive},
      {"azertyuiop12", {}, W::kRepetitive},
      {"qwertyuiop!!", {}, W::kRepetitive},
      {"0987654321ab", {}, W::kRepetitive},
      {"&é\"'(-è_çà!?", {}, W::kRepetitive},  // the AZERTY digit row
      {Repeat("é", 128), {}, W::kRepetitive},
      // Personal words, whatever the case, accents or substitutions.
      {"Guichet2026!", {"guichet"}, W::kPersonal},
      {"Jean.Dupont2024!", {"jean.dupont@example.fr"}, W::kPersonal},
      {"ma-soeur-ELODIE-a-un-chat", {"Élodie Martin"}, W::kPersonal},
      {"Élodie et le chat noir", {"Elodie"}, W::kPersonal},
      {"D3l4c0ur maison verte", {"Delacour"}, W::kPersonal},
      {"Gui-chet forever and ever", {"Guichet"}, W::kPersonal},
      {"Mairie de Rennes 35000", {"Mairie-de-Rennes"}, W::kPersonal},
      // Cracklib: dictionary words, slightly altered, too systematic.
      {"Bonjour123456", {}, W::kDictionary},
      {"Password123!", {}, W::kGuessable},
      {"P@ssw0rd2024", {}, W::kGuessable},
      {"Tr0ub4dor&33", {}, W::kGuessable},
      {"motdepasse123", {}, W::kGuessable},
      {"iloveyou1234", {}, W::kGuessable},
      {"Soleil2024!!", {}, W::kGuessable},
      {"Marseille13008", {}, W::kGuessable},
      {"passwordpassword", {}, W::kGuessable},
      {Repeat("password ", 14), {}, W::kGuessable},  // long, but one word again and again
  };
  return cases;
}

TEST(PasswordPolicy, AcceptsOrRefusesEachCaseForItsReason) {
  for (const PolicyCase& c : PolicyCases()) {
    const PasswordAssessment assessment = AssessPassword(c.password, c.personal_words);
    EXPECT_EQ(PasswordWeaknessCode(assessment.weakness), PasswordWeaknessCode(c.expected))
        << c.password << " (" << assessment.entropy_bits << " bits): " << assessment.message;
  }
}

TEST(PasswordPolicy, StrengthIsConsistentWithThePolicy) {
  for (const PolicyCase& c : PolicyCases()) {
    const int strength = EstimateStrength(c.password, c.personal_words);
    const Status status = CheckPasswordPolicy(c.password, c.personal_words);
    EXPECT_GE(strength, 0);
    EXPECT_LE(strength, 4);
    EXPECT_EQ(status.ok(), strength >= 3) << c.password << ": strength " << strength;
  }
}

TEST(PasswordPolicy, RefusalIsAValidationErrorOnThePasswordField) {
  const Status status = CheckPasswordPolicy("Guichet2026!", {"Guichet"});
  ASSERT_FALSE(status.ok());
  const Error& error = status.error();
  EXPECT_EQ(error.kind, ErrorKind::kValidation);
  EXPECT_EQ(error.code, "weak_password");
  EXPECT_NE(error.message.find("guichet"), std::string::npos) << error.message;
  ASSERT_EQ(error.fields.size(), 1u);
  EXPECT_EQ(error.fields[0].pointer, "/password");
  EXPECT_EQ(error.fields[0].message, error.message);
}

TEST(PasswordPolicy, EveryRefusalExplainsItselfInASentence) {
  for (const PolicyCase& c : PolicyCases()) {
    const PasswordAssessment assessment = AssessPassword(c.password, c.personal_words);
    if (c.expected == PasswordWeakness::kNone) {
      EXPECT_TRUE(assessment.message.empty()) << c.password;
      continue;
    }
    EXPECT_TRUE(assessment.message.starts_with("This password ")) << assessment.message;
    EXPECT_TRUE(assessment.message.ends_with(".")) << assessment.message;
  }
}

TEST(PasswordPolicy, StrengthGrowsAsAPassphraseGrows) {
  EXPECT_LE(EstimateStrength("correct", {}), 1);
  EXPECT_LE(EstimateStrength("correct horse", {}), 2);
  EXPECT_GE(EstimateStrength("correct horse battery staple", {}), 3);
  EXPECT_EQ(EstimateStrength("correct horse battery staple orange cupboard", {}), 4);
}

TEST(PasswordPolicy, ShortPersonalWordsAndAddressDomainsDoNotCount) {
  // "Li" is too short to matter; "example" and "fr" are the address's domain, not its owner.
  EXPECT_TRUE(CheckPasswordPolicy("Li example fr correct horse", {"Li", "x@example.fr"}).ok());
}

}  // namespace
}  // namespace guichet::identity
