// Loading a pgbouncer.ini-style file with libinih, %include splicing, and lookups (config.h).
#include "pooler/config/config.h"

#include <ini.h>
#include <strings.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <set>

#include "pooler/config/config_keys.h"
#include "pooler/config/conn_string.h"

namespace apibouncer::config {
namespace {

constexpr int kMaxIncludeDepth = 10;
constexpr int kMaxLineLength = 64 * 1024;

struct FileReader {
  FILE* file = nullptr;
  std::string path;
  int line = 0;
  std::string inherited_section;  // the section an %include appeared in
  bool at_line_start = true;      // the last chunk read ended a line
  size_t line_length = 0;         // of the line being read, across chunks
};

struct ParseState {
  std::shared_ptr<Config> config;
  std::optional<ConfigError> error;
  std::vector<FileReader*> stack;  // innermost last
  std::set<std::string> warned;
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

int fail(ParseState& st, std::string key, std::string reason) {
  FileReader* r = st.stack.back();
  st.error = ConfigError{r->path, r->line, std::move(key), std::move(reason)};
  return 0;
}

void warnOnce(ParseState& st, const std::string& what, const std::string& text) {
  if (!st.warned.insert(what).second) return;
  FileReader* r = st.stack.back();
  st.config->warnings.push_back(r->path + ":" + std::to_string(r->line) + ": " + text);
}

// libinih asks again for the rest of a line longer than its buffer; only a chunk that starts
// a new line advances the line number. A line longer than the buffer's cap is an error, never
// silently split.
char* readLine(char* str, int num, void* stream) {
  auto* st = static_cast<ParseState*>(stream);
  FileReader* r = st->stack.back();
  if (std::fgets(str, num, r->file) == nullptr) return nullptr;
  bool continuing = !r->at_line_start;
  if (!continuing) ++r->line;
  size_t len = strlen(str);
  r->line_length = (continuing ? r->line_length : 0) + len;
  r->at_line_start = len > 0 && str[len - 1] == '\n';
  if (r->line_length >= static_cast<size_t>(kMaxLineLength) - 2 && !r->at_line_start &&
      !std::feof(r->file)) {
    st->error = ConfigError{r->path, r->line, "", "line too long"};
    return nullptr;
  }
  return str;
}

bool parseFile(ParseState& st, const std::string& path, const std::string& section);
int handleEntry(void* user, const char* section, const char* name, const char* value);

bool include(ParseState& st, std::string_view spec, const std::string& section) {
  std::string path(trim(spec));
  if (path.empty()) return fail(st, "%include", "missing file name"), false;
  if (static_cast<int>(st.stack.size()) > kMaxIncludeDepth)
    return fail(st, "%include", "includes nested too deeply (loop?)"), false;
  for (FileReader* r : st.stack)
    if (r->path == path) return fail(st, "%include", "include loop: " + path), false;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return fail(st, "%include", "cannot open " + path), false;
  std::fclose(f);
  return parseFile(st, path, section);
}

int handlePgbouncer(ParseState& st, const std::string& name, const char* value) {
  const KeyInfo* key = findKey(name);
  if (key == nullptr) return fail(st, name, "unknown parameter");
  std::string reason;
  if (!applyKey(*key, trim(value), st.config->settings, reason)) return fail(st, name, reason);
  int peer_id = st.config->settings.peer_id;
  if (name == "peer_id" && (peer_id < 0 || peer_id > kMaxPeerId))
    return fail(st, name, "must be 0 (no peering) to " + std::to_string(kMaxPeerId));
  if (!key->implemented)
    warnOnce(st, std::string(key->name),
             "parameter '" + std::string(key->name) + "' is not implemented yet, ignored");
  return 1;
}

int handleEntry(void* user, const char* section_c, const char* name_c, const char* value) {
  auto& st = *static_cast<ParseState*>(user);
  if (st.error) return 0;
  std::string name(trim(name_c));
  std::string section = lower(section_c);
  if (section.empty()) section = st.stack.back()->inherited_section;
  if (value == nullptr) {
    if (name.starts_with("%include")) return include(st, name.substr(8), section) ? 1 : 0;
    return fail(st, name, "syntax error: expected key = value");
  }
  if (section.empty()) return fail(st, name, "parameter outside of any section");
  Config& cfg = *st.config;
  std::string error_key, reason;
  if (section == "pgbouncer") return handlePgbouncer(st, lower(name), value);
  if (section == "databases") {
    DatabaseConfig db;
    if (!parseDatabaseEntry(name, value, db, error_key, reason))
      return fail(st, error_key.empty() ? name : error_key, reason);
    for (const auto& [key, set] : {std::pair{"auth_user", !db.auth_user.empty()},
                                   std::pair{"auth_query", !db.auth_query.empty()},
                                   std::pair{"auth_dbname", !db.auth_dbname.empty()}})
      if (set)
        warnOnce(st, std::string("[databases] ") + key,
                 std::string("database parameter '") + key + "' is not implemented yet, ignored");
    cfg.databases[name] = std::move(db);
    return 1;
  }
  if (section == "users") {
    UserConfig user_cfg;
    if (!parseUserEntry(name, value, user_cfg, error_key, reason))
      return fail(st, error_key.empty() ? name : error_key, reason);
    cfg.users[name] = std::move(user_cfg);
    return 1;
  }
  if (section == "peers") {
    PeerConfig peer;
    if (!parsePeerEntry(name, value, peer, error_key, reason))
      return fail(st, error_key.empty() ? name : error_key, reason);
    cfg.peers[peer.id] = std::move(peer);
    return 1;
  }
  if (section == "apibouncer" || section.starts_with("api.") || section.starts_with("table.")) {
    FileReader* r = st.stack.back();
    cfg.extra_sections[section][lower(name)] =
        Config::ExtraValue{std::string(trim(value)), r->path, r->line};
    return 1;
  }
  return fail(st, "", "unknown section [" + section + "]");
}

bool parseFile(ParseState& st, const std::string& path, const std::string& section) {
  FileReader reader;
  reader.path = path;
  reader.inherited_section = section;
  reader.file = std::fopen(path.c_str(), "r");
  if (reader.file == nullptr) {
    st.error = ConfigError{path, 0, "", "cannot open file"};
    return false;
  }
  st.stack.push_back(&reader);
  int rc = ini_parse_stream(readLine, &st, handleEntry, &st);
  st.stack.pop_back();
  std::fclose(reader.file);
  if (rc != 0 && !st.error) st.error = ConfigError{path, rc, "", "syntax error"};
  return !st.error;
}

void configureInih() {
  ini_allow_multiline = false;
  ini_allow_inline_comments = false;
  ini_allow_no_value = true;
  ini_stop_on_first_error = true;
  ini_use_stack = false;
  ini_allow_realloc = true;
  ini_max_line = kMaxLineLength;
}

}  // namespace

std::string_view toString(PoolMode mode) {
  switch (mode) {
    case PoolMode::kSession:
      return "session";
    case PoolMode::kTransaction:
      return "transaction";
    case PoolMode::kStatement:
      return "statement";
  }
  return "session";
}

std::optional<PoolMode> parsePoolMode(std::string_view text) {
  std::string v = lower(trim(text));
  if (v == "session") return PoolMode::kSession;
  if (v == "transaction") return PoolMode::kTransaction;
  if (v == "statement") return PoolMode::kStatement;
  return std::nullopt;
}

std::string_view toString(AuthType type) {
  switch (type) {
    case AuthType::kTrust:
      return "trust";
    case AuthType::kAny:
      return "any";
    case AuthType::kPlain:
      return "plain";
    case AuthType::kMd5:
      return "md5";
    case AuthType::kScramSha256:
      return "scram-sha-256";
    case AuthType::kCert:
      return "cert";
    case AuthType::kHba:
      return "hba";
    case AuthType::kLdap:
      return "ldap";
    case AuthType::kPam:
      return "pam";
  }
  return "md5";
}

std::optional<DatabaseConfig> Config::findDatabase(std::string_view name) const {
  auto it = databases.find(name);
  if (it != databases.end()) return it->second;
  auto fallback = databases.find("*");
  if (fallback == databases.end()) return std::nullopt;
  DatabaseConfig db = fallback->second;
  db.name = std::string(name);
  if (db.dbname.empty()) db.dbname = db.name;
  return db;
}

const UserConfig* Config::findUser(std::string_view name) const {
  auto it = users.find(name);
  return it == users.end() ? nullptr : &it->second;
}

std::string ConfigError::message() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += "key '" + key + "': ";
  return out + reason;
}

LoadResult loadConfig(const std::string& path) {
  configureInih();
  ParseState st;
  st.config = std::make_shared<Config>();
  st.config->path = path;
  if (!parseFile(st, path, "")) return *st.error;
  if (st.config->settings.conffile.empty()) st.config->settings.conffile = path;
  return std::shared_ptr<const Config>(st.config);
}

}  // namespace apibouncer::config
