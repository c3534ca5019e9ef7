// ReplyCounter (see reply_counter.h).
#include "pooler/reply_counter.h"

namespace apibouncer {

ReplyCounter::Exchange& ReplyCounter::open() {
  if (exchanges_.empty() || exchanges_.back().closed) exchanges_.emplace_back();
  return exchanges_.back();
}

void ReplyCounter::sent(char type) {
  if (!copy_.see(type)) return;  // the server ignores it
  switch (type) {
    case 'P':    // Parse -> ParseComplete
    case 'B':    // Bind -> BindComplete
    case 'D':    // Describe -> RowDescription or NoData (after ParameterDescription)
    case 'C':    // Close -> CloseComplete
    case 'E': {  // Execute -> CommandComplete, EmptyQueryResponse or PortalSuspended
      Exchange& exchange = open();
      if (!exchange.error) exchange.owed++;  // after an error the server skips to Sync
      return;
    }
    case 'S':  // Sync
      open().closed = true;
      return;
    case 'Q':  // a simple query, or a function call: each its own exchange...
    case 'F':
      // ...unless an extended exchange is open: its ReadyForQuery then ends both.
      if (!exchanges_.empty() && !exchanges_.back().closed)
        exchanges_.back().closed = true;
      else
        exchanges_.push_back(Exchange{0, true, false});
      return;
    default:  // Flush, COPY data: no answer of their own
      return;
  }
}

void ReplyCounter::received(char type) {
  if (exchanges_.empty()) return;
  Exchange& head = exchanges_.front();
  switch (type) {
    case '1':
    case '2':
    case '3':
    case 'n':
    case 'T':
    case 'C':
    case 'I':
    case 's':
      if (head.owed > 0) head.owed--;
      return;
    case 'E':
      head.error = true;
      head.owed = 0;  // the server skips the rest of the exchange
      return;
    case 'Z':
      exchanges_.pop_front();
      return;
    case 'G':  // CopyInResponse
    case 'W':  // CopyBothResponse
      forgetSyncs(copy_.onCopyIn());
      return;
    default:
      return;
  }
}

// The first of those Syncs closed the copy's exchange (the head), each later one an exchange
// after it. The head now ends where Sync number count + 1 ends it, if that was sent yet.
void ReplyCounter::forgetSyncs(int count) {
  if (count <= 0 || exchanges_.empty()) return;
  size_t forgotten = static_cast<size_t>(count);
  exchanges_.front().closed = exchanges_.size() > forgotten;
  size_t index = 0;
  exchanges_.eraseIf(
      [&index, forgotten](const Exchange&) {
        size_t at = index++;
        return at >= 1 && at <= forgotten;
      },
      forgotten);
}

bool ReplyCounter::settled() const {
  if (exchanges_.empty()) return true;
  return exchanges_.size() == 1 && !exchanges_.front().closed && exchanges_.front().owed == 0;
}

}  // namespace apibouncer
