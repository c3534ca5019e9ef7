// Connection-string parsing for [databases] and [users] (see conn_string.h).
#include "pooler/config/conn_string.h"

#include <cctype>

#include "pooler/config/config_keys.h"

namespace apibouncer::config {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> splitHosts(const std::string& text) {
  std::vector<std::string> hosts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string host = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!host.empty()) hosts.push_back(host);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return hosts;
}

bool intValue(const std::string& value, int& out, std::string& reason) {
  if (parseInt(value, out) && out >= 0) return true;
  reason = "invalid integer value '" + value + "'";
  return false;
}

bool secondsValue(const std::string& value, double& out, std::string& reason) {
  if (parseSeconds(value, out)) return true;
  reason = "invalid time value '" + value + "'";
  return false;
}

bool poolModeValue(const std::string& value, std::optional<PoolMode>& out, std::string& reason) {
  out = parsePoolMode(value);
  if (out) return true;
  reason = "invalid pool_mode '" + value + "'";
  return false;
}

bool applyDatabaseKey(const std::string& key, const std::string& value, DatabaseConfig& db,
                      std::string& reason) {
  if (key == "dbname")
    db.dbname = value;
  else if (key == "host")
    db.hosts = splitHosts(value);
  else if (key == "port")
    return intValue(value, db.port, reason);
  else if (key == "user")
    db.user = value;
  else if (key == "password")
    db.password = value;
  else if (key == "auth_user")
    db.auth_user = value;
  else if (key == "auth_query")
    db.auth_query = value;
  else if (key == "auth_dbname")
    db.auth_dbname = value;
  else if (key == "pool_size")
    return intValue(value, db.pool_size, reason);
  else if (key == "min_pool_size")
    return intValue(value, db.min_pool_size, reason);
  else if (key == "reserve_pool_size" || key == "reserve_pool")
    return intValue(value, db.reserve_pool_size, reason);
  else if (key == "max_db_connections")
    return intValue(value, db.max_db_connections, reason);
  else if (key == "max_db_client_connections")
    return intValue(value, db.max_db_client_connections, reason);
  else if (key == "pool_mode")
    return poolModeValue(value, db.pool_mode, reason);
  else if (key == "connect_query")
    db.connect_query = value;
  else if (key == "server_lifetime")
    return secondsValue(value, db.server_lifetime, reason);
  else if (key == "client_encoding")
    db.client_encoding = value;
  else if (key == "datestyle")
    db.datestyle = value;
  else if (key == "timezone")
    db.timezone = value;
  else if (key == "application_name")
    db.application_name = value;
  else if (key == "load_balance_hosts") {
    if (value != "round-robin" && value != "disable") {
      reason = "invalid load_balance_hosts '" + value + "' (round-robin, disable)";
      return false;
    }
    db.load_balance_hosts_round_robin = value == "round-robin";
  } else {
    reason = "unknown parameter";
    return false;
  }
  return true;
}

bool applyUserKey(const std::string& key, const std::string& value, UserConfig& user,
                  std::string& reason) {
  if (key == "pool_size") return intValue(value, user.pool_size, reason);
  if (key == "reserve_pool_size") return intValue(value, user.reserve_pool_size, reason);
  if (key == "pool_mode") return poolModeValue(value, user.pool_mode, reason);
  if (key == "max_user_connections") return intValue(value, user.max_user_connections, reason);
  if (key == "max_user_client_connections")
    return intValue(value, user.max_user_client_connections, reason);
  if (key == "query_timeout") return secondsValue(value, user.query_timeout, reason);
  if (key == "idle_transaction_timeout")
    return secondsValue(value, user.idle_transaction_timeout, reason);
  if (key == "transaction_timeout") return secondsValue(value, user.transaction_timeout, reason);
  if (key == "client_idle_timeout") return secondsValue(value, user.client_idle_timeout, reason);
  reason = "unknown parameter";
  return false;
}

}  // namespace

bool splitConnString(std::string_view text, std::vector<std::pair<std::string, std::string>>& out,
                     std::string& reason) {
  size_t pos = 0;
  out.clear();
  while (true) {
    while (pos < text.size() && isSpace(text[pos])) ++pos;
    if (pos >= text.size()) return true;
    size_t eq = text.find('=', pos);
    size_t space = pos;
    while (space < text.size() && !isSpace(text[space]) && text[space] != '=') ++space;
    if (eq == std::string_view::npos || space < eq) {
      reason = "syntax error in connection string: expected key=value near '" +
               std::string(text.substr(pos, 20)) + "'";
      return false;
    }
    std::string key = lower(text.substr(pos, eq - pos));
    pos = eq + 1;
    std::string value;
    if (pos < text.size() && text[pos] == '\'') {
      ++pos;
      bool closed = false;
      while (pos < text.size()) {
        char c = text[pos++];
        if (c == '\'') {
          if (pos < text.size() && text[pos] == '\'') {
            value += '\'';
            ++pos;
            continue;
          }
          closed = true;
          break;
        }
        value += c;
      }
      if (!closed) {
        reason = "unterminated quoted value for '" + key + "'";
        return false;
      }
    } else {
      while (pos < text.size() && !isSpace(text[pos])) value += text[pos++];
    }
    out.emplace_back(std::move(key), std::move(value));
  }
}

bool parseDatabaseEntry(std::string_view name, std::string_view value, DatabaseConfig& out,
                        std::string& error_key, std::string& reason) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!splitConnString(value, pairs, reason)) return false;
  out = DatabaseConfig{};
  out.name = std::string(name);
  for (const auto& [key, val] : pairs) {
    if (!applyDatabaseKey(key, val, out, reason)) {
      error_key = key;
      return false;
    }
  }
  if (out.dbname.empty() && name != "*") out.dbname = out.name;
  return true;
}

bool parseUserEntry(std::string_view name, std::string_view value, UserConfig& out,
                    std::string& error_key, std::string& reason) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!splitConnString(value, pairs, reason)) return false;
  out = UserConfig{};
  out.name = std::string(name);
  for (const auto& [key, val] : pairs) {
    if (!applyUserKey(key, val, out, reason)) {
      error_key = key;
      return false;
    }
  }
  return true;
}

bool parsePeerEntry(std::string_view name, std::string_view value, PeerConfig& out,
                    std::string& error_key, std::string& reason) {
  out = PeerConfig{};
  if (!intValue(std::string(name), out.id, reason) || out.id < 1 || out.id > kMaxPeerId) {
    reason = "a peer is named by its peer_id, 1 to " + std::to_string(kMaxPeerId);
    return false;
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!splitConnString(value, pairs, reason)) return false;
  for (const auto& [key, val] : pairs) {
    bool ok = true;
    if (key == "host")
      out.host = val;
    else if (key == "port")
      ok = intValue(val, out.port, reason);
    else if (key == "pool_size")
      ok = intValue(val, out.pool_size, reason);
    else {
      reason = "unknown parameter";
      ok = false;
    }
    if (!ok) {
      error_key = key;
      return false;
    }
  }
  if (out.host.empty()) {
    error_key = "host";
    reason = "a peer needs host=";
    return false;
  }
  return true;
}

}  // namespace apibouncer::config
