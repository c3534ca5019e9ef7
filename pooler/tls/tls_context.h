// TLS settings (PgBouncer's client_tls_* / server_tls_* keys) turned into one SSL_CTX.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace apibouncer::tls {

// Ordered from weakest to strongest so callers can compare (mode >= kRequire).
enum class SslMode { kDisable, kAllow, kPrefer, kRequire, kVerifyCa, kVerifyFull };

// "disable", "allow", "prefer", "require", "verify-ca", "verify-full"; nullopt otherwise.
std::optional<SslMode> parseSslMode(std::string_view text);
std::string_view sslModeName(SslMode mode);

// kAccept: we are the TLS server (facing clients); kConnect: we are the TLS client (facing
// PostgreSQL).
enum class Role { kAccept, kConnect };

struct ContextSettings {
  Role role = Role::kAccept;
  SslMode mode = SslMode::kDisable;
  std::string key_file, cert_file, ca_file;
  std::string protocols = "secure";  // PgBouncer syntax: tlsv1.0..tlsv1.3, all, secure, legacy
  std::string ciphers = "default";   // TLS <= 1.2 cipher list or a PgBouncer alias
  std::string tls13_ciphers;         // TLS 1.3 suites; empty = OpenSSL's
  std::string ecdhcurve = "auto";    // kAccept only: "auto" | "none" | curve list "P-256:X25519"
  std::string dheparams = "auto";    // kAccept only: "none" | "auto" | "legacy"
};

// Immutable once built; shared by every Session made from it (and kept alive by them across a
// reload that replaces it).
class Context {
 public:
  // nullptr + *error (one line naming the key, e.g. "client_tls_cert_file: cannot read
  // /x/y.pem: No such file or directory") on any problem.
  static std::shared_ptr<Context> create(const ContextSettings& settings, std::string* error);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Role role() const { return role_; }
  SslMode mode() const { return mode_; }
  SSL_CTX* native() const { return ctx_; }

 private:
  Context(Role role, SslMode mode, SSL_CTX* ctx) : role_(role), mode_(mode), ctx_(ctx) {}

  Role role_;
  SslMode mode_;
  SSL_CTX* ctx_;  // owned
};

}  // namespace apibouncer::tls
