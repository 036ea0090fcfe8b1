#include "dataplane/dpdk/dpdk_port.h"

#include <net/if.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/common/logging.h"

namespace strobe::dataplane {

absl::StatusOr<rte_mempool*> CreateWorkerPool(int worker, uint32_t mbufs) {
  const std::string name = absl::StrCat("strobe_w", worker);
  // Each worker registers as an EAL lcore (Worker::DpdkThreadStart), so its allocations and
  // frees go through its own cache of the pool before the shared ring.
  const unsigned cache = std::min<unsigned>(256, mbufs * 2 / 3);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(name.c_str(), mbufs, cache,
                              /*priv_size=*/0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("dpdk: cannot create the packet pool of worker ", worker, " (", mbufs,
                     " buffers): ", rte_strerror(rte_errno),
                     "; give the EAL more memory (\"-m\" or hugepages) or lower mbufs_per_worker"));
  }
  return pool;
}

void FreeWorkerPool(rte_mempool* pool) { rte_mempool_free(pool); }

DpdkQueue::DpdkQueue(uint16_t port_id, uint16_t queue_id, rte_mempool* pool, int ifindex,
                     const MacAddress& mac, Role role)
    : port_id_(port_id),
      queue_id_(queue_id),
      pool_(pool),
      ifindex_(ifindex),
      mac_(mac),
      role_(role) {}

DpdkQueue::~DpdkQueue() {
  for (uint16_t i = 0; i < tx_count_; ++i) rte_pktmbuf_free(tx_batch_[i]);
}

void DpdkQueue::Forward(rte_mbuf* m) {
  tx_batch_[tx_count_++] = m;
  if (tx_count_ == kBurst) Flush();
}

bool DpdkQueue::Queue(std::span<const uint8_t> frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    ++counters_.tx_no_mbuf;
    return false;
  }
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (data == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(data, frame.data(), frame.size());
  tx_batch_[tx_count_++] = m;
  if (tx_count_ == kBurst) Flush();
  return true;
}

int DpdkQueue::Flush() {
  if (tx_count_ == 0) return 0;
  const uint16_t sent = rte_eth_tx_burst(port_id_, queue_id_, tx_batch_.data(), tx_count_);
  counters_.tx_frames += sent;
  for (uint16_t i = sent; i < tx_count_; ++i) rte_pktmbuf_free(tx_batch_[i]);
  counters_.tx_dropped += tx_count_ - sent;
  tx_count_ = 0;
  return sent;
}

uint16_t DpdkQueue::Poll(absl::FunctionRef<bool(std::span<const uint8_t> frame)> handle) {
  rte_mbuf* burst[kBurst];
  const uint16_t n = rte_eth_rx_burst(port_id_, queue_id_, burst, kBurst);
  if (n == 0) return 0;
  counters_.rx_frames += n;
  if (role_ == Role::kException) {
    // The kernel's frames (ARP, ND, TCP, its sockets' BFD) go out on the port untouched.
    for (uint16_t i = 0; i < n; ++i) peer_->Forward(burst[i]);
    counters_.forwarded += n;
    peer_->Flush();
    return n;
  }
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = burst[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void*));
    const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
    const std::span<const uint8_t> frame(data, rte_pktmbuf_data_len(m));
    if (frame.size() >= 12 && std::memcmp(data + 6, mac_.data(), 6) == 0 && peer_ == nullptr) {
      ++counters_.rx_own;
    } else if (frame.size() >= 6 && std::memcmp(data, mac_.data(), 6) == 0 && handle(frame)) {
      // BFD Control packets are unicast to us; a frame for another address (a promiscuous
      // link) or a broadcast is the kernel's.
      ++counters_.rx_bfd;
    } else {
      ++counters_.rx_not_bfd;
      if (peer_ != nullptr) {
        peer_->Forward(m);  // to the kernel through the exception port
        ++counters_.forwarded;
        continue;
      }
    }
    rte_pktmbuf_free(m);
  }
  if (peer_ != nullptr) peer_->Flush();
  return n;
}

namespace {

// The port a devargs string names once probed: a vdev by its name (the part before the first
// comma), a PCI device by its address in any spelling the EAL accepts.
std::optional<uint16_t> FindPort(const std::string& devargs) {
  const std::string name = devargs.substr(0, devargs.find(','));
  uint16_t port_id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) == 0) return port_id;
  rte_dev_iterator iterator;
  if (rte_eth_iterator_init(&iterator, devargs.c_str()) == 0) {
    const uint16_t found = rte_eth_iterator_next(&iterator);
    rte_eth_iterator_cleanup(&iterator);
    if (found != RTE_MAX_ETHPORTS) return found;
  }
  return std::nullopt;
}

std::string Where(const DpdkPort::Options& o) {
  return absl::StrCat("dpdk port ", o.interface, " (", o.devargs, ")");
}

std::string MacText(const MacAddress& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

}  // namespace

// Probes (unless already probed), configures one queue pair per pool and starts `devargs`.
absl::Status DpdkPort::StartDevice(const Options& options, const std::string& devargs,
                                   Device* device) {
  const std::string where = absl::StrCat("dpdk port ", options.interface, " (", devargs, ")");
  std::optional<uint16_t> port_id = FindPort(devargs);
  if (!port_id) {
    if (const int e = rte_dev_probe(devargs.c_str()); e != 0) {
      return absl::NotFoundError(absl::StrCat(where,
                                              ": cannot probe the device: ", rte_strerror(-e),
                                              " (is the device or interface present, and the "
                                              "driver's devargs right?)"));
    }
    port_id = FindPort(devargs);
    if (!port_id) {
      return absl::NotFoundError(
          absl::StrCat(where, ": probed, but no ethdev port appeared for it"));
    }
  }
  device->port_id = *port_id;
  device->devargs = devargs;
  rte_eth_dev_info info;
  if (const int e = rte_eth_dev_info_get(device->port_id, &info); e != 0) {
    return absl::InternalError(absl::StrCat(where, ": ", rte_strerror(-e)));
  }
  device->driver = info.driver_name != nullptr ? info.driver_name : "";
  const auto queues = static_cast<uint16_t>(options.pools.size());
  if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": the device offers ", info.max_rx_queues, " RX and ",
                     info.max_tx_queues, " TX queues, the dataplane has ", queues,
                     " workers and gives each a queue pair (net_af_packet: add \"qpairs=", queues,
                     "\" to its devargs)"));
  }
  rte_eth_conf conf{};
  if (queues > 1 && info.flow_type_rss_offloads != 0) {
    // Spread by addresses and ports; a packet on another worker's queue is handed over.
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
  }
  if (const int e = rte_eth_dev_configure(device->port_id, queues, queues, &conf); e != 0) {
    return absl::InternalError(absl::StrCat(where, ": rte_eth_dev_configure: ", rte_strerror(-e)));
  }
  uint16_t rx_descriptors = options.rx_descriptors;
  uint16_t tx_descriptors = options.tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(device->port_id, &rx_descriptors, &tx_descriptors);
  const int socket = rte_eth_dev_socket_id(device->port_id);
  for (uint16_t q = 0; q < queues; ++q) {
    if (const int e = rte_eth_rx_queue_setup(device->port_id, q, rx_descriptors, socket, nullptr,
                                             options.pools[q]);
        e != 0) {
      return absl::InternalError(absl::StrCat(where, ": RX queue ", q, ": ", rte_strerror(-e)));
    }
    if (const int e = rte_eth_tx_queue_setup(device->port_id, q, tx_descriptors, socket, nullptr);
        e != 0) {
      return absl::InternalError(absl::StrCat(where, ": TX queue ", q, ": ", rte_strerror(-e)));
    }
  }
  if (const int e = rte_eth_dev_start(device->port_id); e != 0) {
    return absl::InternalError(absl::StrCat(where, ": rte_eth_dev_start: ", rte_strerror(-e)));
  }
  device->started = true;
  rte_ether_addr mac;
  rte_eth_macaddr_get(device->port_id, &mac);
  std::memcpy(device->mac.data(), mac.addr_bytes, 6);
  STROBE_LOG(kInfo, "%s: port %d, driver %s, %d queue pairs, MAC %s", where, device->port_id,
             device->driver, queues, MacText(device->mac));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DpdkPort>> DpdkPort::Open(const Options& options) {
  std::unique_ptr<DpdkPort> port(new DpdkPort());
  port->interface_ = options.interface;
  const bool exists = if_nametoindex(options.interface.c_str()) != 0;
  if (options.exception_tap && exists) {
    return absl::AlreadyExistsError(
        absl::StrCat(Where(options), ": exception = \"tap\" creates the kernel interface ",
                     options.interface, ", but one by that name exists already"));
  }
  if (!options.exception_tap && !exists) {
    return absl::NotFoundError(absl::StrCat(
        Where(options), ": no kernel interface named ", options.interface,
        " (sessions find their link by that name, and its ifindex, MAC and neighbours come from "
        "the kernel; when DPDK owns the NIC, set exception = \"tap\" to create it)"));
  }
  port->devices_.reserve(2);  // `nic` below stays valid
  port->devices_.emplace_back();
  if (absl::Status s = StartDevice(options, options.devargs, &port->devices_.back()); !s.ok()) {
    return s;
  }
  const Device& nic = port->devices_.front();
  if (options.exception_tap) {
    // The kernel's side of the link: a TAP with the port's name and MAC, so the kernel's ARP and
    // ND answers name the address the NIC receives on.
    port->devices_.emplace_back();
    const std::string tap = absl::StrCat("net_tap_strobe", nic.port_id,
                                         ",iface=", options.interface, ",mac=", MacText(nic.mac));
    if (absl::Status s = StartDevice(options, tap, &port->devices_.back()); !s.ok()) return s;
    // ND and other multicast reach the kernel through the TAP.
    rte_eth_allmulticast_enable(nic.port_id);
  }
  const int ifindex = static_cast<int>(if_nametoindex(options.interface.c_str()));
  if (ifindex == 0) {
    return absl::NotFoundError(
        absl::StrCat(Where(options), ": the kernel interface ", options.interface, " vanished"));
  }
  for (uint16_t q = 0; q < options.pools.size(); ++q) {
    port->queues_.push_back(std::make_unique<DpdkQueue>(nic.port_id, q, options.pools[q], ifindex,
                                                        nic.mac, DpdkQueue::Role::kPort));
    if (options.exception_tap) {
      port->exception_queues_.push_back(
          std::make_unique<DpdkQueue>(port->devices_[1].port_id, q, options.pools[q], ifindex,
                                      nic.mac, DpdkQueue::Role::kException));
      port->queues_.back()->set_peer(port->exception_queues_.back().get());
      port->exception_queues_.back()->set_peer(port->queues_.back().get());
    }
  }
  return port;
}

DpdkPort::~DpdkPort() {
  // Unsent frames go back to the pools first.
  queues_.clear();
  exception_queues_.clear();
  for (auto it = devices_.rbegin(); it != devices_.rend(); ++it) {
    if (it->started) rte_eth_dev_stop(it->port_id);
    rte_eth_dev_close(it->port_id);
  }
}

nlohmann::json DpdkPort::DeviceStatsJson(const Device& device) const {
  rte_eth_stats stats{};
  rte_eth_stats_get(device.port_id, &stats);
  nlohmann::json queues = nlohmann::json::array();
  for (size_t q = 0; q < queues_.size() && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q) {
    queues.push_back({{"queue", q}, {"rx", stats.q_ipackets[q]}, {"tx", stats.q_opackets[q]}});
  }
  return {
      {"devargs", device.devargs},     {"driver", device.driver},    {"port_id", device.port_id},
      {"mac", MacText(device.mac)},    {"rx", stats.ipackets},       {"tx", stats.opackets},
      {"rx_missed", stats.imissed},    {"rx_errors", stats.ierrors}, {"tx_errors", stats.oerrors},
      {"rx_no_mbuf", stats.rx_nombuf}, {"device_queues", queues}};
}

nlohmann::json DpdkPort::StatsJson() const {
  nlohmann::json out = DeviceStatsJson(devices_.front());
  out["interface"] = interface_;
  out["exception"] = devices_.size() > 1 ? DeviceStatsJson(devices_[1]) : nlohmann::json(nullptr);
  return out;
}

}  // namespace strobe::dataplane
