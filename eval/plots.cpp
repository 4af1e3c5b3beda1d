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

std::string format(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, std::abs(v) >= 100 ? "%.0f" : (std::abs(v) >= 1 ? "%.2f" : "%.3f"), v);
  return buffer;
}

void save(const std::string& path, const cv::Mat& image) {
  if (!cv::imwrite(path, image)) throw std::runtime_error("cannot write figure '" + path + "'");
}

}  // namespace

void write_line_plot(const std::string& png_path, const std::string& title, const std::vector<Series>& series,
                     const std::vector<double>& boundaries) {
  const int width = 900, height = 480, left = 70, right = 20, top = 40, bottom = 50;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = INFINITY, hi = -INFINITY;
  size_t longest = 1;
  for (const auto& s : series) {
    for (double v : s.values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    longest = std::max(longest, s.values.size());
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  const bool log_y = lo > 0 && hi / lo > 20;
  auto ty = [&](double v) { return log_y ? std::log10(v) : v; };
  double y0 = ty(lo), y1 = ty(hi);
  if (y1 - y0 < 1e-9) y1 = y0 + 1;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - 1) / std::max<double>(1, longest - 1) * plot_w)); };
  auto py = [&](double v) { return top + static_cast<int>(std::lround((1 - (ty(v) - y0) / (y1 - y0)) * plot_h)); };

  for (int i = 0; i <= 4; ++i) {
    const double yv = y0 + (y1 - y0) * i / 4;
    const int y = top + static_cast<int>(std::lround((1 - static_cast<double>(i) / 4) * plot_h));
    cv::line(image, {left, y}, {width - right, y}, kGrid);
    text(image, format(log_y ? std::pow(10, yv) : yv), {5, y + 4});
  }
  for (double b : boundaries) cv::line(image, {px(b), top}, {px(b), top + plot_h}, cv::Scalar(190, 190, 190), 1, cv::LINE_AA);
  cv::rectangle(image, {left, top}, {width - right, top + plot_h}, kInk);
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& values = series[s].values;
    const auto colour = kColours[s % kColours.size()];
    for (size_t i = 1; i < values.size(); ++i) {
      if (!std::isfinite(values[i - 1]) || !std::isfinite(values[i])) continue;
      cv::line(image, {px(static_cast<double>(i)), py(values[i - 1])}, {px(static_cast<double>(i + 1)), py(values[i])},
               colour, 1, cv::LINE_AA);
    }
    text(image, series[s].label, {left + 10 + 220 * static_cast<int>(s), top - 10}, 0.5, colour);
  }
  text(image, title, {left, height - 15}, 0.5);
  text(image, "step " + std::to_string(longest), {width - right - 90, height - 15});
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
