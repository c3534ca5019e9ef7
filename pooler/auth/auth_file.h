// Parses PgBouncer's auth_file (userlist.txt): lines of `"user" "secret" ...` with `""` escapes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace apibouncer::auth {

struct Secret {
  enum class Kind { kPlain, kMd5, kScram };
  Kind kind = Kind::kPlain;
  std::string text;  // as written: plain password, "md5<32 hex>", or "SCRAM-SHA-256$..."
};

// Classifies a secret string by its form (md5 + 32 lowercase hex;
// SCRAM-SHA-256$iter:salt$stored:server).
Secret classifySecret(std::string_view text);

struct AuthFile {
  std::map<std::string, Secret, std::less<>> users;
  const Secret* find(std::string_view user) const;
};

struct AuthFileError {
  int line = 0;
  std::string reason;
};

// Parses the file's contents. Blank lines and lines starting with ';' or '#' are skipped.
// A line that is not at least two double-quoted fields is an error (line number + reason).
// Later duplicates of a user replace earlier ones, as in PgBouncer.
bool parseAuthFile(std::string_view contents, AuthFile& out, AuthFileError& error);
bool loadAuthFile(const std::string& path, AuthFile& out, AuthFileError& error);

}  // namespace apibouncer::auth
