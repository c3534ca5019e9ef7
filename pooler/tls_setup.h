// The TLS contexts a configuration asks for: one toward clients (client_tls_*), one toward
// PostgreSQL (server_tls_*). Built at start and at every reload; a reload whose files do not
// load keeps the old contexts, as it keeps the old config.
#pragma once

#include <memory>
#include <string>

#include "pooler/config/config.h"
#include "pooler/tls/tls_context.h"

namespace apibouncer {

struct TlsContexts {
  std::shared_ptr<tls::Context> client;  // null: client_tls_sslmode = disable
  std::shared_ptr<tls::Context> server;  // null: server_tls_sslmode = disable
  tls::SslMode client_mode = tls::SslMode::kDisable;
  tls::SslMode server_mode = tls::SslMode::kDisable;
};

// False with `error` naming the key (and file) that could not be used.
bool loadTlsContexts(const config::Settings& settings, TlsContexts& contexts, std::string& error);

}  // namespace apibouncer
