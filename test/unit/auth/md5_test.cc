// md5 password hashing against PostgreSQL's own output and independently computed digests.
#include <catch2/catch.hpp>

#include "pooler/auth/md5.h"

using namespace apibouncer::auth;

TEST_CASE("md5PasswordHash matches what PostgreSQL stores", "[auth][md5]") {
  // pg_authid.rolpassword of md5user / 'md5-secret' in a PostgreSQL 15 sandbox.
  CHECK(md5PasswordHash("md5user", "md5-secret") == "md5f523c908ca9950a9f4c527d0a05aceac");
}

TEST_CASE("md5SaltedResponse and verifyMd5Response", "[auth][md5]") {
  const uint8_t salt[4] = {1, 2, 3, 4};
  // hashlib: md5("f523c908ca9950a9f4c527d0a05aceac" + bytes([1,2,3,4]))
  const std::string expected = "md5683becbfbf4cc297e2fcbcf72c90c0ff";
  CHECK(md5SaltedResponse("md5f523c908ca9950a9f4c527d0a05aceac", salt) == expected);
  CHECK(verifyMd5Response("md5user", "md5-secret", false, salt, expected));
  CHECK(verifyMd5Response("md5user", "md5f523c908ca9950a9f4c527d0a05aceac", true, salt, expected));
  CHECK_FALSE(verifyMd5Response("md5user", "other", false, salt, expected));
  CHECK_FALSE(verifyMd5Response("someone", "md5-secret", false, salt, expected));
  const uint8_t other_salt[4] = {4, 3, 2, 1};
  CHECK_FALSE(verifyMd5Response("md5user", "md5-secret", false, other_salt, expected));
  CHECK_FALSE(verifyMd5Response("md5user", "md5-secret", false, salt, ""));
}

TEST_CASE("constantTimeEquals", "[auth][md5]") {
  CHECK(constantTimeEquals("abc", "abc"));
  CHECK_FALSE(constantTimeEquals("abc", "abd"));
  CHECK_FALSE(constantTimeEquals("abc", "abcd"));
  CHECK(constantTimeEquals("", ""));
}
