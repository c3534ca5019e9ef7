// What a ClientSession keeps while its database has synced tables: the client's messages held
// whole until they are known to pass through, the synced write taken out of the stream, the
// extended-protocol statements and portals that write synced tables, and the replies still
// owed by the link (so the write's answer lands in order). Allocated on first use, so clients
// of other databases pay one pointer.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interceptor/interceptor.h"
#include "pooler/message_scanner.h"
#include "pooler/reply_counter.h"
#include "pooler/wire/packet.h"

namespace apibouncer {

class ClientSession;

struct ClientInterception {
  struct Write {
    std::string sql;
    interceptor::Decision decision;
    interceptor::QueryParams params;  // extended protocol: the portal's bound values
    int result_format = 0;
    bool extended = false;  // an Execute: answered without RowDescription or ReadyForQuery
    bool script = false;    // a multi-statement Query with synced writes, to split in parts
  };
  struct Statement {
    std::string sql;
    interceptor::Decision decision;
    std::vector<uint32_t> param_types;
  };

  std::string held;         // client messages not yet forwarded
  size_t held_checked = 0;  // held up to here passes through
  std::optional<Write> write;
  bool write_running = false;
  uint64_t write_started_ms = 0;
  uint64_t writes_started = 0;
  interceptor::Interceptor::CancelWrite cancel_write;  // set while the write runs
  bool skip_until_sync = false;
  bool processing = false;  // inside processHeld: replies counted meanwhile start nothing  // an
                            // error ended the exchange: drop the rest up to Sync
  std::map<std::string, std::shared_ptr<const Statement>, std::less<>> statements;
  std::map<std::string, Write, std::less<>> portals;
  // What the session SET search_path to (schemas as written); nullopt: the role's default.
  std::optional<std::vector<std::string>> search_path;
  ReplyCounter replies;
  MessageScanner reply_scanner;
  // A multi-statement Query that writes synced tables runs as one Query per part (the
  // statements between writes, and each write); the client sees one ReadyForQuery, after the
  // last part, or after the first part that fails (PostgreSQL skips the rest).
  size_t script_parts_left = 0;  // parts not answered yet
  // A part that is not a write went to the server and is not answered yet. Parts go one at a
  // time, so that the parts after a failing one never reach the server.
  bool part_sent = false;
  bool part_error = false;  // the part being answered got an ErrorResponse
  bool script_failed = false;
  char script_status = 'I';  // from the last ReadyForQuery taken out of the stream
  bool cutting = false;      // a ReadyForQuery being taken out continues in the next chunk
  size_t cut_start = 0;
  // Writes outlive clients that leave: their answer checks this is still set.
  std::shared_ptr<ClientSession*> alive;

  // The size of the whole held message starting at `pos` (its header must be there).
  size_t messageSize(size_t pos) const {
    return 1 + size_t{wire::readU32(reinterpret_cast<const uint8_t*>(held.data()) + pos + 1)};
  }
  // Drops the first `count` held messages: the parts of a multi-statement Query that an
  // error before them cancelled.
  void dropHeldMessages(size_t count) {
    for (size_t i = 0; i < count && held.size() >= 5; ++i)
      held.erase(0, std::min(held.size(), messageSize(0)));
    held_checked = 0;
  }
};

}  // namespace apibouncer
