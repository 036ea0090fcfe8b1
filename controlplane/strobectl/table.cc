#include "controlplane/strobectl/table.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace strobe::ctl {

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatDuration(long long seconds) {
  const long long days = seconds / 86400;
  const long long hours = seconds % 86400 / 3600;
  const long long minutes = seconds % 3600 / 60;
  const long long secs = seconds % 60;
  if (days > 0) return absl::StrFormat("%lldd%02lldh%02lldm", days, hours, minutes);
  return absl::StrFormat("%02lld:%02lld:%02lld", hours, minutes, secs);
}

}  // namespace strobe::ctl
