// Edits a byte stream chunk by chunk at message boundaries: drop a message, insert bytes after
// one. A chunk nobody edited is handed back as it came (no copy), so the pass-through path
// stays free of copies; only edited chunks are rebuilt, in a buffer the caller owns and
// reuses. A cut may span chunks (a message split by the network). Pure; no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace apibouncer {

class ChunkEditor {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Starts a chunk; edited output (if any) is built in `out`, which is cleared.
  void begin(std::span<const uint8_t> chunk, std::string& out) {
    chunk_ = chunk;
    out_ = &out;
    out.clear();
    run_start_ = 0;
    edited_ = false;
    if (cut_at_ != kNone) cut_at_ = 0;  // a cut carried over from the previous chunk
  }
  // Bytes from `offset` on are dropped until resumeAt() (or uncut()).
  void cutFrom(size_t offset) { cut_at_ = offset; }
  bool cutting() const { return cut_at_ != kNone; }
  // Forgets a cut begun in this chunk: the bytes stay.
  void uncut() { cut_at_ = kNone; }
  // Ends a cut at `end`; bytes from there on are kept.
  void resumeAt(size_t end) {
    if (cut_at_ != kNone) append(run_start_, cut_at_);
    cut_at_ = kNone;
    run_start_ = end;
    edited_ = true;
  }
  // Inserts `bytes` at `offset` (not inside a cut).
  void insert(size_t offset, std::string_view bytes) {
    append(run_start_, offset);
    out_->append(bytes);
    run_start_ = offset;
    edited_ = true;
  }
  // Ends the chunk at `end` (its size, or where the caller stopped) and returns what to send.
  std::span<const uint8_t> finish(size_t end) {
    if (cut_at_ != kNone) {
      append(run_start_, cut_at_);
      edited_ = true;
    } else if (edited_) {
      append(run_start_, end);
    }
    if (!edited_) return chunk_.first(end);
    return {reinterpret_cast<const uint8_t*>(out_->data()), out_->size()};
  }

 private:
  void append(size_t from, size_t to) {
    if (to > from) out_->append(reinterpret_cast<const char*>(chunk_.data() + from), to - from);
  }

  std::span<const uint8_t> chunk_;
  std::string* out_ = nullptr;
  size_t run_start_ = 0;
  size_t cut_at_ = kNone;
  bool edited_ = false;
};

}  // namespace apibouncer
