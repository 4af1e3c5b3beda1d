// The pictures of the built-in shapes dataset: what a scene holds, how it is drawn, and the
// words for its parts.
//
// A scene is a light, plain background (with a mild linear gradient) and 1-4 objects, each
// a shape of one colour centred in its own cell of a 3x3 grid. The design is for a tiny
// model to learn quickly: saturated colours far apart from each other and from every
// background, objects that never overlap and never leave their cell (so "top left" is never
// a judgement call), and a few dozen words in all.
//
// Shapes differ in how much of their box they fill (square all of it, circle ~79 %,
// triangle half, a thin cross little), and all objects have one size. A vision encoder
// trained from scratch for minutes first reads "how much of which colour" from its
// patches. With shapes of equal area and two sizes 1:1.5 apart, shape carried 6 % of the
// pixel variance over an object (size 17 %, colour 49 %) and the tiny model never learnt
// it; with two sizes only 1:1.2 apart, fill and size were confounded and one run of two
// learnt shapes, the other sizes; with one size, both seeds tried learnt shapes (~94 %) in
// the same 360 caption steps as colours.
#pragma once

#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/portable_random.h"

namespace trol::shapes {

enum class Shape { circle, square, triangle, cross };
enum class Colour { red, green, blue, yellow, purple };

constexpr int kNumShapes = 4;
constexpr int kNumColours = 5;
constexpr int kNumCells = 9;  // 3x3, row-major: 0 top left, 1 top, ..., 4 center, ..., 8 bottom right
constexpr int kMaxObjects = 4;
constexpr int64_t kMinImageSize = 24;
constexpr int64_t kMaxImageSize = 2048;

// How often each shape is drawn, in Shape order. Skewed on purpose: POPE's "popular"
// negatives (the most frequent shapes absent from an image) then differ from random ones.
constexpr std::array<double, kNumShapes> kShapeFrequency{0.40, 0.25, 0.20, 0.15};

const std::vector<Shape>& all_shapes();
const std::vector<Colour>& all_colours();

std::string shape_name(Shape shape);         // "circle"
std::string shape_plural(Shape shape);       // "circles", "crosses"
std::string colour_name(Colour colour);      // "red"
std::string cell_name(int cell);             // "top left", "top", ..., "center", ..., "bottom right"
std::string cell_phrase(int cell);           // "at the top left", "on the left", "in the center", ...
std::array<uint8_t, 3> colour_rgb(Colour colour);

// "Red", "Top left": answers start with a capital letter, as in LLaVA's short answers.
std::string capitalized(std::string text);

struct SceneObject {
  Shape shape;
  Colour colour;
  int cell;      // 0..8, see kNumCells
  int centre_x;  // pixels; inside the cell, so is the whole object
  int centre_y;
  int radius;    // half the object's extent in pixels
};

struct Scene {
  int64_t image_size = 0;
  std::array<uint8_t, 3> background{};  // RGB at the middle of the gradient
  int gradient = 0;                     // levels added from one edge (-gradient/2) to the other (+gradient/2)
  bool gradient_vertical = false;
  std::vector<SceneObject> objects;     // in reading order of their cells

  int count(Shape shape) const;
  int count(Colour colour) const;
  int count(Colour colour, Shape shape) const;
};

// A random scene (uses only `random`, so a seeded stream gives the same scene everywhere).
// Throws std::invalid_argument for an image size outside [kMinImageSize, kMaxImageSize].
Scene sample_scene(PortableRandom& random, int64_t image_size);

// The scene as an 8-bit RGB image, image_size x image_size. The pixel at each object's
// centre has exactly the object's colour.
cv::Mat render_scene(const Scene& scene);

// "A blue circle at the top left, a red circle at the bottom and a green square on the left.":
// grouped by shape (in Shape order), in reading order within a shape, so that naming the next
// object means finding one of a shape anywhere in the picture, the lookup that existence,
// colour and counting questions need (captions in reading order alone taught "what is in the
// next cell", and existence questions then stayed at chance).
std::string describe_scene(const Scene& scene);

}  // namespace trol::shapes
