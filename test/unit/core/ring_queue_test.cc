// RingQueue: first in, first out across wrap-around and growth, and an entry's resources are
// released when it leaves the queue.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pooler/ring_queue.h"

using apibouncer::RingQueue;

TEST_CASE("A ring queue hands entries back in the order they came", "[ring_queue]") {
  RingQueue<int> queue;
  CHECK(queue.empty());
  int next_in = 0;
  int next_out = 0;
  // Keep between 3 and 5 entries while pushing 1,000, so the head wraps round the ring many
  // times; then let it grow past its first capacity with the head mid-ring.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 5 && queue.size() < 5; ++i) queue.push_back(next_in++);
    while (queue.size() > 3) {
      REQUIRE(queue.front() == next_out);
      queue.pop_front();
      ++next_out;
    }
  }
  for (int i = 0; i < 40; ++i) queue.push_back(next_in++);
  CHECK(queue.size() == static_cast<size_t>(next_in - next_out));
  CHECK(queue.back() == next_in - 1);
  while (!queue.empty()) {
    REQUIRE(queue.front() == next_out);
    queue.pop_front();
    ++next_out;
  }
  CHECK(next_out == next_in);
}

TEST_CASE("A ring queue's back can be changed in place", "[ring_queue]") {
  RingQueue<std::string> queue;
  queue.emplace_back("first");
  queue.emplace_back("sec");
  queue.back() += "ond";
  CHECK(queue.front() == "first");
  queue.pop_front();
  CHECK(queue.front() == "second");
  CHECK(queue.size() == 1);
}

TEST_CASE("A ring queue releases what an entry owns when it is popped or cleared", "[ring_queue]") {
  auto resource = std::make_shared<int>(7);
  RingQueue<std::shared_ptr<int>> queue;
  queue.push_back(resource);
  queue.push_back(resource);
  queue.push_back(resource);
  CHECK(resource.use_count() == 4);
  queue.pop_front();
  CHECK(resource.use_count() == 3);
  queue.clear();
  CHECK(queue.empty());
  CHECK(resource.use_count() == 1);
  // Usable again after clear.
  queue.push_back(resource);
  CHECK(*queue.front() == 7);
}

TEST_CASE("A ring queue keeps its slots, unless a long pipeline grew it", "[ring_queue]") {
  RingQueue<int> queue;
  CHECK(queue.capacity() == 0);  // an idle link or client holds no slots
  for (int i = 0; i < 5; ++i) queue.push_back(i);
  size_t small = queue.capacity();
  while (!queue.empty()) queue.pop_front();
  CHECK(queue.capacity() == small);  // reused by the next transaction, no allocation

  for (size_t i = 0; i < RingQueue<int>::kKeptSlots + 1; ++i) queue.push_back(1);
  CHECK(queue.capacity() > RingQueue<int>::kKeptSlots);
  queue.pop_front();
  CHECK(queue.capacity() > RingQueue<int>::kKeptSlots);  // not while entries remain
  while (!queue.empty()) queue.pop_front();
  CHECK(queue.capacity() == 0);
  queue.push_back(9);
  CHECK(queue.front() == 9);
}

TEST_CASE("A ring queue drops a leaver and keeps the others' order", "[ring_queue]") {
  RingQueue<int> queue;
  // Head mid-ring, so the compaction crosses the wrap-around.
  for (int i = 0; i < 6; ++i) queue.push_back(-1);
  for (int i = 0; i < 6; ++i) queue.pop_front();
  for (int i : {1, 2, 3, 2, 4, 5, 2}) queue.push_back(i);
  CHECK(queue.erase(2) == 3);
  CHECK(queue.erase(9) == 0);
  std::vector<int> seen;
  for (int entry : queue) seen.push_back(entry);
  CHECK(seen == std::vector<int>{1, 3, 4, 5});
  CHECK(queue.size() == 4);
  queue.push_back(6);
  CHECK(queue.back() == 6);
  std::vector<int> drained;
  while (!queue.empty()) {
    drained.push_back(queue.front());
    queue.pop_front();
  }
  CHECK(drained == std::vector<int>{1, 3, 4, 5, 6});
}

TEST_CASE("A ring queue taken by swap or move leaves an empty, usable queue", "[ring_queue]") {
  RingQueue<int> queue;
  for (int i = 0; i < 3; ++i) queue.push_back(i);
  RingQueue<int> taken;
  taken.swap(queue);
  CHECK(queue.empty());
  CHECK(taken.size() == 3);
  queue.push_back(7);
  CHECK(queue.front() == 7);

  RingQueue<int> moved(std::move(taken));
  CHECK(taken.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(moved.size() == 3);
  CHECK(moved.front() == 0);
  taken.push_back(8);
  CHECK(taken.front() == 8);
  moved = std::move(queue);
  CHECK(queue.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(moved.size() == 1);
  CHECK(moved.front() == 7);
}

TEST_CASE("RingQueue::eraseIf removes the first matches up to a limit, in order", "[ring_queue]") {
  RingQueue<int> queue;
  for (int i = 0; i < 6; ++i) queue.push_back(9);
  for (int i = 0; i < 6; ++i) queue.pop_front();  // the entries below wrap around the slots
  for (int value : {1, 2, 1, 3, 1}) queue.push_back(value);
  auto contents = [&queue] {
    std::vector<int> values;
    for (int value : queue) values.push_back(value);
    return values;
  };
  CHECK(queue.eraseIf([](int v) { return v == 1; }, 2) == 2);
  CHECK(contents() == std::vector<int>{2, 3, 1});
  CHECK(queue.eraseIf([](int v) { return v == 5; }, 3) == 0);
  CHECK(queue.erase(1) == 1);
  CHECK(contents() == std::vector<int>{2, 3});
}
