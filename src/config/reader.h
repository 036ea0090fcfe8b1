#ifndef STROBE_SRC_CONFIG_READER_H_
#define STROBE_SRC_CONFIG_READER_H_

// Internal to src/config: the typed accessors over a parsed TOML document that config.cc and
// bgp_config.cc share. Not part of the library's interface (toml++ stays out of config.h).

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/config/config.h"
#include "src/net/ip_address.h"

namespace strobe::config {

// The line a node starts on (1-based; 0 when unknown).
inline int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// Collects the first error with its location; every accessor is a no-op once one is set.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  bool failed() const { return !error_.empty(); }
  absl::Status status() const {
    return failed() ? absl::InvalidArgumentError(error_) : absl::OkStatus();
  }

  void Fail(const toml::node* where, std::string_view message) {
    if (failed()) return;
    const int line = where != nullptr ? LineOf(*where) : 0;
    error_ = line > 0 ? absl::StrCat(source_, ":", line, ": ", std::string(message))
                      : absl::StrCat(source_, ": ", std::string(message));
  }

  // Refuses keys of `table` not in `allowed` (a typo must not be silently ignored).
  void OnlyKeys(const toml::table& table, std::string_view table_name,
                std::initializer_list<std::string_view> allowed) {
    OnlyKeys(table, table_name, std::span<const std::string_view>(allowed.begin(), allowed.end()));
  }
  void OnlyKeys(const toml::table& table, std::string_view table_name,
                std::span<const std::string_view> allowed) {
    for (const auto& [key, node] : table) {
      bool ok = false;
      for (std::string_view a : allowed) ok = ok || key.str() == a;
      if (!ok) {
        Fail(&node, absl::StrCat("unknown key \"", std::string(key.str()), "\" in ",
                                 std::string(table_name)));
      }
    }
  }

  std::optional<std::string> String(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return std::nullopt;
    if (!n->is_string()) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be a string"));
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  std::optional<bool> Bool(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return std::nullopt;
    if (!n->is_boolean()) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be true or false"));
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  std::optional<int64_t> Int(const toml::table& t, std::string_view key, int64_t min, int64_t max) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return std::nullopt;
    if (!n->is_integer()) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be an integer"));
      return std::nullopt;
    }
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" = ", v, " is out of range [", min, ", ", max,
                           "]"));
      return std::nullopt;
    }
    return v;
  }

  std::optional<net::IpAddress> Address(const toml::table& t, std::string_view key) {
    std::optional<std::string> s = String(t, key);
    if (!s) return std::nullopt;
    absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(*s);
    if (!a.ok()) {
      Fail(t.get(key),
           absl::StrCat("\"", std::string(key), "\": ", std::string(a.status().message())));
      return std::nullopt;
    }
    return *a;
  }

  // An array of strings, each with its node (for the line of an entry in a multi-line array).
  // Empty when the key is absent or on error.
  std::vector<std::pair<std::string, const toml::node*>> StringArray(const toml::table& t,
                                                                     std::string_view key) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be an array of strings"));
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        Fail(&e, absl::StrCat("\"", std::string(key), "\" entries must be strings"));
        out.clear();
        return out;
      }
      out.emplace_back(e.as_string()->get(), &e);
    }
    return out;
  }

  // An array of tables (`[[name]]`), or nothing.
  const toml::array* TableArray(const toml::table& t, std::string_view key,
                                std::string_view full_name) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return nullptr;
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be an array of tables ([[",
                           std::string(full_name), "]])"));
      return nullptr;
    }
    return a;
  }

  const toml::table* Table(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (n == nullptr || failed()) return nullptr;
    if (!n->is_table()) {
      Fail(n, absl::StrCat("\"", std::string(key), "\" must be a table"));
      return nullptr;
    }
    return n->as_table();
  }

 private:
  std::string source_;
  std::string error_;
};

// bgp_reader.cc: the top-level [[policy]] array and the [bgp] table. ReadPolicies runs first;
// ReadBgp refers to config->profiles and config->policies by name.
void ReadPolicies(Reader& r, const toml::table& root, Config* config);
void ReadBgp(Reader& r, const toml::table& root, Config* config);

}  // namespace strobe::config

#endif  // STROBE_SRC_CONFIG_READER_H_
