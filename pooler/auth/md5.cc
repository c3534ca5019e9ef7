// PostgreSQL md5 password hashing and challenge responses (see md5.h).
#include "pooler/auth/md5.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace apibouncer::auth {
namespace {

std::string md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string md5PasswordHash(std::string_view user, std::string_view password) {
  std::string input(password);
  input += user;
  return "md5" + md5Hex(input);
}

std::string md5SaltedResponse(std::string_view stored_hash, std::span<const uint8_t, 4> salt) {
  std::string input(stored_hash.substr(stored_hash.starts_with("md5") ? 3 : 0));
  input.append(reinterpret_cast<const char*>(salt.data()), 4);
  return "md5" + md5Hex(input);
}

bool verifyMd5Response(std::string_view user, std::string_view secret_text, bool secret_is_md5,
                       std::span<const uint8_t, 4> salt, std::string_view response) {
  std::string stored =
      secret_is_md5 ? std::string(secret_text) : md5PasswordHash(user, secret_text);
  return constantTimeEquals(md5SaltedResponse(stored, salt), response);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace apibouncer::auth
