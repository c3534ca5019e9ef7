// The protocol side of one admin console session (virtual database "pgbouncer"): who may log
// in, the welcome, and Query -> answer. Only the simple query protocol, as in PgBouncer.
#pragma once

#include <uv.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pooler/config/config.h"

namespace apibouncer {
class ClientSession;
class Pooler;
}  // namespace apibouncer

namespace apibouncer::admin {

enum class Role { kNone, kStats, kAdmin };  // stats_users: SHOW only; admin_users: everything

// Database "pgbouncer" is the console unless [databases] defines a real one by that name.
bool isConsoleDatabase(const config::Config& config, std::string_view database);
Role roleOf(const config::Settings& settings, std::string_view user);
// True if the Unix-socket peer runs as the same OS user as this process (SO_PEERCRED).
bool peerIsOwnUser(uv_stream_t* stream);
// ParameterStatus messages PgBouncer's console sends, BackendKeyData and ReadyForQuery.
std::string welcomeMessages(uint64_t cancel_key);

class AdminSession {
 public:
  AdminSession(Pooler& pooler, ClientSession& client, Role role);
  ~AdminSession();
  AdminSession(const AdminSession&) = delete;
  AdminSession& operator=(const AdminSession&) = delete;

  // Bytes from the client after login.
  void onData(std::span<const uint8_t> data);
  // A command that waited (PAUSE, WAIT_CLOSE) is done: answer it and go on with later ones.
  void complete(std::string_view tag);

  Role role() const { return role_; }
  ClientSession& client() { return client_; }
  Pooler& pooler() { return pooler_; }

 private:
  void processBuffered();
  void runQuery(std::string_view sql);
  void failAndClose(std::string_view message, const char* reason);

  Pooler& pooler_;
  ClientSession& client_;
  Role role_;
  std::string inbuf_;
  bool waiting_ = false;  // a PAUSE / WAIT_CLOSE has not been answered yet: later input waits
};

}  // namespace apibouncer::admin
