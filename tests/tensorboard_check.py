"""Reads a run's TensorBoard event files independently of trol (TFRecord framing, masked
CRC-32C, the Event/Summary protobuf fields) and checks them against metrics.jsonl:
    python3 tensorboard_check.py RUN_DIR"""
import glob
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(buf):
    """(field number, value) pairs of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 2:
            size, pos = varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:
            sys.exit(f"unexpected wire type {wire}")
        yield number, value


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(header) != length_crc:
            sys.exit(f"{path}: bad length checksum at byte {pos}")
        event = data[pos + 12:pos + 12 + length]
        (event_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(event) != event_crc:
            sys.exit(f"{path}: bad event checksum at byte {pos}")
        yield event
        pos += 16 + length


run = sys.argv[1]
scalars = {}  # tag -> {step: value}
files = sorted(glob.glob(f"{run}/tensorboard/events.out.tfevents.*"))
if not files:
    sys.exit(f"no event files in {run}/tensorboard")
for path in files:
    for index, event in enumerate(records(path)):
        parsed = dict()
        for number, value in fields(event):
            parsed.setdefault(number, []).append(value)
        if index == 0:
            if parsed.get(3) != [b"brain.Event:2"]:
                sys.exit(f"{path}: the first event is not file_version brain.Event:2")
            continue
        step = parsed[2][0]
        for summary in parsed[5]:
            for _, value in fields(summary):
                entry = dict(fields(value))
                tag = entry[1].decode()
                scalars.setdefault(tag, {})[step] = struct.unpack("<f", entry[2])[0]

rows = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
for row in rows:
    step = row["global_step"]
    for tag, key in (("train/loss", "loss"), ("train/lr", "lr"), ("train/grad_norm", "grad_norm")):
        logged = scalars.get(tag, {}).get(step)
        if logged is None or abs(logged - row[key]) > 1e-6 * max(1.0, abs(row[key])):
            sys.exit(f"{tag} at step {step}: event file {logged}, metrics.jsonl {row[key]}")
    for layer, mean in enumerate(row.get("gate_mean", [])):
        logged = scalars.get(f"gate_mean/layer_{layer:02d}", {}).get(step)
        if logged is None or abs(logged - mean) > 1e-6 or not 0 < mean < 1:
            sys.exit(f"gate_mean/layer_{layer:02d} at step {step}: event file {logged}, metrics.jsonl {mean}")
if not any("gate_mean" in row for row in rows):
    sys.exit("metrics.jsonl has no gate_mean")
print(f"TensorBoard events match metrics.jsonl: {len(rows)} steps, {len(scalars)} tags")
