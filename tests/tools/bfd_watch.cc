// strobe-bfd-watch: a small BFD client for tests and for people. Attaches to strobe-dataplane
// through ipc::BfdClient, registers the peers listed in a JSON file, and prints one JSON line per
// event on stdout until SIGTERM/SIGINT.
//
// The file: [{"peer": "198.18.0.2", "local": "198.18.0.1", "interface": "eth0",
//             "multihop": false, "tx_us": 300000, "rx_us": 300000, "detect_mult": 3}, ...]

#include <gflags/gflags.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/ipc/bfd_client.h"

DEFINE_string(socket, "/run/strobe/strobe.sock", "strobe-dataplane's control socket.");
DEFINE_string(sessions, "", "JSON file listing the peers to register (see the top of the source).");

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

const char* SourceName(strobe::ipc::BfdPeerEvent::Source s) {
  switch (s) {
    case strobe::ipc::BfdPeerEvent::Source::kRing:
      return "ring";
    case strobe::ipc::BfdPeerEvent::Source::kTable:
      return "table";
    case strobe::ipc::BfdPeerEvent::Source::kDataplaneLost:
      return "dataplane-lost";
  }
  return "?";
}

void Print(const nlohmann::json& j) {
  std::string line = j.dump() + "\n";
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("strobe-bfd-watch --socket PATH --sessions FILE");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::ifstream in(FLAGS_sessions);
  nlohmann::json list = nlohmann::json::parse(in, nullptr, false);
  if (FLAGS_sessions.empty() || list.is_discarded() || !list.is_array()) {
    fprintf(stderr, "strobe-bfd-watch: --sessions must name a JSON array of peers\n");
    return 2;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);

  strobe::ipc::BfdClient client(FLAGS_socket, [](const strobe::ipc::BfdPeerEvent& e) {
    Print({{"event", "state"},
           {"peer", e.key.peer.ToString()},
           {"local", e.key.local.ToString()},
           {"interface", e.key.interface},
           {"session_id", e.session_id},
           {"old_state", strobe::bfd::StateName(e.old_state)},
           {"state", strobe::bfd::StateName(e.state)},
           {"local_diag", static_cast<int>(e.local_diag)},
           {"remote_diag", static_cast<int>(e.remote_diag)},
           {"source", SourceName(e.source)},
           {"changed_ns", e.changed_ns},
           {"received_ns", e.received_ns},
           {"detection_latency_ns", e.detection_latency_ns},
           {"up_transitions", e.up_transitions},
           {"down_transitions", e.down_transitions}});
  });
  for (const nlohmann::json& s : list) {
    strobe::ipc::BfdPeerRequest r;
    auto peer = strobe::net::IpAddress::Parse(s.value("peer", ""));
    auto local = strobe::net::IpAddress::Parse(s.value("local", ""));
    if (!peer.ok() || !local.ok()) {
      fprintf(stderr, "strobe-bfd-watch: bad entry %s\n", s.dump().c_str());
      return 2;
    }
    r.key = {*peer, *local, s.value("interface", ""), s.value("multihop", false)};
    if (r.key.multihop) r.key.interface.clear();
    r.desired_min_tx_us = s.value("tx_us", 300000u);
    r.required_min_rx_us = s.value("rx_us", 300000u);
    r.detect_mult = static_cast<uint8_t>(s.value("detect_mult", 3));
    client.Register(r);
  }
  Print({{"event", "started"},
         {"registered", client.registered()},
         {"now_ns", strobe::MonotonicNowNs()}});
  bool was_attached = false;
  while (!g_stop.load()) {
    client.Wait(100);
    if (client.attached() != was_attached) {
      was_attached = client.attached();
      Print({{"event", was_attached ? "attached" : "detached"},
             {"generation", client.generation()},
             {"now_ns", strobe::MonotonicNowNs()}});
    }
  }
  const auto& st = client.stats();
  Print({{"event", "stopped"},
         {"events", st.events},
         {"overflows", st.overflows},
         {"table_reads", st.table_reads},
         {"attaches", st.attaches},
         {"dataplane_losses", st.dataplane_losses},
         {"command_errors", st.command_errors}});
  return 0;
}
