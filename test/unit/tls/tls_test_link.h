// Test helpers: contexts from the test PKI and two Sessions wired back to back in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pooler/tls/tls_context.h"
#include "pooler/tls/tls_session.h"
#include "test/unit/tls/test_certs.h"

namespace apibouncer::tls::testing {

// One PKI per test binary, made on first use; REQUIREs that generation worked.
const test::CertFiles& certs();

// kAccept with the test server certificate; kConnect with no CA (add one for verify modes).
ContextSettings acceptSettings(SslMode mode = SslMode::kRequire);
ContextSettings connectSettings(SslMode mode = SslMode::kRequire, std::string ca_file = "");

// REQUIREs success.
std::shared_ptr<Context> makeContext(const ContextSettings& settings);
// Expects failure and returns the error.
std::string contextError(const ContextSettings& settings);

using Status = Session::Status;

// A TLS server Session (accept) and client Session (connect) with the "network" in between.
class Link {
 public:
  // REQUIREs that both sessions are created.
  Link(std::shared_ptr<Context> accept, std::shared_ptr<Context> connect,
       std::string_view peer_host = "localhost");

  Session& server() { return *server_; }
  Session& client() { return *client_; }

  // Starts the client, then pump().
  void handshake(size_t chunk = SIZE_MAX);
  // Moves bytes both ways, `chunk` bytes per receive(), until nobody has anything to send. A
  // side that stops being kOk receives nothing more; what it wrote (an alert) is delivered.
  void pump(size_t chunk = SIZE_MAX);
  bool bothOk() const { return server_status == Status::kOk && client_status == Status::kOk; }

  std::string to_server, to_client;        // encrypted bytes in flight
  std::string server_plain, client_plain;  // decrypted bytes received so far
  Status server_status = Status::kOk, client_status = Status::kOk;

 private:
  std::unique_ptr<Session> server_, client_;
};

}  // namespace apibouncer::tls::testing
