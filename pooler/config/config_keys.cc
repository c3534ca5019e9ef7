// The [pgbouncer] key table and its value parsers (see config_keys.h).
#include "pooler/config/config_keys.h"

#include <strings.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace apibouncer::config {
namespace {

using S = Settings;
using T = KeyType;
constexpr bool kYes = true, kNo = false;

// Implemented means apibouncer acts on the key today; the rest load and log one warning.
const std::array kKeys = std::to_array<KeyInfo>({
    {"logfile", T::kString, &S::logfile, kYes},
    {"pidfile", T::kString, &S::pidfile, kYes},
    {"listen_addr", T::kString, &S::listen_addr, kYes},
    {"listen_port", T::kInt, &S::listen_port, kYes},
    {"unix_socket_dir", T::kString, &S::unix_socket_dir, kYes},
    {"unix_socket_mode", T::kOctal, &S::unix_socket_mode, kYes},
    {"unix_socket_group", T::kString, &S::unix_socket_group, kYes},
    {"user", T::kString, &S::user, kYes},
    {"pool_mode", T::kPoolMode, &S::pool_mode, kYes},
    {"max_client_conn", T::kInt, &S::max_client_conn, kYes},
    {"default_pool_size", T::kInt, &S::default_pool_size, kYes},
    {"min_pool_size", T::kInt, &S::min_pool_size, kYes},
    {"reserve_pool_size", T::kInt, &S::reserve_pool_size, kYes},
    {"reserve_pool_timeout", T::kSeconds, &S::reserve_pool_timeout, kYes},
    {"max_db_connections", T::kInt, &S::max_db_connections, kYes},
    {"max_db_client_connections", T::kInt, &S::max_db_client_connections, kYes},
    {"max_user_connections", T::kInt, &S::max_user_connections, kYes},
    {"max_user_client_connections", T::kInt, &S::max_user_client_connections, kYes},
    {"server_round_robin", T::kBool, &S::server_round_robin, kYes},
    {"track_extra_parameters", T::kString, &S::track_extra_parameters, kYes},
    {"ignore_startup_parameters", T::kString, &S::ignore_startup_parameters, kYes},
    {"peer_id", T::kInt, &S::peer_id, kYes},
    {"disable_pqexec", T::kBool, &S::disable_pqexec, kYes},
    {"application_name_add_host", T::kBool, &S::application_name_add_host, kYes},
    {"conffile", T::kString, &S::conffile, kYes},
    {"service_name", T::kString, &S::service_name, kYes},
    {"job_name", T::kString, &S::service_name, kYes},
    {"stats_period", T::kInt, &S::stats_period, kYes},
    {"max_prepared_statements", T::kInt, &S::max_prepared_statements, kYes},
    {"scram_iterations", T::kInt, &S::scram_iterations, kYes},
    {"auth_type", T::kAuthType, &S::auth_type, kYes},
    {"auth_hba_file", T::kString, &S::auth_hba_file, kYes},
    {"auth_ident_file", T::kString, &S::auth_ident_file, kYes},
    {"auth_file", T::kString, &S::auth_file, kYes},
    {"auth_user", T::kString, &S::auth_user, kYes},
    {"auth_query", T::kString, &S::auth_query, kYes},
    {"auth_dbname", T::kString, &S::auth_dbname, kYes},
    {"auth_ldap_options", T::kString, &S::auth_ldap_options, kNo},
    {"syslog", T::kBool, &S::syslog, kYes},
    {"syslog_ident", T::kString, &S::syslog_ident, kYes},
    {"syslog_facility", T::kString, &S::syslog_facility, kYes},
    {"log_connections", T::kBool, &S::log_connections, kYes},
    {"log_disconnections", T::kBool, &S::log_disconnections, kYes},
    {"log_pooler_errors", T::kBool, &S::log_pooler_errors, kYes},
    {"log_stats", T::kBool, &S::log_stats, kYes},
    {"verbose", T::kInt, &S::verbose, kYes},
    {"admin_users", T::kString, &S::admin_users, kYes},
    {"stats_users", T::kString, &S::stats_users, kYes},
    {"server_reset_query", T::kString, &S::server_reset_query, kYes},
    {"server_reset_query_always", T::kBool, &S::server_reset_query_always, kYes},
    {"server_check_delay", T::kSeconds, &S::server_check_delay, kYes},
    {"server_check_query", T::kString, &S::server_check_query, kYes},
    {"server_fast_close", T::kBool, &S::server_fast_close, kYes},
    {"server_lifetime", T::kSeconds, &S::server_lifetime, kYes},
    {"server_idle_timeout", T::kSeconds, &S::server_idle_timeout, kYes},
    {"server_connect_timeout", T::kSeconds, &S::server_connect_timeout, kYes},
    {"server_login_retry", T::kSeconds, &S::server_login_retry, kYes},
    {"client_login_timeout", T::kSeconds, &S::client_login_timeout, kYes},
    {"autodb_idle_timeout", T::kSeconds, &S::autodb_idle_timeout, kYes},
    {"dns_max_ttl", T::kSeconds, &S::dns_max_ttl, kYes},
    {"dns_nxdomain_ttl", T::kSeconds, &S::dns_nxdomain_ttl, kYes},
    {"dns_zone_check_period", T::kSeconds, &S::dns_zone_check_period, kNo},
    {"resolv_conf", T::kString, &S::resolv_conf, kNo},
    {"query_wait_notify", T::kSeconds, &S::query_wait_notify, kYes},
    {"client_tls_sslmode", T::kSslMode, &S::client_tls_sslmode, kYes},
    {"client_tls_key_file", T::kString, &S::client_tls_key_file, kYes},
    {"client_tls_cert_file", T::kString, &S::client_tls_cert_file, kYes},
    {"client_tls_ca_file", T::kString, &S::client_tls_ca_file, kYes},
    {"client_tls_protocols", T::kString, &S::client_tls_protocols, kYes},
    {"client_tls_ciphers", T::kString, &S::client_tls_ciphers, kYes},
    {"client_tls13_ciphers", T::kString, &S::client_tls13_ciphers, kYes},
    {"client_tls_ecdhcurve", T::kString, &S::client_tls_ecdhcurve, kYes},
    {"client_tls_dheparams", T::kString, &S::client_tls_dheparams, kYes},
    {"server_tls_sslmode", T::kSslMode, &S::server_tls_sslmode, kYes},
    {"server_tls_ca_file", T::kString, &S::server_tls_ca_file, kYes},
    {"server_tls_key_file", T::kString, &S::server_tls_key_file, kYes},
    {"server_tls_cert_file", T::kString, &S::server_tls_cert_file, kYes},
    {"server_tls_protocols", T::kString, &S::server_tls_protocols, kYes},
    {"server_tls_ciphers", T::kString, &S::server_tls_ciphers, kYes},
    {"server_tls13_ciphers", T::kString, &S::server_tls13_ciphers, kYes},
    {"query_timeout", T::kSeconds, &S::query_timeout, kYes},
    {"query_wait_timeout", T::kSeconds, &S::query_wait_timeout, kYes},
    {"cancel_wait_timeout", T::kSeconds, &S::cancel_wait_timeout, kYes},
    {"client_idle_timeout", T::kSeconds, &S::client_idle_timeout, kYes},
    {"idle_transaction_timeout", T::kSeconds, &S::idle_transaction_timeout, kYes},
    {"transaction_timeout", T::kSeconds, &S::transaction_timeout, kYes},
    {"suspend_timeout", T::kSeconds, &S::suspend_timeout, kYes},
    {"pkt_buf", T::kInt, &S::pkt_buf, kYes},
    {"max_packet_size", T::kInt, &S::max_packet_size, kYes},
    {"listen_backlog", T::kInt, &S::listen_backlog, kYes},
    {"sbuf_loopcnt", T::kInt, &S::sbuf_loopcnt, kYes},
    {"so_reuseport", T::kBool, &S::so_reuseport, kYes},
    {"tcp_defer_accept", T::kBool, &S::tcp_defer_accept, kYes},
    {"tcp_socket_buffer", T::kInt, &S::tcp_socket_buffer, kYes},
    {"tcp_keepalive", T::kBool, &S::tcp_keepalive, kYes},
    {"tcp_keepcnt", T::kInt, &S::tcp_keepcnt, kYes},
    {"tcp_keepidle", T::kInt, &S::tcp_keepidle, kYes},
    {"tcp_keepintvl", T::kInt, &S::tcp_keepintvl, kYes},
    {"tcp_user_timeout", T::kInt, &S::tcp_user_timeout, kYes},
});

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool parseOctal(std::string_view text, int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 8);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

std::optional<AuthType> parseAuthType(std::string_view text) {
  static const std::pair<std::string_view, AuthType> kTypes[] = {
      {"trust", AuthType::kTrust},
      {"any", AuthType::kAny},
      {"plain", AuthType::kPlain},
      {"md5", AuthType::kMd5},
      {"scram-sha-256", AuthType::kScramSha256},
      {"cert", AuthType::kCert},
      {"hba", AuthType::kHba},
      {"ldap", AuthType::kLdap},
      {"pam", AuthType::kPam}};
  for (const auto& [name, type] : kTypes)
    if (equalsIgnoreCase(name, text)) return type;
  return std::nullopt;
}

bool validSslMode(std::string_view text) {
  for (std::string_view mode :
       {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})
    if (equalsIgnoreCase(mode, text)) return true;
  return false;
}

}  // namespace

std::span<const KeyInfo> allKeys() {
  return kKeys;
}

const KeyInfo* findKey(std::string_view name) {
  for (const KeyInfo& key : kKeys)
    if (equalsIgnoreCase(key.name, name)) return &key;
  return nullptr;
}

bool parseBool(std::string_view text, bool& out) {
  for (std::string_view yes : {"1", "yes", "on", "true"})
    if (equalsIgnoreCase(yes, text)) return out = true, true;
  for (std::string_view no : {"0", "no", "off", "false"})
    if (equalsIgnoreCase(no, text)) return out = false, true;
  return false;
}

bool parseInt(std::string_view text, int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool parseSeconds(std::string_view text, double& out) {
  std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && out >= 0;
}

bool applyKey(const KeyInfo& key, std::string_view value, Settings& s, std::string& reason) {
  switch (key.type) {
    case T::kBool:
      if (parseBool(value, s.*std::get<bool S::*>(key.member))) return true;
      reason = "invalid boolean value '" + std::string(value) + "'";
      return false;
    case T::kInt:
      if (parseInt(value, s.*std::get<int S::*>(key.member))) return true;
      reason = "invalid integer value '" + std::string(value) + "'";
      return false;
    case T::kOctal:
      if (parseOctal(value, s.*std::get<int S::*>(key.member))) return true;
      reason = "invalid octal value '" + std::string(value) + "'";
      return false;
    case T::kSeconds:
      if (parseSeconds(value, s.*std::get<double S::*>(key.member))) return true;
      reason = "invalid time value '" + std::string(value) + "' (seconds expected)";
      return false;
    case T::kString:
      s.*std::get<std::string S::*>(key.member) = std::string(value);
      return true;
    case T::kSslMode:
      if (!validSslMode(value)) {
        reason = "invalid sslmode '" + std::string(value) + "'";
        return false;
      }
      s.*std::get<std::string S::*>(key.member) = std::string(value);
      return true;
    case T::kPoolMode:
      if (auto mode = parsePoolMode(value)) {
        s.*std::get<PoolMode S::*>(key.member) = *mode;
        return true;
      }
      reason = "invalid pool_mode '" + std::string(value) + "' (session, transaction, statement)";
      return false;
    case T::kAuthType:
      if (auto type = parseAuthType(value)) {
        s.*std::get<AuthType S::*>(key.member) = *type;
        return true;
      }
      reason = "invalid auth_type '" + std::string(value) + "'";
      return false;
  }
  return false;
}

std::string valueText(const KeyInfo& key, const Settings& s) {
  switch (key.type) {
    case T::kBool:
      return s.*std::get<bool S::*>(key.member) ? "1" : "0";
    case T::kInt:
      return std::to_string(s.*std::get<int S::*>(key.member));
    case T::kOctal: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0%o", s.*std::get<int S::*>(key.member));
      return buf;
    }
    case T::kSeconds: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", s.*std::get<double S::*>(key.member));
      return buf;
    }
    case T::kString:
    case T::kSslMode:
      return s.*std::get<std::string S::*>(key.member);
    case T::kPoolMode:
      return std::string(toString(s.*std::get<PoolMode S::*>(key.member)));
    case T::kAuthType:
      return std::string(toString(s.*std::get<AuthType S::*>(key.member)));
  }
  return {};
}

}  // namespace apibouncer::config
