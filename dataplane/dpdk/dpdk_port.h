#ifndef STROBE_DATAPLANE_DPDK_DPDK_PORT_H_
#define STROBE_DATAPLANE_DPDK_DPDK_PORT_H_

// A DPDK poll-mode port for the `dpdk` backend: one device (a PCI NIC, or a vdev such as
// net_af_packet, net_af_xdp, net_memif, net_ring, net_tap), one RX and one TX queue per worker.
// Queue i belongs to worker i, which alone polls and transmits on it (no locks), with packet
// buffers from its own mempool.

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "dataplane/frame_tx.h"
#include "dataplane/neighbor_watch.h"

struct rte_mbuf;
struct rte_mempool;

namespace strobe::dataplane {

// A worker's packet buffers: one mempool per worker, created before the ports.
absl::StatusOr<rte_mempool*> CreateWorkerPool(int worker, uint32_t mbufs);
void FreeWorkerPool(rte_mempool* pool);

struct DpdkQueueCounters {
  uint64_t rx_frames = 0;   // frames received on this queue
  uint64_t rx_bfd = 0;      // of which BFD, handed to the worker's FSM or steady-state check
  uint64_t rx_not_bfd = 0;  // of which not BFD (the kernel's: passed on or dropped)
  uint64_t rx_own = 0;      // of which sent by this host itself (a vdev on a kernel link sees
                            // the kernel's own outgoing frames): ignored
  uint64_t forwarded = 0;   // port queue: frames not BFD passed to the kernel's exception
                            // port; exception queue: the kernel's frames sent on the port
  uint64_t tx_frames = 0;   // frames the device accepted
  uint64_t tx_no_mbuf = 0;  // Queue() found the mempool empty
  uint64_t tx_dropped = 0;  // the device's TX ring refused them at Flush()
};

class DpdkQueue final : public FrameTx {
 public:
  static constexpr uint16_t kBurst = 32;
  enum class Role : uint8_t {
    kPort,       // the link: BFD to the worker, the rest to the exception port if any
    kException,  // the kernel's TAP: everything to the port
  };

  DpdkQueue(uint16_t port_id, uint16_t queue_id, rte_mempool* pool, int ifindex,
            const MacAddress& mac, Role role);
  ~DpdkQueue() override;
  DpdkQueue(const DpdkQueue&) = delete;
  DpdkQueue& operator=(const DpdkQueue&) = delete;

  // FrameTx: copies the frame into an mbuf of the worker's pool; a full batch is sent at once.
  bool Queue(std::span<const uint8_t> frame) override;
  int Flush() override;

  // Receives one burst and hands each frame (but the host's own) to `handle`, which answers
  // whether it was BFD; returns the number of frames received. Each frame is freed when `handle`
  // returns.
  uint16_t Poll(absl::FunctionRef<bool(std::span<const uint8_t> frame)> handle);
  // Takes `m` into the TX batch as it is (no copy): the exception path.
  void Forward(rte_mbuf* m);
  // The same worker's queue on the other side of the exception path (both directions).
  void set_peer(DpdkQueue* peer) { peer_ = peer; }
  Role role() const { return role_; }

  uint16_t port_id() const { return port_id_; }
  uint16_t queue_id() const { return queue_id_; }
  int ifindex() const { return ifindex_; }
  const MacAddress& mac() const { return mac_; }
  const DpdkQueueCounters& counters() const { return counters_; }

 private:
  const uint16_t port_id_;
  const uint16_t queue_id_;
  rte_mempool* const pool_;
  const int ifindex_;
  const MacAddress mac_;
  const Role role_;
  DpdkQueue* peer_ = nullptr;
  std::array<rte_mbuf*, kBurst> tx_batch_{};
  uint16_t tx_count_ = 0;
  DpdkQueueCounters counters_;
};

class DpdkPort {
 public:
  struct Options {
    std::string interface;  // the kernel's name of this link: sessions name it
    std::string devargs;
    std::vector<rte_mempool*> pools;  // one per worker: queue i takes its RX buffers from pools[i]
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    // The NIC is DPDK's alone: create a TAP named `interface` with the port's MAC, and pass it
    // every frame that is not BFD (and the port every frame the kernel sends on it).
    bool exception_tap = false;
  };

  // Probes the device (unless the EAL already did, from eal_args), configures one queue pair
  // per worker and starts it; with exception_tap, the TAP too.
  static absl::StatusOr<std::unique_ptr<DpdkPort>> Open(const Options& options);
  ~DpdkPort();  // stops and closes the devices; the workers must be stopped first
  DpdkPort(const DpdkPort&) = delete;
  DpdkPort& operator=(const DpdkPort&) = delete;

  DpdkQueue* queue(size_t worker) { return queues_[worker].get(); }
  // The worker's queue on the exception TAP, or null without one.
  DpdkQueue* exception_queue(size_t worker) {
    return exception_queues_.empty() ? nullptr : exception_queues_[worker].get();
  }
  const std::string& interface() const { return interface_; }
  uint16_t port_id() const { return devices_.front().port_id; }

  // The device's own counters (rte_eth_stats_get) and identity, and the exception TAP's under
  // "exception" (null without one); safe from any thread.
  nlohmann::json StatsJson() const;

 private:
  struct Device {
    uint16_t port_id = 0;
    std::string devargs;
    std::string driver;
    MacAddress mac{};
    bool started = false;
  };

  DpdkPort() = default;
  static absl::Status StartDevice(const Options& options, const std::string& devargs,
                                  Device* device);
  nlohmann::json DeviceStatsJson(const Device& device) const;

  std::string interface_;
  std::vector<Device> devices_;  // the port, then its exception TAP if any
  std::vector<std::unique_ptr<DpdkQueue>> exception_queues_;
  std::vector<std::unique_ptr<DpdkQueue>> queues_;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_DPDK_DPDK_PORT_H_
