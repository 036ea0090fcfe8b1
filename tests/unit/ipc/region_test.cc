#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/ipc/fd_passing.h"
#include "src/ipc/shm_layout.h"
#include "src/ipc/shm_region.h"

namespace strobe::ipc {
namespace {

using ::testing::HasSubstr;

ShmRegion MustCreate(uint32_t workers) {
  absl::StatusOr<ShmRegion> region = ShmRegion::Create(workers, getpid());
  EXPECT_TRUE(region.ok()) << region.status();
  return std::move(*region);
}

// A memfd of `size` bytes whose first bytes are a copy of `header` (when given).
int MemfdWithHeader(size_t size, const RegionHeader* header) {
  const int fd = memfd_create("strobe-test", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  if (header != nullptr) {
    const size_t n = std::min(size, sizeof(RegionHeader));
    EXPECT_EQ(pwrite(fd, header, n, 0), static_cast<ssize_t>(n));
  }
  return fd;
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(ShmRegionTest, CreateThenAttachThroughADupedFd) {
  ShmRegion created = MustCreate(1);
  const RegionHeader& h = *created.header();
  EXPECT_EQ(h.magic, kShmMagic);
  EXPECT_EQ(h.layout_version, kLayoutVersion);
  EXPECT_EQ(h.worker_count, 1u);
  EXPECT_NE(h.generation, 0u);
  EXPECT_EQ(h.region_size, RegionSize(1));
  EXPECT_EQ(h.ring_records, kRingRecords);
  EXPECT_EQ(h.max_sessions_per_worker, kMaxSessionsPerWorker);
  EXPECT_EQ(h.dataplane_pid, getpid());
  EXPECT_EQ(created.size(), RegionSize(1));
  EXPECT_EQ(created.worker_count(), 1u);
  EXPECT_EQ(created.generation(), h.generation);

  absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(dup(created.fd()));
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_NE(attached->header(), created.header());  // a second mapping...
  EXPECT_EQ(attached->size(), RegionSize(1));
  EXPECT_EQ(attached->worker_count(), 1u);
  EXPECT_EQ(attached->generation(), created.generation());
  EXPECT_EQ(attached->header()->dataplane_pid, getpid());

  // ...of the same memory, both ways.
  created.header()->heartbeat_ns.store(123456789);
  EXPECT_EQ(attached->header()->heartbeat_ns.load(), 123456789);
  attached->worker(0)->events.tail.store(42);
  EXPECT_EQ(created.worker(0)->events.tail.load(), 42u);
  created.worker(0)->table[kMaxSessionsPerWorker - 1].words[0].store(0xfeed);
  EXPECT_EQ(attached->worker(0)->table[kMaxSessionsPerWorker - 1].words[0].load(), 0xfeedu);
}

TEST(ShmRegionTest, EachCreateHasItsOwnGeneration) {
  ShmRegion a = MustCreate(1);
  ShmRegion b = MustCreate(1);
  EXPECT_NE(a.generation(), 0u);
  EXPECT_NE(b.generation(), 0u);
  EXPECT_NE(a.generation(), b.generation());
}

TEST(ShmRegionTest, WorkerAreasAreLaidOutBackToBack) {
  ShmRegion region = MustCreate(3);
  EXPECT_EQ(region.size(), RegionSize(3));
  EXPECT_EQ(region.size(), kWorkerAreaOffset + 3 * sizeof(WorkerArea));
  auto* base = reinterpret_cast<uint8_t*>(region.header());
  for (uint32_t w = 0; w < 3; ++w) {
    auto* area = reinterpret_cast<uint8_t*>(region.worker(w));
    EXPECT_EQ(area - base, static_cast<ptrdiff_t>(kWorkerAreaOffset + w * sizeof(WorkerArea)));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(area) % kCacheLineBytes, 0u);
    // Fresh memory: every index, flag and table entry starts at zero.
    EXPECT_EQ(region.worker(w)->events.head.load(), 0u);
    EXPECT_EQ(region.worker(w)->overflow.load(), 0u);
    EXPECT_EQ(region.worker(w)->table[0].seq.load(), 0u);
  }
  // The last byte is mapped and writable.
  base[region.size() - 1] = 1;
}

TEST(ShmRegionTest, CreateRefusesABadWorkerCount) {
  EXPECT_EQ(ShmRegion::Create(0, getpid()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShmRegion::Create(kMaxRegionWorkers + 1, getpid()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ShmRegion::Create(kMaxRegionWorkers, getpid()).ok());
}

TEST(ShmRegionTest, TheSizeIsSealed) {
  ShmRegion region = MustCreate(1);
  const int seals = fcntl(region.fd(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_NE(ftruncate(region.fd(), 4096), 0);
  EXPECT_NE(ftruncate(region.fd(), static_cast<off_t>(region.size() * 2)), 0);
}

TEST(ShmRegionTest, AttachRefusesTheWrongMagic) {
  ShmRegion region = MustCreate(1);
  region.header()->magic = 0x1234;
  absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(dup(region.fd()));
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr("not a Strobe region"));
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr("magic"));
}

TEST(ShmRegionTest, AttachRefusesAnotherLayoutVersion) {
  ShmRegion region = MustCreate(1);
  region.header()->layout_version = kLayoutVersion + 1;
  absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(dup(region.fd()));
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(attached.status().message());
  EXPECT_THAT(message, HasSubstr("layout version " + std::to_string(kLayoutVersion + 1)));
  EXPECT_THAT(message, HasSubstr("this program version " + std::to_string(kLayoutVersion)));
}

TEST(ShmRegionTest, AttachRefusesAFileOfTheWrongSize) {
  ShmRegion region = MustCreate(1);
  for (size_t size : {RegionSize(1) + 4096, RegionSize(1) - 4096, kWorkerAreaOffset}) {
    SCOPED_TRACE(size);
    absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(MemfdWithHeader(size, region.header()));
    ASSERT_FALSE(attached.ok());
    EXPECT_EQ(attached.status().code(), absl::StatusCode::kFailedPrecondition);
    const std::string message(attached.status().message());
    EXPECT_THAT(message, HasSubstr("geometry does not match"));
    EXPECT_THAT(message, HasSubstr(std::to_string(RegionSize(1)) + " bytes"));
  }
  // The same header copied into a memfd of the right size is accepted: only the size was wrong.
  EXPECT_TRUE(ShmRegion::Attach(MemfdWithHeader(RegionSize(1), region.header())).ok());
}

TEST(ShmRegionTest, AttachRefusesAHeaderThatDisagreesWithTheSize) {
  ShmRegion region = MustCreate(2);
  region.header()->worker_count = 1;  // but sized for 2
  absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(dup(region.fd()));
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr("geometry"));

  region.header()->worker_count = 2;
  region.header()->ring_records = kRingRecords * 2;
  attached = ShmRegion::Attach(dup(region.fd()));
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr("geometry"));
}

TEST(ShmRegionTest, AttachRefusesAFileTooSmallForAHeader) {
  for (size_t size : {size_t{0}, size_t{16}, sizeof(RegionHeader) - 1}) {
    SCOPED_TRACE(size);
    absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(MemfdWithHeader(size, nullptr));
    ASSERT_FALSE(attached.ok());
    EXPECT_EQ(attached.status().code(), absl::StatusCode::kFailedPrecondition);
    const std::string message(attached.status().message());
    EXPECT_THAT(message, HasSubstr("too small"));
    EXPECT_THAT(message, HasSubstr(std::to_string(size) + " bytes"));
  }
}

TEST(ShmRegionTest, AttachOwnsTheFdEvenWhenItFails) {
  const int fd = MemfdWithHeader(16, nullptr);
  EXPECT_FALSE(ShmRegion::Attach(fd).ok());
  EXPECT_FALSE(IsOpen(fd));

  ShmRegion region = MustCreate(1);
  const int good = dup(region.fd());
  {
    absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(good);
    ASSERT_TRUE(attached.ok());
    EXPECT_EQ(attached->fd(), good);
    EXPECT_TRUE(IsOpen(good));
  }
  EXPECT_FALSE(IsOpen(good));
  EXPECT_TRUE(IsOpen(region.fd()));
}

TEST(ShmRegionTest, AttachReportsABadFd) {
  absl::StatusOr<ShmRegion> attached = ShmRegion::Attach(-1);
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr("fstat"));
}

TEST(ShmRegionTest, MoveKeepsTheMapping) {
  ShmRegion a = MustCreate(1);
  RegionHeader* header = a.header();
  const int fd = a.fd();
  ShmRegion b(std::move(a));
  EXPECT_EQ(b.header(), header);
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(a.header(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a.fd(), -1);           // NOLINT(bugprone-use-after-move)
  ShmRegion c;
  c = std::move(b);
  EXPECT_EQ(c.header(), header);
  EXPECT_EQ(c.header()->magic, kShmMagic);
}

// File descriptor passing over a unix stream socket.
class FdPassingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0); }
  void TearDown() override {
    if (sv_[0] >= 0) close(sv_[0]);
    if (sv_[1] >= 0) close(sv_[1]);
    for (int fd : opened_) close(fd);
  }
  int NewEventfd() {
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    EXPECT_GE(fd, 0);
    opened_.push_back(fd);
    return fd;
  }
  void Own(const std::vector<int>& fds) { opened_.insert(opened_.end(), fds.begin(), fds.end()); }

  int sv_[2] = {-1, -1};
  std::vector<int> opened_;
};

// The received fd is the same eventfd as the sent one: what is written on one is read on the other.
void ExpectSameEventfd(int sent, int received, uint64_t value) {
  ASSERT_EQ(write(sent, &value, sizeof(value)), static_cast<ssize_t>(sizeof(value)));
  uint64_t got = 0;
  ASSERT_EQ(read(received, &got, sizeof(got)), static_cast<ssize_t>(sizeof(got)));
  EXPECT_EQ(got, value);
}

TEST_F(FdPassingTest, ThreeEventfdsAndTheExactLine) {
  const std::vector<int> sent = {NewEventfd(), NewEventfd(), NewEventfd()};
  const std::string line = R"({"ok": true, "result": {"worker_count": 1, "x": "a b\tc"}})";
  ASSERT_TRUE(SendWithFds(sv_[0], line + "\n", sent).ok());

  std::string got;
  std::vector<int> fds;
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &got, &fds, 1000).ok());
  Own(fds);
  EXPECT_EQ(got, line);
  ASSERT_EQ(fds.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_NE(fds[i], sent[i]);
    EXPECT_TRUE(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
    ExpectSameEventfd(sent[i], fds[i], 100 + i);  // in order: fds[i] is sent[i]
    ExpectSameEventfd(fds[i], sent[i], 200 + i);
  }
}

TEST_F(FdPassingTest, TwoLinesBackToBackAreNotMerged) {
  const std::vector<int> first = {NewEventfd()};
  const std::vector<int> second = {NewEventfd(), NewEventfd()};
  ASSERT_TRUE(SendWithFds(sv_[0], "first line\n", first).ok());
  ASSERT_TRUE(SendWithFds(sv_[0], "second line\n", second).ok());
  ASSERT_TRUE(SendWithFds(sv_[0], "third\nfourth\n", {}).ok());

  std::string line;
  std::vector<int> fds;
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  Own(fds);
  EXPECT_EQ(line, "first line");
  ASSERT_EQ(fds.size(), 1u);
  ExpectSameEventfd(first[0], fds[0], 1);

  fds.clear();
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  Own(fds);
  EXPECT_EQ(line, "second line");
  ASSERT_EQ(fds.size(), 2u);
  ExpectSameEventfd(second[0], fds[0], 2);
  ExpectSameEventfd(second[1], fds[1], 3);

  fds.clear();
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  EXPECT_EQ(line, "third");
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  EXPECT_EQ(line, "fourth");
  EXPECT_TRUE(fds.empty());
}

TEST_F(FdPassingTest, ALineInTwoPiecesWaitsForTheNewline) {
  const std::vector<int> sent = {NewEventfd()};
  ASSERT_TRUE(SendWithFds(sv_[0], "par", sent).ok());
  std::thread later([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(SendWithFds(sv_[0], "tial\nnext\n", {}).ok());
  });
  std::string line;
  std::vector<int> fds;
  const absl::Status status = ReceiveLineWithFds(sv_[1], &line, &fds, 5000);
  later.join();
  Own(fds);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(line, "partial");
  ASSERT_EQ(fds.size(), 1u);
  ExpectSameEventfd(sent[0], fds[0], 9);
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  EXPECT_EQ(line, "next");
}

TEST_F(FdPassingTest, TimeoutAndClosedPeer) {
  std::string line;
  std::vector<int> fds;
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = ReceiveLineWithFds(sv_[1], &line, &fds, 50);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));

  close(sv_[0]);
  sv_[0] = -1;
  status = ReceiveLineWithFds(sv_[1], &line, &fds, 1000);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(FdPassingTest, RefusesWhatItCannotSend) {
  EXPECT_EQ(SendWithFds(sv_[0], "", {}).code(), absl::StatusCode::kInvalidArgument);
  std::vector<int> too_many(kMaxPassedFds + 1, sv_[0]);
  EXPECT_EQ(SendWithFds(sv_[0], "x\n", too_many).code(), absl::StatusCode::kInvalidArgument);
  // The maximum goes through.
  const int fd = NewEventfd();
  ASSERT_TRUE(SendWithFds(sv_[0], "max\n", std::vector<int>(kMaxPassedFds, fd)).ok());
  std::string line;
  std::vector<int> fds;
  ASSERT_TRUE(ReceiveLineWithFds(sv_[1], &line, &fds, 1000).ok());
  Own(fds);
  EXPECT_EQ(line, "max");
  EXPECT_EQ(fds.size(), kMaxPassedFds);
}

}  // namespace
}  // namespace strobe::ipc
