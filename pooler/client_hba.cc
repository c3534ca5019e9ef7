// The auth_hba_file decision for one login (see client_hba.h).
#include "pooler/client_hba.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace apibouncer {
namespace {

using auth::HbaMethod;
using config::AuthType;

// PostgreSQL's wording: `host "1.2.3.4", user "u", database "d", no encryption`.
std::string whoFrom(const HbaLogin& login) {
  return "host \"" + login.host + "\", user \"" + std::string(login.client.user) +
         "\", database \"" + std::string(login.client.database) + "\", " +
         (login.client.tls ? "SSL encryption" : "no encryption");
}

std::string lineOf(const auth::HbaRule& rule) {
  return rule.file + ":" + std::to_string(rule.line);
}

HbaDecision refuse(std::string message, std::string reason) {
  HbaDecision decision;
  decision.refused = true;
  decision.message = std::move(message);
  decision.reason = std::move(reason);
  return decision;
}

HbaDecision use(AuthType type, const auth::HbaRule& rule) {
  HbaDecision decision;
  decision.auth_type = type;
  decision.reason = std::string(auth::toString(rule.method)) + " by " + lineOf(rule);
  return decision;
}

// peer: the process at the other end of the Unix socket must run as the database user, or
// as an OS user the rule's map= lets log in as that user.
HbaDecision decidePeer(const auth::HbaRules& rules, const auth::HbaRule& rule,
                       const HbaLogin& login) {
  std::string message =
      "peer authentication failed for user \"" + std::string(login.client.user) + "\"";
  if (!login.client.unix_socket)
    return refuse(message, "peer by " + lineOf(rule) + " needs a Unix-socket connection");
  if (!login.os_user)
    return refuse(message, "peer by " + lineOf(rule) + ": " + login.os_user_error);
  if (!rule.map.empty()) {
    if (!rules.ident_map.allows(rule.map, *login.os_user, login.client.user))
      return refuse(message, "peer by " + lineOf(rule) + ": map \"" + rule.map +
                                 "\" does not let OS user \"" + *login.os_user + "\" in as \"" +
                                 std::string(login.client.user) + "\"");
  } else if (*login.os_user != login.client.user) {
    return refuse(message, "peer by " + lineOf(rule) + ": the client runs as OS user \"" +
                               *login.os_user + "\", not \"" + std::string(login.client.user) +
                               "\"");
  }
  return use(AuthType::kAny, rule);
}

std::optional<std::string> userNameOf(uid_t uid, std::string& error) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) {
    error = "no OS user has uid " + std::to_string(uid);
    return std::nullopt;
  }
  return std::string(found->pw_name);
}

void describeUnixPeer(uv_stream_t* stream, HbaLogin& login) {
  login.host = "[local]";
  uv_os_fd_t fd;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(stream), &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    login.os_user_error = std::string("cannot read the peer's credentials: ") + strerror(errno);
    return;
  }
  login.os_user = userNameOf(cred.uid, login.os_user_error);
}

void describeTcpPeer(uv_stream_t* stream, HbaLogin& login) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  login.host = "?";
  if (uv_tcp_getpeername(reinterpret_cast<uv_tcp_t*>(stream), reinterpret_cast<sockaddr*>(&addr),
                         &len) != 0)
    return;
  char text[INET6_ADDRSTRLEN] = "?";
  auth::HbaIp& ip = login.client.address;
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ip.family = auth::HbaIp::Family::kIpv4;
    std::memcpy(ip.bytes.data(), &in->sin_addr, 4);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ip.family = auth::HbaIp::Family::kIpv6;
    std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  }
  login.host = text;
}

}  // namespace

HbaDecision decideHbaLogin(const auth::HbaRules* rules, const HbaLogin& login) {
  const auth::HbaRule* rule = rules ? auth::matchHba(*rules, login.client) : nullptr;
  if (rule == nullptr)
    return refuse("no pg_hba.conf entry for " + whoFrom(login), "no auth_hba_file line matches");
  switch (rule->method) {
    case HbaMethod::kReject:
      return refuse("pg_hba.conf rejects connection for " + whoFrom(login),
                    "reject by " + lineOf(*rule));
    case HbaMethod::kTrust:
      return use(AuthType::kTrust, *rule);
    case HbaMethod::kMd5:
      return use(AuthType::kMd5, *rule);
    case HbaMethod::kScramSha256:
      return use(AuthType::kScramSha256, *rule);
    case HbaMethod::kPassword:
      return use(AuthType::kPlain, *rule);
    case HbaMethod::kPeer:
      return decidePeer(*rules, *rule, login);
    case HbaMethod::kCert:
      return decideCertLogin(login, rules, rule->map, "cert by " + lineOf(*rule));
  }
  return refuse("login rejected", "unknown method");
}

HbaDecision decideCertLogin(const HbaLogin& login, const auth::HbaRules* rules,
                            std::string_view map, const std::string& decided_by) {
  std::string user(login.client.user);
  std::string message = "certificate authentication failed for user \"" + user + "\"";
  if (!login.client.tls)
    return refuse("connection requires a valid client certificate",
                  decided_by + ": the client did not use TLS");
  if (!login.certificate_name)
    return refuse("connection requires a valid client certificate",
                  decided_by + ": no client certificate");
  const std::string& name = *login.certificate_name;
  if (!map.empty()) {
    if (rules == nullptr || !rules->ident_map.allows(map, name, user))
      return refuse(message, decided_by + ": map \"" + std::string(map) +
                                 "\" does not let certificate \"" + name + "\" in as \"" + user +
                                 "\"");
  } else if (name != user) {
    return refuse(message, decided_by + ": the certificate is for \"" + name + "\"");
  }
  HbaDecision decision;
  decision.auth_type = AuthType::kAny;  // the certificate was the proof
  decision.reason = decided_by;
  return decision;
}

HbaLogin describeHbaLogin(uv_stream_t* stream, bool unix_socket, const tls::Session* tls,
                          std::string_view database, std::string_view user) {
  HbaLogin login;
  login.client.unix_socket = unix_socket;
  login.client.tls = tls != nullptr;
  if (tls != nullptr && tls->peerCertificatePresent())
    login.certificate_name = tls->peerCommonName();
  login.client.database = database;
  login.client.user = user;
  if (unix_socket)
    describeUnixPeer(stream, login);
  else
    describeTcpPeer(stream, login);
  return login;
}

}  // namespace apibouncer
