// The built-in visual instruction dataset: simple rendered scenes of coloured shapes, with
// LLaVA-format training conversations and held-out evaluation splits in the real benchmarks'
// file formats (POPE, MMBench, VQA-style), all generated deterministically from a seed.
//
// It exists so that trol can be trained and evaluated end to end with no download: a tiny
// TroL model (ViT with patch 8 on 48x48 images, a 4-layer decoder) learns it on a 2-core CPU
// in minutes. Layout under `out_dir` (image paths in the JSON files are relative to images/):
//
//   images/train/NNNNNN.png, images/eval/NNNNNN.png   disjoint sets of scenes
//   captions.jsonl          one description per train image
//   instruct_basic.jsonl    existence, colour, counting, relative position, location and
//                           multiple-choice questions, some conversations multi-turn
//   instruct_adversarial.jsonl  colour-shape binding and popular-negative existence questions
//                           (a separate file, for a curriculum: binding is learnt last)
//   single/{existence,colour,counting,position,location,choice,binding}.jsonl
//                           every question of the two files above again, alone with its image,
//                           one file per kind (what the default recipe trains on, kind by kind:
//                           no turn gives another's answer away)
//   text.jsonl              text-only conversations about the vocabulary
//   eval/pope_{random,popular,adversarial}.jsonl, eval/mmbench.tsv, eval/vqa.jsonl
//   corpus.txt              every line of text the files hold, for training a tokenizer
//   dataset.json            generator version, options, counts, vocabularies, chance levels
//
// The same options give byte-identical files on every machine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/shapes_scene.h"

namespace trol {

struct ShapesDatasetOptions {
  std::string out_dir;
  uint64_t seed = 0;
  int64_t train_images = 6000;
  int64_t eval_images = 600;
  int64_t image_size = 48;
  int64_t basic_per_image = 2;        // instruct_basic.jsonl conversations per train image
  int64_t adversarial_per_image = 1;  // instruct_adversarial.jsonl conversations per train image
  // Replace the files of an earlier shapes dataset in out_dir. Without it out_dir must be
  // empty or absent; with it, a non-empty out_dir must hold a dataset.json of this generator
  // (nothing else is ever deleted).
  bool overwrite = false;
};

struct ShapesFileSummary {
  std::string path;                    // relative to out_dir
  std::string unit;                    // "conversations", "questions", "images", "lines"
  int64_t records = 0;
  std::map<std::string, int64_t> kinds;  // e.g. questions per kind, answers per label
};

struct ShapesDatasetSummary {
  std::vector<ShapesFileSummary> files;
  double seconds = 0;
};

// Writes the dataset. Throws std::invalid_argument naming the option for bad options and
// std::runtime_error naming the path when out_dir cannot be created or written.
ShapesDatasetSummary make_shapes_dataset(const ShapesDatasetOptions& options);

// `trol data make-shapes`: make_shapes_dataset, then a SentencePiece tokenizer of
// `tokenizer_vocab` pieces trained on its corpus (out_dir/tokenizer.model), keeping the chat
// template's markers whole, the image token first (id 4); logs every file written.
void make_shapes_dataset_and_tokenizer(const ShapesDatasetOptions& options, int64_t tokenizer_vocab,
                                       const std::string& template_name);

enum class ShapesSplit { train, eval };

// The scene drawn for image `index` of a split: what make_shapes_dataset renders and asks
// about (each image has its own random stream, so one scene can be rebuilt on its own).
shapes::Scene shapes_dataset_scene(uint64_t seed, ShapesSplit split, int64_t index, int64_t image_size);

// "train/000012.png": an image's path relative to out_dir/images.
std::string shapes_image_path(ShapesSplit split, int64_t index);

// The version written to dataset.json; bumped whenever the same seed would give other files.
constexpr int kShapesGeneratorVersion = 3;

}  // namespace trol
