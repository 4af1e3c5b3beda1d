// PNG figures drawn with OpenCV (no plotting library in Debian's C++ packages fits better):
// loss curves of several runs, and a heat-map of mean TroL mixing ratios per layer and token.
#pragma once

#include <string>
#include <vector>

namespace trol {

struct Series {
  std::string label;
  std::vector<double> values;
  std::vector<double> steps;  // the x of each value (global steps); empty: 1, 2, ...
};

// Where a training stage begins on a loss curve's x axis.
struct StageStart {
  std::string name;
  double step = 1;  // the stage's first global step
};

// Tick positions for a linear axis spanning [lo, hi]: the multiples of the smallest spacing of
// the form 1, 2 or 5 x 10^k (and at least `min_spacing`, e.g. 1 for steps) that gives at most
// `max_ticks` of them. lo == hi gives {lo}.
std::vector<double> axis_ticks(double lo, double hi, int max_ticks, double min_spacing = 0);

// Tick positions for a log-scaled axis spanning [lo, hi] (0 < lo): 1, 2 and 5 x 10^k when
// at most `max_ticks` of them fit, else the powers of ten (every n-th one when the decades
// are too many). A span within one decade gets linear ticks.
std::vector<double> log_axis_ticks(double lo, double hi, int max_ticks);

// A line plot of `series` against their steps (log-scaled y when all values are positive and
// span > 20x), with numbered ticks on both axes, `x_label` under the x axis, and a dashed
// vertical line labelled with the stage's name where each of `stage_starts` begins.
void write_line_plot(const std::string& png_path, const std::string& title, const std::vector<Series>& series,
                     const std::vector<StageStart>& stage_starts = {}, const std::string& x_label = "step");

// rows = layers, columns = token positions (or what `x_label` says); values in [0, 1].
// `column_marks` are labelled spans [first, end) along the x axis (e.g. where the image tokens are).
void write_heatmap(const std::string& png_path, const std::string& title, const std::vector<std::vector<double>>& values,
                   const std::vector<std::pair<std::string, std::pair<int, int>>>& column_marks = {},
                   const std::string& x_label = "token position");

}  // namespace trol
