// SCRAM-SHA-256 for both ends of a PostgreSQL login (RFC 5802 / RFC 7677; see scram.h).
#include "pooler/auth/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

namespace apibouncer::auth {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kKeyLen = 32;
constexpr int kMaxIterations = 10'000'000;
constexpr size_t kNonceBytes = 18;

Bytes hmac(const Bytes& key, std::string_view data) {
  Bytes out(kKeyLen);
  size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
            out.size(), &len);
  return out;
}

Bytes sha256(const Bytes& data) {
  Bytes out(kKeyLen);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Bytes saltedPassword(std::string_view password, const Bytes& salt, int iterations) {
  // SASLprep is not applied: PostgreSQL itself falls back to the raw bytes when a password
  // is not valid UTF-8 or fails SASLprep, and ASCII passwords are unchanged by it. Non-ASCII
  // passwords that SASLprep would normalize differ from PostgreSQL's (documented limitation).
  Bytes out(kKeyLen);
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(out.size()), out.data());
  return out;
}

std::string asString(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

std::string randomNonce() {
  unsigned char raw[kNonceBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  return base64Encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

// Splits "a=x,b=y" attributes; returns the value of `name` at position `index`, if it is there.
std::optional<std::string_view> attribute(std::string_view message, size_t index, char name) {
  size_t pos = 0;
  for (size_t i = 0; i < index; ++i) {
    pos = message.find(',', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
  }
  if (pos + 2 > message.size() || message[pos] != name || message[pos + 1] != '=')
    return std::nullopt;
  size_t end = message.find(',', pos);
  return message.substr(pos + 2, end == std::string_view::npos ? end : end - pos - 2);
}

// Records why an exchange failed; returns the "no reply" value.
std::nullopt_t refuse(std::string& error, const char* why) {
  error = why;
  return std::nullopt;
}

bool printableNonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

}  // namespace

std::string base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(n < 0 ? 0 : n);
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::optional<ScramSecret> parseScramSecret(std::string_view text) {
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  size_t colon1 = text.find(':'), dollar = text.find('$');
  if (colon1 == std::string_view::npos || dollar == std::string_view::npos || dollar < colon1)
    return std::nullopt;
  size_t colon2 = text.find(':', dollar);
  if (colon2 == std::string_view::npos) return std::nullopt;
  ScramSecret secret;
  std::string_view iter = text.substr(0, colon1);
  auto [ptr, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), secret.iterations);
  if (ec != std::errc() || ptr != iter.data() + iter.size() || secret.iterations <= 0 ||
      secret.iterations > kMaxIterations)
    return std::nullopt;
  auto salt = base64Decode(text.substr(colon1 + 1, dollar - colon1 - 1));
  auto stored = base64Decode(text.substr(dollar + 1, colon2 - dollar - 1));
  auto server = base64Decode(text.substr(colon2 + 1));
  if (!salt || salt->empty() || !stored || stored->size() != kKeyLen || !server ||
      server->size() != kKeyLen)
    return std::nullopt;
  secret.salt.assign(salt->begin(), salt->end());
  secret.stored_key.assign(stored->begin(), stored->end());
  secret.server_key.assign(server->begin(), server->end());
  return secret;
}

ScramSecret scramSecretFromPassword(std::string_view password, std::vector<uint8_t> salt,
                                    int iterations) {
  Bytes salted = saltedPassword(password, salt, iterations);
  ScramSecret secret;
  secret.iterations = iterations;
  secret.salt = std::move(salt);
  secret.stored_key = sha256(hmac(salted, "Client Key"));
  secret.server_key = hmac(salted, "Server Key");
  return secret;
}

ScramKeys scramKeysFromPassword(std::string_view password, const ScramSecret& secret) {
  Bytes salted = saltedPassword(password, secret.salt, secret.iterations);
  return ScramKeys{hmac(salted, "Client Key"), hmac(salted, "Server Key")};
}

std::string formatScramSecret(const ScramSecret& s) {
  return "SCRAM-SHA-256$" + std::to_string(s.iterations) + ":" + base64Encode(asString(s.salt)) +
         "$" + base64Encode(asString(s.stored_key)) + ":" + base64Encode(asString(s.server_key));
}

ScramServer::ScramServer(ScramSecret secret, std::string nonce_override)
    : secret_(std::move(secret)),
      server_nonce_(nonce_override.empty() ? randomNonce() : std::move(nonce_override)) {}

std::optional<std::string> ScramServer::handleClientFirst(std::string_view client_first) {
  // gs2-header: cbind-flag "," [authzid] ","
  if (client_first.empty()) return refuse(error_, "empty client-first-message");
  char flag = client_first[0];
  if (flag == 'p') return refuse(error_, "channel binding is not supported");
  if ((flag != 'n' && flag != 'y') || client_first.size() < 3 || client_first[1] != ',')
    return refuse(error_, "malformed gs2 header");
  size_t second_comma = client_first.find(',', 2);
  if (second_comma == std::string_view::npos) return refuse(error_, "malformed gs2 header");
  gs2_header_ = std::string(client_first.substr(0, second_comma + 1));
  client_first_bare_ = std::string(client_first.substr(second_comma + 1));
  if (!attribute(client_first_bare_, 0, 'n'))
    return refuse(error_, "client-first-message lacks n=");
  auto nonce = attribute(client_first_bare_, 1, 'r');
  if (!nonce || !printableNonce(*nonce)) return refuse(error_, "bad client nonce");
  // Like PostgreSQL: no extensions after the nonce.
  if (std::count(client_first_bare_.begin(), client_first_bare_.end(), ',') != 1)
    return refuse(error_, "garbage at end of client-first-message");
  combined_nonce_ = std::string(*nonce) + server_nonce_;
  server_first_ = "r=" + combined_nonce_ + ",s=" + base64Encode(asString(secret_.salt)) +
                  ",i=" + std::to_string(secret_.iterations);
  return server_first_;
}

std::optional<std::string> ScramServer::handleClientFinal(std::string_view client_final) {
  if (server_first_.empty()) return refuse(error_, "client-final before client-first");
  auto binding = attribute(client_final, 0, 'c');
  auto nonce = attribute(client_final, 1, 'r');
  size_t proof_at = client_final.rfind(",p=");
  if (!binding || !nonce || proof_at == std::string_view::npos)
    return refuse(error_, "malformed client-final-message");
  if (*binding != base64Encode(gs2_header_))
    return refuse(error_, "channel binding data does not match");
  if (*nonce != combined_nonce_) return refuse(error_, "nonce does not match");
  auto proof = base64Decode(client_final.substr(proof_at + 3));
  if (!proof || proof->size() != kKeyLen) return refuse(error_, "malformed client proof");
  std::string auth_message = client_first_bare_ + "," + server_first_ + "," +
                             std::string(client_final.substr(0, proof_at));
  Bytes signature = hmac(secret_.stored_key, auth_message);
  Bytes client_key(kKeyLen);
  for (size_t i = 0; i < kKeyLen; ++i)
    client_key[i] = static_cast<uint8_t>((*proof)[i]) ^ signature[i];
  Bytes stored = sha256(client_key);
  if (CRYPTO_memcmp(stored.data(), secret_.stored_key.data(), kKeyLen) != 0)
    return refuse(error_, "client proof does not match");
  proven_keys_ = ScramKeys{std::move(client_key), secret_.server_key};
  return "v=" + base64Encode(asString(hmac(secret_.server_key, auth_message)));
}

ScramClient::ScramClient(std::string password, std::string nonce_override)
    : password_(std::move(password)),
      client_nonce_(nonce_override.empty() ? randomNonce() : std::move(nonce_override)) {}

ScramClient::ScramClient(ScramKeys keys, std::string nonce_override)
    : keys_(std::move(keys)),
      client_nonce_(nonce_override.empty() ? randomNonce() : std::move(nonce_override)) {}

std::string ScramClient::clientFirst() {
  client_first_bare_ = "n=,r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

std::optional<std::string> ScramClient::handleServerFirst(std::string_view server_first) {
  auto nonce = attribute(server_first, 0, 'r');
  auto salt_text = attribute(server_first, 1, 's');
  auto iter_text = attribute(server_first, 2, 'i');
  if (!nonce || !salt_text || !iter_text) return refuse(error_, "malformed server-first");
  if (!nonce->starts_with(client_nonce_) || nonce->size() <= client_nonce_.size())
    return refuse(error_, "server nonce does not extend ours");
  int iterations = 0;
  auto [ptr, ec] =
      std::from_chars(iter_text->data(), iter_text->data() + iter_text->size(), iterations);
  if (ec != std::errc() || iterations <= 0 || iterations > kMaxIterations)
    return refuse(error_, "bad iteration count");
  auto salt = base64Decode(*salt_text);
  if (!salt || salt->empty()) return refuse(error_, "bad salt");
  Bytes client_key, server_key;
  if (keys_) {
    client_key = keys_->client_key;
    server_key = keys_->server_key;
  } else {
    Bytes salted = saltedPassword(password_, Bytes(salt->begin(), salt->end()), iterations);
    client_key = hmac(salted, "Client Key");
    server_key = hmac(salted, "Server Key");
  }
  std::string without_proof = "c=biws,r=" + std::string(*nonce);
  std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  Bytes signature = hmac(sha256(client_key), auth_message);
  std::string proof(kKeyLen, '\0');
  for (size_t i = 0; i < kKeyLen; ++i) proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
  server_signature_ = hmac(server_key, auth_message);
  return without_proof + ",p=" + base64Encode(proof);
}

bool ScramClient::verifyServerFinal(std::string_view server_final) {
  if (auto err = attribute(server_final, 0, 'e')) {
    error_ = "server error: " + std::string(*err);
    return false;
  }
  auto verifier = attribute(server_final, 0, 'v');
  auto decoded = verifier ? base64Decode(*verifier) : std::nullopt;
  if (!decoded || decoded->size() != kKeyLen || server_signature_.size() != kKeyLen) {
    error_ = "malformed server-final";
    return false;
  }
  if (CRYPTO_memcmp(decoded->data(), server_signature_.data(), kKeyLen) != 0) {
    error_ = "server signature does not match";
    return false;
  }
  return true;
}

}  // namespace apibouncer::auth
