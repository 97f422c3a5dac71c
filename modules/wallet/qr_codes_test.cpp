// The wallet's one-time QR codes (W17): the fixed cross-language vectors (the same bytes and
// verdicts as web/src/wallet/qr_phone.ts), then enrolment, redemption once per phone and
// counter in any order, expiry, forgeries, revocation, printed codes read back by the zbar
// decoder, and the refusals kept for fraud detection — on SQLite and PostgreSQL.
#include "modules/wallet/qr_codes.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/base/crypto.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/tokens/qr.h"
#include "platform/identity/identity.h"
#include "platform/identity/machines.h"
#include "platform/sync/sync.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;

std::string FromHex(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

std::string FromBase64Url(std::string_view text) {
  std::string bytes(text.size(), '\0');
  size_t length = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                              text.data(), text.size(), nullptr, &length, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  bytes.resize(length);
  return bytes;
}

std::string Seed(int start) {
  std::string seed(32, '\0');
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<char>(start + i);
  return seed;
}

// The code with some of its bytes replaced (and re-encoded): tampering a till could try.
std::string Patch(const std::string& text, size_t at, std::string_view bytes) {
  std::string raw = FromBase64Url(std::string_view(text).substr(kQrPrefix.size()));
  raw.replace(at, bytes.size(), bytes);
  return std::string(kQrPrefix) + crypto::ToBase64Url(raw);
}

std::string DecodeWithZbar(const std::string& png) {
  std::string path = ::testing::TempDir() + "guichet_wallet_qr_XXXXXX.png";
  const int fd = mkstemps(path.data(), 4);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << png;
  FILE* pipe = popen(("zbarimg --raw -q --nodbus '" + path + "'").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    output.append(buffer.data(), n);
  EXPECT_EQ(pclose(pipe), 0) << "zbarimg found no symbol";
  std::remove(path.c_str());
  if (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

boost::json::object Vectors() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                    "tests" / "vectors" / "wallet_qr.json";
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

TEST(WalletQrVectors, CodesMadeHereAreTheFixedVectorsByteForByte) {
  const boost::json::object vectors = Vectors();
  const QrKeyPair service = QrKeyPairFromSeed(FromHex(vectors.at("service_seed_hex").as_string()));
  const QrKeyPair phone = QrKeyPairFromSeed(FromHex(vectors.at("phone_seed_hex").as_string()));
  EXPECT_EQ(crypto::ToHex(service.key_id), vectors.at("service_key").at("key_id").as_string());
  EXPECT_EQ(crypto::ToBase64Url(service.public_key),
            vectors.at("service_key").at("public_key").as_string());
  EXPECT_EQ(crypto::ToBase64Url(phone.public_key), vectors.at("phone_public_key").as_string());
  QrCertificate certificate;
  certificate.phone_id = vectors.at("phone_id").as_int64();
  certificate.holder_id = vectors.at("holder_id").as_int64();
  certificate.phone_public_key = phone.public_key;
  certificate.expires_at_s = vectors.at("certificate_expires_at_s").as_int64();
  const std::string signed_certificate = SignQrCertificate(service, certificate);
  EXPECT_EQ(crypto::ToBase64Url(signed_certificate), vectors.at("certificate").as_string());
  for (const auto& value : vectors.at("codes").as_array()) {
    const auto& code = value.as_object();
    const std::string text =
        MakeQrCode(signed_certificate, phone, code.at("counter").to_number<int64_t>(),
                   code.at("made_at_s").to_number<int64_t>());
    EXPECT_EQ(text, code.at("text").as_string());
    EXPECT_LT(text.size(), 270u);
  }
}

TEST(WalletQrVectors, EveryCaseGetsTheSameVerdictAsInTypeScript) {
  const boost::json::object vectors = Vectors();
  const std::vector<QrVerifyingKey> keys{
      {FromHex(vectors.at("service_key").at("key_id").as_string()),
       FromBase64Url(vectors.at("service_key").at("public_key").as_string())}};
  for (const auto& value : vectors.at("cases").as_array()) {
    const auto& c = value.as_object();
    std::set<int64_t> revoked;
    if (c.contains("revoked")) {
      for (const auto& id : c.at("revoked").as_array()) revoked.insert(id.as_int64());
    }
    auto verdict = VerifyQrOffline(std::string(c.at("text").as_string()), keys, revoked,
                                   c.at("point_now_ms").to_number<int64_t>(),
                                   vectors.at("lifetime_s").as_int64());
    EXPECT_EQ(verdict.ok() ? std::string("ok") : verdict.error().code, c.at("expect").as_string())
        << c.at("name").as_string();
  }
}

// ---- Storage ------------------------------------------------------------------------------------

class WalletQrTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(),
                        notify::Migrations(), identity::Migrations(), identity::MachineMigrations(),
                        ledger::Migrations(), Migrations(), QrMigrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    wallet::DeclarePermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    system_.kind = identity::Caller::Kind::kSystem;
    auto org =
        test_->db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
          return orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, clock_.NowMs());
        });
    ASSERT_TRUE(org.ok());
    org_ = *org;
    // A manager-like client of the institution: machine grants carry their permissions as such.
    staff_.kind = identity::Caller::Kind::kApiKey;
    staff_.id = 1;
    staff_.grants.push_back(identity::Grant{
        0, org_.id, org_.path, "",
        std::set<std::string>{std::string(right::kRead), std::string(right::kOppose),
                              std::string(right::kReactivate)}});
    auto opened = QrCodes::Open(*wallet_, service_);
    ASSERT_TRUE(opened.ok());
    qr_ = std::move(*opened);
    holder_ = CreateHolder("ana");
  }

  int64_t CreateHolder(const std::string& name) {
    NewHolder holder;
    holder.organisation_id = org_.id;
    holder.university_id = "U-" + name;
    holder.last_name = "Durand";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    auto created = wallet_->CreateHolder(system_, holder);
    EXPECT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
    return created.ok() ? created->id : 0;
  }

  // Enrols a phone with the key of `seed` and answers its row.
  QrPhone Enrol(const QrKeyPair& phone, int64_t holder_id) {
    auto enrolled = qr_->EnrolPhone(holder_id, crypto::ToBase64Url(phone.public_key), "Pixel", "t");
    EXPECT_TRUE(enrolled.ok()) << (enrolled.ok() ? "" : enrolled.error().code);
    return enrolled.ok() ? *enrolled : QrPhone{};
  }

  std::string Code(const QrPhone& phone, const QrKeyPair& key, int64_t counter,
                   int64_t made_at_ms) {
    return MakeQrCode(FromBase64Url(phone.certificate), key, counter, made_at_ms / 1000);
  }

  std::string Refusal(const std::string& text, int64_t point_now_ms) {
    auto redeemed = qr_->Redeem(text, point_now_ms, 77);
    return redeemed.ok() ? "ok" : redeemed.error().code;
  }

  int64_t Count(const std::string& sql) {
    auto row = test_->db().Transact<int64_t>(TransactionMode::kRead,
                                             [&](Transaction& tx) -> Result<int64_t> {
                                               auto found = tx.QueryOne(sql);
                                               if (!found.ok()) return std::move(found).error();
                                               return (*found)->Int(0);
                                             });
    EXPECT_TRUE(row.ok());
    return row.ok() ? *row : -1;
  }

  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<QrCodes> qr_;
  identity::Caller system_;
  identity::Caller staff_;
  orgs::Organisation org_;
  const QrKeyPair service_ = QrKeyPairFromSeed(Seed(0));
  const QrKeyPair phone_key_ = QrKeyPairFromSeed(Seed(0x40));
  int64_t holder_ = 0;
};

TEST_P(WalletQrTest, W17_a_code_is_accepted_once_even_when_points_upload_out_of_order) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  EXPECT_EQ(phone.kind, "phone");
  EXPECT_EQ(phone.status, "active");
  auto support = test_->db().Transact<std::optional<Support>>(
      TransactionMode::kRead, [&](Transaction& tx) { return FindSupport(tx, phone.support_id); });
  ASSERT_TRUE(support.ok() && support->has_value());
  EXPECT_EQ((*support)->technology, "qr");
  EXPECT_TRUE((*support)->is_virtual);

  std::vector<std::string> codes;
  for (int64_t counter = 0; counter < 5; ++counter)
    codes.push_back(Code(phone, phone_key_, counter, kStart));
  std::set<int64_t> used_ids;
  for (const int i : {3, 1, 4, 0, 2}) {
    auto redeemed = qr_->Redeem(codes[i], kStart + 5000, 77);
    ASSERT_TRUE(redeemed.ok()) << i << " " << redeemed.error().code;
    EXPECT_EQ(redeemed->holder_id, holder_);
    EXPECT_EQ(redeemed->support_id, phone.support_id);
    used_ids.insert(redeemed->qr_code_id);
  }
  EXPECT_EQ(used_ids.size(), 5u);
  for (const std::string& code : codes) EXPECT_EQ(Refusal(code, kStart + 6000), "qr_replayed");
  // Each replay is kept with what it claimed, for fraud detection.
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM wallet_qr_refusals WHERE code = 'qr_replayed'"
                              " AND claimed_phone_id = {} AND point_id = 77",
                              phone.id)),
            5);
}

TEST_P(WalletQrTest, W17_two_points_redeeming_the_same_code_at_once_one_wins) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  const std::string code = Code(phone, phone_key_, 9, kStart);
  std::array<std::string, 4> outcomes;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    threads.emplace_back([&, i] { outcomes[i] = Refusal(code, kStart + 1000); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "ok"), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "qr_replayed"), 3);
}

TEST_P(WalletQrTest, W17_lifetime_is_the_national_threshold_on_the_points_clock) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  const std::string code = Code(phone, phone_key_, 0, kStart);
  clock_.Advance(301'000);
  EXPECT_EQ(Refusal(code, clock_.NowMs()), "qr_expired");  // 300 s by default
  // An offline point that read the code in time uploads it later with its own clock.
  EXPECT_EQ(Refusal(code, kStart + 299'000), "ok");
  // Made in the future of the point, or of the server (beyond the drift).
  const std::string future =
      Code(phone, phone_key_, 1, clock_.NowMs() + (kQrClockDriftS + 5) * 1000);
  EXPECT_EQ(Refusal(future, clock_.NowMs()), "qr_not_yet_valid");
  EXPECT_EQ(Refusal(future, clock_.NowMs() + 120'000), "qr_not_yet_valid");
}

TEST_P(WalletQrTest, W17_forged_and_tampered_codes_are_refused) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  const std::string good = Code(phone, phone_key_, 0, kStart);
  // The counter changed by a till: the phone's signature no longer holds.
  EXPECT_EQ(Refusal(Patch(good, kQrCertificateBytes + 3, "\x07"), kStart), "qr_signature_invalid");
  // A certificate from another service key.
  const QrKeyPair other = QrKeyPairFromSeed(Seed(0x20));
  QrCertificate fields{service_.key_id, phone.id, holder_, phone_key_.public_key,
                       kStart / 1000 + 3600};
  EXPECT_EQ(
      Refusal(MakeQrCode(SignQrCertificate(other, fields), phone_key_, 1, kStart / 1000), kStart),
      "qr_signature_invalid");
  // A real certificate, signed by someone else's phone key.
  const QrKeyPair thief = QrKeyPairFromSeed(Seed(0x60));
  EXPECT_EQ(Refusal(Code(phone, thief, 2, kStart), kStart), "qr_signature_invalid");
  // Another holder named in the certificate.
  EXPECT_EQ(Refusal(Patch(good, 13, std::string("\0\0\0\0\0\0\0\x63", 8)), kStart),
            "qr_signature_invalid");
  // A certificate the service signed for a phone it does not know (a key leak, a wiped row).
  fields.phone_id = phone.id + 1000;
  EXPECT_EQ(Refusal(MakeQrCode(SignQrCertificate(service_, fields), phone_key_, 3, kStart / 1000),
                    kStart),
            "qr_phone_unknown");
  EXPECT_EQ(Refusal("GQ1.AAAA", kStart), "qr_malformed");
  EXPECT_EQ(Refusal(std::string(400, 'G'), kStart), "qr_malformed");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_qr_refusals"), 7);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_qr_codes"), 0);
}

TEST_P(WalletQrTest, W17_a_revoked_phones_codes_are_refused_and_points_learn_it) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  const std::string code = Code(phone, phone_key_, 0, kStart);
  auto revoked = qr_->RevokeMyPhone(holder_, phone.id, "t");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->status, "revoked");
  EXPECT_EQ(Refusal(code, kStart), "qr_phone_revoked");
  auto list = test_->db().Transact<std::vector<int64_t>>(
      TransactionMode::kRead,
      [&](Transaction& tx) { return RevokedQrPhones(tx, 0, clock_.NowMs()); });
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<int64_t>{phone.id});
  EXPECT_EQ(Count(fmt::format(
                "SELECT COUNT(*) FROM wallet_supports WHERE id = {} AND opposition = 'permanent'",
                phone.support_id)),
            1);
  // A renewal cannot bring it back; revoking twice changes nothing; another holder cannot touch it.
  EXPECT_EQ(qr_->RenewCertificate(holder_, phone.id, "t").error().code, "qr_phone_revoked");
  EXPECT_TRUE(qr_->RevokeMyPhone(holder_, phone.id, "t").ok());
  EXPECT_EQ(qr_->RevokeMyPhone(CreateHolder("ben"), phone.id, "t").error().code, "phone_not_found");
}

TEST_P(WalletQrTest, W17_staff_revoke_and_an_opposed_account_stops_its_codes) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  const std::string code = Code(phone, phone_key_, 0, kStart);
  ASSERT_TRUE(wallet_->OpposeHolder(staff_, holder_, Opposition::kTemporary).ok());
  EXPECT_EQ(Refusal(code, kStart), "holder_opposed");
  ASSERT_TRUE(wallet_->ReactivateHolder(staff_, holder_).ok());
  EXPECT_EQ(Refusal(code, kStart), "ok");
  auto phones = qr_->HolderPhones(staff_, holder_);
  ASSERT_TRUE(phones.ok());
  ASSERT_EQ(phones->size(), 1u);
  ASSERT_TRUE(qr_->RevokePhone(staff_, holder_, phone.id).ok());
  EXPECT_EQ(Refusal(Code(phone, phone_key_, 1, kStart), kStart), "qr_phone_revoked");
  identity::Caller nobody;
  nobody.kind = identity::Caller::Kind::kUser;
  nobody.id = 5;
  EXPECT_EQ(qr_->HolderPhones(nobody, holder_).error().code, "holder_not_found");
}

TEST_P(WalletQrTest, W17_enrolment_checks_the_key_the_label_and_the_number_of_phones) {
  EXPECT_EQ(qr_->EnrolPhone(holder_, "not-a-key", "Pixel", "t").error().code, "public_key_invalid");
  EXPECT_EQ(qr_->EnrolPhone(holder_, crypto::ToBase64Url(std::string(32, '\0')), "Pixel", "t")
                .error()
                .code,
            "public_key_invalid");  // a small-order point
  EXPECT_EQ(
      qr_->EnrolPhone(holder_, crypto::ToBase64Url(phone_key_.public_key), "", "t").error().code,
      "validation_failed");
  for (int i = 0; i < kQrPhonesPerHolderMax; ++i) Enrol(QrKeyPairFromSeed(Seed(0x80 + i)), holder_);
  EXPECT_EQ(qr_->EnrolPhone(holder_, crypto::ToBase64Url(phone_key_.public_key), "Pixel", "t")
                .error()
                .code,
            "phones_limit_reached");
  EXPECT_EQ(
      qr_->EnrolPhone(CreateHolder("ben"),
                      crypto::ToBase64Url(QrKeyPairFromSeed(Seed(0x80)).public_key), "Pixel", "t")
          .error()
          .code,
      "phone_already_enrolled");
  auto mine = qr_->MyPhones(holder_);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), static_cast<size_t>(kQrPhonesPerHolderMax));
}

TEST_P(WalletQrTest, W17_printed_codes_scan_with_a_real_decoder_and_are_redeemed_once) {
  EXPECT_EQ(qr_->PrintCodes(holder_, 4, "t").error().code, "validation_failed");
  auto printed = qr_->PrintCodes(holder_, 3, "t");
  ASSERT_TRUE(printed.ok()) << printed.error().message;
  ASSERT_EQ(printed->size(), 3u);
  auto keys = qr_->VerifyingKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  for (const PrintedQrCode& code : *printed) {
    EXPECT_EQ(code.expires_at_ms, code.made_at_ms + 300'000);
    auto png = tokens::QrPng(code.text);
    ASSERT_TRUE(png.ok());
    const std::string decoded = DecodeWithZbar(*png);
    ASSERT_EQ(decoded, code.text);
    EXPECT_TRUE(VerifyQrOffline(decoded, *keys, {}, kStart, 300).ok());
  }
  EXPECT_EQ(Refusal(DecodeWithZbar(*tokens::QrPng((*printed)[1].text)), kStart + 1000), "ok");
  EXPECT_EQ(Refusal((*printed)[1].text, kStart + 2000), "qr_replayed");
  auto left = qr_->MyPrintedCodes(holder_);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 2u);
  // The next batch goes on counting from the same service-held "phone".
  auto more = qr_->PrintCodes(holder_, 1, "t");
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(Refusal((*more)[0].text, kStart), "ok");
  EXPECT_EQ(qr_->MyPrintedCode(CreateHolder("ben"), (*more)[0].id).error().code,
            "qr_code_not_found");
  clock_.Advance(301'000);
  left = qr_->MyPrintedCodes(holder_);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_P(WalletQrTest, W17_a_renewed_certificate_keeps_the_key_and_the_counters) {
  const QrPhone phone = Enrol(phone_key_, holder_);
  EXPECT_EQ(Refusal(Code(phone, phone_key_, 0, kStart), kStart), "ok");
  clock_.Advance(int64_t{100} * 24 * 3600 * 1000);
  auto renewed = qr_->RenewCertificate(holder_, phone.id, "t");
  ASSERT_TRUE(renewed.ok());
  EXPECT_GT(renewed->certificate_expires_at_ms, phone.certificate_expires_at_ms);
  EXPECT_EQ(Refusal(Code(*renewed, phone_key_, 0, clock_.NowMs()), clock_.NowMs()), "qr_replayed");
  EXPECT_EQ(Refusal(Code(*renewed, phone_key_, 1, clock_.NowMs()), clock_.NowMs()), "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletQrTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
