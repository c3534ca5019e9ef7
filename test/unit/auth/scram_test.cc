// SCRAM-SHA-256 against RFC 7677's example and a secret PostgreSQL 15 generated.
#include <catch2/catch.hpp>

#include "pooler/auth/scram.h"

using namespace apibouncer::auth;

namespace {

// RFC 7677 section 3: user "user", password "pencil".
const char* kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const char* kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// pg_authid.rolpassword of scramuser / 'scram-secret' in a PostgreSQL 15 sandbox.
const char* kPostgresSecret =
    "SCRAM-SHA-256$4096:98DGRGMFGpzFaWU/VKM/Cw==$InYdlojKaoYMWr06T2pFAt7JwsoZnXX2c/yH200VOjk=:"
    "iMUtYXQcJCS8FqjB+yrida4fEqQUepy+kLuzSq7GxCI=";

ScramSecret rfcSecret() {
  auto salt = base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  REQUIRE(salt);
  return scramSecretFromPassword("pencil", std::vector<uint8_t>(salt->begin(), salt->end()), 4096);
}

}  // namespace

TEST_CASE("ScramServer reproduces RFC 7677's exchange", "[auth][scram]") {
  ScramServer server(rfcSecret(), kServerNonce);
  auto first = server.handleClientFirst(kClientFirst);
  REQUIRE(first);
  CHECK(*first == kServerFirst);
  auto final_message = server.handleClientFinal(kClientFinal);
  REQUIRE(final_message);
  CHECK(*final_message == kServerFinal);
}

TEST_CASE("ScramServer refuses a tampered proof, nonce or channel binding", "[auth][scram]") {
  std::string good = kClientFinal;
  std::string bad_proof = good;
  bad_proof[bad_proof.size() - 5] = bad_proof[bad_proof.size() - 5] == 'A' ? 'B' : 'A';
  std::string bad_nonce = good;
  bad_nonce.replace(bad_nonce.find("k0,"), 2, "k1");
  std::string bad_binding = "c=eSws" + good.substr(6);
  for (const std::string& attempt : {bad_proof, bad_nonce, bad_binding}) {
    ScramServer server(rfcSecret(), kServerNonce);
    REQUIRE(server.handleClientFirst(kClientFirst));
    CHECK_FALSE(server.handleClientFinal(attempt));
    CHECK_FALSE(server.error().empty());
  }
}

TEST_CASE("ScramServer refuses malformed messages and channel binding", "[auth][scram]") {
  for (const char* first : {"", "p=tls-server-end-point,,n=,r=abc", "x,,n=,r=abc", "n,,r=abc",
                            "n,,n=,r=", "n,,n=,r=a,b", "n", "n,"}) {
    ScramServer server(rfcSecret());
    CHECK_FALSE(server.handleClientFirst(first));
  }
  ScramServer server(rfcSecret());
  CHECK_FALSE(server.handleClientFinal("c=biws,r=x,p=AAAA"));  // before client-first
  REQUIRE(server.handleClientFirst("n,,n=,r=abc"));
  for (const char* final_message : {"", "c=biws", "c=biws,r=abc", "c=biws,r=abc,p=!!!!"})
    CHECK_FALSE(server.handleClientFinal(final_message));
}

TEST_CASE("ScramClient and ScramServer agree with random nonces", "[auth][scram]") {
  ScramClient client("correct horse");
  ScramServer server(scramSecretFromPassword("correct horse", std::vector<uint8_t>(16, 3), 4096));
  auto server_first = server.handleClientFirst(client.clientFirst());
  REQUIRE(server_first);
  auto client_final = client.handleServerFirst(*server_first);
  REQUIRE(client_final);
  auto server_final = server.handleClientFinal(*client_final);
  REQUIRE(server_final);
  CHECK(client.verifyServerFinal(*server_final));
  CHECK_FALSE(client.verifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  CHECK_FALSE(client.verifyServerFinal("e=invalid-proof"));
}

TEST_CASE("a wrong password fails on both sides", "[auth][scram]") {
  ScramClient client("wrong");
  ScramServer server(scramSecretFromPassword("right", std::vector<uint8_t>(16, 5), 4096));
  auto client_final = client.handleServerFirst(*server.handleClientFirst(client.clientFirst()));
  REQUIRE(client_final);
  CHECK_FALSE(server.handleClientFinal(*client_final));
}

TEST_CASE("ScramClient refuses a server-first that does not extend its nonce", "[auth][scram]") {
  ScramClient client("pw", "clientnonce");
  client.clientFirst();
  CHECK_FALSE(client.handleServerFirst("r=othernonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
  CHECK_FALSE(client.handleServerFirst("r=clientnonceX,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0"));
  CHECK_FALSE(client.handleServerFirst("r=clientnonceX,s=,i=4096"));
  CHECK_FALSE(client.handleServerFirst("garbage"));
  CHECK(client.handleServerFirst("r=clientnonceX,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
}

TEST_CASE("a PostgreSQL-generated secret parses and matches its password", "[auth][scram]") {
  auto secret = parseScramSecret(kPostgresSecret);
  REQUIRE(secret);
  CHECK(secret->iterations == 4096);
  CHECK(secret->salt.size() == 16);
  auto derived = scramSecretFromPassword("scram-secret", secret->salt, secret->iterations);
  CHECK(derived.stored_key == secret->stored_key);
  CHECK(derived.server_key == secret->server_key);
  CHECK(formatScramSecret(*secret) == kPostgresSecret);
}

TEST_CASE("bad SCRAM secrets do not parse", "[auth][scram]") {
  for (const char* text : {"", "SCRAM-SHA-256$", "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
                           "SCRAM-SHA-256$99999999999:AAAA$x:y",
                           "SCRAM-SHA-256$4096:!!!!$InYdlojKaoYMWr06T2pFAt7JwsoZnXX2c/yH200VOjk=:"
                           "iMUtYXQcJCS8FqjB+yrida4fEqQUepy+kLuzSq7GxCI=",
                           "SCRAM-SHA-256$4096:98DGRGMFGpzFaWU/VKM/Cw==$AAAA:AAAA", "md5abc"})
    CHECK_FALSE(parseScramSecret(text));
}

TEST_CASE("base64 round trip and rejects", "[auth][scram]") {
  const std::vector<std::string> samples = {"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)};
  for (const std::string& raw : samples) CHECK(base64Decode(base64Encode(raw)) == raw);
  CHECK(base64Encode("pencil") == "cGVuY2ls");
  CHECK_FALSE(base64Decode("abc"));
  CHECK_FALSE(base64Decode("ab!="));
}

TEST_CASE("SCRAM pass-through: keys a client proved log in to a server holding the secret",
          "[auth][scram]") {
  // The client logs in to the pooler, which only has PostgreSQL's stored secret.
  auto secret = parseScramSecret(kPostgresSecret);
  REQUIRE(secret);
  ScramClient app("scram-secret");
  ScramServer pooler(*secret);
  CHECK_FALSE(pooler.provenKeys());
  auto pooler_final = pooler.handleClientFinal(
      *app.handleServerFirst(*pooler.handleClientFirst(app.clientFirst())));
  REQUIRE(pooler_final);
  REQUIRE(pooler.provenKeys());
  CHECK(app.verifyServerFinal(*pooler_final));

  // The pooler logs in to "PostgreSQL" (a server with the same secret) with the proven keys,
  // and checks the server's signature with them too.
  ScramClient link(*pooler.provenKeys());
  ScramServer postgres(*secret);
  auto link_final = link.handleServerFirst(*postgres.handleClientFirst(link.clientFirst()));
  REQUIRE(link_final);
  auto postgres_final = postgres.handleClientFinal(*link_final);
  REQUIRE(postgres_final);
  CHECK(link.verifyServerFinal(*postgres_final));

  // A failed proof proves nothing.
  ScramClient wrong("not-the-password");
  ScramServer refusing(*secret);
  CHECK_FALSE(refusing.handleClientFinal(
      *wrong.handleServerFirst(*refusing.handleClientFirst(wrong.clientFirst()))));
  CHECK_FALSE(refusing.provenKeys());

  // Keys from another password's secret do not log in.
  ScramClient stale(ScramKeys{std::vector<uint8_t>(32, 1), secret->server_key});
  ScramServer strict(*secret);
  auto stale_final = stale.handleServerFirst(*strict.handleClientFirst(stale.clientFirst()));
  REQUIRE(stale_final);
  CHECK_FALSE(strict.handleClientFinal(*stale_final));
}
