// SCRAM-SHA-256 (RFC 5802 / 7677) as PostgreSQL uses it, on OpenSSL primitives.
// ScramServer authenticates clients; ScramClient authenticates the pooler to PostgreSQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apibouncer::auth {

// A parsed "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>" secret.
struct ScramSecret {
  int iterations = 0;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> stored_key;  // 32 bytes
  std::vector<uint8_t> server_key;  // 32 bytes
};
std::optional<ScramSecret> parseScramSecret(std::string_view text);
// Derives a secret from a plain password (used when auth_file holds plain text).
ScramSecret scramSecretFromPassword(std::string_view password, std::vector<uint8_t> salt,
                                    int iterations);
std::string formatScramSecret(const ScramSecret& s);

// What a client's successful SCRAM login proves beyond the stored secret: its ClientKey (the
// proof XOR the signature). With the secret's ServerKey it lets the pooler log in to
// PostgreSQL as that user without knowing the password (PgBouncer's SCRAM pass-through).
struct ScramKeys {
  std::vector<uint8_t> client_key;  // 32 bytes
  std::vector<uint8_t> server_key;  // 32 bytes
};

// The keys a plain password gives for `secret` (its salt and iterations).
ScramKeys scramKeysFromPassword(std::string_view password, const ScramSecret& secret);

std::string base64Encode(std::string_view raw);
std::optional<std::string> base64Decode(std::string_view text);

// Server side, one per login attempt:
//   first  = server.handleClientFirst(client-first-message)   -> server-first (or error)
//   final  = server.handleClientFinal(client-final-message)   -> server-final (or error)
// Errors are values: nullopt, with error() describing why (logged; never sent verbatim).
class ScramServer {
 public:
  // `nonce_override` is for deterministic tests only; production passes empty (random nonce).
  explicit ScramServer(ScramSecret secret, std::string nonce_override = {});
  std::optional<std::string> handleClientFirst(std::string_view client_first);
  std::optional<std::string> handleClientFinal(std::string_view client_final);
  const std::string& error() const { return error_; }
  // After handleClientFinal succeeded: the keys for logging in to PostgreSQL as this user.
  const std::optional<ScramKeys>& provenKeys() const { return proven_keys_; }

 private:
  ScramSecret secret_;
  std::optional<ScramKeys> proven_keys_;
  std::string server_nonce_;
  std::string gs2_header_, client_first_bare_, server_first_, combined_nonce_;
  std::string error_;
};

// Client side, toward PostgreSQL, with a plain password or with the keys a client's own SCRAM
// login proved (the server's salt and iteration count must be those of the secret they came
// from, which they are unless the password changed since):
//   clientFirst() -> send in SASLInitialResponse
//   handleServerFirst(AuthenticationSASLContinue data) -> client-final for SASLResponse
//   verifyServerFinal(AuthenticationSASLFinal data) -> true if the server proved itself
class ScramClient {
 public:
  explicit ScramClient(std::string password, std::string nonce_override = {});
  explicit ScramClient(ScramKeys keys, std::string nonce_override = {});
  std::string clientFirst();
  std::optional<std::string> handleServerFirst(std::string_view server_first);
  bool verifyServerFinal(std::string_view server_final);
  const std::string& error() const { return error_; }

 private:
  std::string password_;
  std::optional<ScramKeys> keys_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::vector<uint8_t> server_signature_;
  std::string error_;
};

}  // namespace apibouncer::auth
