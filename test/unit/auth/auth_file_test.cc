// auth_file parsing: quoting, comments, secret kinds, errors with line numbers.
#include <catch2/catch.hpp>

#include "pooler/auth/auth_file.h"

using namespace apibouncer::auth;

TEST_CASE("auth_file lines with quotes, escapes and comments", "[auth][auth_file]") {
  const char* text =
      ";; comment\n"
      "# another comment\n"
      "\n"
      "\"alice\" \"plain pw\"\n"
      "\"bob\"   \"md5f523c908ca9950a9f4c527d0a05aceac\" \"extra\" ignored\n"
      "\"o\"\"brien\" \"say \"\"hi\"\"\"\r\n"
      "\"scram\" \"SCRAM-SHA-256$4096:98DGRGMFGpzFaWU/VKM/Cw==$InYdlojKaoYMWr06T2pFAt7JwsoZnXX2c/"
      "yH200VOjk=:iMUtYXQcJCS8FqjB+yrida4fEqQUepy+kLuzSq7GxCI=\"\n"
      "\"alice\" \"replaced\"";
  AuthFile file;
  AuthFileError error;
  REQUIRE(parseAuthFile(text, file, error));
  CHECK(file.users.size() == 4);
  REQUIRE(file.find("alice"));
  CHECK(file.find("alice")->text == "replaced");
  CHECK(file.find("alice")->kind == Secret::Kind::kPlain);
  CHECK(file.find("bob")->kind == Secret::Kind::kMd5);
  REQUIRE(file.find("o\"brien"));
  CHECK(file.find("o\"brien")->text == "say \"hi\"");
  CHECK(file.find("scram")->kind == Secret::Kind::kScram);
  CHECK(file.find("nobody") == nullptr);
}

TEST_CASE("auth_file errors name the line", "[auth][auth_file]") {
  struct Case {
    const char* text;
    int line;
  };
  for (Case c : {Case{"\"a\" \"b\"\n\"unterminated \"x\n", 2}, Case{"\"only-one\"\n", 1},
                 Case{"\n\nuser password\n", 3}, Case{"\"a\" \"b", 1}}) {
    AuthFile file;
    AuthFileError error;
    CHECK_FALSE(parseAuthFile(c.text, file, error));
    CHECK(error.line == c.line);
    CHECK_FALSE(error.reason.empty());
  }
  AuthFile file;
  AuthFileError error;
  CHECK_FALSE(loadAuthFile("/nonexistent/userlist.txt", file, error));
  CHECK_THAT(error.reason, Catch::Contains("cannot open"));
}

TEST_CASE("classifySecret", "[auth][auth_file]") {
  CHECK(classifySecret("md5f523c908ca9950a9f4c527d0a05aceac").kind == Secret::Kind::kMd5);
  CHECK(classifySecret("md5F523C908CA9950A9F4C527D0A05ACEAC").kind == Secret::Kind::kPlain);
  CHECK(classifySecret("md5short").kind == Secret::Kind::kPlain);
  CHECK(classifySecret("SCRAM-SHA-256$broken").kind == Secret::Kind::kPlain);
  CHECK(classifySecret("hunter2").kind == Secret::Kind::kPlain);
}
