// ServerLink: connecting, logging in to PostgreSQL, internal queries and relaying (server.h).
#include "pooler/server.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "pooler/auth/md5.h"
#include "pooler/auth/scram.h"
#include "pooler/cancel.h"
#include "pooler/client.h"
#include "pooler/config/config.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/socket_address.h"
#include "pooler/wire/backend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
namespace {

std::string_view asText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The CommandComplete tag of a command that drops every prepared statement of the session.
bool dropsAllStatementsTag(std::string_view tag) {
  using namespace std::string_view_literals;
  return tag == "DISCARD ALL\0"sv || tag == "DEALLOCATE ALL\0"sv;
}

// Whether `text` holds `what` (written in upper case), in any case.
bool containsUpper(std::string_view text, std::string_view what) {
  return std::search(text.begin(), text.end(), what.begin(), what.end(), [](char a, char b) {
           return std::toupper(static_cast<unsigned char>(a)) == b;
         }) != text.end();
}

// SQL the pooler runs itself (server_reset_query) that drops every prepared statement.
bool dropsAllStatements(std::string_view text) {
  return containsUpper(text, "DISCARD ALL") || containsUpper(text, "DEALLOCATE ALL");
}

// SQL the pooler runs itself (server_reset_query) that puts every setting back to its default.
bool resetsAllSettings(std::string_view text) {
  return containsUpper(text, "DISCARD ALL") || containsUpper(text, "RESET ALL");
}

}  // namespace

// While linked: the bytes go to the client untouched; ReadyForQuery and ParameterStatus are
// read on the way so the link knows when it is clean and what the session looks like. When
// prepared statements are tracked, every reply is matched to its request so the pooler's own
// requests are answered to nobody and the pooler's answers land in their place.
// Two instantiations: the pass-through one has no offsets and no end hook, so it costs no
// more than a plain scan.
template <bool kTracking>
struct ServerLink::ActiveVisitor {
  ServerLink& link;
  size_t base = 0;  // where in the chunk the bytes this visitor reads begin
  static MessageScanner::Action passThroughAction(char type) {
    if (type == wire::be::kReadyForQuery || type == wire::be::kParameterStatus ||
        type == wire::be::kCopyInResponse || type == wire::be::kCopyBothResponse)
      return MessageScanner::Action::kCapture;
    return MessageScanner::Action::kSkip;
  }
  // A reply that answers a request: not a row or a copy chunk along the way, nor a notice,
  // notification or parameter report (query_timeout, see forwardFromClient).
  static bool answersRequest(char type) {
    namespace be = wire::be;
    return type != be::kDataRow && type != be::kNoticeResponse &&
           type != be::kNotificationResponse && type != be::kParameterStatus &&
           type != be::kCopyData;
  }
  MessageScanner::Action onType(char type) requires(!kTracking) {
    if (answersRequest(type)) link.replied_since_send_ = true;
    // The client queued requests whose replies need editing: the rest of the chunk is read
    // by the tracking visitor, from this message on.
    if (!link.replies_.onlyReadyTerminated()) return MessageScanner::Action::kStop;
    // DEALLOCATE ALL / DISCARD ALL must be seen whenever statements are tracked.
    if (type == wire::be::kCommandComplete && link.pool_.preparedStatementCapacity() > 0)
      return MessageScanner::Action::kCapture;
    return passThroughAction(type);
  }
  MessageScanner::Action onType(char type, size_t offset) requires kTracking {
    if (answersRequest(type)) link.replied_since_send_ = true;
    if (link.replies_.onReplyStart(type)) link.editor_.cutFrom(base + offset);
    if (type == wire::be::kCommandComplete) return MessageScanner::Action::kCapture;
    return passThroughAction(type);
  }
  void onEnd(char type, size_t end) requires kTracking {
    end += base;
    if (link.editor_.cutting()) link.editor_.resumeAt(end);
    static std::string answers;  // single-threaded loop: one buffer for every link
    answers.clear();
    link.replies_.onReplyEnd(type, answers);
    // At once, before a later message of this chunk (a DEALLOCATE ALL) changes the books.
    if (link.replies_.hasUndos()) link.applyUndos();
    if (!answers.empty()) link.editor_.insert(end, answers);
  }
  void onMessage(char type, std::span<const uint8_t> body) {
    if (type == wire::be::kCommandComplete) {
      // DEALLOCATE ALL / DISCARD ALL from the client: the link and the client start over
      // from what the requests behind it prepared.
      if (!dropsAllStatementsTag(asText(body))) return;
      auto kept = link.replies_.onDropAll();
      link.prepared_.retainOnly(kept.on_link);
      if (link.client_ != nullptr) link.client_->forgetPreparedStatements(kept.client_names);
      return;
    }
    if (type == wire::be::kCopyInResponse || type == wire::be::kCopyBothResponse) {
      link.onCopyIn();
      return;
    }
    if (type == wire::be::kReadyForQuery) {
      wire::ReadyForQueryMsg msg;
      if (wire::decodeReadyForQuery(body, msg)) {
        link.countQueryEnd(msg.status);
        link.setTransactionStatus(msg.status);
        // A tracked setting the server does not report may have changed unseen (SET, a
        // function calling set_config()): after each transaction, the next client on the
        // link gets its own value set again.
        if (msg.status == 'I' && link.tracks_unreported_ && link.client_ != nullptr)
          link.markUnreportedSettingsUnknown(link.client_->trackedParameters().names());
      }
      link.copy_in_ = false;
      if (link.pending_ready_ > 0 && --link.pending_ready_ > 0) {
        // The next statement the client pipelined starts now: query_timeout counts from here.
        link.busy_since_ms_ = uv_now(link.loop());
        link.cancel_sent_ = false;
      }
      if constexpr (!kTracking) link.replies_.onReadyForQuery();
      return;
    }
    wire::ParameterStatusMsg msg;
    if (!link.recordParameter(body, msg)) return;
    // The client changed a setting (SET ...): later links must get it too.
    if (link.client_ != nullptr) link.client_->rememberParameter(msg.name, msg.value);
  }
};

ServerLink::ServerLink(uv_loop_t* loop, Pool& pool, Transport transport)
    : Connection(loop, transport), pool_(pool) {
  created_at_ms_ = last_used_ms_ = uv_now(loop);
}

ServerLink::~ServerLink() {
  for (CancelLink* cancel : cancels_) cancel->detach();
}

void ServerLink::cancelFinished(CancelLink* cancel) {
  std::erase(cancels_, cancel);
  if (!cancels_.empty() || parked_since_ms_ == 0 || closing()) return;
  parked_since_ms_ = 0;
  pool_.releaseServer(this, true);
}

void ServerLink::parkUntilCanceled() {
  parked_since_ms_ = std::max<uint64_t>(1, uv_now(loop()));
}

void ServerLink::setState(State state) {
  state_ = state;
}

void ServerLink::connectTo(const std::string& host, int port) {
  host_ = host;
  port_ = port;
  if (transport() == Transport::kUnix) {
    std::string path = host + "/.s.PGSQL." + std::to_string(port);
    connect_req_.data = this;
    uv_pipe_connect(&connect_req_, reinterpret_cast<uv_pipe_t*>(stream()), path.c_str(), connectCb);
    return;
  }
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    connectToAddress(reinterpret_cast<sockaddr*>(&addr));
    return;
  }
  const config::Settings& s = pool_.pooler().settings();
  dns_ticket_ = pool_.pooler().dnsCache().resolve(
      host, s.dns_max_ttl, s.dns_nxdomain_ttl,
      [this](int status, const std::vector<sockaddr_storage>& addrs) {
        dns_ticket_ = 0;
        onResolved(status, addrs);
      });
}

// The first address, as getaddrinfo ordered them (RFC 6724).
void ServerLink::onResolved(int status, const std::vector<sockaddr_storage>& addrs) {
  if (status != 0) {
    failLogin(std::string(wire::sqlstate::kConnectionFailure),
              "could not resolve " + host_ + ": " + uv_strerror(status));
    return;
  }
  sockaddr_storage addr = withPort(addrs.front(), port_);
  connectToAddress(reinterpret_cast<const sockaddr*>(&addr));
}

void ServerLink::connectToAddress(const sockaddr* addr) {
  auto* tcp = reinterpret_cast<uv_tcp_t*>(stream());
  uv_tcp_nodelay(tcp, 1);
  uv_tcp_keepalive(tcp, 1, 60);
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, tcp, addr, connectCb);
  if (rc != 0)
    failLogin(std::string(wire::sqlstate::kConnectionFailure),
              std::string("could not connect to server: ") + uv_strerror(rc));
}

void ServerLink::connectCb(uv_connect_t* req, int status) {
  auto* link = static_cast<ServerLink*>(req->data);
  if (status == UV_ECANCELED || link->closing()) return;
  if (status != 0) {
    link->failLogin(std::string(wire::sqlstate::kConnectionFailure),
                    "could not connect to server " + link->host_ + ":" +
                        std::to_string(link->port_) + ": " + uv_strerror(status));
    return;
  }
  link->setState(State::kLogin);
  link->startReading();
  link->beginLogin();
}

// server_tls_sslmode: from prefer up an SSLRequest goes first on TCP (PostgreSQL offers no
// TLS on Unix sockets); disable and allow start in plain text, as libpq's allow does.
void ServerLink::beginLogin() {
  const TlsContexts& contexts = pool_.pooler().tlsContexts();
  if (transport() == Transport::kTcp && contexts.server &&
      contexts.server_mode >= tls::SslMode::kPrefer) {
    tls_context_ = contexts.server;
    send(wire::sslRequest());
    return;
  }
  sendStartup();
}

// The one-byte answer to our SSLRequest: 'S' starts the handshake (the startup message waits
// in the TLS session until it is done), 'N' continues in plain text unless the mode requires
// TLS. Anything else is not a PostgreSQL server we can talk to.
void ServerLink::onSslAnswer(std::span<const uint8_t> data) {
  char answer = static_cast<char>(data[0]);
  auto context = std::move(tls_context_);
  if (data.size() > 1) {
    failLogin(std::string(wire::sqlstate::kProtocolViolation),
              "server sent data after its answer to SSLRequest");
    return;
  }
  if (answer == 'N') {
    if (context->mode() >= tls::SslMode::kRequire) {
      failLogin(std::string(wire::sqlstate::kConnectionFailure),
                "server " + host_ + ":" + std::to_string(port_) +
                    " does not support TLS, and server_tls_sslmode = " +
                    std::string(tls::sslModeName(context->mode())));
      return;
    }
    sendStartup();
    return;
  }
  if (answer != 'S') {
    failLogin(std::string(wire::sqlstate::kProtocolViolation),
              "server answered SSLRequest with neither S nor N");
    return;
  }
  std::string error;
  if (!startTls(std::move(context), host_, error)) {
    failLogin(std::string(wire::sqlstate::kConnectionFailure), "TLS setup failed: " + error);
    return;
  }
  sendStartup();
}

void ServerLink::onTlsFailed(const std::string& error) {
  if (state_ == State::kClosing) return;
  if (loggingIn()) {
    failLogin(std::string(wire::sqlstate::kConnectionFailure),
              "TLS with server " + host_ + ":" + std::to_string(port_) + " failed: " + error);
    return;
  }
  disconnect(("TLS failure: " + error).c_str());
}

void ServerLink::sendStartup() {
  const auto& db = pool_.database();
  std::vector<std::pair<std::string, std::string>> params = {{"user", pool_.serverUser()},
                                                             {"database", db.dbname}};
  if (!db.client_encoding.empty()) params.emplace_back("client_encoding", db.client_encoding);
  if (!db.datestyle.empty()) params.emplace_back("datestyle", db.datestyle);
  if (!db.timezone.empty()) params.emplace_back("timezone", db.timezone);
  if (!db.application_name.empty()) params.emplace_back("application_name", db.application_name);
  send(wire::startupMessage(wire::kProtocolV3, params));
}

void ServerLink::onRead(std::span<const uint8_t> data) {
  switch (state_) {
    case State::kLogin:
      if (tls_context_)  // our SSLRequest awaits its answer
        onSslAnswer(data);
      else
        onLoginData(data);
      return;
    case State::kInternalQuery:
      onInternalData(data);
      return;
    case State::kActive:
      onActiveData(data);
      return;
    case State::kIdle:
      // An idle server speaks only to say it is going away (admin shutdown, idle timeout).
      disconnect("server sent data while idle");
      return;
    case State::kConnecting:
    case State::kClosing:
      return;
  }
}

void ServerLink::onActiveData(std::span<const uint8_t> data) {
  // Replies are edited only while the tracker owes more than simple queries and Syncs
  // (ActiveVisitor<false> pops those at each ReadyForQuery).
  // A message is read to its end by the visitor that began it; the pass-through one hands
  // over at the first message that needs editing.
  if (scanner_.atBoundary()) tracking_ = !replies_.onlyReadyTerminated();
  static std::string edited;  // single-threaded loop: one buffer for every link
  MessageScanner::Result result;
  bool editing = false;
  size_t tracked_from = 0;
  if (!tracking_) {
    ActiveVisitor<false> visitor{*this};
    result = scanner_.feed(data, visitor);
    if (result.status == MessageScanner::Result::Status::kStopped) {
      tracking_ = true;
      tracked_from = result.offset;
    }
    // A ReadyForQuery that began in the previous chunk ended here, unedited: answers of the
    // pooler's queued behind its request go out right after it.
    static std::string answers;  // single-threaded loop: one buffer for every link
    answers.clear();
    replies_.takeReady(answers);
    if (!answers.empty()) {
      editor_.begin(data, edited);
      editing = true;
      editor_.insert(tracking_ ? tracked_from : data.size(), answers);
    }
  }
  if (tracking_) {
    if (!editing) editor_.begin(data, edited);
    editing = true;
    ActiveVisitor<true> visitor{*this, tracked_from};
    result = scanner_.feed(data.subspan(tracked_from), visitor);
  }
  if (result.status != MessageScanner::Result::Status::kDone) {
    disconnect("bad packet from server");
    return;
  }
  if (editing) data = editor_.finish(data.size());
  last_used_ms_ = uv_now(loop());
  if (client_ == nullptr) return;
  pool_.stats().bytes_sent += data.size();
  if (pool_.poolMode() == config::PoolMode::kStatement && tx_status_ != 'I' &&
      pending_ready_ == 0) {
    refuseTransactionBlock(data);
    return;
  }
  if (!data.empty()) client_->relayFromServer(data);
  if (client_ != nullptr && client_->owedRepliesBackedUp() &&
      replies_.size() <= ClientSession::kMaxOwedReplies / 2)
    client_->onOwedRepliesFell();
  // Last statement: the link may be handed to another client right away.
  if (client_ != nullptr && freeForPool()) client_->onTransactionEnd();
}

void ServerLink::forwardFromClient(std::span<const uint8_t> bytes, int expected_ready,
                                   bool extended_open) {
  last_used_ms_ = uv_now(loop());
  // A query starts with the first message after the link was idle: its Sync, or a Parse or
  // Execute that the client sends with Flush (pipeline mode) and may sync much later. With no
  // Sync owed, the client's next message after an answer starts the clock again (a client
  // pipelining with Flush sends its next statement once it has read the last one's answer);
  // with Syncs owed, each ReadyForQuery does.
  bool restarts = pending_ready_ == 0 && (!extended_open_ || replied_since_send_);
  replied_since_send_ = false;
  extended_open_ = extended_open;
  if (restarts && (expected_ready > 0 || extended_open)) {
    busy_since_ms_ = last_used_ms_;
    cancel_sent_ = false;
  } else if (copy_in_ && !bytes.empty()) {
    copy_data_ms_ = last_used_ms_;
  }
  pending_ready_ += expected_ready;
  pool_.stats().bytes_received += bytes.size();
  if (!bytes.empty()) send(bytes);
}

// Statement pooling cannot hand a link back inside a transaction: the client gets an error in
// place of the ReadyForQuery that would have opened one (when it ends the chunk, as it does
// unless the client pipelined), and the link is dropped.
void ServerLink::refuseTransactionBlock(std::span<const uint8_t> data) {
  constexpr size_t kReadyForQuerySize = 6;
  bool ready_last = data.size() >= kReadyForQuerySize &&
                    data[data.size() - kReadyForQuerySize] == wire::be::kReadyForQuery;
  client_->relayFromServer(ready_last ? data.first(data.size() - kReadyForQuerySize) : data);
  if (client_ == nullptr) return;  // that send failed: the client is gone and dropped this link
  ClientSession* client = client_;
  client_ = nullptr;  // the client hears why below, not "server conn crashed?"
  disconnect("transaction in statement pooling mode");
  client->onServerLost("statement mode violation", wire::sqlstate::kProtocolViolation,
                       "transaction blocks not allowed in statement pooling mode");
}

void ServerLink::applyUndos() {
  using Kind = ReplyTracker::Undo::Kind;
  for (auto& undo : replies_.takeUndos()) {
    switch (undo.kind) {
      case Kind::kNotOnLink:
        prepared_.remove(undo.statement);
        break;
      case Kind::kOnLink:  // still prepared here: the next Parse that needs room evicts again
        prepared_.add(std::move(undo.kept), std::numeric_limits<size_t>::max());
        break;
      case Kind::kForgetName:
        if (client_ != nullptr) client_->forgetPreparedStatement(undo.client_name);
        break;
      case Kind::kRestoreName:
        if (client_ != nullptr)
          client_->restorePreparedStatement(undo.client_name, std::move(undo.kept));
        break;
    }
  }
}

// The Syncs a client sent between an Execute that turned out to be COPY FROM STDIN and its
// CopyDone earn no ReadyForQuery: counting them would keep the link busy (and its replies
// misattributed) for good.
void ServerLink::onCopyIn() {
  copy_in_ = true;  // not clean until the copy's ReadyForQuery, whatever the Syncs say
  if (client_ == nullptr) return;
  int ignored = client_->onCopyIn();
  if (ignored <= 0) return;
  pending_ready_ = std::max(0, pending_ready_ - ignored);
  replies_.forgetSyncs(static_cast<size_t>(ignored));
}

void ServerLink::countQueryEnd(char status) {
  if (pending_ready_ == 0) return;  // not an answer to the client (busy_since_ms_ is stale)
  DatabaseStats& stats = pool_.stats();
  uint64_t now = uv_now(loop());
  stats.query_count++;
  stats.query_time_us += (now - busy_since_ms_) * 1000;
  if (status != 'I') return;
  stats.xact_count++;
  uint64_t began = tx_status_ == 'I' ? busy_since_ms_ : tx_since_ms_;
  stats.xact_time_us += (now - began) * 1000;
}

void ServerLink::setTransactionStatus(char status) {
  // A transaction begins with the statement that opened it, not when that one ended
  // (transaction_timeout, SHOW STATS xact_time): "BEGIN; SELECT pg_sleep(60)" is 60 s old
  // when its ReadyForQuery comes.
  if (tx_status_ == 'I' && status != 'I')
    tx_since_ms_ = pending_ready_ > 0 ? busy_since_ms_ : uv_now(loop());
  tx_status_ = status;
}

// Bytes of the client still queued for the server (sent after its transaction ended, like
// CopyData the server ignores after a failed COPY) keep the link dirty until they went.
bool ServerLink::isClean() const {
  return state_ == State::kActive && pending_ready_ == 0 && !copy_in_ && tx_status_ == 'I' &&
         !extended_open_ && replies_.empty() && scanner_.atBoundary() && queuedBytes() == 0;
}

bool ServerLink::freeForPool() const {
  return pool_.poolMode() != config::PoolMode::kSession && isClean();
}

void ServerLink::linkTo(ClientSession* client) {
  client_ = client;
  if (state_ != State::kInternalQuery) setState(State::kActive);
  startReading();
}

void ServerLink::becomeIdle() {
  client_ = nullptr;
  setState(State::kIdle);
  last_used_ms_ = uv_now(loop());
  // Keep reading: an idle link must notice the server going away.
  startReading();
}

void ServerLink::onDrained() {
  if (client_ == nullptr) return;
  client_->onServerDrained();
  // The transaction ended while client bytes were still queued: the link is free now.
  if (client_ != nullptr && freeForPool()) client_->onTransactionEnd();
}

// Login and internal queries read whole messages: appends `data` and hands each complete
// message to `handle(type, body)` until it returns false (it has then dealt with the buffer).
// False if the bytes cannot be a message stream.
template <class Handler>
bool ServerLink::drainBuffered(std::span<const uint8_t> data, uint32_t max_size, Handler&& handle) {
  inbuf_.append(reinterpret_cast<const char*>(data.data()), data.size());
  size_t offset = 0;
  while (true) {
    wire::Message msg;
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(inbuf_.data()) + offset,
                                          inbuf_.size() - offset);
    auto status = wire::nextMessage(bytes, max_size, msg);
    if (status == wire::DecodeStatus::kNeedMore) break;
    if (status != wire::DecodeStatus::kOk) return false;
    offset += msg.header.totalSize();
    if (!handle(msg.header.type, msg.body)) return true;
  }
  inbuf_.erase(0, offset);
  return true;
}

bool ServerLink::recordParameter(std::span<const uint8_t> body, wire::ParameterStatusMsg& msg) {
  if (!wire::decodeParameterStatus(body, msg)) return false;
  parameters_[std::string(msg.name)] = std::string(msg.value);
  tracked_view_.names.reset();
  return true;
}

// Matches no client's value: parameter values never hold a NUL.
const std::string kUnknownSetting("\0unknown", 8);

void ServerLink::markUnreportedSettingsUnknown(const ParameterNames& tracked) {
  for (const std::string& name : tracked)
    if (findParameter(parameters_, name) == nullptr) unreported_settings_[name] = kUnknownSetting;
  tracked_view_.names.reset();
}

const ServerLink::TrackedView& ServerLink::trackedView(
    const std::shared_ptr<const ParameterNames>& names) {
  if (tracked_view_.names == names) return tracked_view_;
  tracked_view_.names = names;
  tracked_view_.values.assign(names->size(), nullptr);
  tracked_view_.reported_mask = 0;
  tracks_unreported_ = false;
  for (size_t i = 0; i < names->size(); ++i) {
    if (const std::string* value = findParameter(parameters_, (*names)[i])) {
      tracked_view_.values[i] = value;
      tracked_view_.reported_mask |= uint64_t{1} << i;
    } else {
      tracked_view_.values[i] = findParameter(unreported_settings_, (*names)[i]);
      tracks_unreported_ = true;
    }
  }
  return tracked_view_;
}

void ServerLink::onLoginData(std::span<const uint8_t> data) {
  bool ok = drainBuffered(data, 1 << 20, [this](char type, std::span<const uint8_t> body) {
    return handleLoginMessage(type, body) && !closing();
  });
  if (!ok) failLogin(std::string(wire::sqlstate::kProtocolViolation), "bad packet from server");
}

bool ServerLink::handleLoginMessage(char type, std::span<const uint8_t> body) {
  switch (type) {
    case wire::be::kAuthentication:
      return handleAuthRequest(body);
    case wire::be::kParameterStatus: {
      wire::ParameterStatusMsg msg;
      recordParameter(body, msg);
      return true;
    }
    case wire::be::kBackendKeyData: {
      wire::BackendKeyDataMsg msg;
      if (wire::decodeBackendKeyData(body, msg)) {
        backend_pid_ = msg.pid;
        backend_key_ = msg.key;
      }
      return true;
    }
    case wire::be::kErrorResponse: {
      wire::ErrorFieldsMsg msg;
      wire::decodeErrorFields(body, msg);
      std::string code(msg.field('C'));
      failLogin(code.empty() ? std::string(wire::sqlstate::kConnectionFailure) : code,
                std::string(msg.field('M')));
      return false;
    }
    case wire::be::kReadyForQuery: {
      inbuf_.clear();
      LOG_DEBUG("S-%llu %s/%s@%s:%d new connection to server", (unsigned long long)id(),
                pool_.database().name.c_str(), pool_.serverUser().c_str(), host_.c_str(), port_);
      const std::string& connect_query = pool_.database().connect_query;
      if (!connect_query.empty()) {
        runInternalQuery(connect_query, [this](bool ok, const std::string& error) {
          if (!ok) {
            failLogin(std::string(wire::sqlstate::kConnectionFailure),
                      "connect_query failed: " + error);
            return;
          }
          logged_in_ = true;
          offerWelcome();  // with what connect_query SET, as every link of the pool has it
          pool_.serverReady(this);
        });
        return false;
      }
      logged_in_ = true;
      offerWelcome();
      setState(State::kIdle);
      pool_.serverReady(this);
      return false;
    }
    case wire::be::kNoticeResponse:
    case wire::be::kNegotiateProtocolVersion:
      return true;
    default:
      failLogin(std::string(wire::sqlstate::kProtocolViolation),
                std::string("unexpected message during server login: ") + type);
      return false;
  }
}

// The pool welcomes new clients with the parameters of its first link that logged in. A link
// that logged in with a configuration RELOAD has since replaced (or before a RECONNECT) does
// not set them.
void ServerLink::offerWelcome() {
  if (created_at_ms_ > pool_.pooler().pauseState().retireBefore(pool_.database().name))
    pool_.rememberWelcome(parameters_);
}

bool ServerLink::handleAuthRequest(std::span<const uint8_t> body) {
  wire::AuthenticationMsg msg;
  if (!wire::decodeAuthentication(body, msg)) {
    failLogin(std::string(wire::sqlstate::kProtocolViolation), "bad authentication request");
    return false;
  }
  std::string password = pool_.serverPassword();
  auth::Secret::Kind password_kind = auth::classifySecret(password).kind;
  bool password_is_md5 = password_kind == auth::Secret::Kind::kMd5;
  bool password_is_scram = password_kind == auth::Secret::Kind::kScram;
  auto refuse = [this](const std::string& why) {
    failLogin(std::string(wire::sqlstate::kInvalidPassword), why);
    return false;
  };
  switch (msg.code) {
    case wire::authcode::kOk:
      return true;
    case wire::authcode::kCleartext:
      if (password.empty() || password_is_md5 || password_is_scram)
        return refuse("server asked for a cleartext password and no plain password is configured");
      send(wire::passwordMessage(password));
      return true;
    case wire::authcode::kMd5: {
      if (password.empty() || password_is_scram || msg.payload.size() != 4)
        return refuse("server asked for md5 and no usable password is configured");
      std::string hash =
          password_is_md5 ? password : auth::md5PasswordHash(pool_.serverUser(), password);
      send(wire::passwordMessage(
          auth::md5SaltedResponse(hash, std::span<const uint8_t, 4>(msg.payload.data(), 4))));
      return true;
    }
    case wire::authcode::kSasl: {
      if (password_is_scram && pool_.scramKeys()) {
        // The keys a client of this user proved when it logged in (SCRAM pass-through).
        scram_ = std::make_unique<auth::ScramClient>(*pool_.scramKeys());
        send(wire::saslInitialResponse("SCRAM-SHA-256", scram_->clientFirst()));
        return true;
      }
      if (password.empty() || password_is_md5 || password_is_scram)
        return refuse(password_is_scram
                          ? "server asked for SCRAM and no client of this user has logged in "
                            "with SCRAM yet (a SCRAM secret alone cannot log in)"
                          : "server asked for SCRAM and no plain password is configured");
      scram_ = std::make_unique<auth::ScramClient>(password);
      send(wire::saslInitialResponse("SCRAM-SHA-256", scram_->clientFirst()));
      return true;
    }
    case wire::authcode::kSaslContinue: {
      if (!scram_) return refuse("unexpected SASL continue");
      auto reply = scram_->handleServerFirst(asText(msg.payload));
      if (!reply) return refuse("SCRAM exchange failed: " + scram_->error());
      send(wire::saslResponse(*reply));
      return true;
    }
    case wire::authcode::kSaslFinal:
      if (!scram_ || !scram_->verifyServerFinal(asText(msg.payload)))
        return refuse("server's SCRAM signature did not verify");
      scram_.reset();
      return true;
    default:
      return refuse("unsupported authentication method " + std::to_string(msg.code));
  }
}

void ServerLink::runInternalQuery(std::string sql, InternalDone done) {
  if (dropsAllStatements(sql)) prepared_.clear();  // e.g. server_reset_query = DISCARD ALL
  // Run while no client holds the link: server_reset_query, or the SETs for the next client
  // (whose callback then records what they set). What it leaves of the unreported settings
  // is unknown, unless it resets them all.
  if (tracks_unreported_ && client_ == nullptr) {
    if (resetsAllSettings(sql))
      unreported_settings_.clear();
    else
      markUnreportedSettingsUnknown(*pool_.pooler().trackedParameterNames());
    tracked_view_.names.reset();
  }
  setState(State::kInternalQuery);
  internal_done_ = std::move(done);
  internal_error_.clear();
  internal_sqlstate_.clear();
  internal_row_.clear();
  internal_row_seen_ = false;
  inbuf_.clear();
  startReading();
  send(wire::query(sql));
}

void ServerLink::onInternalData(std::span<const uint8_t> data) {
  bool ok = drainBuffered(data, 1 << 30, [this](char type, std::span<const uint8_t> body) {
    return handleInternalMessage(type, body);
  });
  if (!ok) disconnect("bad packet from server");
}

// Returns false once the query is over (ReadyForQuery); the callback may start another.
bool ServerLink::handleInternalMessage(char type, std::span<const uint8_t> body) {
  if (type == wire::be::kDataRow && !internal_row_seen_) {
    internal_row_seen_ = true;
    if (!wire::decodeDataRow(body, internal_row_)) internal_error_ = "malformed DataRow";
  } else if (type == wire::be::kParameterStatus) {
    wire::ParameterStatusMsg ps;
    recordParameter(body, ps);
  } else if (type == wire::be::kErrorResponse) {
    wire::ErrorFieldsMsg err;
    wire::decodeErrorFields(body, err);
    internal_error_ = std::string(err.field('M'));
    if (internal_error_.empty()) internal_error_ = "error";
    internal_sqlstate_ = std::string(err.field('C'));
  } else if (type == wire::be::kReadyForQuery) {
    wire::ReadyForQueryMsg rfq;
    wire::decodeReadyForQuery(body, rfq);
    inbuf_.clear();
    bool ok = internal_error_.empty() && rfq.status == 'I';
    if (!ok && internal_error_.empty()) internal_error_ = "left a transaction open";
    setTransactionStatus(rfq.status);
    setState(client_ != nullptr ? State::kActive : State::kIdle);
    InternalDone done = std::move(internal_done_);
    internal_done_ = nullptr;
    if (done) done(ok, internal_error_);
    return false;
  }
  return true;
}

void ServerLink::failLogin(const std::string& sqlstate, const std::string& message) {
  if (closing()) return;
  LOG_WARNING("S-%llu %s/%s@%s:%d server login failed: %s", (unsigned long long)id(),
              pool_.database().name.c_str(), pool_.serverUser().c_str(), host_.c_str(), port_,
              message.c_str());
  pool_.serverLoginFailed(this, sqlstate, message);
  disconnect("server login failed");
}

void ServerLink::disconnect(const char* reason) {
  if (closing()) return;
  if (state_ != State::kLogin && state_ != State::kConnecting)
    LOG_DEBUG("S-%llu %s/%s@%s:%d closing because: %s", (unsigned long long)id(),
              pool_.database().name.c_str(), pool_.serverUser().c_str(), host_.c_str(), port_,
              reason);
  internal_done_ = nullptr;
  if (dns_ticket_ != 0) {
    pool_.pooler().dnsCache().cancel(dns_ticket_);
    dns_ticket_ = 0;
  }
  ClientSession* client = client_;
  client_ = nullptr;
  State previous = state_;
  setState(State::kClosing);
  if (previous == State::kIdle || previous == State::kActive || previous == State::kInternalQuery)
    send(wire::terminate());
  close();
  if (client != nullptr) client->onServerLost(reason);
}

void ServerLink::onReadEnd(int status) {
  if (loggingIn()) {
    failLogin(std::string(wire::sqlstate::kConnectionFailure),
              "server closed the connection during login");
    return;
  }
  disconnect(status == UV_EOF ? "server closed the connection" : uv_strerror(status));
}

void ServerLink::onWriteFailed(int status) {
  if (state_ != State::kClosing) disconnect(uv_strerror(status));
}

void ServerLink::onClosed() {
  pool_.serverClosed(this);
}

}  // namespace apibouncer
