// ClientSession's side of the interceptor (see client.h): holding client messages whole,
// taking a synced write out of the stream, and answering it in order, as PostgreSQL would.
#include <cstring>

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

uint32_t readLength(const char* p) {
  auto b = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

interceptor::WriteReply refusal(std::string sqlstate, std::string message, std::string hint) {
  interceptor::WriteReply reply;
  reply.error = interceptor::PgError{std::move(sqlstate), std::move(message), "", std::move(hint)};
  return reply;
}

}  // namespace

bool ClientSession::intercepting() const {
  if (!held_.empty() || write_) return true;
  const interceptor::Interceptor* interceptor = pooler_.interceptor();
  return interceptor != nullptr && interceptor->intercepts(database_) && scanner_.atBoundary() &&
         inbuf_.empty();
}

void ClientSession::holdFromClient(std::span<const uint8_t> data) {
  held_.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (held_.size() > kMaxHeldBytes) stopReading();
  processHeld();
}

void ClientSession::processHeld() {
  if (write_ || closing() || state_ == State::kClosing) return;
  const interceptor::Interceptor* interceptor = pooler_.interceptor();
  bool active = interceptor != nullptr && interceptor->intercepts(database_);
  size_t end = held_checked_;
  size_t max = static_cast<size_t>(pooler_.settings().max_packet_size);
  std::optional<PendingWrite> diverted;
  size_t diverted_size = 0;
  while (held_.size() - end >= 5) {
    char type = held_[end];
    uint32_t length = readLength(held_.data() + end + 1);
    if (length < 4 || length > max) {  // the relay reports it and closes
      end = held_.size();
      break;
    }
    if (held_.size() - end - 1 < length) break;
    if (type == wire::fe::kQuery && active) {
      std::string_view sql(held_.data() + end + 5, length - 4);
      if (size_t nul = sql.find('\0'); nul != sql.npos) sql = sql.substr(0, nul);
      interceptor::Decision decision = interceptor->classify(database_, sql);
      if (decision.classification.kind != interceptor::Classification::Kind::kPassThrough) {
        diverted = PendingWrite{std::string(sql), std::move(decision)};
        diverted_size = 1 + length;
        break;
      }
    }
    end += 1 + length;
  }
  held_checked_ = end;
  if (end > 0) {
    if (server_ == nullptr || state_ != State::kActive) {
      if (held_[0] == wire::fe::kTerminate && server_ == nullptr) {
        disconnect("client close request");
        return;
      }
      // Linking calls back into processHeld (finishLinking) once the link is ready.
      if (state_ == State::kLoggedIn) requestLink();
      return;
    }
    std::string chunk = held_.substr(0, end);
    held_.erase(0, end);
    held_checked_ = 0;
    relayToServer(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
    if (closing() || state_ == State::kClosing) return;
  }
  if (!diverted) return;
  held_.erase(0, diverted_size);
  held_checked_ = 0;
  write_ = std::move(diverted);
  stopReading();
  maybeStartWrite();
}

void ClientSession::maybeStartWrite() {
  if (!write_ || write_running_) return;
  // The reply must follow the answers to everything the client sent before the write.
  if (server_ != nullptr && (server_->busy() || server_->extendedOpen())) return;
  startWrite();
}

void ClientSession::startWrite() {
  char status = server_ != nullptr ? server_->transactionStatus() : 'I';
  const auto& classification = write_->decision.classification;
  write_running_ = true;
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
  if (classification.statements > 1) {
    finishWrite(refusal("0A000",
                        "a write to a synced table must be sent as a statement of its own, not "
                        "in a string of several statements",
                        "Send it as its own query (BEGIN and COMMIT around it may be separate "
                        "queries)."));
    return;
  }
  interceptor::WriteCall call{write_->sql, write_->decision, {}, 0};
  std::weak_ptr<ClientSession*> alive = alive_;
  pooler_.interceptor()->write(std::move(call), [alive](interceptor::WriteReply reply) {
    if (auto self = alive.lock()) (*self)->finishWrite(reply);
  });
}

void ClientSession::finishWrite(const interceptor::WriteReply& reply) {
  char status = server_ != nullptr ? server_->transactionStatus() : 'I';
  write_.reset();
  write_running_ = false;
  if (closing() || state_ == State::kClosing) return;
  replyToWrite(reply, status);
  if (server_ != nullptr && pool_->poolMode() != config::PoolMode::kSession && server_->isClean())
    onTransactionEnd();
  if (closing() || state_ == State::kClosing) return;
  startReading();
  processHeld();
}

void ClientSession::replyToWrite(const interceptor::WriteReply& reply, char status) {
  std::string out;
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
    if (reply.has_fields) {
      std::vector<wire::FieldSpec> fields;
      for (const auto& f : reply.fields)
        fields.push_back(
            {f.name, f.table_oid, f.column, f.type_oid, f.type_size, f.type_modifier, f.format});
      out += wire::rowDescription(fields);
      for (const auto& row : reply.rows) out += wire::dataRow(row);
    }
    out += wire::commandComplete(reply.command_tag);
  }
  out += wire::readyForQuery(status);
  send(out);
}

}  // namespace apibouncer
