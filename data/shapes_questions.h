// Questions about a shapes scene, with their canonical answers: the templates behind the
// built-in dataset's instruction files and its POPE, MMBench and VQA-style evaluation splits.
//
// Answers are short and always spelled the same way ("Yes", "No", "Red", "2", "Left",
// "Top left", "B"), so that a tiny model learns the task, not the wording, and exact-match
// scoring is fair. Every generator asks only what the scene answers unambiguously: a colour
// question names a shape that occurs once, a relative position compares two uniquely named
// objects in the same row or column, and so on; otherwise it returns nothing.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/conversation.h"
#include "data/portable_random.h"
#include "data/shapes_scene.h"

namespace trol::shapes {

// The answer-format instructions (kShortAnswerInstruction, kOptionLetterInstruction) are
// data/conversation.h's, shared with the evaluation readers.

struct Question {
  std::string kind;      // existence, colour, counting, position, location, choice, binding, ...
  std::string text;      // as a benchmark file stores it: no options, no answer instruction
  std::string answer;    // canonical answer; an option letter for multiple choice
  std::vector<std::string> options;  // multiple choice: the texts of options A, B, C, D
  std::string category;  // multiple choice: the MMBench category
};

// What the model reads: the text, then for multiple choice the options ("\nA. circle", ...)
// and kOptionLetterInstruction, as LLaVA's MMBench evaluation builds it.
std::string prompt_text(const Question& question);

// An object named by colour and shape ("red circle").
struct Binding {
  Colour colour;
  Shape shape;
};
std::string binding_name(const Binding& binding);

std::vector<Shape> present_shapes(const Scene& scene);  // distinct, in Shape order
std::vector<Shape> absent_shapes(const Scene& scene);
std::vector<Binding> present_bindings(const Scene& scene);
// Colour-shape pairs whose colour and shape both occur in the scene, but never together:
// the hard negatives of the adversarial splits ("a blue circle?" beside a blue square and a
// red circle).
std::vector<Binding> binding_negatives(const Scene& scene);

// Shapes ordered by how many of `scenes` contain them, most frequent first (ties in Shape
// order): the ranking POPE's "popular" negatives are drawn from.
std::vector<Shape> shapes_by_popularity(const std::vector<Scene>& scenes);

// "Is there a triangle in the image?" / "Is there a blue circle in the image?"
std::string existence_text(Shape shape);
std::string existence_text(const Binding& binding);

// Single questions. `vary_wording` draws among a few phrasings (training); without it the
// canonical phrasing is used (evaluation).
Question existence_question(const Scene& scene, PortableRandom& random, bool vary_wording);  // random negatives, yes/no 50:50
std::optional<Question> colour_question(const Scene& scene, PortableRandom& random, bool vary_wording);
Question counting_question(const Scene& scene, PortableRandom& random, bool vary_wording);
std::optional<Question> position_question(const Scene& scene, PortableRandom& random, bool vary_wording);
std::optional<Question> location_question(const Scene& scene, PortableRandom& random, bool vary_wording);
std::optional<Question> choice_question(const Scene& scene, PortableRandom& random);

// Existence questions for the colour-shape binding curriculum, yes/no 50:50: three in four
// ask about a colour-shape pair (negatives: binding negatives where the scene has one, else
// an absent pair), one in four about a shape (negatives: the most popular absent shape).
// Kinds: binding_positive, binding_negative, compound_negative, shape_positive, popular_negative.
Question binding_question(const Scene& scene, const std::vector<Shape>& popularity, PortableRandom& random);

// POPE's three ways of choosing negatives.
enum class PopeSplit { random, popular, adversarial };
std::string pope_split_name(PopeSplit split);

// POPE-style questions about one image: k "yes" and k "no" questions in random order, k as
// large as the scene allows up to `max_per_answer`. random: present vs randomly chosen absent
// shapes; popular: absent shapes taken in order of `popularity`; adversarial: present
// colour-shape pairs vs binding negatives. Answers are "yes" / "no", as in POPE's labels.
std::vector<Question> pope_questions(const Scene& scene, PopeSplit split, const std::vector<Shape>& popularity,
                                     int max_per_answer, PortableRandom& random);

// Ways to ask for a description (the first is the canonical one).
const std::vector<std::string>& caption_prompts();

// Text-only conversations (question, answer turns) about the vocabulary, e.g.
// "Name a shape with three corners." -> "A triangle.", in a fixed order.
std::vector<std::vector<std::pair<std::string, std::string>>> text_conversations();

}  // namespace trol::shapes
