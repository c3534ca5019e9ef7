// auth_hba_file: PgBouncer's subset of pg_hba.conf, parsed into rules and matched against one
// login (connection kind, client address, database, user). Pure: no sockets, no config; the
// only file access is the @file include reader, which the caller may replace.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace apibouncer::auth {

enum class HbaConnectionType { kLocal, kHost, kHostSsl, kHostNoSsl };
enum class HbaMethod { kTrust, kReject, kMd5, kScramSha256, kPassword, kPeer, kCert };
std::string_view toString(HbaMethod method);

// A database or user column. Keywords lose their meaning when quoted ("all" is a name).
struct HbaNameList {
  bool all = false;
  bool sameuser = false;     // database column: the database named like the user
  bool replication = false;  // database column: physical replication connections
  std::vector<std::string> names;
};

struct HbaIp {
  enum class Family { kIpv4, kIpv6 };
  Family family = Family::kIpv4;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
};
// A numeric IPv4 or IPv6 address; nullopt for anything else (host names included).
std::optional<HbaIp> parseIp(std::string_view text);

struct HbaAddress {
  bool any = false;  // the `all` keyword
  HbaIp network;     // already masked
  std::array<uint8_t, 16> mask{};
};

struct HbaRule {
  HbaConnectionType type = HbaConnectionType::kLocal;
  HbaNameList databases, users;
  HbaAddress address;  // host* lines only
  HbaMethod method = HbaMethod::kReject;
  std::string map;  // `map=` (peer, cert): a name in auth_ident_file
  std::string file;
  int line = 0;
};

// auth_ident_file: `map-name system-user database-user` lines (database-user may be `all`),
// for peer and cert rules with map=.
struct IdentMapping {
  std::string map, system_user, database_user;
  bool all_users = false;
};
struct IdentMap {
  std::vector<IdentMapping> mappings;
  bool hasMap(std::string_view map) const;
  // True if `map` lets OS (or certificate) user `system_user` log in as `database_user`.
  bool allows(std::string_view map, std::string_view system_user,
              std::string_view database_user) const;
};

struct HbaRules {
  std::vector<HbaRule> rules;
  IdentMap ident_map;  // empty without auth_ident_file
  // "file:line: ..." for lines that load but can never work today (e.g. cert without TLS).
  std::vector<std::string> warnings;
};

struct HbaError {
  std::string file;
  int line = 0;  // 0: about the file as a whole
  std::string reason;
  std::string message() const;  // "file:line: reason"
};

using HbaParseResult = std::variant<HbaRules, HbaError>;

// Reads an @file include by path; nullopt when it cannot be read.
using HbaFileReader = std::function<std::optional<std::string>(const std::string& path)>;
std::optional<std::string> readWholeFile(const std::string& path);

// Parses the text of `file`. @file names are relative to `file`'s directory. Any line the
// subset does not cover is an error naming file and line: a skipped `reject` line could let
// in whom it was written to keep out.
HbaParseResult parseHba(std::string_view text, const std::string& file,
                        const HbaFileReader& read = readWholeFile);
HbaParseResult loadHbaFile(const std::string& path);

// Parses auth_ident_file's text; errors name file and line.
std::variant<IdentMap, HbaError> parseIdentMap(std::string_view text, const std::string& file);
// Loads auth_hba_file and, when `ident_path` is not empty, auth_ident_file into its rules. A
// map= naming a map the ident file lacks (or with no ident file) is an error at its line.
HbaParseResult loadHbaFiles(const std::string& hba_path, const std::string& ident_path);

// One login as the rules see it.
struct HbaClient {
  bool unix_socket = false;
  bool tls = false;
  bool replication = false;  // a physical replication connection
  HbaIp address;             // TCP only; IPv4-mapped IPv6 is compared as IPv4
  std::string_view database;
  std::string_view user;
};

// The first rule that matches, or nullptr: no rule means the login is rejected.
const HbaRule* matchHba(const HbaRules& rules, const HbaClient& client);

}  // namespace apibouncer::auth
