// PostgreSQL md5 password authentication (both directions).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace apibouncer::auth {

// "md5" + hex(md5(password + user)): what pg_authid and auth_file store.
std::string md5PasswordHash(std::string_view user, std::string_view password);

// The client's reply to an md5 challenge: "md5" + hex(md5(hex_part_of(stored_hash) + salt)).
// `stored_hash` is the "md5..." string above.
std::string md5SaltedResponse(std::string_view stored_hash, std::span<const uint8_t, 4> salt);

// Checks a client's md5 response against a secret. `secret` may be a plain password or an
// md5 hash (both usable for md5 auth); SCRAM secrets cannot verify md5 and return false.
bool verifyMd5Response(std::string_view user, std::string_view secret_text, bool secret_is_md5,
                       std::span<const uint8_t, 4> salt, std::string_view response);

// Constant-time comparison for secrets.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace apibouncer::auth
