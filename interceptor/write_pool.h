// The write pool of one database: up to write_pool_size autocommit links logged in as
// writer_user, separate from every client's own link, so a synced write escapes the client's
// transaction. Writes wait in order for a free link; a broken link is dropped, not reused.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "interceptor/write_link.h"

namespace apibouncer::interceptor {

class WritePool {
 public:
  // `link` is null when no link could be opened; `error` says why.
  using Granted = std::function<void(WriteLink* link, const std::string& error)>;

  WritePool(uv_loop_t* loop, std::string conninfo, int size);
  ~WritePool();

  void acquire(Granted granted);
  void release(WriteLink* link);

  // The synced tables' writable columns (attnum order), learned once per configuration.
  std::map<std::string, std::vector<std::string>>& columns() { return columns_; }
  const std::string& conninfo() const { return conninfo_; }
  void resize(int size) { size_ = size; }

 private:
  void open(Granted granted);
  void drop(WriteLink* link);

  uv_loop_t* loop_;
  std::string conninfo_;
  int size_;
  std::vector<std::unique_ptr<WriteLink>> links_;
  std::vector<WriteLink*> idle_;
  std::deque<Granted> waiting_;
  std::map<std::string, std::vector<std::string>> columns_;
};

}  // namespace apibouncer::interceptor
