"""Independent check of `trol score` on the benchmark fixtures: POPE, ChartQA, TextVQA, AI2D,
SEED-IMG, MMStar, MMMU, HallusionBench and MathVista metrics recomputed here from the official
scorers' rules (POPE's evaluate.py, pix2struct's relaxed_correctness, the EvalAI/MMF TextVQA
accuracy, VLMEvalKit's can_infer and YOrN_Extraction, MMMU's eval_utils.py, HallusionBench's
utils.py, MathVista's extract_answer.py and calculate_score.py),
written in Python without looking at the C++, and compared with the JSON `trol score --out`
writes.

usage: score_reference_check.py TROL FIXTURES OUT_DIR
"""
import json, re, subprocess, sys, os

trol, fixtures, out_dir = sys.argv[1:4]
os.makedirs(out_dir, exist_ok=True)

def trol_score(benchmark, data, predictions, scoring='official'):
    out = os.path.join(out_dir, benchmark + '_' + scoring + '.json')
    subprocess.run([trol, 'score', '--benchmark', benchmark, '--data', data, '--predictions', predictions, '--out', out,
                    '--scoring', scoring], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(out))

def jsonl(path):
    return [json.loads(line) for line in open(path) if line.strip()]

failures = []
def expect(name, got, want):
    if abs(got - want) > 1e-9:
        failures.append(f'{name}: trol {got} != reference {want}')

# POPE: first sentence, commas dropped, split on ' ', No/no/not -> no.
def pope_no(text):
    text = text.split('.')[0] if '.' in text else text
    words = text.replace(',', '').split(' ')
    return 'No' in words or 'no' in words or 'not' in words
preds = {}
for p in jsonl(f'{fixtures}/pope/predictions.jsonl'):
    preds.setdefault((p['category'], p['question_id']), p.get('text', p.get('answer')))
got = trol_score('pope', f'{fixtures}/pope', f'{fixtures}/pope/predictions.jsonl')['metrics']
for split in ['random', 'adversarial']:
    qs = jsonl(f'{fixtures}/pope/coco_pope_{split}.json')
    tp = fp = tn = fn = 0
    correct = 0
    for q in qs:
        if (split, q['question_id']) not in preds:
            continue
        yes = not pope_no(preds[(split, q['question_id'])])
        pos = q['label'] == 'yes'
        tp += yes and pos; fp += yes and not pos; tn += (not yes) and not pos; fn += (not yes) and pos
    expect(f'pope {split} accuracy', got[split]['accuracy'], (tp + tn) / len(qs))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    expect(f'pope {split} precision', got[split]['precision'], precision)
    expect(f'pope {split} recall', got[split]['recall'], recall)
    expect(f'pope {split} f1', got[split]['f1'], 2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    expect(f'pope {split} yes_ratio', got[split]['yes_ratio'], (tp + fp) / (tp + fp + tn + fn))

# ChartQA relaxed accuracy.
def to_float(text):
    try:
        return float(text.rstrip('%')) / 100.0 if text.endswith('%') else float(text)
    except ValueError:
        return None
def relaxed(target, prediction):
    p, t = to_float(prediction), to_float(target)
    if p is not None and t:
        return abs(p - t) / abs(t) <= 0.05
    return prediction.lower() == target.lower()
preds = {p['question_id']: p['text'] for p in jsonl(f'{fixtures}/chartqa/predictions.jsonl')}
got = trol_score('chartqa', f'{fixtures}/chartqa', f'{fixtures}/chartqa/predictions.jsonl')['metrics']
means = []
for split in ['human', 'augmented']:
    qs = json.load(open(f'{fixtures}/chartqa/test_{split}.json'))
    acc = sum(relaxed(q['label'], preds[f'{split}/{i}']) for i, q in enumerate(qs)) / len(qs)
    expect(f'chartqa {split}', got[split]['relaxed_accuracy'], acc)
    means.append(acc)
expect('chartqa mean', got['relaxed_accuracy'], sum(means) / len(means))

# TextVQA: EvalAI answer processing and the 10 leave-one-out subsets.
ARTICLES = {'a', 'an', 'the'}
NUMBERS = dict(none='0', zero='0', one='1', two='2', three='3', four='4', five='5', six='6', seven='7', eight='8', nine='9', ten='10')
def process(answer):
    a = answer.lower().replace(',', '').replace('?', '').replace("'s", " 's").strip()
    a = a.replace('\n', ' ').replace('\t', ' ').strip()
    out = a
    for p in [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!']:
        out = out.replace(p, '' if (p + ' ' in a or ' ' + p in a) else ' ')
    out = re.sub(r'\.(?!\d)', '', out)
    words = [NUMBERS.get(w, w) for w in out.lower().split()]
    return ' '.join(w for w in words if w not in ARTICLES)
data = json.load(open(f'{fixtures}/textvqa/TextVQA_0.5.1_val.json'))['data']
preds = {p['question_id']: p['text'] for p in jsonl(f'{fixtures}/textvqa/predictions.jsonl')}
total = 0.0
for q in data:
    if q['question_id'] not in preds:
        continue
    pred, gts = process(preds[q['question_id']]), [process(a) for a in q['answers']]
    total += sum(min(1.0, sum(g == pred for j, g in enumerate(gts) if j != i) / 3) for i in range(len(gts))) / len(gts)
got = trol_score('textvqa', f'{fixtures}/textvqa/TextVQA_0.5.1_val.json', f'{fixtures}/textvqa/predictions.jsonl')['metrics']
expect('textvqa accuracy', got['accuracy'], total / len(data))

# ---- VLMEvalKit's multiple-choice matching (vlmeval/utils/matching_util.py can_infer) ----
import csv
csv.field_size_limit(1 << 30)
NAN = {'', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA',
       'NULL', 'NaN', 'None', 'n/a', 'nan', 'null'}
def read_tsv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f, delimiter='\t'))
def choices_of(row):
    return {c: row[c] for c in 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' if c in row and row[c] not in NAN}
VERBOSE = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")
def can_infer_option(answer, choices):
    if 'Failed to obtain answer via API' in answer:
        return False
    for err in ["Sorry, I can't help with images of people yet.", "I can't process this file.",
                "I'm sorry, but without the image provided", 'Cannot determine the answer']:
        if err in answer:
            return 'Z'
    mod = answer
    for c in '.()[],:;!*#{}':
        mod = mod.replace(c, ' ')
    splits = [x.strip() for x in mod.split()]
    count = sum(c in splits for c in choices)
    if count == 1:
        for ch in choices:
            if ch in splits and splits.index(ch) > len(splits) - 5:
                return ch
    elif count == 0 and sum(c in splits for c in {'Z', ''}) == 1:
        return 'Z'
    m = VERBOSE.search(answer)
    if m and m.group(1).upper() in choices:
        return m.group(1).upper()
    return False
def can_infer_text(answer, choices):
    answer = answer.lower()
    if len(answer) > 2 * sum(len(str(v)) for v in choices.values()):
        return False
    cands = [k for k in choices if str(choices[k]).lower() in answer]
    return cands[0] if len(cands) == 1 else False
def can_infer(answer, choices):
    return can_infer_option(answer, choices) or can_infer_text(answer, choices)

def first_predictions(path):
    preds = {}
    for p in jsonl(path):
        preds.setdefault(str(p['question_id']), p['text'])
    return preds

def check_groups(name, got, hits, groups):
    expect(f'{name} accuracy', got['accuracy'], sum(h for h, _ in hits) / len(hits))
    for column in groups:
        values = {g[column] for _, g in hits}
        for v in values:
            sub = [h for h, g in hits if g[column] == v]
            expect(f'{name} {column} {v}', got[column][v]['accuracy'], sum(sub) / len(sub))

# AI2D and MMStar (VLMEvalKit TSVs), SEED-IMG (SEED-Bench.json).
for bench, data, groups in [('ai2d', 'ai2d/AI2D_TEST.tsv', []), ('mmstar', 'mmstar/MMStar.tsv', ['category', 'l2-category'])]:
    preds = first_predictions(f'{fixtures}/{bench}/predictions.jsonl')
    hits = []
    for row in read_tsv(f'{fixtures}/{data}'):
        p = preds.get(row['index'])
        hits.append((p is not None and can_infer(p, choices_of(row)) == row['answer'], row))
    check_groups(bench, trol_score(bench, f'{fixtures}/{data}', f'{fixtures}/{bench}/predictions.jsonl')['metrics'], hits, groups)
seed = json.load(open(f'{fixtures}/seedbench/SEED-Bench.json'))
names = {v: k for k, v in seed['question_type'].items()}
preds = first_predictions(f'{fixtures}/seedbench/predictions.jsonl')
hits = []
for q in seed['questions']:
    if q['data_type'] != 'image':
        continue
    p = preds.get(q['question_id'])
    choices = {c.upper(): q['choice_' + c] for c in 'abcd'}
    hits.append((p is not None and can_infer(p, choices) == q['answer'], {'category': names[q['question_type_id']]}))
check_groups('seedbench', trol_score('seedbench', f'{fixtures}/seedbench/SEED-Bench.json',
                                     f'{fixtures}/seedbench/predictions.jsonl')['metrics'], hits, ['category'])

# MMMU: mmmu/utils/eval_utils.py (the random guess of parse_multi_choice_response scored wrong).
def parse_multi_choice_response(response, all_choices, index2ans):
    for char in [',', '.', '!', '?', ';', ':', "'"]:
        response = response.strip(char)
    response = ' ' + response + ' '
    index_ans, ans_with_brack, candidates = True, False, []
    for choice in all_choices:
        if f'({choice})' in response:
            candidates.append(choice)
            ans_with_brack = True
    if not candidates:
        candidates = [c for c in all_choices if f' {c} ' in response]
    if not candidates and len(response.split()) > 5:
        for index, ans in index2ans.items():
            if ans.lower() in response.lower():
                candidates.append(index)
                index_ans = False
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if index_ans:
        starts = [response.rfind(f'({c})' if ans_with_brack else f' {c} ') for c in candidates]
    else:
        starts = [response.lower().rfind(index2ans[c].lower()) for c in candidates]
    return candidates[starts.index(max(starts))]
def check_is_number(string):
    try:
        float(string.replace(',', ''))
        return True
    except ValueError:
        return False
def normalize_str(string):
    string = string.strip()
    if check_is_number(string):
        return [round(float(string.replace(',', '')), 2)]
    string = string.lower()
    return [' ' + string, string + ' '] if len(string) == 1 else [string]
def extract_numbers(string):
    return (re.findall(r'-?\b\d{1,3}(?:,\d{3})+\b', string) + re.findall(r'-?\d+(?:\.\d+)?[eE][+-]?\d+', string) +
            re.findall(r'-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])', string))
def parse_open_response(response):
    response = response.strip().strip('.').lower()
    subs = re.split(r'\.\s(?=[A-Z])|\n', response)
    indicators = ['could be ', 'so ', 'is ', 'thus ', 'therefore ', 'final ', 'answer ', 'result ']
    keys = []
    for i, resp in enumerate(subs):
        if i == len(subs) - 1:
            indicators.extend(['='])
        shortest = None
        for ind in indicators:
            if ind in resp:
                tail = resp.split(ind)[-1].strip()
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in [':', ',', '.', '!', '?', ';', ':', "'"]:
            keys.append(shortest)
    if not keys:
        keys = [response]
    preds = list(keys)
    for k in keys:
        preds.extend(extract_numbers(k))
    return list({n for p in preds for n in normalize_str(p)})
def eval_open(gold, preds):
    norm = [n for g in (gold if isinstance(gold, list) else [gold]) for n in normalize_str(g)]
    for p in preds:
        if isinstance(p, str):
            if any(isinstance(n, str) and n in p for n in norm):
                return True
        elif p in norm:
            return True
    return False
DOMAINS = {'Art': 'Art and Design', 'Math': 'Science', 'Physics': 'Science'}
import ast
preds = first_predictions(f'{fixtures}/mmmu/predictions.jsonl')
hits = []
for row in read_tsv(f'{fixtures}/mmmu/MMMU_DEV_VAL.tsv'):
    p, choices = preds.get(row['id']), choices_of(row)
    if p is None:
        right = False
    elif choices:
        right = parse_multi_choice_response(p, list(choices), choices) == row['answer']
    else:
        gold = ast.literal_eval(row['answer']) if row['answer'].startswith('[') else row['answer']
        right = eval_open(gold, parse_open_response(p))
    subject = '_'.join(row['id'].split('_')[1:-1])
    hits.append((right, {'split': row['split'], 'subject': subject, 'discipline': DOMAINS[subject]}))
check_groups('mmmu', trol_score('mmmu', f'{fixtures}/mmmu/MMMU_DEV_VAL.tsv', f'{fixtures}/mmmu/predictions.jsonl')['metrics'],
             hits, ['split', 'subject', 'discipline'])

# HallusionBench: VLMEvalKit's YOrN_Extraction, then utils.py's get_eval_all / get_eval_fig /
# get_eval_pair_all groups (all-right figures and pairs).
def process_punctuation(inText):
    outText = inText
    for p in [';', r'/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!']:
        if (p + ' ' in inText or ' ' + p in inText) or (re.search(r'(\d)(,)(\d)', inText) is not None):
            outText = outText.replace(p, '')
        else:
            outText = outText.replace(p, ' ')
    return re.compile(r'(?<!\d)\.(?!\d)').sub('', outText, re.UNICODE)
def yorn(output):
    words = process_punctuation(output.lower()).split()
    if 'yes' in words and 'no' not in words:
        return 'Yes'
    if 'yes' not in words and 'no' in words:
        return 'No'
    return 'Unknown'
data = json.load(open(f'{fixtures}/hallusionbench/HallusionBench.json'))
preds = first_predictions(f'{fixtures}/hallusionbench/predictions.jsonl')
for r in data:
    p = preds.get('_'.join([r['category'], r['subcategory'], r['set_id'], r['figure_id'], r['question_id']]))
    r['correct'] = int(p is not None and yorn(p) == ('Yes' if r['gt_answer'] == '1' else 'No'))
def all_right(rows, key):
    groups = {}
    for r in rows:
        k = key(r)
        if k is not None:
            groups.setdefault(k, []).append(r['correct'])
    return sum(all(v) for v in groups.values()) / len(groups)
fig = lambda r: None if r['category'] == 'VS' and r['figure_id'] == '0' else (r['category'], r['subcategory'], r['set_id'], r['figure_id'])
pair = lambda r: (r['category'], r['subcategory'], r['set_id'], r['question_id'])
got = trol_score('hallusionbench', f'{fixtures}/hallusionbench/HallusionBench.json',
                 f'{fixtures}/hallusionbench/predictions.jsonl')['metrics']
for name, rows, m in [('all', data, got)] + [(c, [r for r in data if r['category'] == c], got['category'][c]) for c in ['VD', 'VS']]:
    expect(f'hallusionbench {name} aAcc', m['aAcc'], sum(r['correct'] for r in rows) / len(rows))
    expect(f'hallusionbench {name} fAcc', m['fAcc'], all_right(rows, fig))
    expect(f'hallusionbench {name} qAcc', m['qAcc'], all_right(rows, pair))
expect('hallusionbench easy qAcc', got['easy_qAcc'], all_right([r for r in data if r['visual_input'] != '2'], pair))
expect('hallusionbench hard qAcc', got['hard_qAcc'], all_right([r for r in data if r['visual_input'] == '2'], pair))

# MathVista: the rules extract_answer.py applies before GPT, then normalize_extracted_answer and
# equality with the answer; Python's own int(), float() and str.strip() (Unicode digits and
# spaces) are the point. Responses only GPT could extract are wrong; the denominator is every
# problem of testmini.json.
def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]
def mathvista_extract(response, p):
    if response == '':
        return ''
    if p['question_type'] == 'multi_choice' and response in p['choices']:
        return response
    for kind, read in [('integer', lambda t: str(int(t))), ('float', lambda t: str(float(t)))]:
        if p['answer_type'] == kind:
            try:
                return read(response)
            except ValueError:
                pass
    quoted = re.search(r'The answer is "(.*)"\.', response)
    return quoted.group(1) if quoted else None
def mathvista_normalize(extraction, p):
    try:
        if p['question_type'] == 'multi_choice':
            text = extraction.strip()
            letters = re.findall(r'\(([a-zA-Z])\)', text)
            text = letters[0].upper() if letters else text
            if len(text) == 1 and 0 <= ord(text) - ord('A') < len(p['choices']):
                return p['choices'][ord(text) - ord('A')]
            distances = [edit_distance(text, c) for c in p['choices']]
            return p['choices'][distances.index(min(distances))]
        if p['answer_type'] == 'integer':
            return str(int(float(extraction)))
        if p['answer_type'] == 'float':
            return str(round(float(extraction), int(p['precision'])))
        return extraction
    except (ValueError, OverflowError, TypeError):
        return None
problems = json.load(open(f'{fixtures}/mathvista/testmini.json'))
outputs = json.load(open(f'{fixtures}/mathvista/output.json'))
right = 0
for pid, p in problems.items():
    if pid not in outputs:
        continue
    extraction = outputs[pid].get('extraction')
    if not isinstance(extraction, str) or not extraction.strip():
        extraction = mathvista_extract(outputs[pid]['response'], p)
    right += extraction is not None and mathvista_normalize(extraction, p) == p['answer']
got = trol_score('mathvista', f'{fixtures}/mathvista/testmini.json', f'{fixtures}/mathvista/output.json')['metrics']
expect('mathvista accuracy', got['accuracy'], right / len(problems))

if failures:
    print('\n'.join(failures))
    sys.exit(1)
print('trol score matches the Python reference on POPE, ChartQA, TextVQA, AI2D, SEED-IMG, MMStar, MMMU and HallusionBench; '
      "MathVista's rule-based scoring too")
