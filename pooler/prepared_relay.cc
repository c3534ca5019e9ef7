// PreparedRelay: rewriting statement names in the client's stream (see prepared_relay.h).
#include "pooler/prepared_relay.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "pooler/wire/frontend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
namespace {

constexpr std::string_view kNul("\0", 1);
// The statement a client's SQL-level DEALLOCATE is turned into (see retireByDeallocate).
constexpr std::string_view kRetiringName = "apibouncer_deallocate";
using Request = ReplyTracker::Request;

std::string_view asText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The NUL-terminated string at `offset` of `body` (without its NUL), or nullopt if it runs
// past the end.
std::optional<std::string_view> cstringAt(std::span<const uint8_t> body, size_t offset) {
  if (offset >= body.size()) return std::nullopt;
  const void* nul = memchr(body.data() + offset, 0, body.size() - offset);
  if (nul == nullptr) return std::nullopt;
  size_t length = static_cast<const uint8_t*>(nul) - (body.data() + offset);
  return asText(body.subspan(offset, length));
}

Request requestFor(char type) {
  namespace fe = wire::fe;
  switch (type) {
    case fe::kParse:
      return Request::kParse;
    case fe::kBind:
      return Request::kBind;
    case fe::kDescribe:
      return Request::kDescribe;
    default:
      return Request::kClose;
  }
}

// Whether a Parse, Bind, Describe or Close at `offset` of `chunk` is plainly about the unnamed
// statement (or a portal), judged from the bytes this chunk holds: such a message reaches the
// server as it is, so it need not be held back and read whole. False when it names a statement
// or the chunk ends too early to tell.
bool leavesStatementsAlone(char type, std::span<const uint8_t> chunk, size_t offset) {
  constexpr size_t kHeaderSize = 5;
  if (chunk.size() < offset + kHeaderSize) return false;
  uint32_t length = wire::readU32(chunk.data() + offset + 1);
  if (length < 4) return false;  // malformed: the scanner reports it
  auto body = chunk.subspan(offset + kHeaderSize);
  body = body.first(std::min<size_t>(body.size(), length - 4));
  namespace fe = wire::fe;
  switch (type) {
    case fe::kParse:
      return !body.empty() && body[0] == 0;
    case fe::kBind: {
      auto portal = cstringAt(body, 0);
      return portal && portal->size() + 1 < body.size() && body[portal->size() + 1] == 0;
    }
    case fe::kDescribe:
    case fe::kClose:
      return body.size() >= 2 && (body[0] != 'S' || body[1] == 0);
  }
  return false;
}

// The body of the message at `offset` of `chunk`, if the chunk holds all of it.
std::optional<std::string_view> wholeBodyAt(std::span<const uint8_t> chunk, size_t offset) {
  constexpr size_t kHeaderSize = 5;
  if (chunk.size() < offset + kHeaderSize) return std::nullopt;
  uint32_t length = wire::readU32(chunk.data() + offset + 1);
  if (length < 4 || chunk.size() - offset - kHeaderSize < length - 4) return std::nullopt;
  return asText(chunk.subspan(offset + kHeaderSize, length - 4));
}

// The SQL text of a Query body or of an unnamed Parse body, and what follows its NUL.
struct QueryText {
  std::string_view sql, after;
};
QueryText queryText(char type, std::string_view body) {
  if (type == wire::fe::kParse) body.remove_prefix(std::min<size_t>(1, body.size()));  // ""
  size_t nul = std::min(body.find('\0'), body.size());
  return {body.substr(0, nul), body.substr(std::min(nul + 1, body.size()))};
}

}  // namespace

bool ClientRequests::see(char type) {
  namespace fe = wire::fe;
  if (!copy.see(type)) return false;
  switch (type) {
    case fe::kQuery:
      simple_query = true;
      ++expected_ready;
      return true;
    case fe::kFunctionCall:
      ++expected_ready;
      return true;
    case fe::kSync:
      ++expected_ready;
      extended_open = false;
      return true;
    case fe::kParse:
    case fe::kBind:
    case fe::kDescribe:
    case fe::kExecute:
    case fe::kClose:
    case fe::kFlush:
      extended_open = true;
      return true;
    default:
      return true;
  }
}

struct PreparedRelay::Visitor {
  PreparedRelay& relay;
  Link& link;
  ClientRequests& requests;
  std::string& rewritten;
  std::span<const uint8_t> chunk;
  size_t start = ChunkEditor::kNone;  // the current message's offset, if it began in this chunk

  MessageScanner::Action onType(char type, size_t offset) {
    namespace fe = wire::fe;
    if (type == fe::kTerminate) return MessageScanner::Action::kStop;
    start = offset;
    if (relay.skip_until_sync_ && type != fe::kSync) {
      // The pooler answered with an error: the server must not see the rest up to Sync.
      relay.editor_.cutFrom(offset);
      relay.in_message_ = true;
      relay.decision_ = Decision::kDrop;
      return MessageScanner::Action::kSkip;
    }
    if (!requests.see(type)) return MessageScanner::Action::kSkip;
    switch (type) {
      case fe::kParse:
      case fe::kBind:
      case fe::kDescribe:
      case fe::kClose:
        if (passesUnread(type, offset)) {
          if (type == fe::kParse && replaceWhole(type, offset))
            return MessageScanner::Action::kSkip;
          // What rewrite() would decide once the message is whole (kKeep), decided now.
          link.replies.expect(requestFor(type));
          if (type == fe::kParse) noteDropAll(type, offset);
          return MessageScanner::Action::kSkip;
        }
        relay.editor_.cutFrom(offset);  // held back until it is whole
        relay.in_message_ = true;
        return MessageScanner::Action::kCapture;
      case fe::kExecute:
        link.replies.expect(Request::kExecute);
        break;
      case fe::kSync:
        link.replies.expect(Request::kSync);
        relay.skip_until_sync_ = false;
        break;
      case fe::kQuery:
        if (replaceWhole(type, offset)) return MessageScanner::Action::kSkip;
        link.replies.expect(Request::kSimpleQuery);
        noteDropAll(type, offset);
        break;
      case fe::kFunctionCall:
        link.replies.expect(Request::kSimpleQuery);
        break;
      default:
        break;
    }
    return MessageScanner::Action::kSkip;
  }

  // Whether the message at `offset` may go as it is, decided from the bytes this chunk holds
  // (leavesStatementsAlone). A Parse of the unnamed statement from a client with statements of
  // its own is read whole first if the chunk splits it: it may be a DEALLOCATE to rewrite.
  bool passesUnread(char type, size_t offset) {
    if (!leavesStatementsAlone(type, chunk, offset)) return false;
    return type != wire::fe::kParse || relay.statements_.empty() ||
           wholeBodyAt(chunk, offset).has_value();
  }

  // A Query or unnamed Parse that is a SQL-level DEALLOCATE of one of the client's statements,
  // whole in this chunk, is replaced (PreparedRelay::retireByDeallocate, which also announces
  // the replies).
  bool replaceWhole(char type, size_t offset) {
    if (relay.statements_.empty()) return false;
    auto body = wholeBodyAt(chunk, offset);
    if (!body) return false;
    QueryText text = queryText(type, *body);
    rewritten.clear();
    if (!relay.retireByDeallocate(type, text.sql, text.after, link, rewritten)) return false;
    relay.editor_.cutFrom(offset);
    relay.in_message_ = true;
    relay.decision_ = Decision::kReplace;
    return true;
  }

  // A query not whole in this chunk cannot be read: it may be one that drops all.
  void noteDropAll(char type, size_t offset) {
    auto body = wholeBodyAt(chunk, offset);
    relay.noteMayDropAll(body ? std::optional(queryText(type, *body).sql) : std::nullopt, link);
  }

  void onMessage(char type, std::span<const uint8_t> body) {
    rewritten.clear();
    relay.decision_ = relay.rewrite(type, body, link, rewritten);
    if (relay.decision_ == Decision::kKeep && start == ChunkEditor::kNone) {
      // Its first bytes were held back in an earlier chunk: send it whole from here.
      wire::appendMessage(rewritten, type, {asText(body)});
      relay.decision_ = Decision::kReplace;
    }
  }

  void onEnd(char, size_t end) {
    if (!relay.in_message_) return;
    relay.in_message_ = false;
    switch (relay.decision_) {
      case Decision::kKeep:
        relay.editor_.uncut();
        break;
      case Decision::kReplace:
        relay.editor_.resumeAt(end);
        relay.editor_.insert(end, rewritten);
        break;
      case Decision::kDrop:
        relay.editor_.resumeAt(end);
        break;
    }
  }
};

PreparedRelay::Outcome PreparedRelay::relay(std::span<const uint8_t> chunk, MessageScanner& scanner,
                                            Link link, ClientRequests requests,
                                            std::string& server_buf, std::string& to_client) {
  // The rewritten message lives only from its last byte to its end: one buffer serves all
  // clients (the loop is single-threaded), so rewriting allocates nothing once warm.
  static std::string rewritten;
  editor_.begin(chunk, server_buf);
  requests.expected_ready = 0;
  Visitor visitor{*this, link, requests, rewritten, chunk};
  Outcome outcome;
  outcome.scan = scanner.feed(chunk, visitor);
  size_t end = outcome.scan.status == MessageScanner::Result::Status::kStopped ? outcome.scan.offset
                                                                               : chunk.size();
  outcome.to_server = editor_.finish(end);
  outcome.requests = requests;
  link.replies.takeReady(to_client);
  return outcome;
}

PreparedRelay::Decision PreparedRelay::rewrite(char type, std::span<const uint8_t> body, Link& link,
                                               std::string& out) {
  namespace fe = wire::fe;
  switch (type) {
    case fe::kParse:
      return rewriteParse(body, link, out);
    case fe::kBind: {
      // Bind: portal name, then the statement name.
      auto portal = cstringAt(body, 0);
      if (!portal) {
        link.replies.expect(Request::kBind);
        return Decision::kKeep;  // malformed: the server says so
      }
      return rewriteStatementName(type, body, portal->size() + 1, link, out);
    }
    case fe::kDescribe:
      if (body.empty() || body[0] != 'S') {
        link.replies.expect(Request::kDescribe);
        return Decision::kKeep;
      }
      return rewriteStatementName(type, body, 1, link, out);
    case fe::kClose:
      return rewriteClose(body, link);
  }
  return Decision::kKeep;
}

PreparedRelay::Decision PreparedRelay::rewriteParse(std::span<const uint8_t> body, Link& link,
                                                    std::string& out) {
  auto name = cstringAt(body, 0);
  if (name && name->empty()) {
    QueryText text = queryText(wire::fe::kParse, asText(body));
    if (retireByDeallocate(wire::fe::kParse, text.sql, text.after, link, out))
      return Decision::kReplace;
    link.replies.expect(Request::kParse);  // unnamed: the server's business
    noteMayDropAll(text.sql, link);
    return Decision::kKeep;
  }
  if (!name) {
    link.replies.expect(Request::kParse);  // malformed: the server says so
    return Decision::kKeep;
  }
  // Behind a possible drop-all the name may be free again: the Parse replaces it, as it would
  // after a real drop (PostgreSQL would refuse it if the drop did not happen).
  if (statements_.find(*name) != nullptr && !link.replies.dropAllPossible()) {
    wire::ErrorSpec error;
    error.severity = "ERROR";
    error.sqlstate = wire::sqlstate::kDuplicatePreparedStatement;
    std::string message = "prepared statement \"" + std::string(*name) + "\" already exists";
    error.message = message;
    link.replies.answer(wire::errorResponse(error));
    skip_until_sync_ = true;
    return Decision::kDrop;
  }
  StatementRef statement = registry_.intern(asText(body.subspan(name->size() + 1)));
  statements_.add(*name, statement);
  if (preparedOnLink(statement.get(), link)) {
    link.replies.answer(wire::parseComplete(), *name);
    return Decision::kDrop;
  }
  prepareOnLink(statement, *name, link, out);
  return Decision::kReplace;
}

PreparedRelay::Decision PreparedRelay::rewriteStatementName(char type,
                                                            std::span<const uint8_t> body,
                                                            size_t name_offset, Link& link,
                                                            std::string& out) {
  Request request = type == wire::fe::kBind ? Request::kBind : Request::kDescribe;
  auto name = cstringAt(body, name_offset);
  const StatementRef* statement = name && !name->empty() ? statements_.find(*name) : nullptr;
  if (statement == nullptr) {
    // Unnamed, unknown (the server reports it does not exist) or malformed: as it came.
    link.replies.expect(request);
    return Decision::kKeep;
  }
  if (!preparedOnLink(statement->get(), link)) prepareOnLink(*statement, {}, link, out);
  wire::appendMessage(out, type,
                      {asText(body.first(name_offset)), (*statement)->server_name, kNul,
                       asText(body.subspan(name_offset + name->size() + 1))});
  link.replies.expect(request);
  // Its Execute (behind this Bind) may be the drop.
  if (type == wire::fe::kBind && (*statement)->may_drop_all) link.replies.mayDropAll();
  return Decision::kReplace;
}

PreparedRelay::Decision PreparedRelay::rewriteClose(std::span<const uint8_t> body, Link& link) {
  auto name = body.empty() ? std::nullopt : cstringAt(body, 1);
  if (body.empty() || body[0] != 'S' || !name || name->empty()) {
    link.replies.expect(Request::kClose);
    return Decision::kKeep;
  }
  // The statement stays prepared on the servers for other clients (and the LRU retires it);
  // the client just forgets its name. Closing an unknown name is not an error, as in PostgreSQL.
  const StatementRef* statement = statements_.find(*name);
  if (statement == nullptr) {
    link.replies.answer(wire::closeComplete());
    return Decision::kDrop;
  }
  link.replies.answerClose(*name, *statement);  // gives the name back if an error voids it
  statements_.remove(*name);
  return Decision::kDrop;
}

bool PreparedRelay::retireByDeallocate(char type, std::string_view query,
                                       std::string_view after_query, Link& link, std::string& out) {
  if (statements_.empty()) return false;
  std::optional<std::string> name = deallocatedName(query);
  const StatementRef* statement = name ? statements_.find(*name) : nullptr;
  if (statement == nullptr) return false;  // not one of the client's: the server answers
  if (type == wire::fe::kQuery && (!link.replies.empty() || link.tx_status == 'E')) {
    // The pooler's Parse must not fail in front of a simple query: after an error the server
    // would skip the query up to a Sync that never comes. Only when the link's state is known
    // and sound; otherwise the server answers as PgBouncer's would.
    return false;
  }
  // Closing first clears one an earlier DEALLOCATE never ran (its client sent no Execute).
  wire::appendMessage(out, wire::fe::kClose, {"S", kRetiringName, kNul});
  link.replies.expect(Request::kClose, true);
  wire::appendMessage(out, wire::fe::kParse,
                      {kRetiringName, kNul, "SELECT 1", kNul, std::string_view("\0\0", 2)});
  link.replies.expectParse(nullptr, {});
  std::string sql = "DEALLOCATE " + std::string(kRetiringName);
  if (type == wire::fe::kQuery) {
    wire::appendMessage(out, type, {sql, kNul});
    link.replies.expect(Request::kSimpleQuery);
  } else {
    // Its reply entry gives the name back if this fails (a failed transaction) or is skipped.
    wire::appendMessage(out, type, {kNul, sql, kNul, after_query});
    link.replies.expectRetire(*name, *statement);
  }
  statements_.remove(*name);
  return true;
}

void PreparedRelay::noteMayDropAll(std::optional<std::string_view> sql, Link& link) {
  // Nobody has any statements yet: what is prepared behind a drop is kept anyway (see
  // ReplyTracker::onDropAll).
  if (statements_.empty() && link.cache.size() == 0) return;
  if (!sql || mayDropAllStatements(*sql)) link.replies.mayDropAll();
}

bool PreparedRelay::preparedOnLink(const PreparedStatement* statement, Link& link) {
  return link.cache.touch(statement) && !link.replies.dropAllPossible();
}

void PreparedRelay::prepareOnLink(const StatementRef& statement, std::string_view client_name,
                                  Link& link, std::string& out) {
  // Close, which is no error for a name the server does not have, makes the Parse behind it
  // safe whether or not the link has the statement when it arrives:
  if (link.cache.touch(statement.get())) {
    // on the link, unless a drop-all ahead of this takes it;
    wire::appendMessage(out, wire::fe::kClose, {"S", statement->server_name, kNul});
    link.replies.expectEviction(statement);
  } else if (link.replies.evictionPending(statement.get())) {
    // off it, unless an error ahead makes the server skip the Close that evicts it.
    wire::appendMessage(out, wire::fe::kClose, {"S", statement->server_name, kNul});
    link.replies.expectReclose(statement.get());
  }
  for (StatementRef& evicted : link.cache.add(statement, link.capacity)) {
    wire::appendMessage(out, wire::fe::kClose, {"S", evicted->server_name, kNul});
    link.replies.expectEviction(std::move(evicted));
  }
  wire::appendMessage(out, wire::fe::kParse, {statement->server_name, kNul, statement->definition});
  link.replies.expectParse(statement.get(), client_name);
}

}  // namespace apibouncer
