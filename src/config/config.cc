#include "src/config/config.h"

#include <grp.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/config/reader.h"
#include "src/metrics/http_server.h"

namespace strobe::config {
namespace {

constexpr uint32_t kMinIntervalUs = 1'000;       // 1 ms: below RFC 7419's 3.3 ms
constexpr uint32_t kMaxIntervalUs = 60'000'000;  // 60 s

const BfdProfile& DefaultProfile() {
  static const BfdProfile* profile = new BfdProfile{.name = "default"};
  return *profile;
}

// `metrics_address`: "" (no endpoint), "ADDRESS:PORT" or "[IPV6]:PORT".
void ReadMetricsAddress(Reader& r, const toml::table& t, std::string* out) {
  std::optional<std::string> s = r.String(t, "metrics_address");
  if (!s) return;
  if (!s->empty()) {
    absl::StatusOr<std::pair<net::IpAddress, uint16_t>> parsed = metrics::ParseHostPort(*s);
    if (!parsed.ok()) {
      r.Fail(t.get("metrics_address"),
             absl::StrCat("\"metrics_address\" = \"", *s, "\": ", parsed.status().message()));
      return;
    }
  }
  *out = *s;
}

void ReadDpdk(Reader& r, const toml::table& t, DpdkConfig* out) {
  r.OnlyKeys(t, "[dataplane.dpdk]",
             {"eal_args", "port", "idle_sleep_us", "mbufs_per_worker", "rx_descriptors",
              "tx_descriptors"});
  for (auto& [arg, node] : r.StringArray(t, "eal_args")) out->eal_args.push_back(arg);
  if (auto v = r.Int(t, "idle_sleep_us", 0, 1000)) out->idle_sleep_us = static_cast<int>(*v);
  if (auto v = r.Int(t, "mbufs_per_worker", 1023, 1 << 20)) {
    out->mbufs_per_worker = static_cast<uint32_t>(*v);
  }
  for (const char* key : {"rx_descriptors", "tx_descriptors"}) {
    if (auto v = r.Int(t, key, 64, 32768)) {
      if ((*v & (*v - 1)) != 0) {
        r.Fail(t.get(key), absl::StrCat("\"", key, "\" = ", *v, " must be a power of two"));
      }
      (std::string_view(key) == "rx_descriptors" ? out->rx_descriptors : out->tx_descriptors) =
          static_cast<uint16_t>(*v);
    }
  }
  const toml::array* ports = r.TableArray(t, "port", "dataplane.dpdk.port");
  for (size_t i = 0; ports != nullptr && i < ports->size() && !r.failed(); ++i) {
    const toml::table& p = *ports->get(i)->as_table();
    r.OnlyKeys(p, "[[dataplane.dpdk.port]]", {"interface", "devargs", "exception"});
    DpdkPortConfig port;
    port.line = LineOf(p);
    if (auto v = r.String(p, "interface")) port.interface = *v;
    if (auto v = r.String(p, "devargs")) port.devargs = *v;
    if (auto v = r.String(p, "exception")) {
      if (*v != "none" && *v != "tap") {
        return r.Fail(p.get("exception"), "\"exception\" must be \"none\" or \"tap\"");
      }
      port.exception_tap = *v == "tap";
    }
    if (r.failed()) return;
    if (port.interface.empty() || port.interface.size() >= 16) {
      return r.Fail(&p, "[[dataplane.dpdk.port]] needs an \"interface\" name (1-15 bytes)");
    }
    if (port.devargs.empty()) {
      return r.Fail(&p, absl::StrCat("[[dataplane.dpdk.port]] ", port.interface,
                                     " needs \"devargs\" (a PCI address or a vdev such as "
                                     "\"net_af_packet0,iface=",
                                     port.interface, "\")"));
    }
    for (const DpdkPortConfig& other : out->ports) {
      if (other.interface == port.interface) {
        return r.Fail(&p, absl::StrCat("interface \"", port.interface,
                                       "\" has two [[dataplane.dpdk.port]] entries (the other "
                                       "at line ",
                                       other.line, ")"));
      }
      if (other.devargs.substr(0, other.devargs.find(',')) ==
          port.devargs.substr(0, port.devargs.find(','))) {
        return r.Fail(&p, absl::StrCat("device \"", port.devargs.substr(0, port.devargs.find(',')),
                                       "\" is used by two ports (the other at line ", other.line,
                                       "); vdev names must be unique, e.g. net_af_packet0, "
                                       "net_af_packet1"));
      }
    }
    out->ports.push_back(std::move(port));
  }
}

// A group name or a numeric gid, as chgrp takes it; nullopt if this machine knows no such group.
std::optional<int> LookUpGroup(const std::string& name_or_gid) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  uint32_t gid = 0;
  const int rc =
      absl::SimpleAtoi(name_or_gid, &gid)
          ? getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found)
          : getgrnam_r(name_or_gid.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return static_cast<int>(found->gr_gid);
}

// `control_socket_group` = "NAME" or "GID": refused unless the group exists on this machine.
void ReadControlSocketGroup(Reader& r, const toml::table& t, ControlSocketGroup* out) {
  std::optional<std::string> s = r.String(t, "control_socket_group");
  if (!s) return;
  const std::optional<int> gid = LookUpGroup(*s);
  if (!gid) {
    r.Fail(t.get("control_socket_group"),
           absl::StrCat("\"control_socket_group\" = \"", *s,
                        "\": no such group (a group name or a numeric gid known to this machine)"));
    return;
  }
  out->name = *s;
  out->gid = *gid;
}

void ReadDataplane(Reader& r, const toml::table& t, DataplaneConfig* out) {
  r.OnlyKeys(t, "[dataplane]",
             {"backend", "workers", "control_socket", "control_socket_group", "xdp", "dpdk",
              "realtime_priority", "metrics_address"});
  ReadMetricsAddress(r, t, &out->metrics_address);
  ReadControlSocketGroup(r, t, &out->control_socket_group);
  if (auto v = r.Int(t, "realtime_priority", 0, 99)) out->realtime_priority = static_cast<int>(*v);
  if (auto backend = r.String(t, "backend")) {
    if (*backend != "socket" && *backend != "xdp" && *backend != "dpdk") {
      r.Fail(t.get("backend"),
             absl::StrCat("unknown backend \"", *backend, "\" (one of: socket, xdp, dpdk)"));
    }
    out->backend = *backend;
  }
  if (const toml::node* n = t.get("workers")) {
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) {
      r.Fail(n, "\"workers\" must be a non-empty array of core numbers");
    } else {
      out->workers.clear();
      std::set<int64_t> seen;
      for (const toml::node& e : *a) {
        if (!e.is_integer() || e.as_integer()->get() < 0 || e.as_integer()->get() > 4095) {
          r.Fail(&e, "\"workers\" entries must be core numbers (0-4095)");
          break;
        }
        const int64_t core = e.as_integer()->get();
        if (!seen.insert(core).second) {
          r.Fail(&e, absl::StrCat("core ", core, " is listed twice in \"workers\""));
          break;
        }
        out->workers.push_back(static_cast<int>(core));
      }
      if (!r.failed() && out->workers.size() > kMaxWorkers) {
        r.Fail(n, absl::StrCat("at most ", kMaxWorkers, " \"workers\" are supported"));
      }
    }
  }
  if (const toml::table* x = r.Table(t, "xdp")) {
    r.OnlyKeys(*x, "[dataplane.xdp]", {"mode", "interfaces", "tx"});
    if (auto tx = r.String(*x, "tx")) {
      if (*tx != "af_xdp" && *tx != "socket") {
        r.Fail(x->get("tx"), "\"tx\" must be \"af_xdp\" or \"socket\"");
      }
      out->xdp.af_xdp_tx = *tx == "af_xdp";
    }
    if (auto mode = r.String(*x, "mode")) {
      if (*mode != "native" && *mode != "generic") {
        r.Fail(x->get("mode"), "\"mode\" must be \"native\" or \"generic\"");
      }
      out->xdp.native = *mode == "native";
    }
    if (const toml::node* n = x->get("interfaces")) {
      const toml::array* a = n->as_array();
      if (a == nullptr) r.Fail(n, "\"interfaces\" must be an array of interface names");
      for (size_t i = 0; a != nullptr && i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        if (!e.is_string() || e.as_string()->get().empty() || e.as_string()->get().size() >= 16) {
          r.Fail(&e, "\"interfaces\" entries must be interface names");
          break;
        }
        out->xdp.interfaces.push_back(e.as_string()->get());
      }
    }
  }
  if (const toml::table* d = r.Table(t, "dpdk")) ReadDpdk(r, *d, &out->dpdk);
  if (!r.failed() && out->backend == "dpdk" && out->dpdk.ports.empty()) {
    r.Fail(t.get("backend"),
           "backend \"dpdk\" needs at least one [[dataplane.dpdk.port]] (interface, devargs)");
  }
  if (auto s = r.String(t, "control_socket")) {
    if (s->empty() || (*s)[0] != '/')
      r.Fail(t.get("control_socket"), "\"control_socket\" must be an absolute path");
    out->control_socket = *s;
  }
}

std::optional<bfd::AuthKey> ReadAuth(Reader& r, const toml::node& n) {
  const toml::table* t = n.as_table();
  if (t == nullptr) {
    r.Fail(&n, "\"auth\" must be a table: { type = \"...\", key_id = N, secret = \"...\" }");
    return std::nullopt;
  }
  r.OnlyKeys(*t, "auth", {"type", "key_id", "secret"});
  bfd::AuthKey key;
  std::optional<std::string> type = r.String(*t, "type");
  std::optional<bfd::AuthType> parsed = type ? bfd::AuthTypeFromName(*type) : std::nullopt;
  if (!r.failed() && (!parsed || *parsed == bfd::AuthType::kNone)) {
    r.Fail(&n,
           "auth \"type\" must be one of: simple-password, keyed-md5, meticulous-keyed-md5, "
           "keyed-sha1, meticulous-keyed-sha1");
    return std::nullopt;
  }
  if (parsed) key.type = *parsed;
  if (auto id = r.Int(*t, "key_id", 0, 255)) key.key_id = static_cast<uint8_t>(*id);
  std::optional<std::string> secret = r.String(*t, "secret");
  const size_t max_len =
      key.type == bfd::AuthType::kKeyedSha1 || key.type == bfd::AuthType::kMeticulousKeyedSha1 ? 20
                                                                                               : 16;
  if (!r.failed() && (!secret || secret->empty() || secret->size() > max_len)) {
    // The message never repeats the secret.
    r.Fail(&n, absl::StrCat("auth \"secret\" is required and must be 1-", max_len, " bytes for ",
                            *type));
    return std::nullopt;
  }
  if (secret) key.secret = *secret;
  return key;
}

void ReadProfile(Reader& r, const toml::table& t, BfdProfile* p) {
  r.OnlyKeys(t, "[[bfd.profile]]",
             {"name", "desired_min_tx_us", "required_min_rx_us", "detect_mult", "passive", "auth"});
  p->line = static_cast<int>(t.source().begin.line);
  std::optional<std::string> name = r.String(t, "name");
  if (!r.failed() && (!name || name->empty())) r.Fail(&t, "[[bfd.profile]] needs a \"name\"");
  if (name) p->name = *name;
  if (auto v = r.Int(t, "desired_min_tx_us", kMinIntervalUs, kMaxIntervalUs))
    p->desired_min_tx_us = static_cast<uint32_t>(*v);
  if (auto v = r.Int(t, "required_min_rx_us", kMinIntervalUs, kMaxIntervalUs))
    p->required_min_rx_us = static_cast<uint32_t>(*v);
  if (auto v = r.Int(t, "detect_mult", 1, 255)) p->detect_mult = static_cast<uint8_t>(*v);
  if (auto v = r.Bool(t, "passive")) p->passive = *v;
  if (const toml::node* a = t.get("auth"); a != nullptr && !r.failed()) p->auth = ReadAuth(r, *a);
}

void ReadSession(Reader& r, const toml::table& t, BfdSessionConfig* s) {
  r.OnlyKeys(t, "[[bfd.session]]",
             {"peer", "local", "interface", "multihop", "profile", "admin_down"});
  s->line = static_cast<int>(t.source().begin.line);
  if (auto a = r.Address(t, "peer")) s->peer = *a;
  if (auto a = r.Address(t, "local")) s->local = *a;
  if (auto v = r.String(t, "interface")) s->interface = *v;
  if (auto v = r.Bool(t, "multihop")) s->multihop = *v;
  if (auto v = r.String(t, "profile")) s->profile = *v;
  if (auto v = r.Bool(t, "admin_down")) s->admin_down = *v;
  if (r.failed()) return;
  if (s->peer.empty()) return r.Fail(&t, "[[bfd.session]] needs a \"peer\" address");
  if (s->local.empty()) return r.Fail(&t, "[[bfd.session]] needs a \"local\" address");
  if (s->peer.family() != s->local.family()) {
    return r.Fail(&t, "\"peer\" and \"local\" must both be IPv4 or both IPv6");
  }
  if (!s->multihop && s->interface.empty()) {
    return r.Fail(&t, "a single-hop session (multihop = false) needs an \"interface\"");
  }
  if (s->interface.size() >= 16)
    return r.Fail(t.get("interface"), "\"interface\" name is too long");
}

}  // namespace

const BfdProfile& Config::ProfileFor(const BfdSessionConfig& session) const {
  for (const BfdProfile& p : profiles) {
    if (p.name == session.profile) return p;
  }
  return DefaultProfile();
}

namespace {

void ReadFib(Reader& r, const toml::table& t, FibConfig* out) {
  r.OnlyKeys(t, "[fib]",
             {"enabled", "table", "protocol", "metric", "nexthop_objects", "resilient",
              "resilient_buckets", "nexthop_compat_mode", "stale_timeout_s"});
  if (auto v = r.Bool(t, "enabled")) out->enabled = *v;
  // 253-255 are default, main, local; 0 is "unspecified".
  if (auto v = r.Int(t, "table", 1, 0xFFFFFFFF)) out->table = static_cast<uint32_t>(*v);
  if (out->table == 255) r.Fail(t.get("table"), "\"table\" = 255 is the kernel's local table");
  // 0-4 belong to the kernel itself (unspec, redirect, kernel, boot, static).
  if (auto v = r.Int(t, "protocol", 5, 255)) out->protocol = static_cast<uint8_t>(*v);
  if (auto v = r.Int(t, "metric", 0, 0xFFFFFFFF)) out->metric = static_cast<uint32_t>(*v);
  if (auto v = r.String(t, "nexthop_objects")) {
    if (*v != "auto" && *v != "off") {
      r.Fail(t.get("nexthop_objects"), "\"nexthop_objects\" must be \"auto\" or \"off\"");
    }
    out->nexthop_objects = *v == "auto";
  }
  if (auto v = r.Bool(t, "resilient")) out->resilient = *v;
  if (auto v = r.Int(t, "resilient_buckets", 1, 32768)) {
    out->resilient_buckets = static_cast<uint16_t>(*v);
  }
  if (auto v = r.String(t, "nexthop_compat_mode")) {
    if (*v == "off") {
      out->nexthop_compat_mode = 0;
    } else if (*v == "on") {
      out->nexthop_compat_mode = 1;
    } else if (*v == "keep") {
      out->nexthop_compat_mode = -1;
    } else {
      r.Fail(t.get("nexthop_compat_mode"),
             "\"nexthop_compat_mode\" must be \"off\", \"on\" or \"keep\"");
    }
  }
  if (auto v = r.Int(t, "stale_timeout_s", 0, 3600)) {
    out->stale_timeout_s = static_cast<uint32_t>(*v);
  }
  if (out->resilient && !out->nexthop_objects) {
    r.Fail(t.get("resilient"), "\"resilient\" groups need nexthop_objects = \"auto\"");
  }
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view source_name) {
  Reader r{std::string(source_name)};
  Config config;
  config.path = std::string(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(source_name), ":", e.source().begin.line, ": ", std::string(e.description())));
  }
  r.OnlyKeys(root, "the top level", {"dataplane", "controlplane", "bfd", "bgp", "policy", "fib"});
  if (const toml::table* t = r.Table(root, "fib")) ReadFib(r, *t, &config.fib);
  if (const toml::table* t = r.Table(root, "dataplane")) ReadDataplane(r, *t, &config.dataplane);
  if (const toml::table* t = r.Table(root, "controlplane")) {
    r.OnlyKeys(*t, "[controlplane]", {"control_socket", "control_socket_group", "metrics_address"});
    ReadMetricsAddress(r, *t, &config.controlplane.metrics_address);
    ReadControlSocketGroup(r, *t, &config.controlplane.control_socket_group);
    if (!config.controlplane.metrics_address.empty() &&
        config.controlplane.metrics_address == config.dataplane.metrics_address) {
      r.Fail(t->get("metrics_address"),
             "\"metrics_address\" is the same as [dataplane] metrics_address: the two daemons "
             "need an endpoint each");
    }
    if (auto s = r.String(*t, "control_socket")) {
      if (s->empty() || (*s)[0] != '/') {
        r.Fail(t->get("control_socket"), "\"control_socket\" must be an absolute path");
      }
      config.controlplane.control_socket = *s;
    }
  }
  if (const toml::table* bfd = r.Table(root, "bfd")) {
    r.OnlyKeys(*bfd, "[bfd]", {"profile", "session"});
    if (const toml::array* a = r.TableArray(*bfd, "profile", "bfd.profile")) {
      std::set<std::string> names;
      for (const toml::node& n : *a) {
        BfdProfile p;
        ReadProfile(r, *n.as_table(), &p);
        if (!r.failed() && !names.insert(p.name).second) {
          r.Fail(&n, absl::StrCat("profile \"", p.name, "\" is defined twice"));
        }
        config.profiles.push_back(std::move(p));
      }
    }
    if (const toml::array* a = r.TableArray(*bfd, "session", "bfd.session")) {
      std::set<std::tuple<net::IpAddress, net::IpAddress, std::string, bool>> keys;
      for (const toml::node& n : *a) {
        BfdSessionConfig s;
        ReadSession(r, *n.as_table(), &s);
        if (r.failed()) break;
        if (!s.profile.empty()) {
          bool found = false;
          for (const BfdProfile& p : config.profiles) found = found || p.name == s.profile;
          if (!found)
            r.Fail(n.as_table()->get("profile"),
                   absl::StrCat("no [[bfd.profile]] named \"", s.profile, "\""));
        }
        // Multihop sessions are told apart by their addresses alone (RFC 5883), as the
        // dataplane's session directory does: the interface does not distinguish them.
        if (!keys.insert({s.peer, s.local, s.multihop ? "" : s.interface, s.multihop}).second) {
          r.Fail(&n, absl::StrCat("session to ", s.peer.ToString(), " from ", s.local.ToString(),
                                  " is defined twice"));
        }
        config.sessions.push_back(std::move(s));
      }
    }
  }
  // Policies before [bgp], whose neighbors name them; the dataplane validates these sections
  // with the rest and uses none of them.
  ReadPolicies(r, root, &config);
  ReadBgp(r, root, &config);
  if (r.failed()) return r.status();
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  // A directory opens as an ifstream but reads as empty: a valid, empty configuration.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path);
}

}  // namespace strobe::config
