// The questions of a public benchmark as a model is asked them: read from the benchmark's own
// distribution files (the layout `trol score --data` takes, documented per benchmark in
// eval/benchmarks/<name>.h), each with its image and the prompt the TroL authors' evaluation
// builds (ByungKwanLee/TroL loader/create_eval_dataset.py and utils/utils.py make_instruction),
// plus the fields the benchmark's scorer needs in a prediction record.
//
// Images: each reader knows where its benchmark keeps them (below); BenchmarkSource::images
// overrides that folder. Readers do not open images: an item whose image is missing or corrupt
// is found when it is generated for, reported, and left without a prediction (the scorer then
// counts it missing). A data file that cannot be read, or a question without the fields its
// prompt and record need, is a BenchmarkFileError naming file and entry.
//
//   pope       --data: a coco_pope_<split>.json(l) file or a folder of them; images
//              <folder of the files>/val2014/<image> (COCO val2014). Prompt: text + "\n" +
//              "Answer the question using a single word or phrase." Record: question_id, category (the split).
//   mme        --data: MME_Benchmark_release_version/; images next to each subtask's .txt
//              files (<subtask>/images/ for artwork, celebrity, landmark, posters, scene), any of
//              .jpg .png .jpeg. Prompt: the question as written (it ends "Please answer yes or no.";
//              the authors add nothing). Record: question_id "<subtask>/<image file>", prompt.
//   mmbench    --data: an MMBench TSV; images decoded from its base64 column. Prompt:
//              [hint "\n"] question "\nA. " A ... "\nAnswer with the option's letter from the given
//              choices directly." Record: question_id (the TSV index, circular copies included).
//   scienceqa  --data: data/scienceqa/ (problems.json, pid_splits.json); images
//              <data>/images/test/<pid>/<image>. The test questions with an image. Prompt:
//              [hint "\n"] question "\nA. " choice ... "\nAnswer with the option's letter from the
//              given choices directly." (the authors join an empty hint too, which only adds a
//              leading newline; it is left out). Record: question_id (the pid).
//   chartqa    --data: "ChartQA Dataset/test/" or one of its test_*.json; images
//              <folder of the files>/png/<imgname>. Prompt: query + "\nAnswer the question using a
//              single word or phrase." Record: question_id "<split>/<position>".
//   textvqa    --data: TextVQA_0.5.1_val.json; images <its folder>/train_images/<image_id>.jpg (the
//              val images ship in train_images). Prompt: question + "\nAnswer the question using a
//              single word or phrase." (LLaVA's; the authors' file adds OCR tokens, not in the
//              release). Record: question_id.
//   mathvista  --data: data/testmini.json; images <its folder>/<image> ("images/1.jpg").
//              Prompt: the query as written (it carries MathVista's hint; the authors add nothing).
//              Record: question_id (the pid).
//   ai2d       --data: VLMEvalKit's AI2D_TEST.tsv; images decoded from its base64 column. Prompt:
//              question "\nA. " A " B. " B ... "\nAnswer with the option's letter from the given
//              choices directly." (the authors' ai2d_filtering: options on one line). Record:
//              question_id (the TSV index).
//   seedbench  --data: SEED-Bench.json (its image questions; images <its folder>/SEED-Bench-image/
//              <data_id>) or VLMEvalKit's SEEDBench_IMG.tsv (base64 images). Prompt: question
//              "\nA. " A "\nB. " B ... + the letter instruction (seed_filtering). Record:
//              question_id (SEED's question_id, or the TSV index).
//   mmstar     --data: VLMEvalKit's MMStar.tsv; base64 images. Prompt: the question as written (MMStar's
//              lists the options, "Options: A: ..."; the authors add nothing) + "\n" + the letter
//              instruction; a question without "Options:" gets "\nA. " A "\nB. " B ... first.
//              Record: question_id (the TSV index).
//   mmmu       --data: VLMEvalKit's MMMU_DEV_VAL.tsv; its images decoded from base64 (a cell may list
//              several). Prompt: question ["\nA. " A " B. " B ...] (mmmu_filtering; open questions have
//              no options line) + "\n" + the letter instruction when the text holds "A.", else the
//              short-answer one. Each image goes where the text first refers to it, as the authors'
//              replace_image_tokens puts it: the first "<image N>" of each N becomes the image
//              placeholder (image N of the cell; the authors take the first k images for k distinct
//              references, the same when references come in order), later ones stay as text; a
//              question without references gets its images leading the prompt. Record:
//              question_id (MMMU's id, else the TSV index, as the scorer keys them).
//   hallusionbench  --data: HallusionBench.json (images <its folder>/hallusion_bench/<filename>
//              without "./"; the questions without a figure, filename null, are asked as text, as
//              the authors do) or VLMEvalKit's HallusionBench.tsv (base64). Prompt: question +
//              "\nPlease answer yes or no." unless it holds that already. Record: question_id
//              "<category>_<subcategory>_<set_id>_<figure_id>_<question_id>" (the TSV: its index).
//
// VLMEvalKit TSVs store a repeated image once (a short cell naming the index of the row holding
// it); the readers resolve those references as VLMEvalKit does.
//
// Every prompt but MMMU's follows its image placeholder on its own line ("<image>\n" + prompt, as
// the built-in evaluation and LLaVA write it; the authors write "<image>" + prompt).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace trol {

// Where a benchmark's files are: one entry of `eval.suites`, as `trol score` takes them.
struct BenchmarkSource {
  std::string benchmark;  // pope | mme | mmbench | scienceqa | chartqa | textvqa | mathvista | ai2d |
                          // seedbench | mmstar | mmmu | hallusionbench
  std::string data;       // the benchmark's files (a folder or a file: see above)
  std::string images;     // the image folder ("": the benchmark's own place, see above)
};

// One image of an item: a file, or its encoded bytes (the base64 TSVs: MMBench, AI2D, MMStar, ...).
struct ItemImage {
  std::string path;            // "" when the image is in `bytes`
  std::vector<uint8_t> bytes;
};

struct BenchmarkItem {
  std::string key;                  // unique within the benchmark: what merging shards checks
  // The user turn. Unless `images_in_question`, without placeholders: the images lead it, each
  // "<image>\n" (user_turn()). With it (MMMU), the placeholders stand where the images go.
  std::string question;
  std::vector<ItemImage> images;    // in placeholder order; none: a text-only question
  bool images_in_question = false;
  nlohmann::ordered_json record;    // the prediction record but its "text": question_id first
};

// The user turn of `item` with its image placeholders (kImagePlaceholder, one per image).
std::string user_turn(const BenchmarkItem& item);

// The benchmarks that have an item reader, in name order.
std::vector<std::string> item_benchmark_names();
bool has_item_reader(const std::string& benchmark);

// The items of `source`, in the order of its files. Throws std::invalid_argument for a
// benchmark without a reader (listing those with one), BenchmarkFileError for bad files.
std::vector<BenchmarkItem> read_benchmark_items(const BenchmarkSource& source);

// The answer length the authors generate with (utils/utils.py get_max_new_tokens): 5 tokens
// for the short-answer, yes/no and multiple-choice benchmarks (MMMU and HallusionBench too),
// 512 for MathVista.
int64_t authors_max_new_tokens(const std::string& benchmark);

}  // namespace trol
