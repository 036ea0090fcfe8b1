#ifndef STROBE_CONTROLPLANE_STROBECTL_TABLE_H_
#define STROBE_CONTROLPLANE_STROBECTL_TABLE_H_

#include <string>
#include <vector>

namespace strobe::ctl {

// An aligned text table, like FRR's and BIRD's show output: left-aligned columns separated by
// two spaces, a header row.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "3d04h05m", "04:05:06" or "12s", as FRR prints durations.
std::string FormatDuration(long long seconds);

}  // namespace strobe::ctl

#endif  // STROBE_CONTROLPLANE_STROBECTL_TABLE_H_
