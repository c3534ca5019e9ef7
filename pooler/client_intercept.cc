// ClientSession's side of the interceptor (client.h, client_intercept.h): holding client
// messages whole, taking a synced write out of the stream (a simple Query, or the Execute of
// a portal bound to a synced write), and answering it in order, as PostgreSQL would.
#include "pooler/client_intercept.h"

#include <algorithm>

#include "pooler/client.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
namespace {

// More held bytes than this and the client is not waiting for our answers: stop reading.
constexpr size_t kMaxHeldBytes = 1 << 20;

std::span<const uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

interceptor::WriteReply refusal(std::string sqlstate, std::string message, std::string hint) {
  interceptor::WriteReply reply;
  reply.error = interceptor::PgError{std::move(sqlstate), std::move(message), "", std::move(hint)};
  return reply;
}

bool diverts(const interceptor::Decision& decision) {
  return decision.classification.kind != interceptor::Classification::Kind::kPassThrough;
}

// Result formats for the RETURNING rows: libpq takes one for all columns.
std::optional<int> singleFormat(const std::vector<int16_t>& formats) {
  if (formats.empty()) return 0;
  for (int16_t format : formats)
    if (format != formats.front()) return std::nullopt;
  return formats.front();
}

struct ReplyCountingVisitor {
  ReplyCounter& counter;
  MessageScanner::Action onType(char type) {
    counter.received(type);
    return MessageScanner::Action::kSkip;
  }
  void onMessage(char, std::span<const uint8_t>) {}
};

// Counts the replies the client gets and, while a multi-statement Query runs in parts, takes
// out every part's ReadyForQuery but the last (noting its status and whether the part failed).
struct ScriptReplyVisitor {
  ClientInterception& in;
  std::vector<std::pair<size_t, size_t>>& cuts;
  MessageScanner::Action onType(char type, size_t offset) {
    in.replies.received(type);
    if (in.script_parts_left == 0) return MessageScanner::Action::kSkip;
    if (type == 'E') in.part_error = true;
    if (type != 'Z') return MessageScanner::Action::kSkip;
    if (in.script_parts_left > 1) {
      in.cutting = true;
      in.cut_start = offset;
    }
    return MessageScanner::Action::kCapture;
  }
  void onMessage(char type, std::span<const uint8_t> body) {
    if (type == 'Z' && !body.empty()) in.script_status = static_cast<char>(body[0]);
  }
  void onEnd(char type, size_t end) {
    if (type != 'Z' || in.script_parts_left == 0) return;
    if (in.cutting) {
      cuts.emplace_back(in.cut_start, end);
      in.cutting = false;
    }
    in.script_parts_left--;
    in.part_sent = false;
    if (in.part_error && in.script_parts_left > 0) in.script_failed = true;
    in.part_error = false;
  }
};

}  // namespace

void ClientSession::relayInterceptedReplies(std::span<const uint8_t> bytes) {
  ClientInterception& in = *intercept_;
  std::vector<std::pair<size_t, size_t>> cuts;
  ScriptReplyVisitor visitor{in, cuts};
  in.reply_scanner.feed(bytes, visitor);
  if (in.cutting) {  // the ReadyForQuery ends in the next chunk
    cuts.emplace_back(in.cut_start, bytes.size());
    in.cut_start = 0;
  }
  std::string edited;
  std::span<const uint8_t> out = bytes;
  if (!cuts.empty()) {
    size_t pos = 0;
    for (auto [from, to] : cuts) {
      edited.append(reinterpret_cast<const char*>(bytes.data()) + pos, from - pos);
      pos = to;
    }
    edited.append(reinterpret_cast<const char*>(bytes.data()) + pos, bytes.size() - pos);
    out = bytesOf(edited);
  }
  bool script_was_running = in.script_parts_left > 0;
  if (!out.empty() && !send(out)) return;
  if (queuedBytes() > 0 && server_ != nullptr) server_->stopReading();
  if (in.script_failed) {
    endScriptAfterError();
    return;
  }
  if (in.write && !in.write_running && !in.processing) maybeStartWrite();
  if (in.write || in.processing || closing()) return;
  if (in.script_parts_left > 0 && !in.part_sent) {
    processHeld();  // the next part
  } else if (script_was_running && in.script_parts_left == 0) {
    startReading();  // the script is over: the client was not read while it ran
    processHeld();
  }
}

// Replaces the multi-statement Query in `write` by one Query per part, at the head of held.
void ClientSession::expandScript() {
  ClientInterception& in = *intercept_;
  std::string text = std::move(in.write->sql);
  std::vector<interceptor::SyncedWrite> writes =
      std::move(in.write->decision.classification.writes);
  in.write.reset();
  std::vector<std::string_view> parts;
  auto addPassThrough = [&](std::string_view part) {
    if (part.find_first_not_of(" \t\r\n;") != std::string_view::npos) parts.push_back(part);
  };
  size_t pos = 0;
  for (const auto& write : writes) {
    size_t offset = std::clamp(write.offset, pos, text.size());
    addPassThrough(std::string_view(text).substr(pos, offset - pos));
    parts.push_back(std::string_view(text).substr(offset, write.length));
    pos = std::min(text.size(), offset + write.length);
  }
  addPassThrough(std::string_view(text).substr(pos));
  std::string messages;
  for (std::string_view part : parts) messages += wire::query(part);
  in.held.insert(0, messages);
  in.held_checked = 0;
  in.script_parts_left = parts.size();
  in.script_status = server_ != nullptr ? server_->transactionStatus() : 'I';
  in.script_failed = in.part_error = false;
  processHeld();
}

// A part failed: the parts after it are skipped, as PostgreSQL skips the rest of the string,
// and the client gets the one ReadyForQuery it waits for.
void ClientSession::endScriptAfterError() {
  ClientInterception& in = *intercept_;
  in.dropHeldMessages(in.script_parts_left - (in.write ? 1 : 0));
  in.write.reset();
  in.write_running = false;
  in.cancel_write = nullptr;
  in.script_parts_left = 0;
  in.part_sent = false;
  in.script_failed = false;
  char status = server_ != nullptr ? server_->transactionStatus() : in.script_status;
  send(wire::readyForQuery(status));
  if (server_ != nullptr && server_->freeForPool()) onTransactionEnd();
  if (closing() || state_ == State::kClosing) return;
  startReading();
  processHeld();
}

// "$user" in a search_path: the role the server session runs as.
std::string_view ClientSession::sessionUser() const {
  return pool_ != nullptr ? std::string_view(pool_->serverUser()) : std::string_view(user_);
}

bool ClientSession::intercepting() const {
  if (intercept_ && (!intercept_->held.empty() || intercept_->write)) return true;
  const interceptor::Interceptor* interceptor = pooler_.interceptor();
  return interceptor != nullptr && interceptor->intercepts(database_) && scanner_.atBoundary() &&
         inbuf_.empty();
}

void ClientSession::holdFromClient(std::span<const uint8_t> data) {
  if (!intercept_) {
    intercept_ = std::make_unique<ClientInterception>();
    intercept_->alive = std::make_shared<ClientSession*>(this);
  }
  ClientInterception& in = *intercept_;
  in.held.append(reinterpret_cast<const char*>(data.data()), data.size());
  processHeld();
  if (!intercept_ || closing()) return;
  // Pause a client that sends on while its messages cannot move: a write is in flight (its
  // end resumes reading), or whole messages wait for a link (linking resumes it). A first
  // message still arriving is read to its end, however long: until it is whole it asks for
  // no link, and nothing would ever resume reading.
  bool first_whole = in.held.size() >= 5 && in.held.size() >= in.messageSize(0);
  if (in.held.size() > kMaxHeldBytes && (in.write || (server_ == nullptr && first_whole)))
    stopReading();
}

void ClientSession::countReplies(std::span<const uint8_t> bytes) {
  if (!intercept_) return;
  ReplyCountingVisitor visitor{intercept_->replies};
  intercept_->reply_scanner.feed(bytes, visitor);
  if (intercept_->write && !intercept_->write_running && !intercept_->processing) maybeStartWrite();
}

// Looks at each whole held message: records the extended-protocol statements and portals that
// write synced tables, drops what an error made the server skip, and stops at a synced write.
void ClientSession::processHeld() {
  if (!intercept_ || intercept_->write || intercept_->processing || closing() ||
      state_ == State::kClosing)
    return;
  ClientInterception& in = *intercept_;
  in.processing = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{in.processing};
  const interceptor::Interceptor* interceptor = pooler_.interceptor();
  bool active = interceptor != nullptr && interceptor->intercepts(database_);
  size_t end = in.held_checked;
  size_t max = static_cast<size_t>(pooler_.settings().max_packet_size);
  std::optional<ClientInterception::Write> diverted;
  size_t diverted_size = 0;
  while (in.held.size() - end >= 5) {
    char type = in.held[end];
    size_t length = in.messageSize(end) - 1;
    if (length < 4 || length > max) {  // the relay reports it and closes
      end = in.held.size();
      break;
    }
    if (in.held.size() - end - 1 < length) break;
    if (in.part_sent && type == wire::fe::kQuery) break;  // the part before is not answered
    auto body = bytesOf(std::string_view(in.held).substr(end + 5, length - 4));
    if (in.skip_until_sync && type != wire::fe::kSync) {
      in.held.erase(end, 1 + length);  // the server would have skipped it too
      continue;
    }
    if (type == wire::fe::kSync) {
      in.skip_until_sync = false;
      // A Sync ends the implicit transaction, which drops its portals on the server; a portal
      // of a synced write executed again after it must not reach the API a second time. (In
      // an explicit transaction block the server keeps it: executed again there, it goes to the
      // server, whose privileges refuse a direct write.)
      in.portals.clear();
    }
    if (type == wire::fe::kQuery && pooler_.settings().disable_pqexec) {
      releaseServer(false);
      refuseSimpleQuery();
      return;
    }
    if (active && type == wire::fe::kQuery) {
      std::string_view sql(reinterpret_cast<const char*>(body.data()), body.size());
      if (size_t nul = sql.find('\0'); nul != sql.npos) sql = sql.substr(0, nul);
      if (auto change = interceptor::searchPathChange(sql)) in.search_path = *change;
      interceptor::Decision decision = interceptor->classify(
          database_, sql, sessionUser(), in.search_path ? &*in.search_path : nullptr);
      if (diverts(decision)) {
        bool script =
            decision.classification.kind == interceptor::Classification::Kind::kSyncedWrite &&
            decision.classification.statements > 1;
        diverted =
            ClientInterception::Write{std::string(sql), std::move(decision), {}, 0, false, script};
        diverted_size = 1 + length;
        break;
      }
    } else if (active && type == wire::fe::kParse) {
      wire::ParseMsg parse;
      if (wire::decodeParse(body, parse)) {
        interceptor::Decision decision = interceptor->classify(
            database_, parse.query, sessionUser(), in.search_path ? &*in.search_path : nullptr);
        if (diverts(decision))
          in.statements[std::string(parse.statement)] =
              std::make_shared<const ClientInterception::Statement>(ClientInterception::Statement{
                  std::string(parse.query), std::move(decision), parse.param_type_oids});
        else if (auto it = in.statements.find(parse.statement); it != in.statements.end())
          in.statements.erase(it);
      }
    } else if (type == wire::fe::kBind && (!in.statements.empty() || !in.portals.empty())) {
      // Every Bind replaces its portal, also one bound to a statement that is not a write.
      wire::BindMsg bind;
      if (wire::decodeBind(body, bind)) {
        auto it = in.statements.find(bind.statement);
        if (it == in.statements.end()) {
          in.portals.erase(std::string(bind.portal));
        } else {
          ClientInterception::Write write{
              it->second->sql, it->second->decision, {}, 0, true, false};
          for (size_t i = 0; i < bind.param_values.size(); ++i) {
            int16_t format = bind.param_formats.empty()       ? 0
                             : bind.param_formats.size() == 1 ? bind.param_formats[0]
                             : i < bind.param_formats.size()  ? bind.param_formats[i]
                                                              : 0;
            uint32_t oid = i < it->second->param_types.size() ? it->second->param_types[i] : 0;
            const auto& value = bind.param_values[i];
            write.params.add(value ? std::optional<std::string>(std::string(*value)) : std::nullopt,
                             oid, format);
          }
          auto format = singleFormat(bind.result_formats);
          write.result_format = format.value_or(-1);
          in.portals[std::string(bind.portal)] = std::move(write);
        }
      }
    } else if (type == wire::fe::kClose && (!in.statements.empty() || !in.portals.empty())) {
      wire::CloseMsg close;
      if (wire::decodeClose(body, close)) {
        if (close.kind == 'S') in.statements.erase(std::string(close.name));
        if (close.kind == 'P') in.portals.erase(std::string(close.name));
      }
    } else if (type == wire::fe::kExecute && !in.portals.empty()) {
      wire::ExecuteMsg execute;
      if (wire::decodeExecute(body, execute)) {
        if (auto it = in.portals.find(execute.portal); it != in.portals.end()) {
          diverted = it->second;
          diverted_size = 1 + length;
          break;
        }
      }
    }
    end += 1 + length;
    if (in.script_parts_left > 0 && type == wire::fe::kQuery) {
      in.part_sent = true;  // wait for its answer before the next part
      break;
    }
  }
  in.held_checked = end;
  if (end > 0) {
    if (server_ == nullptr || state_ != State::kActive) {
      if (in.held[0] == wire::fe::kTerminate && server_ == nullptr) {
        disconnect("client close request");
        return;
      }
      // Linking calls back into processHeld (finishLinking) once the link is ready, maybe
      // right away.
      in.processing = false;
      if (state_ == State::kLoggedIn) requestLink();
      return;
    }
    forwardHeld(end);
    if (closing() || state_ == State::kClosing) return;
  }
  if (!diverted) return;
  in.held.erase(0, diverted_size);
  in.held_checked = 0;
  // The server holds back its answers to an unfinished extended exchange: a Flush has it send
  // them, so the write's reply can follow them.
  if (diverted->extended && server_ != nullptr) {
    static const std::string flush = wire::flush();
    relayToServer(bytesOf(flush));
    if (closing() || state_ == State::kClosing) return;
  }
  in.write = std::move(diverted);
  stopReading();
  in.processing = false;
  maybeStartWrite();
}

// Sends held[0, end) (whole messages) to the link, counting the answers they will earn.
void ClientSession::forwardHeld(size_t end) {
  ClientInterception& in = *intercept_;
  for (size_t pos = 0; pos + 5 <= end;) {
    in.replies.sent(in.held[pos]);
    pos += in.messageSize(pos);
  }
  // Straight from the buffer: nothing the relay calls touches `held` while we are in
  // processHeld (see `processing`).
  relayToServer(bytesOf(std::string_view(in.held).substr(0, end)));
  in.held.erase(0, std::min(end, in.held.size()));
  in.held_checked = 0;
}

void ClientSession::maybeStartWrite() {
  ClientInterception& in = *intercept_;
  if (!in.write || in.write_running) return;
  // The reply must follow the answers to everything the client sent before the write: the
  // counter knows what went through held messages, the link how many ReadyForQuery it owes
  // (also for what was sent before interception began).
  if (!in.replies.settled() && !in.replies.failed()) return;
  if (server_ != nullptr && server_->busy()) return;
  if (in.write->extended && in.replies.failed()) {
    // Its Parse or Bind failed: the server skips the Execute, and so do we.
    in.write.reset();
    in.skip_until_sync = true;
    startReading();
    processHeld();
    return;
  }
  if (in.write->script) {
    expandScript();
    return;
  }
  startWrite();
}

void ClientSession::startWrite() {
  ClientInterception& in = *intercept_;
  char status = server_ != nullptr ? server_->transactionStatus() : 'I';
  const auto& classification = in.write->decision.classification;
  in.write_running = true;
  in.write_started_ms = uv_now(loop());
  if (status == 'E') {
    finishWrite(refusal("25P02",
                        "current transaction is aborted, commands ignored until end of "
                        "transaction block",
                        {}));
    return;
  }
  if (classification.kind == interceptor::Classification::Kind::kRefused) {
    const auto& r = classification.refusal;
    finishWrite(refusal(r.sqlstate, r.message, r.hint));
    return;
  }
  if (in.write->result_format < 0) {
    finishWrite(refusal("0A000",
                        "RETURNING rows of a synced write come in one format for all columns",
                        "Ask for all result columns in text, or all in binary."));
    return;
  }
  interceptor::WriteCall call{
      in.write->sql, in.write->decision, in.write->params, in.write->result_format, {}};
  for (size_t i = 0; i < tracked_.size(); ++i)
    if (tracked_.has(i))
      call.session_parameters.emplace_back(tracked_.names()[i], tracked_.value(i));
  std::weak_ptr<ClientSession*> alive = in.alive;
  uint64_t number = ++in.writes_started;
  auto cancel =
      pooler_.interceptor()->write(std::move(call), [alive](interceptor::WriteReply reply) {
        if (auto self = alive.lock()) (*self)->finishWrite(reply);
      });
  // Unless it answered at once (and the next write may have started since).
  if (in.write_running && in.writes_started == number) in.cancel_write = std::move(cancel);
}

uint64_t ClientSession::writeStartedMs() const {
  return intercept_ && intercept_->write_running ? intercept_->write_started_ms : 0;
}

void ClientSession::cancelWrite() {
  if (!intercept_ || !intercept_->cancel_write) return;
  auto cancel = intercept_->cancel_write;  // a write answered at once clears the member
  cancel();
}

void ClientSession::finishWrite(const interceptor::WriteReply& reply) {
  ClientInterception& in = *intercept_;
  char status = server_ != nullptr ? server_->transactionStatus() : 'I';
  bool extended = in.write->extended;
  in.write.reset();
  in.write_running = false;
  in.cancel_write = nullptr;
  if (closing() || state_ == State::kClosing) return;
  // A part of a multi-statement Query: ReadyForQuery only after the last part, or now if this
  // part failed (the parts after it are dropped).
  bool ready = !extended;
  if (in.script_parts_left > 0) {
    in.script_parts_left--;
    ready = in.script_parts_left == 0 || reply.error.has_value();
    if (reply.error) {
      in.dropHeldMessages(in.script_parts_left);
      in.script_parts_left = 0;
    }
  }
  replyToWrite(reply, status, extended, ready);
  // Like PostgreSQL, an error ends the extended exchange: the rest up to Sync is skipped.
  if (extended && reply.error) in.skip_until_sync = true;
  if (ready && server_ != nullptr && server_->freeForPool()) onTransactionEnd();
  if (closing() || state_ == State::kClosing) return;
  startReading();
  processHeld();
}

void ClientSession::replyToWrite(const interceptor::WriteReply& reply, char status, bool extended,
                                 bool ready) {
  std::string out;
  for (const std::string& notice : reply.notices)
    out += wire::noticeResponse({"NOTICE", "01000", notice, {}, {}});
  if (reply.error) {
    const auto& e = *reply.error;
    out += wire::errorResponse({"ERROR", e.sqlstate, e.message, e.detail, e.hint});
  } else {
    if (status != 'I')
      out += wire::noticeResponse(
          {"NOTICE",
           "01000",
           "the write to a synced table was committed at once, outside the current transaction",
           {},
           "ROLLBACK will not undo it: the API already has the change."});
    // An Execute's RowDescription came from Describe, answered by the link itself.
    if (reply.has_fields && !extended) {
      std::vector<wire::FieldSpec> fields;
      for (const auto& f : reply.fields)
        fields.push_back(
            {f.name, f.table_oid, f.column, f.type_oid, f.type_size, f.type_modifier, f.format});
      out += wire::typedRowDescription(fields);
    }
    for (const auto& row : reply.rows) out += wire::nullableDataRow(row);
    out += wire::commandComplete(reply.command_tag);
  }
  if (ready) out += wire::readyForQuery(status);
  send(out);
}

}  // namespace apibouncer
