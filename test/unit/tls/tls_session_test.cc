// Session: handshake and application data between two in-memory peers, framing, close, garbage.
#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "test/unit/tls/tls_test_link.h"

namespace apibouncer::tls::testing {
namespace {

std::span<const uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string pattern(size_t size) {
  std::string text(size, '\0');
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return text;
}

Link defaultLink() {
  return Link(makeContext(acceptSettings()), makeContext(connectSettings()));
}

TEST_CASE("handshake then data both ways", "[tls]") {
  Link link = defaultLink();
  link.handshake();
  REQUIRE(link.bothOk());
  CHECK(link.client().handshakeDone());
  CHECK(link.server().handshakeDone());
  CHECK(link.client().protocolName() == "TLSv1.3");
  CHECK(link.client().cipherName() == link.server().cipherName());
  CHECK(link.client().cipherBits() >= 128);

  CHECK(link.client().send("SELECT 1", link.to_server) == Status::kOk);
  CHECK(link.server().send("one row", link.to_client) == Status::kOk);
  link.pump();
  REQUIRE(link.bothOk());
  CHECK(link.server_plain == "SELECT 1");
  CHECK(link.client_plain == "one row");
}

TEST_CASE("start on the accept side writes nothing", "[tls]") {
  Link link = defaultLink();
  std::string out;
  CHECK(link.server().start(out) == Status::kOk);
  CHECK(out.empty());
  CHECK(link.client().start(out) == Status::kOk);
  CHECK_FALSE(out.empty());  // the ClientHello
}

TEST_CASE("1 MiB each way, several records per receive", "[tls]") {
  Link link = defaultLink();
  link.handshake();
  const std::string big = pattern(1 << 20);
  REQUIRE(link.client().send(big, link.to_server) == Status::kOk);
  REQUIRE(link.server().send(big, link.to_client) == Status::kOk);
  link.pump();
  REQUIRE(link.bothOk());
  CHECK(link.server_plain.size() == big.size());
  CHECK(link.server_plain == big);
  CHECK(link.client_plain == big);
}

TEST_CASE("the encrypted stream delivered one byte at a time", "[tls]") {
  Link link = defaultLink();
  link.handshake(1);
  REQUIRE(link.bothOk());
  const std::string data = pattern(40000);  // spans three records
  REQUIRE(link.client().send(data, link.to_server) == Status::kOk);
  REQUIRE(link.server().send("ok", link.to_client) == Status::kOk);
  link.pump(1);
  REQUIRE(link.bothOk());
  CHECK(link.server_plain == data);
  CHECK(link.client_plain == "ok");
}

TEST_CASE("data sent before the handshake completes arrives after it", "[tls]") {
  Link link = defaultLink();
  CHECK(link.client().send("startup packet", link.to_server) == Status::kOk);
  CHECK(link.to_server.empty());  // nothing can be encrypted yet
  CHECK(link.server().send("early greeting", link.to_client) == Status::kOk);
  link.handshake();
  REQUIRE(link.bothOk());
  CHECK(link.server_plain == "startup packet");
  CHECK(link.client_plain == "early greeting");
}

TEST_CASE("verify-full accepts the certificate's name and address", "[tls]") {
  auto connect = makeContext(connectSettings(SslMode::kVerifyFull, certs().ca_cert));
  for (const char* host : {"localhost", "127.0.0.1"}) {
    INFO(host);
    Link link(makeContext(acceptSettings()), connect, host);
    link.handshake();
    CHECK(link.bothOk());
    CHECK(link.client().peerCertificatePresent());
    CHECK(link.client().peerCommonName() == "localhost");
  }
}

TEST_CASE("verify-full rejects another host name or address", "[tls]") {
  auto connect = makeContext(connectSettings(SslMode::kVerifyFull, certs().ca_cert));
  Link link(makeContext(acceptSettings()), connect, "otherhost");
  link.handshake();
  CHECK(link.client_status == Status::kError);
  CHECK_THAT(link.client().error(), Catch::Contains("hostname mismatch"));
  CHECK(link.server_status == Status::kError);  // it got our alert
  CHECK(ERR_peek_error() == 0);

  Link by_address(makeContext(acceptSettings()), connect, "127.0.0.2");
  by_address.handshake();
  CHECK(by_address.client_status == Status::kError);
  CHECK_THAT(by_address.client().error(), Catch::Contains("IP address mismatch"));
}

TEST_CASE("verify-full needs a host name", "[tls]") {
  auto connect = makeContext(connectSettings(SslMode::kVerifyFull, certs().ca_cert));
  std::string error;
  CHECK(Session::create(connect, "", &error) == nullptr);
  CHECK_THAT(error, Catch::Contains("verify-full"));
}

TEST_CASE("verify-ca with the wrong CA fails, require does not verify", "[tls]") {
  auto wrong_ca = makeContext(connectSettings(SslMode::kVerifyCa, certs().other_ca_cert));
  Link link(makeContext(acceptSettings()), wrong_ca);
  link.handshake();
  CHECK(link.client_status == Status::kError);
  CHECK_THAT(link.client().error(), Catch::Contains("certificate verify failed"));
  CHECK_THAT(link.client().error(), Catch::Contains("unable to get local issuer certificate"));

  Link require(makeContext(acceptSettings()),
               makeContext(connectSettings(SslMode::kRequire, certs().other_ca_cert)));
  require.handshake();
  CHECK(require.bothOk());
  CHECK(require.client().peerCertificatePresent());
}

TEST_CASE("a server certificate from another CA fails verify-ca", "[tls]") {
  auto accept = acceptSettings();
  accept.cert_file = certs().other_cert;
  accept.key_file = certs().other_key;
  Link link(makeContext(accept), makeContext(connectSettings(SslMode::kVerifyCa, certs().ca_cert)));
  link.handshake();
  CHECK(link.client_status == Status::kError);
  CHECK_THAT(link.client().error(), Catch::Contains("certificate verify failed"));
}

ContextSettings acceptRequiringClientCert() {
  auto settings = acceptSettings(SslMode::kVerifyCa);
  settings.ca_file = certs().ca_cert;
  return settings;
}

TEST_CASE("client certificate required: missing fails, alice passes", "[tls]") {
  Link anonymous(makeContext(acceptRequiringClientCert()), makeContext(connectSettings()));
  anonymous.handshake();
  CHECK(anonymous.server_status == Status::kError);
  CHECK_THAT(anonymous.server().error(), Catch::Contains("certificate"));
  CHECK_FALSE(anonymous.server().peerCertificatePresent());

  auto connect = connectSettings();
  connect.cert_file = certs().client_cert;
  connect.key_file = certs().client_key;
  Link alice(makeContext(acceptRequiringClientCert()), makeContext(connect));
  alice.handshake();
  REQUIRE(alice.bothOk());
  CHECK(alice.server().peerCertificatePresent());
  CHECK(alice.server().peerCommonName() == "alice");
}

TEST_CASE("without a CA file no client certificate is asked for", "[tls]") {
  auto connect = connectSettings();
  connect.cert_file = certs().client_cert;
  connect.key_file = certs().client_key;
  Link link(makeContext(acceptSettings()), makeContext(connect));
  link.handshake();
  REQUIRE(link.bothOk());
  CHECK_FALSE(link.server().peerCertificatePresent());
  CHECK(link.server().peerCommonName().empty());
}

TEST_CASE("protocol ranges: disjoint fails, secure picks TLS 1.3, TLS 1.2 works", "[tls]") {
  auto accept = acceptSettings();
  auto connect = connectSettings();
  accept.protocols = "tlsv1.3";
  connect.protocols = "tlsv1.2";
  Link disjoint(makeContext(accept), makeContext(connect));
  disjoint.handshake();
  CHECK(disjoint.server_status == Status::kError);
  CHECK(disjoint.client_status == Status::kError);
  CHECK_FALSE(disjoint.server().error().empty());

  Link secure(makeContext(acceptSettings()), makeContext(connectSettings()));
  secure.handshake();
  REQUIRE(secure.bothOk());
  CHECK(secure.server().protocolName() == "TLSv1.3");

  accept.protocols = "tlsv1.2";
  Link tls12(makeContext(accept), makeContext(connect));
  tls12.handshake();
  REQUIRE(tls12.bothOk());
  CHECK(tls12.client().protocolName() == "TLSv1.2");
  CHECK(tls12.client().send("over 1.2", tls12.to_server) == Status::kOk);
  tls12.pump();
  CHECK(tls12.server_plain == "over 1.2");
}

TEST_CASE("tls13_ciphers picks the suite", "[tls]") {
  auto accept = acceptSettings();
  auto connect = connectSettings();
  accept.tls13_ciphers = connect.tls13_ciphers = "TLS_AES_128_GCM_SHA256";
  Link link(makeContext(accept), makeContext(connect));
  link.handshake();
  REQUIRE(link.bothOk());
  CHECK(link.client().cipherName() == "TLS_AES_128_GCM_SHA256");
  CHECK(link.server().cipherName() == "TLS_AES_128_GCM_SHA256");
  CHECK(link.client().cipherBits() == 128);
}

TEST_CASE("close_notify ends the stream with kClosed", "[tls]") {
  Link link = defaultLink();
  link.handshake();
  REQUIRE(link.bothOk());
  CHECK(link.client().send("last words", link.to_server) == Status::kOk);
  link.client().shutdown(link.to_server);
  CHECK_FALSE(link.to_server.empty());
  std::string plain, reply;
  CHECK(link.server().receive(bytesOf(link.to_server), plain, reply) == Status::kClosed);
  CHECK(plain == "last words");  // data before the close_notify is still delivered
  CHECK(link.server().receive({}, plain, reply) == Status::kClosed);
}

TEST_CASE("garbage instead of a ClientHello is an error, not a crash", "[tls]") {
  Link link = defaultLink();
  std::string plain, reply;
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + pattern(300);
  CHECK(link.server().receive(bytesOf(garbage), plain, reply) == Status::kError);
  CHECK_FALSE(link.server().error().empty());
  CHECK(plain.empty());
  CHECK(ERR_peek_error() == 0);
  CHECK(link.server().receive(bytesOf("more"), plain, reply) == Status::kError);  // stays failed
  CHECK_FALSE(link.server().handshakeDone());
}

TEST_CASE("garbage after the handshake is an error", "[tls]") {
  Link link = defaultLink();
  link.handshake();
  REQUIRE(link.bothOk());
  std::string plain, reply;
  const std::string garbage = pattern(100);
  CHECK(link.server().receive(bytesOf(garbage), plain, reply) == Status::kError);
  CHECK_FALSE(link.server().error().empty());
  std::string out;
  CHECK(link.server().send("x", out) == Status::kError);
}

TEST_CASE("one session's failure does not leak into another's error", "[tls]") {
  Link broken = defaultLink();
  std::string plain, reply;
  CHECK(broken.server().receive(bytesOf(pattern(64)), plain, reply) == Status::kError);
  Link healthy = defaultLink();
  healthy.handshake();
  CHECK(healthy.bothOk());
  CHECK(healthy.server().error().empty());
}

}  // namespace
}  // namespace apibouncer::tls::testing
