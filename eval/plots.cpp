#include "eval/plots.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace trol {

namespace {

const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const std::vector<cv::Scalar> kColours{{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}};  // BGR

void text(cv::Mat& image, const std::string& s, cv::Point at, double scale = 0.45, cv::Scalar colour = kInk) {
  cv::putText(image, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv::LINE_AA);
}

void save(const std::string& path, const cv::Mat& image) {
  if (!cv::imwrite(path, image)) throw std::runtime_error("cannot write figure '" + path + "'");
}

}  // namespace

std::vector<double> axis_ticks(double lo, double hi, int max_ticks, double min_spacing) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo || max_ticks < 2) {
    throw std::invalid_argument("axis_ticks: no ticks for [" + std::to_string(lo) + ", " + std::to_string(hi) + "] with " +
                                std::to_string(max_ticks) + " at most");
  }
  if (hi == lo) return {lo};
  // Multiples of `spacing` in [lo, hi], with a little slack so that an end on a multiple counts.
  auto first_last = [&](double spacing) {
    const double slack = 1e-9;
    return std::pair<long long, long long>{static_cast<long long>(std::ceil(lo / spacing - slack)),
                                           static_cast<long long>(std::floor(hi / spacing + slack))};
  };
  double spacing = 0;
  for (int exponent = static_cast<int>(std::floor(std::log10((hi - lo) / max_ticks))) - 1; spacing == 0; ++exponent) {
    for (double mantissa : {1.0, 2.0, 5.0}) {
      const double candidate = mantissa * std::pow(10.0, exponent);
      if (candidate < min_spacing * (1 - 1e-12)) continue;
      const auto [first, last] = first_last(candidate);
      if (last - first + 1 <= max_ticks) {
        spacing = candidate;
        break;
      }
    }
  }
  std::vector<double> ticks;
  const auto [first, last] = first_last(spacing);
  for (long long i = first; i <= last; ++i) ticks.push_back(static_cast<double>(i) * spacing);
  return ticks;
}

std::vector<double> log_axis_ticks(double lo, double hi, int max_ticks) {
  if (!(lo > 0) || !std::isfinite(hi) || hi < lo || max_ticks < 2) {
    throw std::invalid_argument("log_axis_ticks: no ticks for [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  const double slack = 1e-9;
  const int first_decade = static_cast<int>(std::floor(std::log10(lo) + slack));
  const int last_decade = static_cast<int>(std::floor(std::log10(hi) + slack));
  auto inside = [&](double v) { return v >= lo * (1 - slack) && v <= hi * (1 + slack); };
  std::vector<double> ticks;
  for (int decade = first_decade; decade <= last_decade; ++decade) {
    for (double mantissa : {1.0, 2.0, 5.0}) {
      if (inside(mantissa * std::pow(10.0, decade))) ticks.push_back(mantissa * std::pow(10.0, decade));
    }
  }
  if (ticks.size() < 2) return axis_ticks(lo, hi, max_ticks);
  if (static_cast<int>(ticks.size()) <= max_ticks) return ticks;
  // Powers of ten only, every `stride`-th decade (exponents divisible by it, so 10^0 stays).
  for (int stride = 1;; ++stride) {
    ticks.clear();
    for (int decade = first_decade; decade <= last_decade; ++decade) {
      if (decade % stride == 0 && inside(std::pow(10.0, decade))) ticks.push_back(std::pow(10.0, decade));
    }
    if (static_cast<int>(ticks.size()) <= max_ticks) return ticks;
  }
}

namespace {

// A tick's number with as many decimals as the spacing of its ticks needs (on a log axis, as
// the tick itself needs); an axis whose ticks go below 1e-3 writes them all in the short
// scientific form (3.5e-4), which fits the margin.
std::string tick_label(double value, double spacing, bool scientific) {
  const int spacing_exponent = static_cast<int>(std::floor(std::log10(spacing) + 1e-9));
  char buffer[32];
  if (scientific && value != 0) {
    const int exponent = static_cast<int>(std::floor(std::log10(std::abs(value)) + 1e-9));
    std::snprintf(buffer, sizeof buffer, "%.*fe%d", std::max(0, exponent - spacing_exponent), value / std::pow(10.0, exponent),
                  exponent);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.*f", std::max(0, -spacing_exponent), value);
  }
  return buffer;
}

cv::Size text_size(const std::string& s, double scale) {
  int baseline = 0;
  return cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
}

void dashed_vertical_line(cv::Mat& image, int x, int y0, int y1, cv::Scalar colour) {
  for (int y = y0; y < y1; y += 7) cv::line(image, {x, y}, {x, std::min(y + 3, y1)}, colour, 1, cv::LINE_AA);
}

}  // namespace

void write_line_plot(const std::string& png_path, const std::string& title, const std::vector<Series>& series,
                     const std::vector<StageStart>& stage_starts, const std::string& x_label) {
  const int width = 900, height = 500, left = 70, right = 24, bottom = 56;
  const double label_scale = 0.42;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  auto step_of = [](const Series& s, size_t i) { return s.steps.empty() ? static_cast<double>(i + 1) : s.steps[i]; };
  double lo = INFINITY, hi = -INFINITY, first_step = INFINITY, last_step = -INFINITY;
  for (const auto& s : series) {
    if (!s.steps.empty() && s.steps.size() != s.values.size()) {
      throw std::invalid_argument("plot '" + png_path + "': series '" + s.label + "' has " + std::to_string(s.values.size()) +
                                  " values but " + std::to_string(s.steps.size()) + " steps");
    }
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (!std::isfinite(s.values[i])) continue;
      lo = std::min(lo, s.values[i]);
      hi = std::max(hi, s.values[i]);
      first_step = std::min(first_step, step_of(s, i));
      last_step = std::max(last_step, step_of(s, i));
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1, first_step = 1, last_step = 1;
  for (const auto& stage : stage_starts) last_step = std::max(last_step, stage.step);
  // Steps count from 1: the axis starts at 0, so that its first tick is the origin.
  const double x0 = std::min(0.0, first_step), x1 = std::max(last_step, x0 + 1);
  const bool log_y = lo > 0 && hi / lo > 20;
  auto ty = [&](double v) { return log_y ? std::log10(v) : v; };
  double y0 = ty(lo), y1 = ty(hi);
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;  // a flat line, drawn across the middle
  const double margin = 0.04 * (y1 - y0);  // the extremes clear of the frame
  y0 -= margin, y1 += margin;
  const int plot_w = width - left - right;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * plot_w)); };

  // Stage names sit above the plot next to their lines; one that would run into the label
  // before it in a row goes to the next row down (up to 4 rows: past that, the plot's height
  // matters more than a clash).
  struct PlacedLabel {
    std::string text;
    int line_x, text_x, row;
  };
  std::vector<PlacedLabel> labels;
  std::vector<int> row_ends;  // the right end of the last label in each row
  for (const auto& stage : stage_starts) {
    const int line_x = px(stage.step - 0.5);  // between the previous stage's last step and this one's first
    const int text_w = text_size(stage.name, label_scale).width;
    // Right of its line, or left of it where the frame ends first.
    const int text_x = line_x + 3 + text_w <= width - right ? line_x + 3 : std::max(left + 2, line_x - 3 - text_w);
    size_t row = 0;
    while (row < row_ends.size() && row < 3 && text_x < row_ends[row] + 8) ++row;
    if (row == row_ends.size()) row_ends.push_back(0);
    row_ends[row] = text_x + text_w;
    labels.push_back({stage.name, line_x, text_x, static_cast<int>(row)});
  }
  const int title_row = 24, first_label_row = 46, row_height = 16;
  const int top = row_ends.empty() ? 40 : first_label_row + static_cast<int>(row_ends.size() - 1) * row_height + 10;
  const int plot_h = height - top - bottom;
  auto py = [&](double v) { return top + static_cast<int>(std::lround((1 - (ty(v) - y0) / (y1 - y0)) * plot_h)); };

  // y: horizontal grid lines at the ticks, numbers right-aligned to the axis.
  const auto y_ticks = log_y ? log_axis_ticks(std::pow(10, y0), std::pow(10, y1), 10) : axis_ticks(y0, y1, 6);
  const double y_spacing = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  const bool y_scientific = (log_y ? y_ticks.front() : y_spacing) < 1e-3 * (1 - 1e-9);
  for (double tick : y_ticks) {
    const int y = py(tick);
    if (y < top - 1 || y > top + plot_h + 1) continue;
    cv::line(image, {left, y}, {width - right, y}, kGrid);
    cv::line(image, {left - 4, y}, {left, y}, kInk);
    const auto label = log_y ? tick_label(tick, tick, y_scientific) : tick_label(tick, y_spacing, y_scientific);
    text(image, label, {left - 8 - text_size(label, label_scale).width, y + 5}, label_scale);
  }
  // x: tick marks and numbers under the axis, then the axis name.
  const auto x_ticks = axis_ticks(x0, x1, 10, 1);
  const double x_spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  for (double tick : x_ticks) {
    const int x = px(tick);
    cv::line(image, {x, top + plot_h}, {x, top + plot_h + 4}, kInk);
    const auto label = tick_label(tick, x_spacing, false);
    text(image, label, {x - text_size(label, label_scale).width / 2, top + plot_h + 19}, label_scale);
  }
  text(image, x_label, {left + plot_w / 2 - text_size(x_label, 0.5).width / 2, top + plot_h + 44}, 0.5);

  cv::rectangle(image, {left, top}, {width - right, top + plot_h}, kInk);
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& values = series[s].values;
    const auto colour = kColours[s % kColours.size()];
    for (size_t i = 1; i < values.size(); ++i) {
      if (!std::isfinite(values[i - 1]) || !std::isfinite(values[i])) continue;
      cv::line(image, {px(step_of(series[s], i - 1)), py(values[i - 1])}, {px(step_of(series[s], i)), py(values[i])},
               colour, 1, cv::LINE_AA);
    }
  }
  // Over the curves: where a stage starts the loss jumps, and the line says why.
  const cv::Scalar stage_colour(110, 110, 110);
  for (const auto& label : labels) {
    const int label_y = first_label_row + label.row * row_height;
    dashed_vertical_line(image, label.line_x, label_y + 4, top + plot_h, stage_colour);
    text(image, label.text, {label.text_x, label_y}, label_scale, cv::Scalar(70, 70, 70));
  }
  // Title on the left of the top row, the legend (a line of each colour and its label) on its right.
  text(image, title, {left, title_row}, 0.5);
  int legend_x = width - right;
  for (size_t s = series.size(); s-- > 0;) {
    const auto colour = kColours[s % kColours.size()];
    legend_x -= text_size(series[s].label, 0.5).width;
    text(image, series[s].label, {legend_x, title_row}, 0.5, colour);
    legend_x -= 26;
    cv::line(image, {legend_x, title_row - 5}, {legend_x + 20, title_row - 5}, colour, 2, cv::LINE_AA);
    legend_x -= 14;
  }
  save(png_path, image);
}

void write_heatmap(const std::string& png_path, const std::string& title, const std::vector<std::vector<double>>& values,
                   const std::vector<std::pair<std::string, std::pair<int, int>>>& column_marks, const std::string& x_label) {
  if (values.empty() || values.front().empty()) throw std::invalid_argument("heat-map of no values: " + png_path);
  const int rows = static_cast<int>(values.size()), cols = static_cast<int>(values.front().size());
  const int cell_h = 40, cell_w = std::max(4, std::min(24, 900 / cols));
  cv::Mat grey(rows, cols, CV_8UC1);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      grey.at<uint8_t>(r, c) = cv::saturate_cast<uint8_t>(255.0 * std::clamp(values[r][c], 0.0, 1.0));
    }
  cv::Mat big, coloured;
  cv::resize(grey, big, {cols * cell_w, rows * cell_h}, 0, 0, cv::INTER_NEAREST);
  cv::applyColorMap(big, coloured, cv::COLORMAP_VIRIDIS);
  const int left = 70, top = 40, bottom = 70, legend = 60;
  int baseline = 0;
  const int title_width = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline).width;
  const int width = std::max(left + coloured.cols + legend + 20, left + title_width + 20);
  cv::Mat image(top + coloured.rows + bottom, width, CV_8UC3, cv::Scalar(255, 255, 255));
  coloured.copyTo(image(cv::Rect(left, top, coloured.cols, coloured.rows)));
  for (int r = 0; r < rows; ++r) text(image, "layer " + std::to_string(r), {5, top + r * cell_h + cell_h / 2 + 4});
  for (const auto& [label, span] : column_marks) {
    const int x0 = left + span.first * cell_w, x1 = left + span.second * cell_w;
    const int y = top + coloured.rows + 8;
    cv::line(image, {x0, y}, {x1, y}, kInk, 2);
    text(image, label, {x0, y + 16});
  }
  // Colour bar: 0 at the bottom, 1 at the top.
  cv::Mat bar(coloured.rows, 1, CV_8UC1);
  for (int i = 0; i < bar.rows; ++i) bar.at<uint8_t>(i, 0) = cv::saturate_cast<uint8_t>(255.0 * (1.0 - double(i) / (bar.rows - 1)));
  cv::Mat bar_big, bar_coloured;
  cv::resize(bar, bar_big, {14, bar.rows}, 0, 0, cv::INTER_NEAREST);
  cv::applyColorMap(bar_big, bar_coloured, cv::COLORMAP_VIRIDIS);
  const int bar_x = left + coloured.cols + 12;
  bar_coloured.copyTo(image(cv::Rect(bar_x, top, 14, bar.rows)));
  text(image, "1", {bar_x + 18, top + 10});
  text(image, "0", {bar_x + 18, top + bar.rows});
  text(image, title, {left, image.rows - 12}, 0.5);
  text(image, x_label, {left, top - 12});
  save(png_path, image);
}

}  // namespace trol
