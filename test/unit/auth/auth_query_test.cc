// auth_query: $1 bound as a literal that no user name can break out of; answers read.
#include <catch2/catch.hpp>

#include "pooler/auth/auth_query.h"

using namespace apibouncer::auth;

TEST_CASE("bindAuthQuery quotes the user name as an escaped literal", "[auth][auth_query]") {
  CHECK(bindAuthQuery("SELECT usename, passwd FROM pg_shadow WHERE usename=$1", "alice") ==
        "SELECT usename, passwd FROM pg_shadow WHERE usename=E'alice'");
  CHECK(bindAuthQuery("SELECT * FROM lookup($1)", "o'brien\\x") ==
        "SELECT * FROM lookup(E'o''brien\\\\x')");
  // Only $1: $10 and a lone $ stay as they are; every $1 is bound.
  CHECK(bindAuthQuery("SELECT $1, $10, $, $1", "u") == "SELECT E'u', $10, $, E'u'");
  CHECK(bindAuthQuery("SELECT $1", "") == "SELECT E''");
}

TEST_CASE("secretFromAuthQueryRow reads md5, SCRAM and missing secrets", "[auth][auth_query]") {
  auto md5 = secretFromAuthQueryRow({"alice", "md5f523c908ca9950a9f4c527d0a05aceac"});
  REQUIRE(md5);
  CHECK(md5->kind == Secret::Kind::kMd5);
  auto scram = secretFromAuthQueryRow(
      {"bob",
       "SCRAM-SHA-256$4096:98DGRGMFGpzFaWU/VKM/Cw==$InYdlojKaoYMWr06T2pFAt7JwsoZnXX2c/"
       "yH200VOjk=:iMUtYXQcJCS8FqjB+yrida4fEqQUepy+kLuzSq7GxCI="});
  REQUIRE(scram);
  CHECK(scram->kind == Secret::Kind::kScram);
  CHECK_FALSE(secretFromAuthQueryRow({"carol", std::nullopt}));  // no password / expired
  CHECK_FALSE(secretFromAuthQueryRow({"carol", ""}));
  CHECK_FALSE(secretFromAuthQueryRow({"carol"}));
  CHECK_FALSE(secretFromAuthQueryRow({}));
}
