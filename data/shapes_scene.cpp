#include "data/shapes_scene.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace trol::shapes {
namespace {

// Far from each other in RGB and, all of them, far from the light backgrounds below (even
// yellow: its blue channel is ~180 levels under any background's).
constexpr std::array<std::array<uint8_t, 3>, kNumColours> kColourRgb{{
    {220, 40, 40},   // red
    {30, 160, 60},   // green
    {40, 80, 220},   // blue
    {240, 200, 20},  // yellow
    {140, 50, 180},  // purple
}};
constexpr int kBackgroundMin = 195;  // every background channel in [195, 240], +-6 of gradient
constexpr int kBackgroundMax = 240;
constexpr int kMaxGradient = 12;

struct CellBox {
  int x0, x1, y0, y1;  // half-open pixel ranges
};

CellBox cell_box(int cell, int64_t image_size) {
  const int col = cell % 3, row = cell / 3;
  const int s = int(image_size);
  return {col * s / 3, (col + 1) * s / 3, row * s / 3, (row + 1) * s / 3};
}

int object_radius(int64_t image_size) { return int(std::lround(0.40 * double(image_size) / 3.0)); }

cv::Scalar scalar(const std::array<uint8_t, 3>& rgb) { return cv::Scalar(rgb[0], rgb[1], rgb[2]); }

}  // namespace

const std::vector<Shape>& all_shapes() {
  static const std::vector<Shape> shapes{Shape::circle, Shape::square, Shape::triangle, Shape::cross};
  return shapes;
}

const std::vector<Colour>& all_colours() {
  static const std::vector<Colour> colours{Colour::red, Colour::green, Colour::blue, Colour::yellow, Colour::purple};
  return colours;
}

std::string shape_name(Shape shape) {
  static const char* names[] = {"circle", "square", "triangle", "cross"};
  return names[int(shape)];
}

std::string shape_plural(Shape shape) { return shape == Shape::cross ? "crosses" : shape_name(shape) + "s"; }

std::string colour_name(Colour colour) {
  static const char* names[] = {"red", "green", "blue", "yellow", "purple"};
  return names[int(colour)];
}


std::string cell_name(int cell) {
  static const char* names[] = {"top left",    "top",    "top right",    "left",        "center",
                                "right",       "bottom left", "bottom", "bottom right"};
  if (cell < 0 || cell >= kNumCells) throw std::out_of_range("cell_name: no cell " + std::to_string(cell));
  return names[cell];
}

std::string cell_phrase(int cell) {
  const std::string name = cell_name(cell);
  if (cell == 4) return "in the center";
  if (cell == 3 || cell == 5) return "on the " + name;
  return "at the " + name;
}

std::array<uint8_t, 3> colour_rgb(Colour colour) { return kColourRgb[size_t(colour)]; }

std::string capitalized(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = char(text[0] - 'a' + 'A');
  return text;
}

int Scene::count(Shape shape) const {
  return int(std::count_if(objects.begin(), objects.end(), [&](const SceneObject& o) { return o.shape == shape; }));
}

int Scene::count(Colour colour) const {
  return int(std::count_if(objects.begin(), objects.end(), [&](const SceneObject& o) { return o.colour == colour; }));
}

int Scene::count(Colour colour, Shape shape) const {
  return int(std::count_if(objects.begin(), objects.end(),
                           [&](const SceneObject& o) { return o.colour == colour && o.shape == shape; }));
}

Scene sample_scene(PortableRandom& random, int64_t image_size) {
  if (image_size < kMinImageSize || image_size > kMaxImageSize) {
    throw std::invalid_argument("shapes: image size must be in [" + std::to_string(kMinImageSize) + ", " +
                                std::to_string(kMaxImageSize) + "], got " + std::to_string(image_size));
  }
  Scene scene;
  scene.image_size = image_size;
  const int n = int(random.between(1, kMaxObjects));
  std::vector<int> cells(kNumCells);
  std::iota(cells.begin(), cells.end(), 0);
  for (int i = 0; i < n; ++i) std::swap(cells[size_t(i)], cells[size_t(i + random.below(kNumCells - i))]);
  cells.resize(size_t(n));
  std::sort(cells.begin(), cells.end());
  const std::vector<double> shape_weights(kShapeFrequency.begin(), kShapeFrequency.end());
  for (int cell : cells) {
    SceneObject object;
    object.shape = Shape(random.weighted(shape_weights));
    object.colour = Colour(random.below(kNumColours));
    object.cell = cell;
    object.radius = object_radius(image_size);
    // Centred in its cell, so every object sits at the same place in the vision patches over
    // it: a vision encoder trained from scratch in minutes learns no translation invariance.
    const CellBox box = cell_box(cell, image_size);
    object.centre_x = box.x0 + (box.x1 - box.x0) / 2;
    object.centre_y = box.y0 + (box.y1 - box.y0) / 2;
    scene.objects.push_back(object);
  }
  for (auto& channel : scene.background) channel = uint8_t(random.between(kBackgroundMin, kBackgroundMax));
  scene.gradient = int(random.between(-kMaxGradient, kMaxGradient));
  scene.gradient_vertical = random.chance(0.5);
  return scene;
}

cv::Mat render_scene(const Scene& scene) {
  const int s = int(scene.image_size);
  if (s < kMinImageSize || s > kMaxImageSize) {
    throw std::invalid_argument("render_scene: image size " + std::to_string(scene.image_size) + " out of range");
  }
  cv::Mat image(s, s, CV_8UC3);
  for (int y = 0; y < s; ++y) {
    auto* row = image.ptr<uint8_t>(y);
    for (int x = 0; x < s; ++x) {
      const int t = scene.gradient_vertical ? y : x;
      const int offset = scene.gradient * (2 * t - (s - 1)) / (2 * (s - 1));
      for (int c = 0; c < 3; ++c) row[3 * x + c] = cv::saturate_cast<uint8_t>(int(scene.background[size_t(c)]) + offset);
    }
  }
  for (const auto& o : scene.objects) {
    const cv::Scalar colour = scalar(colour_rgb(o.colour));
    const int cx = o.centre_x, cy = o.centre_y, r = o.radius;
    switch (o.shape) {
      case Shape::circle:
        cv::circle(image, {cx, cy}, r, colour, cv::FILLED, cv::LINE_AA);
        break;
      case Shape::square: {
        cv::rectangle(image, {cx - r, cy - r}, {cx + r, cy + r}, colour, cv::FILLED, cv::LINE_8);
        break;
      }
      case Shape::triangle: {
        const cv::Point corners[3] = {{cx, cy - r}, {cx - r, cy + r}, {cx + r, cy + r}};
        cv::fillConvexPoly(image, corners, 3, colour, cv::LINE_AA);
        break;
      }
      case Shape::cross: {
        const int t = int(std::lround(0.08 * r));  // half the bar thickness: 1-pixel bars at 48 px
        cv::rectangle(image, {cx - r, cy - t}, {cx + r, cy + t}, colour, cv::FILLED, cv::LINE_8);
        cv::rectangle(image, {cx - t, cy - r}, {cx + t, cy + r}, colour, cv::FILLED, cv::LINE_8);
        break;
      }
    }
  }
  return image;
}

std::string describe_scene(const Scene& scene) {
  std::vector<SceneObject> objects = scene.objects;  // already in reading order within each shape
  std::stable_sort(objects.begin(), objects.end(),
                   [](const SceneObject& a, const SceneObject& b) { return int(a.shape) < int(b.shape); });
  std::string text;
  const size_t n = objects.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& o = objects[i];
    if (i > 0) text += (i + 1 == n) ? " and " : ", ";
    text += (i == 0 ? "A " : "a ") + colour_name(o.colour) + " " + shape_name(o.shape) + " " + cell_phrase(o.cell);
  }
  return text + ".";
}

}  // namespace trol::shapes
