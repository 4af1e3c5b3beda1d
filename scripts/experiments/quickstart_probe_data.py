#!/usr/bin/env python3
"""Question files for the quickstart probes (scripts/experiments/quickstart_probes.sh).

Reads the scenes back from a `trol data make-shapes` folder's captions (each names every
object's colour, shape and cell) and writes, under DATA/probes/:
  pos_shape.jsonl   relative position with both objects named by shape alone (unique in the
                    scene), so that the question does not need colour-shape binding
  loc_shape.jsonl   the cell of one object named by shape alone
  mc_colour.jsonl   "What colour is the circle?" as four lettered options
  colour.jsonl      the same as an open question
  text_mc.jsonl     text-only multiple choice (no image): the letter of the option that
                    matches, a category or a fact
  text_lookup.jsonl text-only "Which option is X?" alone (the answer named in the question),
                    and text_lookup_questions.jsonl, 200 fresh draws of it to score
for the first 5500 training images, and DATA_EVAL/ (a copy of DATA by symlinks) whose
eval/vqa.jsonl asks the same kinds (and open colour questions) about the last 500 training
images, which no probe question file mentions.

  quickstart_probe_data.py DATA DATA_EVAL
"""
import json
import os
import random
import re
import sys

CELLS = ["top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"]
COLOURS = ["red", "green", "blue", "yellow", "purple"]
SHAPES = ["circle", "square", "triangle", "cross"]
NUMBERS = ["0", "1", "2", "3", "4"]
SHORT = "Answer the question using a single word or phrase."
LETTER = "Answer with the option's letter from the given choices directly."
HELD_OUT = 500


def cell_phrase(i):
    return "in the center" if i == 4 else ("on the " if i in (3, 5) else "at the ") + CELLS[i]


def read_scenes(data):
    phrases = {cell_phrase(i): i for i in range(len(CELLS))}
    pattern = re.compile(r"[Aa] (%s) (%s) (%s)" % ("|".join(COLOURS), "|".join(SHAPES),
                                                   "|".join(sorted(phrases, key=len, reverse=True))))
    scenes = {}
    path = os.path.join(data, "captions.jsonl")
    if not os.path.isfile(path):
        sys.exit("%s: no such file (make the data with `trol data make-shapes --out %s`)" % (path, data))
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            caption = record["conversations"][1]["value"]
            objects = [(c, s, phrases[p]) for c, s, p in pattern.findall(caption)]
            if not objects:
                sys.exit("cannot read the scene of %s from its caption: %r" % (record["id"], caption))
            scenes[record["image"]] = objects
    return scenes


def unique_shapes(objects):
    return [o for o in objects if sum(p[1] == o[1] for p in objects) == 1]


def lettered(question, options, correct):
    text = question + "".join("\n%s. %s" % ("ABCD"[i], o) for i, o in enumerate(options)) + "\n" + LETTER
    return text, "ABCD"[options.index(correct)]


def four_options(correct, pool, rnd):
    others = [x for x in pool if x != correct]
    rnd.shuffle(others)
    options = others[:3] + [correct]
    rnd.shuffle(options)
    return options


def position(objects, rnd):
    named = unique_shapes(objects)
    pairs = [(a, b) for a in named for b in named
             if a[2] != b[2] and (a[2] // 3 == b[2] // 3 or a[2] % 3 == b[2] % 3)]
    if not pairs:
        return None
    a, b = rnd.choice(pairs)
    if a[2] // 3 == b[2] // 3:
        answer = "Left" if a[2] % 3 < b[2] % 3 else "Right"
    else:
        answer = "Above" if a[2] // 3 < b[2] // 3 else "Below"
    return "pos_shape", "Where is the %s relative to the %s?" % (a[1], b[1]), answer


def location(objects, rnd):
    named = unique_shapes(objects)
    if not named:
        return None
    o = rnd.choice(named)
    return "loc_shape", "Where is the %s?" % o[1], CELLS[o[2]].capitalize()


def colour_choice(objects, rnd):
    named = unique_shapes(objects)
    if not named:
        return None
    o = rnd.choice(named)
    text, answer = lettered("What colour is the %s?" % o[1], four_options(o[0], COLOURS, rnd), o[0])
    return "mc_colour", text, answer


def open_colour(objects, rnd):
    named = unique_shapes(objects)
    if not named:
        return None
    o = rnd.choice(named)
    return "colour", "What colour is the %s?" % o[1], o[0].capitalize()


def text_lookup(rnd, wordings=("Which option is %s?",)):
    """The letter of the option the question names: only the letter lookup is asked."""
    pool = rnd.choice([COLOURS, SHAPES, CELLS, NUMBERS])
    x = rnd.choice(pool)
    question = rnd.choice(wordings) % x
    return lettered(question, four_options(x, pool, rnd), x)


def text_choice(rnd):
    facts = [("How many corners does a triangle have?", "3", NUMBERS), ("How many corners does a square have?", "4", NUMBERS),
             ("How many corners does a circle have?", "0", NUMBERS), ("Which shape has three corners?", "triangle", SHAPES),
             ("Which shape has four corners?", "square", SHAPES), ("Which shape is round?", "circle", SHAPES),
             ("Which shape looks like a plus sign?", "cross", SHAPES)]
    for a, b in [("left", "right"), ("right", "left"), ("top", "bottom"), ("bottom", "top"), ("top left", "bottom right"),
                 ("bottom right", "top left"), ("top right", "bottom left"), ("bottom left", "top right")]:
        facts.append(("What is the opposite of %s?" % a, b, CELLS))
    facts += [("What number comes after %d?" % n, str(n + 1), NUMBERS) for n in range(4)]
    facts += [("What number comes before %d?" % n, str(n - 1), NUMBERS) for n in range(1, 5)]
    kind = rnd.random()
    if kind < 0.45:
        return text_lookup(rnd, ["Which option is %s?", "Which option says %s?", "Pick %s.", "Which of these is %s?"])
    if kind < 0.7:
        if rnd.random() < 0.5:
            x, others, question = rnd.choice(COLOURS), rnd.sample(SHAPES, 3), "Which of these is a colour?"
        else:
            x, others, question = rnd.choice(SHAPES), rnd.sample(COLOURS, 3), "Which of these is a shape?"
        options = others + [x]
        rnd.shuffle(options)
        return lettered(question, options, x)
    question, x, pool = rnd.choice(facts)
    return lettered(question, four_options(x, pool, rnd), x)


def conversation(sample_id, image, text, answer):
    record = {"id": sample_id}
    if image:
        record["image"] = image
        text = "<image>\n" + text
    record["conversations"] = [{"from": "human", "value": text}, {"from": "gpt", "value": answer}]
    return json.dumps(record)


def link_all_but(source, target, skip):
    """Symlinks every entry of `source` but `skip` into `target`."""
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        link = os.path.join(target, name)
        if name != skip and not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(source, name)), link)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, data_eval = sys.argv[1:]
    scenes = read_scenes(data)
    images = sorted(scenes)
    train, held_out = images[:-HELD_OUT], images[-HELD_OUT:]
    rnd = random.Random(1)
    os.makedirs(os.path.join(data, "probes"), exist_ok=True)
    for name, ask in [("pos_shape", position), ("loc_shape", location), ("mc_colour", colour_choice), ("colour", open_colour)]:
        with open(os.path.join(data, "probes", name + ".jsonl"), "w") as f:
            for repeat in range(2):  # a second question per image, drawn afresh
                for image in train:
                    q = ask(scenes[image], rnd)
                    if q:
                        text = q[1] + ("\n" + SHORT if name != "mc_colour" and rnd.random() < 0.5 else "")
                        f.write(conversation("%s-%s-%d" % (name, image, repeat), image, text, q[2]) + "\n")

    link_all_but(data, data_eval, "eval")
    link_all_but(os.path.join(data, "eval"), os.path.join(data_eval, "eval"), "vqa.jsonl")
    with open(os.path.join(data_eval, "eval", "vqa.jsonl"), "w") as f:
        question_id = 0
        for image in held_out:
            for ask in (position, location, colour_choice, open_colour):
                q = ask(scenes[image], rnd)
                if q:
                    question_id += 1
                    f.write(json.dumps({"question_id": question_id, "image": image, "text": q[1],
                                        "answer": q[2], "category": q[0]}) + "\n")
    text_rnd = random.Random(7)
    with open(os.path.join(data, "probes", "text_mc.jsonl"), "w") as f:
        for i in range(12000):
            f.write(conversation("text_mc-%d" % i, None, *text_choice(text_rnd)) + "\n")
    lookup_rnd = random.Random(11)
    with open(os.path.join(data, "probes", "text_lookup.jsonl"), "w") as f:
        for i in range(20000):
            f.write(conversation("text_lookup-%d" % i, None, *text_lookup(lookup_rnd)) + "\n")
    with open(os.path.join(data, "probes", "text_lookup_questions.jsonl"), "w") as f:
        for i in range(200):
            text, answer = text_lookup(lookup_rnd)
            f.write(json.dumps({"prompt": text, "answer": answer}) + "\n")


if __name__ == "__main__":
    main()
