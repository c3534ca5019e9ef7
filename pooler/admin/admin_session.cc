// Admin console sessions: login rules, welcome, and the message loop (see admin_session.h).
#include "pooler/admin/admin_session.h"

#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "pooler/admin/admin_commands.h"
#include "pooler/client.h"
#include "pooler/log.h"
#include "pooler/pooler.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

namespace apibouncer::admin {
namespace {

// Console queries are short; anything bigger is not a console command.
constexpr uint32_t kMaxConsoleMessage = 1 << 20;

bool listContains(std::string_view list, std::string_view item) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string_view part =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (part == item) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

bool isConsoleDatabase(const config::Config& config, std::string_view database) {
  return database == "pgbouncer" && !config.databases.contains(database);
}

Role roleOf(const config::Settings& settings, std::string_view user) {
  if (listContains(settings.admin_users, user)) return Role::kAdmin;
  if (listContains(settings.stats_users, user)) return Role::kStats;
  return Role::kNone;
}

bool peerIsOwnUser(uv_stream_t* stream) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(stream), &fd) != 0) return false;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == getuid();
}

std::string welcomeMessages(uint64_t cancel_key) {
  std::string out;
  out += wire::parameterStatus("server_version", "1.25.2/bouncer");
  out += wire::parameterStatus("client_encoding", "UTF8");
  out += wire::parameterStatus("server_encoding", "UTF8");
  out += wire::parameterStatus("DateStyle", "ISO");
  out += wire::parameterStatus("TimeZone", "GMT");
  out += wire::parameterStatus("standard_conforming_strings", "on");
  out += wire::parameterStatus("is_superuser", "on");
  out += wire::backendKeyData(static_cast<uint32_t>(cancel_key >> 32),
                              static_cast<uint32_t>(cancel_key));
  out += wire::readyForQuery('I');
  return out;
}

AdminSession::AdminSession(Pooler& pooler, ClientSession& client, Role role)
    : pooler_(pooler), client_(client), role_(role) {}

AdminSession::~AdminSession() {
  auto& waiters = pooler_.pauseState().waiters;
  std::erase_if(waiters, [this](const PauseState::Waiter& w) { return w.session == this; });
}

void AdminSession::onData(std::span<const uint8_t> data) {
  inbuf_.append(reinterpret_cast<const char*>(data.data()), data.size());
  processBuffered();
}

void AdminSession::complete(std::string_view tag) {
  waiting_ = false;
  client_.send(wire::commandComplete(tag) + wire::readyForQuery('I'));
  processBuffered();
}

void AdminSession::processBuffered() {
  while (!waiting_ && !client_.closing()) {
    auto bytes =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(inbuf_.data()), inbuf_.size());
    wire::Message msg;
    auto status = wire::nextMessage(bytes, kMaxConsoleMessage, msg);
    if (status == wire::DecodeStatus::kNeedMore) return;
    if (status != wire::DecodeStatus::kOk) {
      failAndClose("invalid packet for admin console", "bad packet");
      return;
    }
    char type = msg.header.type;
    std::string body(reinterpret_cast<const char*>(msg.body.data()), msg.body.size());
    inbuf_.erase(0, msg.header.totalSize());
    switch (type) {
      case wire::fe::kQuery: {
        // The query text ends at its NUL terminator.
        size_t end = body.find('\0');
        if (end == std::string::npos) {
          failAndClose("incomplete query", "incomplete query");
          return;
        }
        runQuery(std::string_view(body).substr(0, end));
        break;
      }
      case wire::fe::kTerminate:
        client_.disconnect("client close request");
        return;
      case wire::fe::kParse:
      case wire::fe::kBind:
      case wire::fe::kExecute:
        failAndClose("extended query protocol not supported by admin console", "bad packet");
        return;
      default:
        failAndClose("unsupported packet type for admin console: " + std::to_string(type),
                     "bad packet");
        return;
    }
  }
}

void AdminSession::runQuery(std::string_view sql) {
  LOG_DEBUG("C-%llu admin query: %.*s", (unsigned long long)client_.id(), (int)sql.size(),
            sql.data());
  Outcome outcome = runCommand(*this, sql);
  if (outcome.ready) outcome.bytes += wire::readyForQuery('I');
  waiting_ = outcome.wait;
  if (!outcome.bytes.empty()) client_.send(outcome.bytes);
  if (outcome.after) outcome.after();
}

void AdminSession::failAndClose(std::string_view message, const char* reason) {
  wire::ErrorSpec spec;
  spec.severity = "ERROR";
  spec.sqlstate = wire::sqlstate::kProtocolViolation;
  spec.message = message;
  client_.send(wire::errorResponse(spec));
  client_.disconnect(reason);
}

}  // namespace apibouncer::admin
