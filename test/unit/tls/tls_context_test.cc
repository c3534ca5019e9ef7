// Context::create: sslmode names, PgBouncer option syntax, and errors naming the config key.
#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "test/unit/tls/tls_test_link.h"

namespace apibouncer::tls::testing {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("parseSslMode knows the six libpq names", "[tls]") {
  const std::pair<std::string_view, SslMode> cases[] = {
      {"disable", SslMode::kDisable},    {"allow", SslMode::kAllow},
      {"prefer", SslMode::kPrefer},      {"require", SslMode::kRequire},
      {"verify-ca", SslMode::kVerifyCa}, {"verify-full", SslMode::kVerifyFull}};
  for (const auto& [name, mode] : cases) {
    CHECK(parseSslMode(name) == mode);
    CHECK(sslModeName(mode) == name);
  }
  CHECK_FALSE(parseSslMode("verify_full").has_value());
  CHECK_FALSE(parseSslMode("").has_value());
}

TEST_CASE("a valid accept and connect context", "[tls]") {
  auto settings = acceptSettings(SslMode::kVerifyFull);
  settings.ca_file = certs().ca_cert;
  auto accept = makeContext(settings);
  CHECK(accept->role() == Role::kAccept);
  CHECK(accept->mode() == SslMode::kVerifyFull);
  CHECK(accept->native() != nullptr);
  auto connect = makeContext(connectSettings(SslMode::kVerifyCa, certs().ca_cert));
  CHECK(connect->role() == Role::kConnect);
}

TEST_CASE("protocol words: lists, aliases, unknown word", "[tls]") {
  auto settings = acceptSettings();
  for (const char* list : {"tlsv1.2,tlsv1.3", "tlsv1.2:tlsv1.3", "tlsv1.3 tlsv1.2", "all", "secure",
                           "legacy", "TLSv1.3"}) {
    settings.protocols = list;
    INFO(list);
    makeContext(settings);
  }
  settings.protocols = "tlsv1.2,tlsv9";
  std::string error = contextError(settings);
  CHECK(contains(error, "client_tls_protocols"));
  CHECK(contains(error, "tlsv9"));
  settings.protocols = " , ";
  CHECK(contains(contextError(settings), "client_tls_protocols"));
  auto connect = connectSettings();
  connect.protocols = "sslv3";
  CHECK(contains(contextError(connect), "server_tls_protocols"));
}

TEST_CASE("cipher aliases and a list OpenSSL rejects", "[tls]") {
  auto settings = acceptSettings();
  for (const char* list : {"default", "secure", "fast", "normal", "all", "HIGH:!aNULL"}) {
    settings.ciphers = list;
    INFO(list);
    makeContext(settings);
  }
  settings.ciphers = "NO-SUCH-CIPHER";
  CHECK(contains(contextError(settings), "client_tls_ciphers"));
  auto connect = connectSettings();
  connect.ciphers = "NO-SUCH-CIPHER";
  CHECK(contains(contextError(connect), "server_tls_ciphers"));
  connect.ciphers = "default";
  connect.tls13_ciphers = "TLS_NO_SUCH_SUITE";
  CHECK(contains(contextError(connect), "server_tls13_ciphers"));
}

TEST_CASE("ecdhcurve and dheparams", "[tls]") {
  auto settings = acceptSettings();
  for (const char* curves : {"auto", "none", "P-256:X25519", "prime256v1"}) {
    settings.ecdhcurve = curves;
    INFO(curves);
    makeContext(settings);
  }
  settings.ecdhcurve = "P-999";
  CHECK(contains(contextError(settings), "client_tls_ecdhcurve"));
  settings.ecdhcurve = "auto";
  for (const char* dh : {"none", "auto", "legacy"}) {
    settings.dheparams = dh;
    makeContext(settings);
  }
  settings.dheparams = "2048";
  CHECK(contains(contextError(settings), "client_tls_dheparams"));
}

TEST_CASE("missing or unreadable files name the key and the path", "[tls]") {
  auto settings = acceptSettings();
  settings.cert_file = "/nonexistent/dir/server.pem";
  std::string error = contextError(settings);
  CHECK(contains(error, "client_tls_cert_file"));
  CHECK(contains(error, "/nonexistent/dir/server.pem"));
  CHECK(contains(error, "No such file or directory"));

  settings = acceptSettings();
  settings.key_file = "/nonexistent/server.key";
  CHECK(contains(contextError(settings), "client_tls_key_file"));

  settings = acceptSettings();
  settings.cert_file = "";
  CHECK(contains(contextError(settings), "client_tls_cert_file"));

  settings = acceptSettings();
  settings.ca_file = "/nonexistent/ca.pem";
  CHECK(contains(contextError(settings), "client_tls_ca_file"));

  settings = acceptSettings();
  settings.cert_file = certs().server_key;  // a key where a certificate belongs
  CHECK(contains(contextError(settings), "client_tls_cert_file"));
}

TEST_CASE("a key that does not match the certificate", "[tls]") {
  auto settings = acceptSettings();
  settings.key_file = certs().other_key;  // same key type, different key
  std::string error = contextError(settings);
  CHECK(contains(error, "client_tls_key_file"));
  CHECK(contains(error, certs().other_key));
  settings.key_file = certs().client_key;  // RSA key for an EC certificate
  CHECK(contains(contextError(settings), "client_tls_key_file"));
}

TEST_CASE("verify modes need a CA file", "[tls]") {
  std::string error = contextError(connectSettings(SslMode::kVerifyCa));
  CHECK(contains(error, "server_tls_ca_file"));
  CHECK(contains(contextError(connectSettings(SslMode::kVerifyFull)), "server_tls_ca_file"));
  CHECK(contains(contextError(acceptSettings(SslMode::kVerifyCa)), "client_tls_ca_file"));
  makeContext(connectSettings(SslMode::kRequire));  // require does not verify: no CA needed
}

TEST_CASE("a client certificate toward the server needs both files", "[tls]") {
  auto settings = connectSettings();
  settings.cert_file = certs().client_cert;
  CHECK(contains(contextError(settings), "server_tls_key_file"));
  settings.key_file = certs().client_key;
  makeContext(settings);
}

TEST_CASE("a failed create leaves no error on the thread's queue", "[tls]") {
  auto settings = acceptSettings();
  settings.ciphers = "NO-SUCH-CIPHER";
  contextError(settings);
  CHECK(ERR_peek_error() == 0);
}

}  // namespace
}  // namespace apibouncer::tls::testing
