// PNG figures drawn with OpenCV (no plotting library in Debian's C++ packages fits better):
// loss curves of several runs, and a heat-map of mean TroL mixing ratios per layer and token.
#pragma once

#include <string>
#include <vector>

namespace trol {

struct Series {
  std::string label;
  std::vector<double> values;  // y at x = 1, 2, ...
};

// A line plot of `series` (log-scaled y when all values are positive and span > 20x), with
// vertical markers at `boundaries` (x positions, e.g. where training stages change).
void write_line_plot(const std::string& png_path, const std::string& title, const std::vector<Series>& series,
                     const std::vector<double>& boundaries = {});

// rows = layers, columns = token positions (or what `x_label` says); values in [0, 1].
// `column_marks` are labelled spans [first, end) along the x axis (e.g. where the image tokens are).
void write_heatmap(const std::string& png_path, const std::string& title, const std::vector<std::vector<double>>& values,
                   const std::vector<std::pair<std::string, std::pair<int, int>>>& column_marks = {},
                   const std::string& x_label = "token position");

}  // namespace trol
