// Test helpers: shared PKI, context shortcuts and the in-memory pump between two Sessions.
#include "test/unit/tls/tls_test_link.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <span>

namespace apibouncer::tls::testing {

namespace {

// Feeds `wire` to `session` in pieces of `chunk` bytes, stopping at the first non-kOk status.
Status deliver(Session& session, std::string& wire, std::string& plain, std::string& reply,
               size_t chunk) {
  std::string bytes;
  bytes.swap(wire);
  Status status = Status::kOk;
  for (size_t offset = 0; offset < bytes.size() && status == Status::kOk; offset += chunk) {
    size_t length = std::min(chunk, bytes.size() - offset);
    std::span<const uint8_t> piece(reinterpret_cast<const uint8_t*>(bytes.data()) + offset, length);
    status = session.receive(piece, plain, reply);
  }
  return status;
}

}  // namespace

const test::CertFiles& certs() {
  static std::string error;
  static std::unique_ptr<test::TestCerts> pki = test::TestCerts::create(&error);
  INFO(error);
  REQUIRE(pki != nullptr);
  return pki->files();
}

ContextSettings acceptSettings(SslMode mode) {
  ContextSettings settings;
  settings.role = Role::kAccept;
  settings.mode = mode;
  settings.cert_file = certs().server_cert;
  settings.key_file = certs().server_key;
  return settings;
}

ContextSettings connectSettings(SslMode mode, std::string ca_file) {
  ContextSettings settings;
  settings.role = Role::kConnect;
  settings.mode = mode;
  settings.ca_file = std::move(ca_file);
  return settings;
}

std::shared_ptr<Context> makeContext(const ContextSettings& settings) {
  std::string error;
  auto context = Context::create(settings, &error);
  INFO(error);
  REQUIRE(context != nullptr);
  return context;
}

std::string contextError(const ContextSettings& settings) {
  std::string error;
  auto context = Context::create(settings, &error);
  CHECK(context == nullptr);
  CHECK_FALSE(error.empty());
  return error;
}

Link::Link(std::shared_ptr<Context> accept, std::shared_ptr<Context> connect,
           std::string_view peer_host) {
  std::string error;
  server_ = Session::create(std::move(accept), "", &error);
  INFO(error);
  REQUIRE(server_ != nullptr);
  client_ = Session::create(std::move(connect), peer_host, &error);
  REQUIRE(client_ != nullptr);
}

void Link::handshake(size_t chunk) {
  client_status = client_->start(to_server);
  pump(chunk);
}

void Link::pump(size_t chunk) {
  for (int round = 0; round < 100 && (!to_server.empty() || !to_client.empty()); ++round) {
    if (server_status == Status::kOk && !to_server.empty())
      server_status = deliver(*server_, to_server, server_plain, to_client, chunk);
    if (client_status == Status::kOk && !to_client.empty())
      client_status = deliver(*client_, to_client, client_plain, to_server, chunk);
    if (server_status != Status::kOk) to_server.clear();
    if (client_status != Status::kOk) to_client.clear();
  }
}

}  // namespace apibouncer::tls::testing
