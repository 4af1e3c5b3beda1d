"""Independent check of `trol score` on the benchmark fixtures: POPE, ChartQA and TextVQA
metrics recomputed here from the official scorers' documented rules (POPE's evaluate.py,
pix2struct's relaxed_correctness, the EvalAI/MMF TextVQA accuracy), written in Python
without looking at the C++, and compared with the JSON `trol score --out` writes.

usage: score_reference_check.py TROL FIXTURES OUT_DIR
"""
import json, re, subprocess, sys, os

trol, fixtures, out_dir = sys.argv[1:4]
os.makedirs(out_dir, exist_ok=True)

def trol_score(benchmark, data, predictions):
    out = os.path.join(out_dir, benchmark + '.json')
    subprocess.run([trol, 'score', '--benchmark', benchmark, '--data', data, '--predictions', predictions, '--out', out],
                   check=True, stdout=subprocess.DEVNULL)
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
    acc = sum(relaxed(q['label'], preds[f'{split}/{i}'].strip()) for i, q in enumerate(qs)) / len(qs)
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

if failures:
    print('\n'.join(failures))
    sys.exit(1)
print('trol score matches the Python reference on POPE, ChartQA and TextVQA')
