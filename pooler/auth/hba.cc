// auth_hba_file parsing and matching (see hba.h).
#include "pooler/auth/hba.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace apibouncer::auth {
namespace {

// One value in a column: `quoted` keeps keywords (all, sameuser, ...) from being keywords.
struct Token {
  std::string text;
  bool quoted = false;
  bool is(std::string_view keyword) const { return !quoted && text == keyword; }
};
using Field = std::vector<Token>;  // a comma-separated list

// A record: one line, or several joined by a trailing backslash; `line` is where it starts.
struct Record {
  int line = 0;
  std::string text;
};

constexpr int kMaxIncludeDepth = 10;

std::vector<Record> splitRecords(std::string_view text) {
  std::vector<Record> records;
  Record current;
  bool continuing = false;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!continuing) current = Record{line_no, {}};
    continuing = line.ends_with('\\');
    if (continuing) line.remove_suffix(1);
    current.text += line;
    if (!continuing) records.push_back(std::move(current));
  }
  if (continuing) records.push_back(std::move(current));
  return records;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Reads one token at `pos`: unquoted runs and "quoted" parts ("" is a literal quote) until
// whitespace, a comma or a comment. False with `reason` on an unterminated quote.
bool readToken(std::string_view s, size_t& pos, Token& token, std::string& reason) {
  while (pos < s.size() && !isSpace(s[pos]) && s[pos] != ',' && s[pos] != '#') {
    if (s[pos] != '"') {
      token.text += s[pos++];
      continue;
    }
    token.quoted = true;
    for (++pos;; ++pos) {
      if (pos >= s.size()) return reason = "unterminated quoted string", false;
      if (s[pos] != '"') {
        token.text += s[pos];
      } else if (pos + 1 < s.size() && s[pos + 1] == '"') {
        token.text += '"';
        ++pos;
      } else {
        ++pos;
        break;
      }
    }
  }
  return true;
}

void skipSpaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && isSpace(s[pos])) ++pos;
}

// Splits a record into whitespace-separated fields of comma-separated tokens; `#` starts a
// comment outside quotes.
bool tokenize(std::string_view s, std::vector<Field>& fields, std::string& reason) {
  size_t pos = 0;
  for (;;) {
    skipSpaces(s, pos);
    if (pos >= s.size() || s[pos] == '#') return true;
    Field field;
    for (;;) {
      Token token;
      if (!readToken(s, pos, token, reason)) return false;
      if (token.text.empty() && !token.quoted) return reason = "empty list element", false;
      field.push_back(std::move(token));
      if (pos >= s.size() || s[pos] != ',') break;
      ++pos;
      skipSpaces(s, pos);
      if (pos >= s.size() || s[pos] == '#') return reason = "list ends with a comma", false;
    }
    fields.push_back(std::move(field));
  }
}

std::string directoryOf(const std::string& file) {
  size_t slash = file.rfind('/');
  return slash == std::string::npos ? std::string() : file.substr(0, slash + 1);
}

struct Parser {
  const HbaFileReader& read;
  std::string file;
  std::string reason;  // set when a step fails

  bool fail(std::string text) {
    reason = std::move(text);
    return false;
  }

  // Replaces @file tokens by the names in that file (whitespace or comma separated, `#`
  // comments, nested @file relative to the including file).
  bool expandIncludes(const Field& in, const std::string& from, int depth, Field& out) {
    for (const Token& token : in) {
      if (token.quoted || !token.text.starts_with('@')) {
        out.push_back(token);
        continue;
      }
      if (depth >= kMaxIncludeDepth) return fail("@file includes nested too deeply");
      std::string path = token.text.substr(1);
      if (path.empty()) return fail("@ without a file name");
      if (!path.starts_with('/')) path = directoryOf(from) + path;
      std::optional<std::string> text = read(path);
      if (!text) return fail("cannot read " + token.text + " (" + path + ")");
      for (const Record& record : splitRecords(*text)) {
        std::vector<Field> fields;
        if (!tokenize(record.text, fields, reason))
          return fail(path + ":" + std::to_string(record.line) + ": " + reason);
        for (const Field& field : fields)
          if (!expandIncludes(field, path, depth + 1, out)) return false;
      }
    }
    return true;
  }

  bool parseNames(const Field& raw, bool database_column, HbaNameList& names) {
    Field field;
    if (!expandIncludes(raw, file, 0, field)) return false;
    for (const Token& token : field) {
      if (token.is("all")) {
        names.all = true;
      } else if (database_column && token.is("sameuser")) {
        names.sameuser = true;
      } else if (database_column && token.is("replication")) {
        names.replication = true;
      } else if (database_column && (token.is("samerole") || token.is("samegroup"))) {
        return fail(token.text + " is not supported (PgBouncer has no role membership)");
      } else if (!database_column && !token.quoted && token.text.starts_with('+')) {
        return fail("group names (" + token.text + ") are not supported");
      } else if (!token.quoted && token.text.starts_with('/')) {
        return fail("regular expressions (" + token.text + ") are not supported");
      } else {
        names.names.push_back(token.text);
      }
    }
    return true;
  }

  bool single(const Field& field, const char* what, const Token*& out) {
    if (field.size() != 1) return fail(std::string(what) + " cannot be a list");
    out = &field[0];
    return true;
  }

  bool parseType(const Field& field, HbaConnectionType& type) {
    const Token* token;
    if (!single(field, "connection type", token)) return false;
    static const std::pair<std::string_view, HbaConnectionType> kTypes[] = {
        {"local", HbaConnectionType::kLocal},
        {"host", HbaConnectionType::kHost},
        {"hostssl", HbaConnectionType::kHostSsl},
        {"hostnossl", HbaConnectionType::kHostNoSsl}};
    for (const auto& [name, value] : kTypes)
      if (token->is(name)) return type = value, true;
    if (token->is("hostgssenc") || token->is("hostnogssenc"))
      return fail(token->text + " is not supported (no GSSAPI encryption)");
    return fail("invalid connection type \"" + token->text + "\"");
  }

  bool prefixMask(std::string_view bits_text, HbaIp::Family family, std::array<uint8_t, 16>& mask) {
    int bits = -1;
    auto [ptr, ec] = std::from_chars(bits_text.begin(), bits_text.end(), bits);
    int max = family == HbaIp::Family::kIpv4 ? 32 : 128;
    if (ec != std::errc() || ptr != bits_text.end() || bits < 0 || bits > max)
      return fail("invalid CIDR mask length \"" + std::string(bits_text) + "\"");
    mask.fill(0);
    for (int i = 0; i < bits; ++i) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    return true;
  }

  // The address column, and the mask column when the address has no /bits. `next` is the
  // index of the first field after them.
  bool parseAddress(const std::vector<Field>& fields, size_t& next, HbaAddress& address) {
    const Token* token;
    if (fields.size() <= next) return fail("missing address");
    if (!single(fields[next++], "address", token)) return false;
    if (token->is("all")) return address.any = true, true;
    if (token->is("samehost") || token->is("samenet"))
      return fail(token->text + " is not supported");
    std::string_view text = token->text;
    size_t slash = text.find('/');
    std::optional<HbaIp> ip = parseIp(text.substr(0, slash));
    if (!ip)
      return fail("invalid IP address \"" + token->text + "\" (host names are not supported)");
    address.network = *ip;
    if (slash != std::string_view::npos) {
      if (!prefixMask(text.substr(slash + 1), ip->family, address.mask)) return false;
    } else {
      if (fields.size() <= next) return fail("missing IP mask after address " + token->text);
      if (!single(fields[next++], "IP mask", token)) return false;
      std::optional<HbaIp> mask = parseIp(token->text);
      if (!mask || mask->family != ip->family)
        return fail("invalid IP mask \"" + token->text + "\"");
      address.mask = mask->bytes;
    }
    for (size_t i = 0; i < 16; ++i) address.network.bytes[i] &= address.mask[i];
    return true;
  }

  bool parseMethod(const Field& field, HbaMethod& method) {
    const Token* token;
    if (!single(field, "authentication method", token)) return false;
    static const std::pair<std::string_view, HbaMethod> kMethods[] = {
        {"trust", HbaMethod::kTrust},       {"reject", HbaMethod::kReject},
        {"md5", HbaMethod::kMd5},           {"scram-sha-256", HbaMethod::kScramSha256},
        {"password", HbaMethod::kPassword}, {"peer", HbaMethod::kPeer},
        {"cert", HbaMethod::kCert}};
    for (const auto& [name, value] : kMethods)
      if (token->is(name)) return method = value, true;
    return fail("authentication method \"" + token->text + "\" is not supported");
  }

  bool parseOptions(const std::vector<Field>& fields, size_t next, HbaRule& rule) {
    for (; next < fields.size(); ++next) {
      const Token* token;
      if (!single(fields[next], "option", token)) return false;
      if (!token->text.starts_with("map=") || token->text.size() == 4)
        return fail("unsupported option \"" + token->text + "\" (only map= is)");
      if (rule.method != HbaMethod::kPeer && rule.method != HbaMethod::kCert)
        return fail("map= is only for peer and cert");
      rule.map = token->text.substr(4);
    }
    return true;
  }

  bool parseRule(const std::vector<Field>& fields, HbaRule& rule) {
    if (!parseType(fields[0], rule.type)) return false;
    if (fields.size() < 2) return fail("missing database name");
    if (!parseNames(fields[1], true, rule.databases)) return false;
    if (fields.size() < 3) return fail("missing user name");
    if (!parseNames(fields[2], false, rule.users)) return false;
    size_t next = 3;
    if (rule.type != HbaConnectionType::kLocal && !parseAddress(fields, next, rule.address))
      return false;
    if (fields.size() <= next) return fail("missing authentication method");
    if (!parseMethod(fields[next++], rule.method)) return false;
    return parseOptions(fields, next, rule);
  }
};

std::string where(const std::string& file, int line) {
  return file + ":" + std::to_string(line) + ": ";
}

// Lines that load but cannot let anyone in today: said once at load, not at each login.
void warnAbout(const HbaRule& rule, std::vector<std::string>& warnings) {
  if (rule.method == HbaMethod::kCert && rule.type != HbaConnectionType::kHostSsl)
    warnings.push_back(where(rule.file, rule.line) +
                       "cert works only with TLS: plain-text logins this line matches are "
                       "refused (use hostssl)");
  if (rule.method == HbaMethod::kPeer && rule.type != HbaConnectionType::kLocal)
    warnings.push_back(where(rule.file, rule.line) +
                       "peer works only on local (Unix-socket) lines: such logins are refused");
}

// One auth_ident_file line: three single names; no regular expressions, groups or includes.
bool parseMapping(const std::vector<Field>& fields, IdentMapping& out, std::string& reason) {
  if (fields.size() != 3 || fields[0].size() != 1 || fields[1].size() != 1 || fields[2].size() != 1)
    return reason = "expected: map-name system-user database-user", false;
  const Token& system_user = fields[1][0];
  const Token& database_user = fields[2][0];
  if (!system_user.quoted && system_user.text.starts_with('/'))
    return reason = "regular expressions (" + system_user.text + ") are not supported", false;
  if (!database_user.quoted && database_user.text.starts_with('+'))
    return reason = "group names (" + database_user.text + ") are not supported", false;
  out.map = fields[0][0].text;
  out.system_user = system_user.text;
  out.database_user = database_user.text;
  out.all_users = database_user.is("all");
  return true;
}

// Every map= must name a map auth_ident_file has: a typo would otherwise lock users out
// only at login time.
std::optional<HbaError> checkMaps(const HbaRules& rules, const std::string& ident_path) {
  for (const HbaRule& rule : rules.rules) {
    if (rule.map.empty() || rules.ident_map.hasMap(rule.map)) continue;
    std::string reason = ident_path.empty() ? "map=" + rule.map + " needs auth_ident_file"
                                            : "map \"" + rule.map + "\" is not in " + ident_path;
    return HbaError{rule.file, rule.line, reason};
  }
  return std::nullopt;
}

bool namesMatch(const HbaNameList& names, std::string_view name) {
  return names.all || std::find(names.names.begin(), names.names.end(), name) != names.names.end();
}

bool databaseMatches(const HbaNameList& names, const HbaClient& client) {
  // As PostgreSQL: a physical replication connection matches only `replication`, and
  // `replication` matches nothing else.
  if (client.replication) return names.replication;
  if (names.sameuser && client.database == client.user) return true;
  return namesMatch(names, client.database);
}

HbaIp unmapped(const HbaIp& ip) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.family != HbaIp::Family::kIpv6 ||
      !std::equal(kMappedPrefix, kMappedPrefix + 12, ip.bytes.begin()))
    return ip;
  HbaIp v4;
  std::copy(ip.bytes.begin() + 12, ip.bytes.end(), v4.bytes.begin());
  return v4;
}

bool addressMatches(const HbaAddress& rule, const HbaIp& client) {
  if (rule.any) return true;
  HbaIp ip = unmapped(client);
  if (ip.family != rule.network.family) return false;
  for (size_t i = 0; i < 16; ++i)
    if ((ip.bytes[i] & rule.mask[i]) != rule.network.bytes[i]) return false;
  return true;
}

bool connectionMatches(const HbaRule& rule, const HbaClient& client) {
  if (client.unix_socket) return rule.type == HbaConnectionType::kLocal;
  switch (rule.type) {
    case HbaConnectionType::kLocal:
      return false;
    case HbaConnectionType::kHostSsl:
      if (!client.tls) return false;
      break;
    case HbaConnectionType::kHostNoSsl:
      if (client.tls) return false;
      break;
    case HbaConnectionType::kHost:
      break;
  }
  return addressMatches(rule.address, client.address);
}

}  // namespace

std::string_view toString(HbaMethod method) {
  switch (method) {
    case HbaMethod::kTrust:
      return "trust";
    case HbaMethod::kReject:
      return "reject";
    case HbaMethod::kMd5:
      return "md5";
    case HbaMethod::kScramSha256:
      return "scram-sha-256";
    case HbaMethod::kPassword:
      return "password";
    case HbaMethod::kPeer:
      return "peer";
    case HbaMethod::kCert:
      return "cert";
  }
  return "?";
}

std::optional<HbaIp> parseIp(std::string_view text) {
  std::string s(text);
  HbaIp ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  ip.family = HbaIp::Family::kIpv6;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

std::string HbaError::message() const {
  return line > 0 ? where(file, line) + reason : file + ": " + reason;
}

std::optional<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

HbaParseResult parseHba(std::string_view text, const std::string& file, const HbaFileReader& read) {
  HbaRules out;
  Parser parser{read, file, {}};
  for (const Record& record : splitRecords(text)) {
    std::vector<Field> fields;
    if (!tokenize(record.text, fields, parser.reason))
      return HbaError{file, record.line, parser.reason};
    if (fields.empty()) continue;
    HbaRule rule;
    rule.file = file;
    rule.line = record.line;
    if (!parser.parseRule(fields, rule)) return HbaError{file, record.line, parser.reason};
    warnAbout(rule, out.warnings);
    out.rules.push_back(std::move(rule));
  }
  return out;
}

HbaParseResult loadHbaFile(const std::string& path) {
  std::optional<std::string> text = readWholeFile(path);
  if (!text) return HbaError{path, 0, "cannot read the file"};
  return parseHba(*text, path);
}

bool IdentMap::hasMap(std::string_view map) const {
  return std::any_of(mappings.begin(), mappings.end(),
                     [&](const IdentMapping& m) { return m.map == map; });
}

bool IdentMap::allows(std::string_view map, std::string_view system_user,
                      std::string_view database_user) const {
  return std::any_of(mappings.begin(), mappings.end(), [&](const IdentMapping& m) {
    return m.map == map && m.system_user == system_user &&
           (m.all_users || m.database_user == database_user);
  });
}

std::variant<IdentMap, HbaError> parseIdentMap(std::string_view text, const std::string& file) {
  IdentMap out;
  std::string reason;
  for (const Record& record : splitRecords(text)) {
    std::vector<Field> fields;
    IdentMapping mapping;
    if (!tokenize(record.text, fields, reason)) return HbaError{file, record.line, reason};
    if (fields.empty()) continue;
    if (!parseMapping(fields, mapping, reason)) return HbaError{file, record.line, reason};
    out.mappings.push_back(std::move(mapping));
  }
  return out;
}

HbaParseResult loadHbaFiles(const std::string& hba_path, const std::string& ident_path) {
  HbaParseResult result = loadHbaFile(hba_path);
  auto* rules = std::get_if<HbaRules>(&result);
  if (rules == nullptr) return result;
  if (!ident_path.empty()) {
    std::optional<std::string> text = readWholeFile(ident_path);
    if (!text) return HbaError{ident_path, 0, "cannot read the file"};
    auto parsed = parseIdentMap(*text, ident_path);
    if (auto* error = std::get_if<HbaError>(&parsed)) return *error;
    rules->ident_map = std::move(std::get<IdentMap>(parsed));
  }
  if (auto error = checkMaps(*rules, ident_path)) return *error;
  return result;
}

const HbaRule* matchHba(const HbaRules& rules, const HbaClient& client) {
  for (const HbaRule& rule : rules.rules) {
    if (!connectionMatches(rule, client)) continue;
    if (!databaseMatches(rule.databases, client)) continue;
    if (!namesMatch(rule.users, client.user)) continue;
    return &rule;
  }
  return nullptr;
}

}  // namespace apibouncer::auth
