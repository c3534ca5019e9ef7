// ReplyTracker: which server message ends which request (see reply_tracker.h).
#include "pooler/reply_tracker.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "pooler/wire/backend.h"
#include "pooler/wire/writer.h"

namespace apibouncer {

void ReplyTracker::push(Entry entry) {
  if (!readyTerminated(entry)) ++not_ready_terminated_;
  if (entry.detail && entry.detail->evicted) ++pending_evictions_[entry.detail->evicted.get()];
  queue_.push_back(std::move(entry));
}

void ReplyTracker::popFront() {
  Entry& front = queue_.front();
  if (!readyTerminated(front)) --not_ready_terminated_;
  if (front.detail) endEviction(*front.detail);
  queue_.pop_front();
  if (queue_.empty()) drop_all_possible_ = false;
}

void ReplyTracker::endEviction(Detail& detail) {
  if (!detail.evicted) return;
  auto it = pending_evictions_.find(detail.evicted.get());
  if (it != pending_evictions_.end() && --it->second == 0) pending_evictions_.erase(it);
}

void ReplyTracker::expect(Request request, bool swallow) {
  push(Entry{request, swallow, nullptr});
}

void ReplyTracker::expectParse(const PreparedStatement* statement, std::string_view client_name) {
  push(Entry{Request::kParse, client_name.empty(),
             std::make_unique<Detail>(
                 Detail{{}, std::string(client_name), statement, nullptr, nullptr, {}})});
}

void ReplyTracker::answer(std::string reply, std::string_view client_name) {
  push(Entry{Request::kParse, false,
             std::make_unique<Detail>(Detail{
                 std::move(reply), std::string(client_name), nullptr, nullptr, nullptr, {}})});
}

void ReplyTracker::answerClose(std::string_view client_name,
                               std::shared_ptr<const PreparedStatement> statement) {
  push(Entry{Request::kClose, false,
             std::make_unique<Detail>(Detail{wire::closeComplete(),
                                             std::string(client_name),
                                             nullptr,
                                             nullptr,
                                             std::move(statement),
                                             {}})});
}

void ReplyTracker::expectRetire(std::string_view client_name,
                                std::shared_ptr<const PreparedStatement> statement) {
  push(Entry{Request::kParse, false,
             std::make_unique<Detail>(Detail{
                 {}, std::string(client_name), nullptr, nullptr, std::move(statement), {}})});
}

void ReplyTracker::expectReclose(const PreparedStatement* statement) {
  push(Entry{Request::kClose, true,
             std::make_unique<Detail>(Detail{{}, {}, statement, nullptr, nullptr, {}})});
}

void ReplyTracker::expectEviction(std::shared_ptr<const PreparedStatement> statement) {
  push(Entry{Request::kClose, true,
             std::make_unique<Detail>(Detail{{}, {}, nullptr, std::move(statement), nullptr, {}})});
}

namespace {

using Undo = ReplyTracker::Undo;

bool aboutName(const Undo& undo) {
  return undo.kind == Undo::Kind::kForgetName || undo.kind == Undo::Kind::kRestoreName;
}

bool sameSubject(const Undo& a, const Undo& b) {
  if (aboutName(a) != aboutName(b)) return false;
  return aboutName(a) ? a.client_name == b.client_name : a.statement == b.statement;
}

}  // namespace

void ReplyTracker::abandon(Entry& entry, std::vector<Undo>& run) {
  if (!entry.detail) return;
  Detail& detail = *entry.detail;
  using Kind = Undo::Kind;
  size_t own = run.size();
  if (detail.evicted) {
    endEviction(detail);
    run.push_back({Kind::kOnLink, detail.evicted.get(), std::move(detail.evicted), {}});
  } else if (detail.closed) {
    run.push_back(
        {Kind::kRestoreName, nullptr, std::move(detail.closed), std::move(detail.client_name)});
  } else if (entry.request == Request::kParse) {
    if (detail.statement != nullptr) run.push_back({Kind::kNotOnLink, detail.statement, {}, {}});
    if (!detail.client_name.empty())
      run.push_back({Kind::kForgetName, nullptr, {}, std::move(detail.client_name)});
  }
  // What an earlier void request left to this one says how things were before either.
  for (Undo& before : detail.inherited) {
    auto mine = std::find_if(run.begin() + static_cast<std::ptrdiff_t>(own), run.end(),
                             [&](const Undo& undo) { return sameSubject(undo, before); });
    if (mine != run.end())
      *mine = std::move(before);
    else
      run.push_back(std::move(before));
  }
}

void ReplyTracker::settle(std::vector<Undo>& run) {
  if (run.empty()) return;
  // The first request still queued on each statement and name.
  std::unordered_map<const PreparedStatement*, Detail*> next_on_statement;
  std::unordered_map<std::string_view, Detail*> next_on_name;
  for (const Entry& entry : queue_) {
    if (!entry.detail) continue;
    Detail* detail = entry.detail.get();
    if (detail->statement != nullptr) next_on_statement.try_emplace(detail->statement, detail);
    if (detail->evicted) next_on_statement.try_emplace(detail->evicted.get(), detail);
    if (!detail->client_name.empty()) next_on_name.try_emplace(detail->client_name, detail);
  }
  std::unordered_set<const PreparedStatement*> settled_statements;
  std::unordered_set<std::string> settled_names;
  for (Undo& undo : run) {
    bool first = aboutName(undo) ? settled_names.insert(undo.client_name).second
                                 : settled_statements.insert(undo.statement).second;
    if (!first) continue;  // a later void request on it: the state before the stretch is this
    Detail* next = nullptr;
    if (aboutName(undo)) {
      auto found = next_on_name.find(undo.client_name);
      if (found != next_on_name.end()) next = found->second;
    } else {
      auto found = next_on_statement.find(undo.statement);
      if (found != next_on_statement.end()) next = found->second;
    }
    if (next != nullptr)
      next->inherited.push_back(std::move(undo));
    else
      undos_.push_back(std::move(undo));
  }
}

ReplyTracker::KeptAfterDrop ReplyTracker::onDropAll() {
  KeptAfterDrop kept;
  bool head = true;
  for (const Entry& entry : queue_) {
    if (std::exchange(head, false) || !entry.detail) continue;
    Detail& detail = *entry.detail;
    detail.inherited.clear();  // how things were before the drop: gone with it
    if (entry.request == Request::kParse) {
      if (detail.statement != nullptr) kept.on_link.push_back(detail.statement);
      bool retires = detail.closed != nullptr;  // a DEALLOCATE of the name, not a Parse of it
      if (!detail.client_name.empty() && !retires) kept.client_names.push_back(detail.client_name);
      if (retires && std::find(kept.client_names.begin(), kept.client_names.end(),
                               detail.client_name) == kept.client_names.end())
        detail.closed.reset();  // the drop took the name already: nothing to give back
    } else if (entry.request == Request::kClose) {
      // A Close the server skips cannot give back what the drop took, unless a Parse behind
      // the drop prepared it again.
      if (detail.evicted && std::find(kept.on_link.begin(), kept.on_link.end(),
                                      detail.evicted.get()) == kept.on_link.end()) {
        endEviction(detail);
        detail.evicted.reset();
      }
      bool prepared_since = std::find(kept.client_names.begin(), kept.client_names.end(),
                                      detail.client_name) != kept.client_names.end();
      if (!prepared_since) detail.closed.reset();
    }
  }
  return kept;
}

void ReplyTracker::takeReady(std::string& out) {
  while (!queue_.empty() && queue_.front().isAnswer()) {
    out += queue_.front().detail->answer;
    popFront();
  }
}

// The message that completes each request. Describe of a statement sends ParameterDescription
// first; a simple query (or function call) sends many messages and ends with ReadyForQuery.
bool ReplyTracker::ends(Request request, char type) {
  namespace be = wire::be;
  switch (request) {
    case Request::kParse:
      return type == be::kParseComplete;
    case Request::kBind:
      return type == be::kBindComplete;
    case Request::kClose:
      return type == be::kCloseComplete;
    case Request::kDescribe:
      return type == be::kRowDescription || type == be::kNoData;
    case Request::kExecute:
      return type == be::kCommandComplete || type == be::kEmptyQueryResponse ||
             type == be::kPortalSuspended;
    case Request::kSync:
    case Request::kSimpleQuery:
      return type == be::kReadyForQuery;
  }
  return false;
}

bool ReplyTracker::onReplyStart(char type) {
  current_ends_head_ = false;
  if (queue_.empty()) return false;
  const Entry& head = queue_.front();
  if (type == wire::be::kErrorResponse) {
    // A simple query and a Sync still end with ReadyForQuery after an error.
    current_ends_head_ = head.request != Request::kSync && head.request != Request::kSimpleQuery;
    return false;  // errors always reach the client, even for a request the pooler added
  }
  current_ends_head_ = ends(head.request, type);
  return current_ends_head_ && head.swallow;
}

void ReplyTracker::onReplyEnd(char type, std::string& out) {
  if (!current_ends_head_) return;
  current_ends_head_ = false;
  if (type == wire::be::kErrorResponse) {
    // The server skips to the next Sync; the answers queued before it are not given either.
    static std::vector<Undo> run;  // single-threaded loop: one buffer for every link
    run.clear();
    abandon(queue_.front(), run);
    popFront();
    while (!queue_.empty() && queue_.front().request != Request::kSync) {
      abandon(queue_.front(), run);
      popFront();
    }
    settle(run);
  } else {
    popFront();
  }
  takeReady(out);
}

}  // namespace apibouncer
