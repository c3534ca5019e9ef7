// The loaded configuration: an immutable snapshot of one pgbouncer.ini-style file (with its
// %include files). Reload builds a new snapshot; work in flight keeps the one it started with.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace apibouncer::config {

enum class PoolMode { kSession, kTransaction, kStatement };
std::string_view toString(PoolMode mode);
std::optional<PoolMode> parsePoolMode(std::string_view text);

enum class AuthType { kTrust, kAny, kPlain, kMd5, kScramSha256, kCert, kHba, kLdap, kPam };
std::string_view toString(AuthType type);

// [pgbouncer]: one member per key PgBouncer 1.25 knows, named exactly as the key.
// bool for 0/1 flags, int for counts/sizes/ports, double for seconds, std::string otherwise.
// Defaults are PgBouncer's.
struct Settings {
  // --- connection handling (implemented) ---
  std::string listen_addr;
  int listen_port = 6432;
  std::string unix_socket_dir = "/tmp";
  int unix_socket_mode = 0777;
  std::string unix_socket_group;
  int max_client_conn = 100;
  int listen_backlog = 128;
  bool tcp_keepalive = true;
  int tcp_keepcnt = 0, tcp_keepidle = 0, tcp_keepintvl = 0;
  int tcp_user_timeout = 0;
  int max_packet_size = 2147483647;
  // --- auth ---
  AuthType auth_type = AuthType::kMd5;
  std::string auth_file;
  // --- pooling ---
  PoolMode pool_mode = PoolMode::kSession;
  int default_pool_size = 20;
  int min_pool_size = 0;
  int reserve_pool_size = 0;
  double reserve_pool_timeout = 5.0;
  int max_db_connections = 0;
  int max_db_client_connections = 0;
  int max_user_connections = 0;
  int max_user_client_connections = 0;
  std::string server_reset_query = "DISCARD ALL";
  bool server_reset_query_always = false;
  double server_check_delay = 30.0;
  std::string server_check_query = "<empty>";
  double server_lifetime = 3600.0;
  double server_idle_timeout = 600.0;
  double server_connect_timeout = 15.0;
  double server_login_retry = 15.0;
  double client_login_timeout = 60.0;
  double query_wait_timeout = 120.0;
  double query_timeout = 0.0;
  double client_idle_timeout = 0.0;
  double idle_transaction_timeout = 0.0;
  double transaction_timeout = 0.0;
  double cancel_wait_timeout = 10.0;
  std::string ignore_startup_parameters;
  bool application_name_add_host = false;
  // --- process and logging ---
  std::string logfile;
  std::string pidfile;
  std::string user;
  bool log_connections = true;
  bool log_disconnections = true;
  bool log_pooler_errors = true;
  int verbose = 0;
  std::string admin_users;
  std::string stats_users;
  // ... every other [pgbouncer] key follows (see config_keys.cc).
};

// One [databases] entry: `name = key=value ...`. Unset numbers are -1 (use the global).
struct DatabaseConfig {
  std::string name;                // the name clients connect to
  std::string dbname;              // on the server; defaults to `name`
  std::vector<std::string> hosts;  // empty = Unix socket in /var/run/postgresql ... see host rules
  int port = 5432;
  std::string user;      // forced server user (empty = the client's user)
  std::string password;  // for `user` (or the client's user)
  std::string auth_user, auth_query, auth_dbname;
  int pool_size = -1, min_pool_size = -1, reserve_pool_size = -1;
  int max_db_connections = -1, max_db_client_connections = -1;
  std::optional<PoolMode> pool_mode;
  std::string connect_query;
  double server_lifetime = -1;
  bool load_balance_hosts_round_robin = true;
  std::string client_encoding, datestyle, timezone;
  std::string application_name;  // any other startup params given in the connstr are rare
};

// One [users] entry. Unset numbers are -1 (use the global).
struct UserConfig {
  std::string name;
  int pool_size = -1, reserve_pool_size = -1;
  std::optional<PoolMode> pool_mode;
  int max_user_connections = -1, max_user_client_connections = -1;
  double query_timeout = -1, idle_transaction_timeout = -1, transaction_timeout = -1,
         client_idle_timeout = -1;
};

struct Config {
  std::string path;  // the main file, as given (used by RELOAD)
  Settings settings;
  std::map<std::string, DatabaseConfig, std::less<>> databases;  // includes "*" if present
  std::map<std::string, UserConfig, std::less<>> users;
  // One line per accepted-but-not-implemented key ("file:line: key 'x' is not implemented yet").
  std::vector<std::string> warnings;

  // The entry for a client's database name: exact match, else the "*" fallback with
  // dbname set to `name`. nullptr if neither exists.
  std::optional<DatabaseConfig> findDatabase(std::string_view name) const;
  const UserConfig* findUser(std::string_view name) const;
};

struct ConfigError {
  std::string file;
  int line = 0;     // 0 when the error is about the file as a whole
  std::string key;  // empty when not about one key
  std::string reason;
  std::string message() const;  // "file:line: key 'k': reason"
};

using LoadResult = std::variant<std::shared_ptr<const Config>, ConfigError>;
LoadResult loadConfig(const std::string& path);

}  // namespace apibouncer::config
