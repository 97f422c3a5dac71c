#include "platform/notify/webpush.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <boost/json/parse.hpp>

namespace guichet::notify {
namespace {

std::string Decoded(std::string_view text) {
  std::optional<std::string> bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or("");
}

// RFC 8291 appendix A.
constexpr std::string_view kPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_"
    "c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3"
    "jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

TEST(WebPushTest, EncryptionReproducesTheRfc8291Example) {
  const std::optional<P256Key> sender = P256FromPrivate(Decoded(kAsPrivate));
  ASSERT_TRUE(sender.has_value());
  EXPECT_EQ(Base64UrlEncode(sender->public_point), kAsPublic);
  auto body =
      EncryptPushPayload(kPlaintext, Decoded(kUaPublic), Decoded(kAuth), *sender, Decoded(kSalt));
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(Base64UrlEncode(*body), kBody);
}

TEST(WebPushTest, TheTwoSidesOfEcdhAgree) {
  const std::optional<P256Key> sender = P256FromPrivate(Decoded(kAsPrivate));
  const std::optional<P256Key> browser = P256FromPrivate(Decoded(kUaPrivate));
  ASSERT_TRUE(sender && browser);
  EXPECT_EQ(Base64UrlEncode(browser->public_point), kUaPublic);
  const auto one = EcdhP256(*sender, browser->public_point);
  const auto other = EcdhP256(*browser, sender->public_point);
  ASSERT_TRUE(one && other);
  EXPECT_EQ(*one, *other);
  EXPECT_EQ(one->size(), 32u);
}

TEST(WebPushTest, KeysThatAreNotPointsOrSecretsOfTheRightSizeAreRefused) {
  const P256Key sender = NewP256Key();
  std::string not_a_point = Decoded(kUaPublic);
  not_a_point[40] = static_cast<char>(not_a_point[40] ^ 0x01);
  auto refused =
      EncryptPushPayload("hello", not_a_point, Decoded(kAuth), sender, std::string(16, 'x'));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "push_key_invalid");
  auto short_auth =
      EncryptPushPayload("hello", Decoded(kUaPublic), "short", sender, std::string(16, 'x'));
  ASSERT_FALSE(short_auth.ok());
  EXPECT_EQ(short_auth.error().code, "push_key_invalid");
  EXPECT_FALSE(P256FromPrivate(std::string(32, '\0')).has_value());
  EXPECT_FALSE(P256FromPrivate(std::string(32, '\xff')).has_value());  // above the group order
  EXPECT_FALSE(Base64UrlDecode("not base64!").has_value());
}

// Checks the JWT of the Authorization header the way a push service does: the ES256 signature
// with the public key `k`, and the claims RFC 8292 requires.
TEST(WebPushTest, VapidHeaderCarriesAVerifiableEs256TokenForTheEndpointOrigin) {
  const P256Key vapid = NewP256Key();
  const std::string header = VapidAuthorization(vapid, "https://push.example.net/send/abc?x=1",
                                                "mailto:ops@guichet.fr", 1700000000);
  ASSERT_TRUE(header.starts_with("vapid t="));
  const size_t comma = header.find(", k=");
  ASSERT_NE(comma, std::string::npos);
  const std::string jwt = header.substr(8, comma - 8);
  EXPECT_EQ(header.substr(comma + 4), Base64UrlEncode(vapid.public_point));
  const size_t first = jwt.find('.');
  const size_t second = jwt.rfind('.');
  ASSERT_NE(first, second);
  const auto claims =
      boost::json::parse(Decoded(jwt.substr(first + 1, second - first - 1))).as_object();
  EXPECT_EQ(claims.at("aud").as_string(), "https://push.example.net");
  EXPECT_EQ(claims.at("sub").as_string(), "mailto:ops@guichet.fr");
  EXPECT_EQ(claims.at("exp").as_int64(), 1700000000 + kVapidTokenLifetimeS);
  const auto header_json = boost::json::parse(Decoded(jwt.substr(0, first))).as_object();
  EXPECT_EQ(header_json.at("alg").as_string(), "ES256");

  // Verify r || s with OpenSSL's lower-level API, independent of the signing path.
  const std::string signature = Decoded(jwt.substr(second + 1));
  ASSERT_EQ(signature.size(), 64u);
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT* point = EC_POINT_new(group);
  ASSERT_EQ(EC_POINT_oct2point(group, point,
                               reinterpret_cast<const unsigned char*>(vapid.public_point.data()),
                               65, nullptr),
            1);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(
      sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
      BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig, &der);
  const std::string signed_text = jwt.substr(0, second);
  // A public EVP key from the point, through the encoded SubjectPublicKeyInfo-free route.
  EVP_PKEY* key = nullptr;
  {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("group", const_cast<char*>("prime256v1"), 0),
        OSSL_PARAM_construct_octet_string("pub", const_cast<char*>(vapid.public_point.data()), 65),
        OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    ASSERT_EQ(EVP_PKEY_fromdata_init(context), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(context);
  }
  EVP_MD_CTX* verify = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(verify, nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestVerify(verify, der, static_cast<size_t>(der_length),
                             reinterpret_cast<const unsigned char*>(signed_text.data()),
                             signed_text.size()),
            1);
  const std::string tampered = signed_text + "x";
  EXPECT_NE(
      EVP_DigestVerify(verify, der, static_cast<size_t>(der_length),
                       reinterpret_cast<const unsigned char*>(tampered.data()), tampered.size()),
      1);
  EVP_MD_CTX_free(verify);
  EVP_PKEY_free(key);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  EC_POINT_free(point);
  EC_GROUP_free(group);
}

}  // namespace
}  // namespace guichet::notify
