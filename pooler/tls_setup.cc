// config::Settings -> TLS contexts (see tls_setup.h).
#include "pooler/tls_setup.h"

namespace apibouncer {
namespace {

bool modeOf(const std::string& text, const char* key, tls::SslMode& mode, std::string& error) {
  auto parsed = tls::parseSslMode(text);
  if (!parsed) {
    error = std::string(key) + ": invalid sslmode '" + text + "'";
    return false;
  }
  mode = *parsed;
  return true;
}

}  // namespace

bool loadTlsContexts(const config::Settings& s, TlsContexts& contexts, std::string& error) {
  if (!modeOf(s.client_tls_sslmode, "client_tls_sslmode", contexts.client_mode, error) ||
      !modeOf(s.server_tls_sslmode, "server_tls_sslmode", contexts.server_mode, error))
    return false;
  if (contexts.client_mode != tls::SslMode::kDisable) {
    tls::ContextSettings client;
    client.role = tls::Role::kAccept;
    client.mode = contexts.client_mode;
    client.key_file = s.client_tls_key_file;
    client.cert_file = s.client_tls_cert_file;
    client.ca_file = s.client_tls_ca_file;
    client.protocols = s.client_tls_protocols;
    client.ciphers = s.client_tls_ciphers;
    client.tls13_ciphers = s.client_tls13_ciphers;
    client.ecdhcurve = s.client_tls_ecdhcurve;
    client.dheparams = s.client_tls_dheparams;
    contexts.client = tls::Context::create(client, &error);
    if (!contexts.client) return false;
  }
  if (contexts.server_mode != tls::SslMode::kDisable) {
    tls::ContextSettings server;
    server.role = tls::Role::kConnect;
    server.mode = contexts.server_mode;
    server.key_file = s.server_tls_key_file;
    server.cert_file = s.server_tls_cert_file;
    server.ca_file = s.server_tls_ca_file;
    server.protocols = s.server_tls_protocols;
    server.ciphers = s.server_tls_ciphers;
    server.tls13_ciphers = s.server_tls13_ciphers;
    contexts.server = tls::Context::create(server, &error);
    if (!contexts.server) return false;
  }
  return true;
}

}  // namespace apibouncer
