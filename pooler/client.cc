// ClientSession: login, waiting for a link, and relaying (see client.h).
#include "pooler/client.h"

#include <strings.h>

#include <algorithm>
#include <cstring>

#include "pooler/admin/admin_session.h"
#include "pooler/client_hba.h"
#include "pooler/client_intercept.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/startup_options.h"
#include "pooler/wire/backend.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
namespace {

// Bytes a client may send before its link is ready; more means it is not waiting for us.
constexpr size_t kMaxEarlyBytes = 1 << 20;

// Buffers that held a waiting client's query, kept for the next client that has to wait: in
// transaction pooling with more clients than links most transactions wait, and a fresh string
// for each would be a malloc and a free per query. Bounded in number and in the size kept, so
// the pool never pins more than 256 x 4 kB; an idle client itself holds no buffer.
constexpr size_t kSpareEarlyBuffers = 256;
constexpr size_t kMaxSpareCapacity = 4096;
std::vector<std::string> g_spare_early_buffers;

// Hands a buffer whose bytes were passed on back to the spares, if there is room for it.
void keepSpareBuffer(std::string buffer) {
  if (g_spare_early_buffers.size() >= kSpareEarlyBuffers || buffer.capacity() > kMaxSpareCapacity)
    return;
  buffer.clear();
  g_spare_early_buffers.push_back(std::move(buffer));
}

bool listContains(std::string_view list, std::string_view item) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string_view part =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.size() == item.size() && strncasecmp(part.data(), item.data(), item.size()) == 0)
      return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// A dollar-quoted literal: read the same whatever the link's standard_conforming_strings is
// (another client may have turned it off there), and with no byte doubled, so a client
// encoding whose characters may end in a backslash byte (SJIS, BIG5, GBK) stays intact. The tag
// is one the value does not contain.
std::string quoteLiteral(std::string_view value) {
  std::string out;
  std::string tag = "$apibouncer$";
  for (int n = 0;; ++n) {
    out.assign(value).append(tag);  // the closing tag must be the first one the server sees
    if (out.find(tag) == value.size()) break;
    tag = "$apibouncer" + std::to_string(n) + "$";
  }
  return tag + out;
}

}  // namespace

// Sees each client message type as it streams past: counts the ReadyForQuery each one will
// earn and stops at Terminate, which ends the session instead of reaching the server.
struct ClientSession::RelayVisitor {
  ClientRequests& requests;
  MessageScanner::Action onType(char type) {
    if (type == wire::fe::kTerminate) return MessageScanner::Action::kStop;
    requests.see(type);  // a message the server ignores is forwarded all the same
    return MessageScanner::Action::kSkip;
  }
  void onMessage(char, std::span<const uint8_t>) {}
};

ClientSession::ClientSession(Pooler& pooler, Transport transport)
    : Connection(pooler.loop(), transport),
      pooler_(pooler),
      tracked_(pooler.trackedParameterNames()) {
  scanner_.setMaxMessageSize(static_cast<uint32_t>(pooler.settings().max_packet_size));
}

ClientSession::~ClientSession() = default;

void ClientSession::start(const std::string& peer) {
  peer_ = peer;
  connected_at_ms_ = last_activity_ms_ = uv_now(loop());
  startReading();
  readAvailableNow();
}

// Closing is final: a send that failed on the way (the client reset) has already closed the
// session, and the step after it must not bring it back to life.
void ClientSession::setState(State state) {
  if (state_ == State::kClosing) return;
  state_ = state;
}

void ClientSession::onRead(std::span<const uint8_t> data) {
  last_activity_ms_ = uv_now(loop());
  switch (state_) {
    case State::kStartup:
    case State::kAuth:
      inbuf_.append(reinterpret_cast<const char*>(data.data()), data.size());
      processLoginBuffer();
      return;
    case State::kLoggedIn:
      if (admin_) {
        admin_->onData(data);
        return;
      }
      // A client leaving between transactions needs no link to say goodbye.
      if (data[0] == wire::fe::kTerminate && !intercept_) {
        disconnect("client close request");
        return;
      }
      if (intercepting()) {
        holdFromClient(data);
        return;
      }
      // Usually an idle link is handed over at once: then the bytes go straight through,
      // without a stop in inbuf_ (no allocation per transaction).
      requestLink();
      if (state_ == State::kActive && inbuf_.empty())
        relayToServer(data);
      else if (state_ != State::kClosing)
        keepUntilLinked(data);
      return;
    case State::kWaitingLink:
    case State::kLinking:
      if (intercepting()) {
        holdFromClient(data);  // forwarded once the link is ready
        return;
      }
      keepUntilLinked(data);
      if (inbuf_.size() > kMaxEarlyBytes) stopReading();
      return;
    case State::kActive:
      if (intercepting()) {
        holdFromClient(data);
        return;
      }
      relayToServer(data);
      return;
    case State::kClosing:
      return;
  }
}

void ClientSession::keepUntilLinked(std::span<const uint8_t> data) {
  if (inbuf_.empty() && !g_spare_early_buffers.empty()) {
    inbuf_.swap(g_spare_early_buffers.back());
    g_spare_early_buffers.pop_back();
  }
  inbuf_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

void ClientSession::processLoginBuffer() {
  while (!closing() && (state_ == State::kStartup || state_ == State::kAuth)) {
    auto bytes =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(inbuf_.data()), inbuf_.size());
    if (state_ == State::kStartup) {
      if (!handleStartupPacket()) return;
      continue;
    }
    if (!auth_) {
      // auth_query is still looking the user up, so nobody asked for a password yet. As with
      // PostgreSQL, what the client sent early is read as its answer once the pooler asks;
      // until then it waits here, bounded like a login packet.
      if (inbuf_.size() > wire::kMaxStartupPacketSize)
        fail(wire::sqlstate::kProtocolViolation, "unexpected data during authentication",
             "data before password request");
      return;
    }
    wire::Message msg;
    auto status = wire::nextMessage(bytes, wire::kMaxStartupPacketSize, msg);
    if (status == wire::DecodeStatus::kNeedMore) return;
    if (status != wire::DecodeStatus::kOk) {
      fail(wire::sqlstate::kProtocolViolation, "invalid packet during login", "bad login packet");
      return;
    }
    std::string body(reinterpret_cast<const char*>(msg.body.data()), msg.body.size());
    char type = msg.header.type;
    inbuf_.erase(0, msg.header.totalSize());
    if (type == wire::fe::kTerminate) {
      disconnect("client left during login");
      return;
    }
    if (type != wire::fe::kPassword) {
      fail(wire::sqlstate::kProtocolViolation, "expected a password message", "bad login packet");
      return;
    }
    handleAuthMessage(
        type, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  }
}

// Returns true if a packet was consumed and login should continue.
bool ClientSession::handleStartupPacket() {
  wire::StartupPacket packet;
  std::string error;
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(inbuf_.data()), inbuf_.size());
  auto status = wire::decodeStartup(bytes, packet, error);
  if (status == wire::DecodeStatus::kNeedMore) return false;
  if (status != wire::DecodeStatus::kOk) {
    LOG_WARNING("C-%llu %s: bad startup packet: %s", (unsigned long long)id(), peer_.c_str(),
                error.c_str());
    fail(wire::sqlstate::kProtocolViolation, error.empty() ? "bad startup packet" : error,
         "bad startup packet");
    return false;
  }
  inbuf_.erase(0, packet.consumed);
  if (packet.kind == wire::StartupPacket::Kind::kSslRequest ||
      packet.kind == wire::StartupPacket::Kind::kGssEncRequest) {
    bool& requested_before =
        packet.kind == wire::StartupPacket::Kind::kSslRequest ? ssl_requested_ : gss_requested_;
    if (requested_before) {
      fail(wire::sqlstate::kProtocolViolation, "encryption was already negotiated",
           "repeated SSLRequest or GSSENCRequest");
      return false;
    }
    requested_before = true;
  }
  switch (packet.kind) {
    case wire::StartupPacket::Kind::kSslRequest:
      return answerSslRequest();
    case wire::StartupPacket::Kind::kGssEncRequest:
      send(std::string_view("N", 1));  // GSS encryption is not offered
      return true;
    case wire::StartupPacket::Kind::kCancelRequest:
      pooler_.forwardCancel(packet.cancel_pid, packet.cancel_key);
      disconnect("cancel request handled");
      return false;
    case wire::StartupPacket::Kind::kStartup:
      break;
  }
  if (!inbuf_.empty()) {
    fail(wire::sqlstate::kProtocolViolation, "unexpected data after startup packet",
         "data after startup packet");
    return false;
  }
  user_ = std::string(packet.param("user"));
  database_ = std::string(packet.param("database"));
  if (database_.empty()) database_ = user_;
  if (!tls() && transport() == Transport::kTcp &&
      pooler_.tlsContexts().client_mode >= tls::SslMode::kRequire) {
    fail(wire::sqlstate::kInvalidAuthorization, "SSL required",
         "plain-text login refused (client_tls_sslmode)");
    return false;
  }
  if (packet.minorVersion() > 0 || !packet.protocol_options.empty()) {
    send(wire::negotiateProtocolVersion(0, packet.protocol_options));
  }
  if (admin::isConsoleDatabase(pooler_.config(), database_)) {
    if (!acceptStartupParameters(packet.params)) return false;
    beginAdminLogin();
    return true;
  }
  if (!acceptStartupParameters(packet.params) || !checkLimits()) return false;
  beginAuth();
  return true;
}

// TLS is offered on TCP when client_tls_sslmode is not disable. Anything the client sent
// after its SSLRequest and before the handshake would be plain text that a man in the middle
// could have injected (CVE-2021-23214): such a client is refused.
bool ClientSession::answerSslRequest() {
  const TlsContexts& contexts = pooler_.tlsContexts();
  // (A second SSLRequest, inside TLS or not, never gets here: handleStartupPacket refuses it.)
  if (transport() != Transport::kTcp || !contexts.client) {
    send(std::string_view("N", 1));
    return true;
  }
  if (!inbuf_.empty()) {
    fail(wire::sqlstate::kProtocolViolation, "unexpected data after SSLRequest",
         "data after SSLRequest");
    return false;
  }
  send(std::string_view("S", 1));
  std::string error;
  if (!startTls(contexts.client, {}, error)) {
    LOG_WARNING("C-%llu %s: TLS setup failed: %s", (unsigned long long)id(), peer_.c_str(),
                error.c_str());
    disconnect("TLS setup failed");
    return false;
  }
  return true;
}

void ClientSession::onTlsFailed(const std::string& error) {
  if (closing()) return;
  LOG_WARNING("C-%llu %s: TLS: %s", (unsigned long long)id(), peer_.c_str(), error.c_str());
  releaseServer(false);  // a reply may be half-relayed: the link is not clean
  disconnect("TLS failure");
}

bool ClientSession::acceptStartupParameters(
    const std::vector<std::pair<std::string, std::string>>& params) {
  const auto& ignored = pooler_.settings().ignore_startup_parameters;
  // options first: as in PostgreSQL, a parameter the packet names itself wins over options.
  for (const auto& [name, value] : params)
    if (name == "options" && !acceptStartupOptions(value)) return false;
  for (const auto& [name, value] : params) {
    if (name == "user" || name == "database" || name == "options") continue;
    if (tracked_.set(name, value)) continue;
    if (listContains(ignored, name)) continue;
    fail(wire::sqlstate::kProtocolViolation, "unsupported startup parameter: " + name,
         "unsupported startup parameter");
    return false;
  }
  // application_name_add_host: PgBouncer's "<name> - <address>:<port>", "app" when unnamed,
  // so server-side logs and pg_stat_activity show which client a session serves.
  if (pooler_.settings().application_name_add_host) {
    std::string name = "app";
    if (int i = indexOfParameter(tracked_.names(), "application_name");
        i >= 0 && tracked_.has(static_cast<size_t>(i)) &&
        !tracked_.value(static_cast<size_t>(i)).empty())
      name = tracked_.value(static_cast<size_t>(i));
    tracked_.set("application_name", name + " - " + peer_);
  }
  return true;
}

// options=-c name=value (PGOPTIONS): tracked settings are kept like startup parameters, as
// PgBouncer keeps them. Others are refused unless ignore_startup_parameters names them or
// "options" itself; with "options" listed, a value that holds other switches is let through
// unread, as before PgBouncer read it.
bool ClientSession::acceptStartupOptions(std::string_view text) {
  const auto& ignored = pooler_.settings().ignore_startup_parameters;
  bool options_ignored = listContains(ignored, "options");
  auto options = parseStartupOptions(text);
  if (!options) {
    if (options_ignored) return true;
    fail(wire::sqlstate::kProtocolViolation,
         "unsupported options startup parameter: only '-c config=val' is allowed",
         "unsupported startup parameter");
    return false;
  }
  for (const auto& [name, value] : *options) {
    if (tracked_.set(name, value) || options_ignored || listContains(ignored, name)) continue;
    fail(wire::sqlstate::kProtocolViolation, "unsupported startup parameter in options: " + name,
         "unsupported startup parameter");
    return false;
  }
  return true;
}

bool ClientSession::checkLimits() {
  const auto& s = pooler_.settings();
  if (pooler_.shutdownMode() != ShutdownMode::kNone) {
    fail(wire::sqlstate::kCannotConnectNow, "pooler is shutting down", "shutting down");
    return false;
  }
  // PgBouncer's words and SQLSTATE for its limits (08P01): a migrated application's retry
  // logic and log monitoring match on them.
  if (s.max_client_conn > 0 && pooler_.clientCount() > static_cast<size_t>(s.max_client_conn)) {
    fail(wire::sqlstate::kProtocolViolation, "no more connections allowed (max_client_conn)",
         "max_client_conn reached");
    return false;
  }
  // A listed database is shared with its config, not copied (every login passes here); the
  // "*" fallback makes an entry of its own.
  const auto& config = pooler_.sharedConfig();
  if (auto listed = config->databases.find(database_); listed != config->databases.end())
    db_ = std::shared_ptr<const config::DatabaseConfig>(config, &listed->second);
  else if (auto db = config->findDatabase(database_))
    db_ = std::make_shared<const config::DatabaseConfig>(std::move(*db));
  if (!db_) {
    fail(wire::sqlstate::kInvalidCatalogName, "no such database: " + database_, "no such database");
    return false;
  }
  if (pooler_.pauseState().disabled(database_)) {
    fail(wire::sqlstate::kProtocolViolation, "database \"" + database_ + "\" is disabled",
         "database disabled");
    return false;
  }
  int max_db = config::setOr(db_->max_db_client_connections, s.max_db_client_connections);
  int max_user = config::userSetOr(pooler_.config().findUser(user_),
                                   &config::UserConfig::max_user_client_connections,
                                   s.max_user_client_connections);
  if (max_db > 0 && pooler_.dbCounts(database_).clients >= max_db) {
    fail(wire::sqlstate::kProtocolViolation,
         "client connections exceeded (max_db_client_connections)", "max_db_client_connections");
    return false;
  }
  if (max_user > 0 && pooler_.userCounts(user_).clients >= max_user) {
    fail(wire::sqlstate::kProtocolViolation,
         "client connections exceeded (max_user_client_connections)",
         "max_user_client_connections");
    return false;
  }
  pooler_.dbCounts(database_).clients++;
  pooler_.userCounts(user_).clients++;
  counted_ = true;
  return true;
}

void ClientSession::beginAuth() {
  config::AuthType auth_type = pooler_.settings().auth_type;
  if (auth_type == config::AuthType::kHba || auth_type == config::AuthType::kCert) {
    // The first matching auth_hba_file line picks this login's method (or refuses it); cert
    // checks the client certificate's name.
    HbaLogin login =
        describeHbaLogin(stream(), transport() == Transport::kUnix, tls(), database_, user_);
    HbaDecision hba = auth_type == config::AuthType::kHba
                          ? decideHbaLogin(pooler_.hbaRules(), login)
                          : decideCertLogin(login, nullptr, {}, "auth_type = cert");
    if (hba.refused) {
      LOG_WARNING("C-%llu %s/%s@%s: login rejected: %s", (unsigned long long)id(),
                  database_.c_str(), user_.c_str(), peer_.c_str(), hba.reason.c_str());
      fail(hba.sqlstate, hba.message, "login rejected");
      return;
    }
    LOG_DEBUG("C-%llu %s/%s@%s: auth method %s", (unsigned long long)id(), database_.c_str(),
              user_.c_str(), peer_.c_str(), hba.reason.c_str());
    auth_type = hba.auth_type;
  }
  setState(State::kAuth);
  const auth::Secret* secret = pooler_.authFile().find(user_);
  if (secret == nullptr && startAuthLookup(auth_type)) return;  // runAuthExchange follows
  runAuthExchange(auth_type, secret);
}

// `secret`: the user's auth_file entry, the one auth_query found, or nullptr (unknown user:
// the exchange still runs and fails as a wrong password does).
void ClientSession::runAuthExchange(config::AuthType auth_type, const auth::Secret* secret) {
  bool have_auth_file = !pooler_.settings().auth_file.empty() || secret != nullptr;
  auth_ = std::make_unique<ClientAuth>(auth_type, user_, secret, have_auth_file);
  ClientAuth::Step step = auth_->start();
  if (step.kind == ClientAuth::Step::Kind::kSend) {
    send(step.bytes);
    return;
  }
  if (step.kind == ClientAuth::Step::Kind::kFailure) {
    LOG_WARNING("C-%llu %s/%s@%s: login failed: %s", (unsigned long long)id(), database_.c_str(),
                user_.c_str(), peer_.c_str(), step.reason.c_str());
    fail(step.sqlstate, "password authentication failed for user \"" + user_ + "\"",
         "login failed");
    return;
  }
  authSucceeded({});
}

void ClientSession::handleAuthMessage(char, std::span<const uint8_t> body) {
  ClientAuth::Step step = auth_->onPasswordMessage(body);
  switch (step.kind) {
    case ClientAuth::Step::Kind::kSend:
      send(step.bytes);
      return;
    case ClientAuth::Step::Kind::kFailure:
      LOG_WARNING("C-%llu %s/%s@%s: login failed: %s", (unsigned long long)id(), database_.c_str(),
                  user_.c_str(), peer_.c_str(), step.reason.c_str());
      fail(step.sqlstate, "password authentication failed for user \"" + user_ + "\"",
           "login failed");
      return;
    case ClientAuth::Step::Kind::kSuccess:
      authSucceeded(std::move(step.bytes));
      return;
  }
}

// `reply` holds what the exchange still owes the client (SCRAM's final message). It goes out
// with AuthenticationOk and, when the pool can welcome without a link, the whole welcome, in
// one write: one wake-up for the client instead of several.
void ClientSession::authSucceeded(std::string reply) {
  std::optional<auth::ScramKeys> proven_keys;
  if (auth_) proven_keys = auth_->provenScramKeys();
  auth_.reset();
  if (pooler_.settings().log_connections)
    LOG_INFO("C-%llu %s/%s@%s login attempt: db=%s user=%s", (unsigned long long)id(),
             database_.c_str(), user_.c_str(), peer_.c_str(), database_.c_str(), user_.c_str());
  reply += wire::authenticationOk();
  cancel_key_ = pooler_.registerCancelKey(this);
  if (admin_login_) {
    finishAdminLogin(std::move(reply));
    return;
  }
  // A RELOAD during the login may have removed the database (its pool, if it has one, refuses
  // links: Pool::markRemoved).
  if (const auto& databases = pooler_.config().databases;
      !databases.contains(database_) && !databases.contains("*")) {
    fail(wire::sqlstate::kProtocolViolation, "no such database: " + database_, "no such database");
    return;
  }
  std::string server_user = db_->user.empty() ? user_ : db_->user;
  pool_ = &pooler_.poolFor(*db_, server_user);
  db_.reset();
  if (server_user == user_) {
    if (proven_keys) pool_->rememberScramKeys(std::move(*proven_keys));
    if (auth_lookup_ && auth_lookup_->secret)
      pool_->rememberLookedUpSecret(std::move(auth_lookup_->secret->text));
  }
  auth_lookup_.reset();
  // Login bytes are consumed; an idle client keeps no buffer.
  if (inbuf_.empty()) inbuf_.shrink_to_fit();
  if (const auto* params = pool_->welcomeParameters()) {
    send(welcomeMessages(*params, std::move(reply)));
    welcome_sent_ = true;
    setState(State::kLoggedIn);
    if (!inbuf_.empty()) requestLink();  // the client did not wait for ReadyForQuery
    return;
  }
  send(reply);
  requestLink();  // (does nothing if that send failed and closed the session)
}

// As PgBouncer: user "pgbouncer" over the Unix socket from the OS user running the pooler
// needs no password; anyone else logs in as usual and must be in admin_users or stats_users.
void ClientSession::beginAdminLogin() {
  admin_login_ = true;
  // Not limited by max_client_conn, as in PgBouncer: an operator gets in when the pooler is
  // full, which is when the console is needed.
  const auto& s = pooler_.settings();
  if (user_ == "pgbouncer" && transport() == Transport::kUnix && admin::peerIsOwnUser(stream())) {
    own_user_ = true;
    if (s.log_connections)
      LOG_INFO("C-%llu pgbouncer access from unix socket", (unsigned long long)id());
    authSucceeded({});
    return;
  }
  beginAuth();
}

void ClientSession::finishAdminLogin(std::string reply) {
  admin::Role role = own_user_ ? admin::Role::kAdmin : admin::roleOf(pooler_.settings(), user_);
  if (role == admin::Role::kNone) {
    fail(wire::sqlstate::kProtocolViolation, "not allowed", "not allowed");
    return;
  }
  admin_ = std::make_unique<admin::AdminSession>(pooler_, *this, role);
  send(reply + admin::welcomeMessages(cancel_key_));
  welcome_sent_ = true;
  setState(State::kLoggedIn);
  if (!inbuf_.empty()) {
    std::string early = std::move(inbuf_);
    inbuf_.clear();
    admin_->onData(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(early.data()), early.size()));
    keepSpareBuffer(std::move(early));
  }
}

void ClientSession::requestLink() {
  if (closing()) return;  // a pool must never queue a session that is going away
  wait_notified_ = false;
  setState(State::kWaitingLink);
  wait_start_ms_ = uv_now(loop());
  pool_->requestServer(this);
}

std::string ClientSession::setStatementsFor(ServerLink& server) const {
  std::string resets, sets;
  const auto& have = server.trackedView(tracked_.namesRef());
  for (size_t i = 0; i < tracked_.size(); ++i) {
    const std::string& name = tracked_.names()[i];
    const std::string* current = have.values[i];
    if (!tracked_.has(i)) {
      // Another client's startup value the server never reported: back to the default.
      bool reported = (have.reported_mask >> i) & 1u;
      if (!reported && current != nullptr) resets += "RESET " + name + ";";
      continue;
    }
    const std::string& value = tracked_.value(i);
    if (current != nullptr && *current == value) continue;
    // set_config() takes the value as the server reports it and as a startup packet gives it.
    // SET would take a quoted list such as search_path's '"$user", public' as one schema name.
    auto setConfig = [&](std::string_view to) {
      sets += sets.empty() ? "SELECT " : ", ";
      sets += "pg_catalog.set_config(" + quoteLiteral(name) + ", " + quoteLiteral(to) + ", false)";
    };
    // DateStyle is two settings in one (output format, day/month order): a value that names one
    // ("ISO", as pgjdbc sends) keeps the link's other, which an earlier client may have changed.
    // The server's default goes first, so the link ends as a direct login with this value would.
    if (strcasecmp(name.c_str(), "DateStyle") == 0 && pool_->welcomeParameters() != nullptr)
      if (const std::string* base = findParameter(*pool_->welcomeParameters(), name);
          base != nullptr && *base != value)
        setConfig(*base);
    setConfig(value);
  }
  return sets.empty() ? resets : resets + sets + ";";
}

void ClientSession::onServerAssigned(ServerLink* server) {
  if (auth_lookup_ && !auth_lookup_->answered) {
    onAuthLookupLink(server);
    return;
  }
  DatabaseStats& stats = pool_->stats();
  stats.server_assignment_count++;
  stats.wait_time_us += (uv_now(loop()) - wait_start_ms_) * 1000;
  server_ = server;
  server->linkTo(this);
  setState(State::kLinking);
  // A client still to be welcomed gets the pool's parameters, not this link's: an earlier
  // client may have SET some there, and this one would take them for its own. Its unset
  // tracked values are adopted here, so the statements below put the link back to them.
  std::string welcome;
  if (!welcome_sent_ && pool_->welcomeParameters() != nullptr)
    welcome = welcomeMessages(*pool_->welcomeParameters());
  std::string sql = setStatementsFor(*server);
  if (sql.empty()) {
    finishLinking(std::move(welcome));
    return;
  }
  LOG_DEBUG("C-%llu setting up S-%llu: %s", (unsigned long long)id(),
            (unsigned long long)server->id(), sql.c_str());
  server->runInternalQuery(
      sql, [this, welcome = std::move(welcome)](bool ok, const std::string& error) mutable {
        if (!ok) {
          // The server's own code (22023 for a time zone it does not know), as a direct login
          // gets it. The statements ran as one implicit transaction that the error rolled back,
          // so the link is as it was and stays in the pool.
          // Both copied first: the released link may start its next internal query (the
          // reset query, another client's settings) at once, and `error` is the link's.
          std::string code = server_->internalErrorCode();
          std::string message = error;
          releaseServer(server_->isClean());
          fail(code.empty() ? wire::sqlstate::kProtocolViolation : code, message,
               "setting startup parameters failed");
          return;
        }
        // A setting the server does not report (no ParameterStatus) is remembered on the link as
        // we set it, so the next client knows what to SET or RESET. One it reports, the client
        // takes in the server's spelling ("ISO" is "ISO, MDY", "utc" is "UTC"): kept in its own,
        // it would never match a link and be set again before every transaction.
        const auto& have = server_->trackedView(tracked_.namesRef());
        for (size_t i = 0; i < tracked_.size(); ++i) {
          const std::string& name = tracked_.names()[i];
          if ((have.reported_mask >> i) & 1u) {
            if (tracked_.has(i) && have.values[i] != nullptr) tracked_.setAt(i, *have.values[i]);
            continue;
          }
          if (tracked_.has(i))
            server_->rememberSetting(name, tracked_.value(i));
          else
            server_->forgetSetting(name);
        }
        finishLinking(std::move(welcome));
      });
}

void ClientSession::finishLinking(std::string welcome) {
  bool for_login = !welcome_sent_;
  server_->linkTo(this);
  setState(State::kActive);
  if (!welcome_sent_) {
    // Without the pool's welcome (a link that logged in before a RELOAD changed the login),
    // the link's own parameters.
    send(welcome.empty() ? welcomeMessages(server_->parameters()) : std::move(welcome));
    welcome_sent_ = true;
    if (closing()) return;  // the client is gone (the send failed); the link went back
  }
  startReading();
  if (!inbuf_.empty()) {
    std::string early = std::move(inbuf_);
    inbuf_.clear();
    relayToServer(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(early.data()), early.size()));
    keepSpareBuffer(std::move(early));
  }
  if (intercept_ && state_ == State::kActive) processHeld();
  // Transaction pooling: a client that only logged in (the pool had no parameters to welcome
  // it with yet) must not keep the link while it sits idle.
  if (for_login && state_ == State::kActive && server_->freeForPool()) onTransactionEnd();
}

// The server's parameters, with the values this client asked for at startup: those are what
// its link will be SET to before any of its queries run. Only what the server reports is
// reported back; a tracked name the server keeps quiet about (search_path before PostgreSQL
// 18, say) is applied but not announced.
// Tracked parameters the client did not set take the server's value, so a later link that
// another client changed is put back to what this client saw. So in session pooling too, as
// PgBouncer does: server_reset_query may not reset them (it is configurable, and may be
// empty), and a RELOAD may switch the pool to transaction pooling under connected clients.
std::string ClientSession::welcomeMessages(const std::map<std::string, std::string>& server_params,
                                           std::string prefix) {
  // Every login builds this: one pass over the parameters, into one buffer sized once.
  constexpr size_t kWelcomeSizeHint = 512;
  std::string out = std::move(prefix);
  out.reserve(out.size() + kWelcomeSizeHint);
  // The pool's welcome parameters never change once set, so what they encode to for a given
  // set of client values is kept (the first logins, welcomed from a link, are not cached).
  WelcomeCache* cache =
      &server_params == pool_->welcomeParameters() ? &pool_->welcomeCache() : nullptr;
  if (const WelcomeCache::Entry* hit = cache != nullptr ? cache->find(tracked_) : nullptr) {
    out += hit->encoded;
    for (const auto& [index, value] : hit->adopted) tracked_.setAt(index, value);
  } else {
    std::optional<WelcomeCache::Entry> entry;  // what the cache keeps of this one
    if (cache != nullptr) entry.emplace(WelcomeCache::Entry{tracked_, {}, {}});
    size_t encoded_from = out.size();
    for (const auto& [name, value] : server_params) {
      std::string_view shown = value;
      if (int i = indexOfParameter(tracked_.names(), name); i >= 0) {
        auto index = static_cast<size_t>(i);
        if (tracked_.has(index)) {
          shown = tracked_.value(index);
        } else {
          tracked_.setAt(index, value);
          if (entry) entry->adopted.emplace_back(index, value);
        }
      }
      wire::appendParameterStatus(out, name, shown);
    }
    if (entry) {
      entry->encoded = out.substr(encoded_from);
      cache->store(std::move(*entry));
    }
  }
  wire::appendBackendKeyData(out, static_cast<uint32_t>(cancel_key_ >> 32),
                             static_cast<uint32_t>(cancel_key_));
  wire::appendReadyForQuery(out, 'I');
  return out;
}

void ClientSession::relayToServer(std::span<const uint8_t> data) {
  ClientRequests requests = requests_;
  requests.expected_ready = 0;
  requests.simple_query = false;
  size_t capacity = pool_->preparedStatementCapacity();
  if (capacity == 0) {
    RelayVisitor visitor{requests};
    auto result = scanner_.feed(data, visitor);
    forwardScanned(data, result, requests);
    return;
  }
  if (!prepared_) prepared_ = std::make_unique<PreparedRelay>(pooler_.statementRegistry());
  static std::string to_server, to_client;  // single-threaded loop: shared by all clients
  to_client.clear();
  auto outcome = prepared_->relay(
      data, scanner_,
      {server_->preparedStatements(), server_->replies(), capacity, server_->transactionStatus()},
      requests, to_server, to_client);
  if (!to_client.empty()) {
    if (!send(to_client)) return;
    if (intercept_)
      countReplies(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(to_client.data()),
                                            to_client.size()));
    // These answers never pass through the server, so its backpressure does not bound them:
    // a client that sends without reading is not read either until it has taken them.
    if (queuedBytes() > 0 && !closing()) {
      answers_backed_up_ = true;
      stopReading();
    }
  }
  // Answers the pooler owes behind a reply the server has not sent yet (a Close after a long
  // query) wait in the link's reply queue, where neither backpressure reaches them: past a
  // bound the client is not read until the server's replies have brought the queue down.
  if (server_->replies().size() > kMaxOwedReplies && !closing()) {
    replies_backed_up_ = true;
    stopReading();
  }
  // The chunk is consumed: what remains to forward is the edited stream, up to any Terminate.
  auto result = outcome.scan;
  if (result.status == MessageScanner::Result::Status::kStopped)
    result.offset = outcome.to_server.size();
  bool answered = !to_client.empty();
  forwardScanned(outcome.to_server, result, outcome.requests);
  if (answered && server_ != nullptr) server_->notePoolerAnswered();
}

void ClientSession::forwardScanned(std::span<const uint8_t> data, MessageScanner::Result result,
                                   const ClientRequests& requests) {
  using Status = MessageScanner::Result::Status;
  requests_ = requests;
  if (requests.simple_query && pooler_.settings().disable_pqexec) {
    releaseServer(false);  // earlier messages of the chunk may be half-way
    refuseSimpleQuery();
    return;
  }
  size_t forward = result.status == Status::kStopped ? result.offset : data.size();
  if (result.status == Status::kTooLarge || result.status == Status::kMalformed) {
    // Part of the bad packet may have reached the server: the link cannot be trusted.
    releaseServer(false);
    fail(result.status == Status::kTooLarge ? wire::sqlstate::kProgramLimitExceeded
                                            : wire::sqlstate::kProtocolViolation,
         result.status == Status::kTooLarge ? "packet exceeds max_packet_size"
                                            : "invalid packet length",
         "bad packet from client");
    return;
  }
  server_->forwardFromClient(data.first(forward), requests.expected_ready, requests.extended_open);
  if (result.status == Status::kStopped) {
    disconnect("client close request");
    return;
  }
  if (server_ != nullptr && server_->queuedBytes() > 0) stopReading();
}

void ClientSession::relayFromServer(std::span<const uint8_t> bytes) {
  if (intercept_) {
    relayInterceptedReplies(bytes);
    return;
  }
  if (!send(bytes)) return;
  if (queuedBytes() > 0 && server_ != nullptr) server_->stopReading();
}

void ClientSession::onDrained() {
  if (server_ != nullptr && state_ == State::kActive) server_->startReading();
  if (answers_backed_up_) {
    answers_backed_up_ = false;
    // Unless the link is full as well (onServerDrained resumes reading then) or a synced write
    // runs (its end does).
    bool write_running = intercept_ && intercept_->write;
    if (!write_running && !replies_backed_up_ &&
        (server_ == nullptr || server_->queuedBytes() == 0))
      startReading();
  }
}

void ClientSession::onServerDrained() {
  // Not while the pooler's own answers wait (onDrained and onOwedRepliesFell resume then).
  if (state_ == State::kActive && !answers_backed_up_ && !replies_backed_up_) startReading();
}

void ClientSession::onOwedRepliesFell() {
  replies_backed_up_ = false;
  bool write_running = intercept_ && intercept_->write;
  if (!answers_backed_up_ && !write_running && state_ == State::kActive &&
      (server_ == nullptr || server_->queuedBytes() == 0))
    startReading();
}

void ClientSession::onServerLost(const char* reason, std::string_view sqlstate,
                                 std::string_view message) {
  server_ = nullptr;
  if (auth_lookup_) auth_lookup_->link = nullptr;  // the link is going away by itself
  fail(sqlstate, message, reason);
}

void ClientSession::notifyWaiting() {
  // Only a welcomed client can take a notice: one still logging in (waiting for the pool's
  // first link, or for its auth_query lookup) expects an authentication message next.
  if (wait_notified_ || !welcome_sent_) return;
  wait_notified_ = true;
  wire::ErrorSpec notice;
  notice.severity = "NOTICE";
  notice.sqlstate = "00000";
  // PgBouncer's words (its "postgres backend" is literal), which monitoring may look for.
  notice.message = "No server connection available in postgres backend, client being queued";
  send(wire::noticeResponse(notice));
}

void ClientSession::onTransactionEnd() {
  if (!scanner_.atBoundary()) return;  // the client is mid-message: keep the link
  releaseServer(true);
  setState(State::kLoggedIn);
}

void ClientSession::rememberParameter(std::string_view name, std::string_view value) {
  tracked_.set(name, value);
}

void ClientSession::forgetPreparedStatements(std::span<const std::string_view> prepared_since) {
  if (prepared_) prepared_->forgetAllBut(prepared_since);
}

void ClientSession::forgetPreparedStatement(std::string_view name) {
  if (prepared_) prepared_->forget(name);
}

void ClientSession::restorePreparedStatement(std::string_view name, StatementRef statement) {
  if (prepared_) prepared_->restore(name, std::move(statement));
}

void ClientSession::releaseServer(bool clean) {
  if (server_ == nullptr) return;
  ServerLink* server = server_;
  server_ = nullptr;
  server->unlink();
  pool_->releaseServer(server, clean && scanner_.atBoundary());
}

void ClientSession::fail(std::string_view sqlstate, std::string_view message, const char* reason) {
  if (closing()) return;
  if (pooler_.settings().log_pooler_errors)
    LOG_WARNING("C-%llu %s/%s@%s pooler error: %.*s", (unsigned long long)id(), database_.c_str(),
                user_.c_str(), peer_.c_str(), (int)message.size(), message.data());
  wire::ErrorSpec spec;
  spec.severity = "FATAL";
  spec.sqlstate = sqlstate;
  spec.message = message;
  send(wire::errorResponse(spec));
  disconnect(reason);
}

void ClientSession::disconnect(const char* reason) {
  if (closing()) return;
  if (state_ == State::kWaitingLink && pool_ != nullptr) pool_->cancelRequest(this);
  abandonAuthLookup();
  releaseServer(true);
  if (pooler_.settings().log_disconnections && state_ != State::kStartup)
    LOG_INFO("C-%llu %s/%s@%s closing because: %s", (unsigned long long)id(), database_.c_str(),
             user_.c_str(), peer_.c_str(), reason);
  setState(State::kClosing);
  close();
}

// disable_pqexec: as PgBouncer, a Query message ends the session; the simple protocol carries
// several statements in one message, which some SQL injections need.
void ClientSession::refuseSimpleQuery() {
  LOG_WARNING("C-%llu %s/%s@%s: client used a simple Query (disable_pqexec)",
              (unsigned long long)id(), database_.c_str(), user_.c_str(), peer_.c_str());
  fail(wire::sqlstate::kProtocolViolation, "PQexec disallowed", "PQexec disallowed");
}

void ClientSession::onReadEnd(int status) {
  disconnect(status == UV_EOF ? "client unexpected eof" : uv_strerror(status));
}

void ClientSession::onWriteFailed(int status) {
  if (closing()) return;
  // Give the link back only if it is clean; a half-sent reply means it is not.
  releaseServer(false);
  disconnect(uv_strerror(status));
}

void ClientSession::onClosed() {
  if (counted_) {
    pooler_.dbCounts(database_).clients--;
    pooler_.userCounts(user_).clients--;
  }
  pooler_.clientClosed(this);  // deletes *this
}

}  // namespace apibouncer
