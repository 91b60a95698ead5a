#!/usr/bin/env python3
# Runs tlstriage on the lab captures (corpus/lab, with expected.json) and compares verdict and cause.
# Usage: lab_check.py BINARY LAB_DIR
import json, os, subprocess, sys
binp, corpus = sys.argv[1], sys.argv[2]
exp = json.load(open(os.path.join(corpus, "expected.json")))
good = 0; lines = []
for f, e in sorted(exp.items()):
    args = [binp, "-r", os.path.join(corpus, f), "--json"]
    if e.get("truststore"): args += ["--truststore", os.path.join(corpus, e["truststore"])]
    if e.get("truststore_password"): args += ["--truststore-password", e["truststore_password"]]
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=5)
        objs = [json.loads(l) for l in p.stdout.splitlines() if l.strip().startswith("{")]
        objs = [o for o in objs if isinstance(o, dict) and "verdict" in o]
        got = (objs[0].get("verdict"), objs[0].get("cause")) if objs else ("(no connection)", None)
        if "panic:" in p.stderr: got = ("PANIC", None)
    except Exception as x:
        got = ("error: %s" % type(x).__name__, None)
    ok = got[0] in e["verdict"] and (got[1] in e["cause"] or "cause" not in (objs[0] if objs else {}))
    good += ok
    lines.append("  %s %-45s verdict=%s cause=%s (want %s / %s)" % ("ok " if ok else "XX", f, got[0], got[1], "|".join(e["verdict"]), "|".join(str(c) for c in e["cause"])))
print("Real captures: %d/%d as expected" % (good, len(exp)))
print("\n".join(lines))
