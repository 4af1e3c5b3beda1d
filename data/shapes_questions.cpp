#include "data/shapes_questions.h"

#include <algorithm>
#include <stdexcept>

namespace trol::shapes {
namespace {

// Half of the time the canonical (first) wording, so that the evaluation wording stays the
// most frequent one in training.
const std::string& wording(const std::vector<std::string>& templates, PortableRandom& random, bool vary) {
  if (!vary || random.chance(0.5)) return templates.front();
  return random.pick(templates);
}

// Replaces "{a}" and "{b}" in a template.
std::string fill(std::string text, const std::string& a, const std::string& b = "") {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{a}", a}, {"{b}", b}}) {
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size())) {
      text.replace(pos, key.size(), value);
    }
  }
  return text;
}

std::string yes_no(bool yes) { return yes ? "Yes" : "No"; }

// Objects that their colour and shape name unambiguously.
std::vector<SceneObject> uniquely_named(const Scene& scene) {
  std::vector<SceneObject> out;
  for (const auto& o : scene.objects) {
    if (scene.count(o.colour, o.shape) == 1) out.push_back(o);
  }
  return out;
}

std::string the(const SceneObject& o) { return "the " + binding_name({o.colour, o.shape}); }

// Shuffles the correct option in among the others; returns its letter.
std::string place_options(std::vector<std::string>& options, const std::string& correct, PortableRandom& random) {
  random.shuffle(options);
  const auto at = std::find(options.begin(), options.end(), correct) - options.begin();
  return std::string(1, char('A' + at));
}

// `correct` plus three others from `pool`, in random order.
std::vector<std::string> four_options(const std::string& correct, std::vector<std::string> pool, PortableRandom& random) {
  pool.erase(std::remove(pool.begin(), pool.end(), correct), pool.end());
  random.shuffle(pool);
  pool.resize(3);
  pool.push_back(correct);
  return pool;
}

const std::vector<std::string> kExistenceWordings{"Is there a {a} in the image?", "Is there a {a} in this picture?",
                                                  "Can you see a {a} in the image?", "Does the image contain a {a}?"};

}  // namespace

std::string prompt_text(const Question& question) {
  if (question.options.empty()) return question.text;
  std::string text = question.text;
  for (size_t i = 0; i < question.options.size(); ++i) text += "\n" + std::string(1, char('A' + i)) + ". " + question.options[i];
  return text + "\n" + kOptionLetterInstruction;
}

std::string binding_name(const Binding& binding) { return colour_name(binding.colour) + " " + shape_name(binding.shape); }

std::vector<Shape> present_shapes(const Scene& scene) {
  std::vector<Shape> out;
  for (Shape s : all_shapes()) {
    if (scene.count(s) > 0) out.push_back(s);
  }
  return out;
}

std::vector<Shape> absent_shapes(const Scene& scene) {
  std::vector<Shape> out;
  for (Shape s : all_shapes()) {
    if (scene.count(s) == 0) out.push_back(s);
  }
  return out;
}

std::vector<Binding> present_bindings(const Scene& scene) {
  std::vector<Binding> out;
  for (Shape s : all_shapes()) {
    for (Colour c : all_colours()) {
      if (scene.count(c, s) > 0) out.push_back({c, s});
    }
  }
  return out;
}

std::vector<Binding> binding_negatives(const Scene& scene) {
  std::vector<Binding> out;
  for (Shape s : all_shapes()) {
    for (Colour c : all_colours()) {
      if (scene.count(s) > 0 && scene.count(c) > 0 && scene.count(c, s) == 0) out.push_back({c, s});
    }
  }
  return out;
}

std::vector<Shape> shapes_by_popularity(const std::vector<Scene>& scenes) {
  std::vector<std::pair<int64_t, Shape>> counts;
  for (Shape s : all_shapes()) {
    const auto images = std::count_if(scenes.begin(), scenes.end(), [&](const Scene& scene) { return scene.count(s) > 0; });
    counts.push_back({int64_t(images), s});
  }
  std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Shape> out;
  for (const auto& [count, s] : counts) out.push_back(s);
  return out;
}

std::string existence_text(Shape shape) { return fill(kExistenceWordings.front(), shape_name(shape)); }

std::string existence_text(const Binding& binding) { return fill(kExistenceWordings.front(), binding_name(binding)); }

Question existence_question(const Scene& scene, PortableRandom& random, bool vary_wording) {
  const auto absent = absent_shapes(scene);
  const bool yes = absent.empty() || random.chance(0.5);
  const Shape shape = yes ? random.pick(present_shapes(scene)) : random.pick(absent);
  return {"existence", fill(wording(kExistenceWordings, random, vary_wording), shape_name(shape)), yes_no(yes), {}, {}};
}

std::optional<Question> colour_question(const Scene& scene, PortableRandom& random, bool vary_wording) {
  std::vector<SceneObject> candidates;
  for (const auto& o : scene.objects) {
    if (scene.count(o.shape) == 1) candidates.push_back(o);
  }
  if (candidates.empty()) return std::nullopt;
  static const std::vector<std::string> wordings{"What colour is the {a}?", "What is the colour of the {a}?",
                                                 "Which colour is the {a}?"};
  const auto& o = random.pick(candidates);
  return Question{"colour", fill(wording(wordings, random, vary_wording), shape_name(o.shape)),
                  capitalized(colour_name(o.colour)), {}, {}};
}

Question counting_question(const Scene& scene, PortableRandom& random, bool vary_wording) {
  if (random.chance(0.5)) {
    static const std::vector<std::string> wordings{"How many objects are there?", "How many objects are in the image?",
                                                   "How many shapes can you see?"};
    return {"counting", wording(wordings, random, vary_wording), std::to_string(scene.objects.size()), {}, {}};
  }
  // Mostly the shape of a random object (so shapes that occur several times are asked about
  // more often, which keeps "1" from dominating the answers); sometimes an absent one ("0").
  const auto absent = absent_shapes(scene);
  const Shape shape = (absent.empty() || random.chance(0.75)) ? random.pick(scene.objects).shape : random.pick(absent);
  static const std::vector<std::string> wordings{"How many {a} are there?", "How many {a} are in the image?",
                                                 "How many {a} can you see?"};
  return {"counting", fill(wording(wordings, random, vary_wording), shape_plural(shape)),
          std::to_string(scene.count(shape)), {}, {}};
}

std::optional<Question> position_question(const Scene& scene, PortableRandom& random, bool vary_wording) {
  // Only pairs in the same row or column, so that one word ("left of", "above") is the answer.
  const auto named = uniquely_named(scene);
  std::vector<std::pair<SceneObject, SceneObject>> pairs;
  for (const auto& a : named) {
    for (const auto& b : named) {
      if (a.cell != b.cell && (a.cell / 3 == b.cell / 3 || a.cell % 3 == b.cell % 3)) pairs.push_back({a, b});
    }
  }
  if (pairs.empty()) return std::nullopt;
  const auto& [a, b] = random.pick(pairs);
  std::string answer;
  if (a.cell / 3 == b.cell / 3) {
    answer = a.cell % 3 < b.cell % 3 ? "Left" : "Right";
  } else {
    answer = a.cell / 3 < b.cell / 3 ? "Above" : "Below";
  }
  static const std::vector<std::string> wordings{"Where is {a} relative to {b}?", "Where is {a} compared to {b}?",
                                                 "Is {a} left of, right of, above or below {b}?"};
  return Question{"position", fill(wording(wordings, random, vary_wording), the(a), the(b)), answer, {}, {}};
}

std::optional<Question> location_question(const Scene& scene, PortableRandom& random, bool vary_wording) {
  const auto named = uniquely_named(scene);
  if (named.empty()) return std::nullopt;
  const auto& o = random.pick(named);
  static const std::vector<std::string> wordings{"Where is {a}?", "Where is {a} in the image?",
                                                 "In which part of the image is {a}?"};
  return Question{"location", fill(wording(wordings, random, vary_wording), the(o)), capitalized(cell_name(o.cell)), {}, {}};
}

std::optional<Question> choice_question(const Scene& scene, PortableRandom& random) {
  std::vector<Colour> single_shape_colours;  // colours whose objects all have one shape
  for (Colour c : all_colours()) {
    const int n = scene.count(c);
    if (n > 0 && std::any_of(all_shapes().begin(), all_shapes().end(), [&](Shape s) { return scene.count(c, s) == n; })) {
      single_shape_colours.push_back(c);
    }
  }
  std::vector<SceneObject> unique_shape_objects;
  for (const auto& o : scene.objects) {
    if (scene.count(o.shape) == 1) unique_shape_objects.push_back(o);
  }
  const auto named = uniquely_named(scene);
  std::vector<int> variants;
  if (!single_shape_colours.empty()) variants.push_back(0);
  if (!unique_shape_objects.empty()) variants.push_back(1);
  if (!named.empty()) variants.push_back(2);
  if (variants.empty()) return std::nullopt;

  Question q;
  q.kind = "choice";
  switch (random.pick(variants)) {
    case 0: {
      const Colour c = random.pick(single_shape_colours);
      const auto it = std::find_if(scene.objects.begin(), scene.objects.end(), [&](const SceneObject& o) { return o.colour == c; });
      for (Shape s : all_shapes()) q.options.push_back(shape_name(s));
      q.text = "Which shape is " + colour_name(c) + "?";
      q.answer = place_options(q.options, shape_name(it->shape), random);
      q.category = "attribute_recognition";
      break;
    }
    case 1: {
      const auto& o = random.pick(unique_shape_objects);
      std::vector<std::string> pool;
      for (Colour c : all_colours()) pool.push_back(colour_name(c));
      q.options = four_options(colour_name(o.colour), pool, random);
      q.text = "What colour is the " + shape_name(o.shape) + "?";
      q.answer = place_options(q.options, colour_name(o.colour), random);
      q.category = "attribute_recognition";
      break;
    }
    default: {
      const auto& o = random.pick(named);
      std::vector<std::string> pool;
      for (int cell = 0; cell < kNumCells; ++cell) pool.push_back(cell_name(cell));
      q.options = four_options(cell_name(o.cell), pool, random);
      q.text = "Where is " + the(o) + "?";
      q.answer = place_options(q.options, cell_name(o.cell), random);
      q.category = "object_localization";
      break;
    }
  }
  return q;
}

Question binding_question(const Scene& scene, const std::vector<Shape>& popularity, PortableRandom& random) {
  const bool compound = random.chance(0.75);
  const bool yes = random.chance(0.5);
  if (compound) {
    if (yes) return {"binding_positive", existence_text(random.pick(present_bindings(scene))), "Yes", {}, {}};
    const auto hard = binding_negatives(scene);
    if (!hard.empty()) return {"binding_negative", existence_text(random.pick(hard)), "No", {}, {}};
    std::vector<Binding> absent;
    for (Shape s : all_shapes()) {
      for (Colour c : all_colours()) {
        if (scene.count(c, s) == 0) absent.push_back({c, s});
      }
    }
    return {"compound_negative", existence_text(random.pick(absent)), "No", {}, {}};
  }
  if (!yes) {
    for (Shape s : popularity) {
      if (scene.count(s) == 0) return {"popular_negative", existence_text(s), "No", {}, {}};
    }
  }
  return {"shape_positive", existence_text(random.pick(present_shapes(scene))), "Yes", {}, {}};
}

std::string pope_split_name(PopeSplit split) {
  switch (split) {
    case PopeSplit::random: return "random";
    case PopeSplit::popular: return "popular";
    case PopeSplit::adversarial: return "adversarial";
  }
  throw std::invalid_argument("pope_split_name: unknown split");
}

std::vector<Question> pope_questions(const Scene& scene, PopeSplit split, const std::vector<Shape>& popularity,
                                     int max_per_answer, PortableRandom& random) {
  std::vector<std::string> yes, no;
  if (split == PopeSplit::adversarial) {
    for (const auto& b : present_bindings(scene)) yes.push_back(existence_text(b));
    for (const auto& b : binding_negatives(scene)) no.push_back(existence_text(b));
    random.shuffle(no);
  } else {
    for (Shape s : present_shapes(scene)) yes.push_back(existence_text(s));
    if (split == PopeSplit::random) {
      for (Shape s : absent_shapes(scene)) no.push_back(existence_text(s));
      random.shuffle(no);
    } else {
      for (Shape s : popularity) {
        if (scene.count(s) == 0) no.push_back(existence_text(s));
      }
    }
  }
  random.shuffle(yes);
  const size_t k = std::min({yes.size(), no.size(), size_t(std::max(0, max_per_answer))});
  std::vector<Question> out;
  const std::string kind = "pope_" + pope_split_name(split);
  for (size_t i = 0; i < k; ++i) {
    out.push_back({kind, yes[i], "yes", {}, {}});
    out.push_back({kind, no[i], "no", {}, {}});
  }
  random.shuffle(out);
  return out;
}

const std::vector<std::string>& caption_prompts() {
  static const std::vector<std::string> prompts{"Describe the image.", "What do you see in the image?",
                                                "Describe the objects in this picture.",
                                                "Give a short description of the image."};
  return prompts;
}

std::vector<std::vector<std::pair<std::string, std::string>>> text_conversations() {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  auto add = [&](std::string q, std::string a) { out.push_back({{std::move(q), std::move(a)}}); };
  add("Name a shape with three corners.", "A triangle.");
  add("Name a shape with four corners.", "A square.");
  add("Name a round shape.", "A circle.");
  add("Which shape has no corners?", "A circle.");
  add("Which shape looks like a plus sign?", "A cross.");
  add("How many corners does a triangle have?", "3");
  add("How many corners does a square have?", "4");
  add("How many corners does a circle have?", "0");
  add("How many sides does a triangle have?", "3");
  add("How many sides does a square have?", "4");
  for (Shape s : all_shapes()) {
    add("Is " + shape_name(s) + " a colour or a shape?", "A shape.");
    add("What is the plural of " + shape_name(s) + "?", capitalized(shape_plural(s)) + ".");
    add("Is a " + shape_name(s) + " a shape?\n" + kShortAnswerInstruction, "Yes");
  }
  for (Colour c : all_colours()) {
    add("Is " + colour_name(c) + " a colour or a shape?", "A colour.");
    add("Is " + colour_name(c) + " a shape?\n" + kShortAnswerInstruction, "No");
  }
  add("Which shapes do you know?", "Circle, square, triangle and cross.");
  add("Which colours do you know?", "Red, green, blue, yellow and purple.");
  add("Which positions are in the top row?", "Top left, top and top right.");
  add("Which positions are in the middle row?", "Left, center and right.");
  add("Which positions are in the bottom row?", "Bottom left, bottom and bottom right.");
  add("Which positions are in the left column?", "Top left, left and bottom left.");
  add("Which positions are in the right column?", "Top right, right and bottom right.");
  for (const auto& [word, opposite] : std::vector<std::pair<std::string, std::string>>{
           {"left", "Right"}, {"right", "Left"}, {"above", "Below"}, {"below", "Above"},
           {"top", "Bottom"}, {"bottom", "Top"}}) {
    add("What is the opposite of " + word + "?", opposite + ".");
  }
  add("Count from 1 to 4.", "1, 2, 3, 4.");
  for (int n = 0; n < 4; ++n) add("What number comes after " + std::to_string(n) + "?", std::to_string(n + 1));
  for (int n = 1; n <= 4; ++n) add("What number comes before " + std::to_string(n) + "?", std::to_string(n - 1));
  for (int a = 0; a <= 4; ++a) {
    for (int b = 0; b <= 4; ++b) {
      if (a != b) add("Is " + std::to_string(a) + " more than " + std::to_string(b) + "?", yes_no(a > b));
    }
  }
  out.push_back({{"Name a shape with three corners.", "A triangle."}, {"And one with four corners?", "A square."}});
  out.push_back({{"Which colours do you know?", "Red, green, blue, yellow and purple."},
                 {"How many is that?", "5"}});
  out.push_back({{"Which shapes do you know?", "Circle, square, triangle and cross."},
                 {"Which of them is round?", "The circle."}});
  return out;
}

}  // namespace trol::shapes
