#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/ from the repository's own samples.

Run from anywhere: python3 fuzz/seeds.py. Seeds are small on purpose (libFuzzer mutates small
inputs faster); the files the fuzzer itself found (crashes, regressions) are kept beside them
under names starting with "found-" and are never overwritten here.
"""

import glob
import gzip
import hashlib
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def rel(*p):
    return os.path.join(ROOT, *p)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(rel(path), "rb") as f:
        return f.read()


def snapshot_seeds():
    lines = read("fuzz/src/fixture.jsonl").decode().splitlines()
    header, body = lines[0], lines[1:]
    assets = [l for l in body if '"kind":"asset"' in l]
    rels = [l for l in body if '"kind":"relationship"' in l]
    seeds = {"header-only.jsonl": header + "\n"}
    # Small connected pieces: a few assets and the relationships among them.
    for i in range(0, len(assets), 5):
        chunk = assets[i : i + 5]
        natives = {json.loads(a)["native_id"] for a in chunk}
        edges = [r for r in rels if json.loads(r)["from"] in natives and json.loads(r)["to"] in natives]
        seeds[f"demo-{i // 5}.jsonl"] = "\n".join([header] + chunk + edges) + "\n"
    seeds["crlf-bom.jsonl"] = "\ufeff" + "\r\n".join([header] + assets[:2]) + "\r\n"
    seeds["relationship-by-native-id.jsonl"] = "\n".join([header] + assets[:1] + [
        '{"kind":"relationship","from":"%s","to":"missing","type":"attached_to"}'
        % json.loads(assets[0])["native_id"]
    ]) + "\n"
    seeds["gcp-azure.jsonl"] = "\n".join([
        header,
        '{"kind":"asset","provider":"gcp","account":"acme-prod","region":"europe-west1","type":"gcp.storage.bucket","native_id":"//storage.googleapis.com/b\u00e9","tags":{"k":"v"},"config":{"name":"b"}}',
        '{"kind":"asset","provider":"azure","account":"00000000-0000-0000-0000-000000000000","region":"westeurope","type":"azure.storage.account","native_id":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s","config":{}}',
    ]) + "\n"
    for name, text in seeds.items():
        write("snapshot", name, text)
    return seeds


def aws_config_seeds():
    doc = json.loads(read("content/samples/aws-config-snapshot.json"))
    items = doc["configurationItems"]
    seeds = {}
    by_type = {}
    for it in items:
        by_type.setdefault(it["resourceType"], []).append(it)
    # One file per group of resource types, so every normaliser has a small seed.
    groups = {}
    for t, its in sorted(by_type.items()):
        service = t.split("::")[1]
        groups.setdefault(service, []).extend(its[:2])
    for service, its in groups.items():
        d = dict(doc)
        d["configurationItems"] = its
        seeds[f"sample-{service.lower()}.json"] = json.dumps(d, indent=1)
    seeds["empty-items.json"] = json.dumps({"fileVersion": "1.0", "configurationItems": []})
    seeds["history.json"] = json.dumps({"baseConfigurationItems": items[:1]})
    for name, text in seeds.items():
        write("aws_config", name, text)
    return seeds


def gcp_seeds():
    seeds = {}
    export = read("crates/import/tests/data/gcp/export.jsonl").decode().splitlines()
    for i in range(0, len(export), 6):
        seeds[f"export-{i // 6}.jsonl"] = "\n".join(export[i : i + 6]) + "\n"
    for f in ["list.json", "malformed.jsonl", "no-type.jsonl"]:
        seeds[f] = read(f"crates/import/tests/data/gcp/{f}").decode()
    # Two files parsed together (the target splits its input at a NUL byte): resources, then
    # IAM policies of the same assets.
    res = [l for l in export if '"resource"' in l][:4]
    iam = [l for l in export if '"iam_policy"' in l or '"iamPolicy"' in l][:4]
    seeds["two-files.jsonl"] = "\n".join(res) + "\n\0" + "\n".join(iam) + "\n"
    for name, text in seeds.items():
        write("gcp_cai", name, text)
    return seeds


def azure_seeds():
    seeds = {}
    for path in sorted(glob.glob(rel("crates/import/tests/data/azure/**/*.json"), recursive=True)):
        name = os.path.relpath(path, rel("crates/import/tests/data/azure")).replace("/", "-")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if len(text) > 8000:
            doc = json.loads(text)
            rows = doc["data"] if isinstance(doc, dict) else doc
            for i in range(0, len(rows), 8):
                part = dict(doc) if isinstance(doc, dict) else None
                chunk = rows[i : i + 8]
                if part is not None:
                    part["data"] = chunk
                    part["count"] = len(chunk)
                seeds[f"{name[:-5]}-{i // 8}.json"] = json.dumps(part if part is not None else chunk, indent=1)
        else:
            seeds[name] = text
    for name, text in seeds.items():
        write("azure", name, text)
    return seeds


def import_bytes_seeds(all_seeds):
    # First byte: the file name (low 3 bits) and gzip (bit 7), see fuzz_targets/import_bytes.rs.
    picks = [
        ("snapshot", "demo-0.jsonl", 0),
        ("snapshot", "crlf-bom.jsonl", 0x80),
        ("aws_config", "sample-ec2.json", 1),
        ("aws_config", "sample-s3.json", 0x83),
        ("gcp_cai", "export-0.jsonl", 5),
        ("gcp_cai", "list.json", 0x81),
        ("azure", "entra-users.json", 4),
        ("azure", "authorization-rows.json", 1),
        ("azure", "entra-organization.json", 0x86),
    ]
    for target, name, selector in picks:
        data = all_seeds[target][name]
        if isinstance(data, str):
            data = data.encode()
        write("import_bytes", f"{selector:02x}-{target}-{name}", bytes([selector]) + data)
    # A real gzip member (and two concatenated members) behind selector 2 (.gz name, no re-gzip).
    snap = all_seeds["snapshot"]["demo-1.jsonl"].encode()
    write("import_bytes", "02-gzip-member.jsonl.gz", b"\x02" + gzip.compress(snap, mtime=0))
    half = len(snap) // 2
    write(
        "import_bytes",
        "02-gzip-two-members.jsonl.gz",
        b"\x02" + gzip.compress(snap[:half], mtime=0) + gzip.compress(snap[half:], mtime=0),
    )
    write("import_bytes", "07-empty", b"\x07")


def yaml_block(text, key):
    """The value of a top-level `key:` in a control file (inline or block scalar)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(key + ":"):
            rest = line[len(key) + 1 :].strip()
            if rest and rest[0] not in "|>":
                if rest[0] in "\"'":
                    return rest[1:-1]
                return rest
            out = []
            for l in lines[i + 1 :]:
                if l and not l.startswith(" "):
                    break
                out.append(l[2:] if l.startswith("  ") else l.strip())
            return "\n".join(out).strip()
    return None


def cel_seeds():
    seen = set()
    exprs = []
    for path in sorted(glob.glob(rel("content/controls/**/*.yaml"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for key in ("condition", "applies_if"):
            e = yaml_block(text, key)
            if e and e not in seen:
                seen.add(e)
                exprs.append(e)
    exprs += [
        'related("attached_to").exists(p, p.name == "x")',
        'resource.tags["env"] == "prod" && now > timestamp("2026-01-01T00:00:00Z")',
        '"café".size() == 4 && "é".matches("^.$")',
        "duration(\"1h30m\") < duration('2h') ? [1, 2.5, -3u] : {\"a\": null}",
    ]
    # Keep the corpus small: the distinct expressions, shortest first, at most 250.
    exprs.sort(key=len)
    for i, e in enumerate(exprs[:250]):
        h = hashlib.sha1(e.encode()).hexdigest()[:12]
        write("cel", f"expr-{h}", bytes([i % 30]) + e.encode())
    return exprs


def strip_frameworks(text):
    """Drops the `frameworks:` mapping, so a control loads without its framework files."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("frameworks:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or line.startswith("-")):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n"


def content_seeds():
    paths = sorted(glob.glob(rel("content/controls/**/*.yaml"), recursive=True))
    # A spread of controls: every 12th file, those under 6 KB.
    picked = [p for p in paths if os.path.getsize(p) < 6000][::12]
    for p in picked:
        with open(p, encoding="utf-8") as f:
            text = strip_frameworks(f.read())
        write("content", "control-" + os.path.basename(p), text)
    for fw in ["nis2.yaml", "gdpr.yaml"]:
        write("content", "framework-" + fw, read(f"content/frameworks/{fw}"))


def main():
    seeds = {
        "snapshot": snapshot_seeds(),
        "aws_config": aws_config_seeds(),
        "gcp_cai": gcp_seeds(),
        "azure": azure_seeds(),
    }
    import_bytes_seeds(seeds)
    cel_seeds()
    content_seeds()


if __name__ == "__main__":
    main()
