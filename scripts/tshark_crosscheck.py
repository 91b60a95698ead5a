#!/usr/bin/env python3
# Compares tlstriage --json with the tshark oracle of a peer corpus (corpus/peer/tshark/*.json):
# per TLS stream, frame numbers of ClientHello/ServerHello/Certificate, SNI, JA3, cipher, chain
# SHA-256s, plaintext alert count, client FIN/RST frames. Usage: tshark_crosscheck.py BINARY [PEER_DIR]
import json, os, subprocess, sys, collections
binp = sys.argv[1]
peer = sys.argv[2] if len(sys.argv) > 2 else "../shared/corpus/peer"
mism = collections.Counter(); examples = collections.defaultdict(list)
total = collections.Counter()
for fn in sorted(os.listdir(peer + "/tshark")):
    d = json.load(open(os.path.join(peer, "tshark", fn)))
    pcap = os.path.join(peer, d["pcap"])
    p = subprocess.run([binp, "-r", pcap, "--json"], capture_output=True, text=True, timeout=60)
    if "panic" in p.stderr: mism["panic"] += 1; examples["panic"].append(fn)
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    def key(ip, port):
        return ("[%s]:%d" % (ip, port)) if ":" in ip else "%s:%d" % (ip, port)
    by = {}
    for r in recs:
        by.setdefault(frozenset([r["client"], r["server"]]), []).append(r)
    for s in d["streams"]:
        if not s.get("client_hellos") and not s.get("server_hellos"): continue
        total["streams"] += 1
        k = frozenset([key(s["client"]["ip"], s["client"]["port"]), key(s["server"]["ip"], s["server"]["port"])])
        rs = by.get(k)
        if not rs:
            mism["missing"] += 1; examples["missing"].append(fn); continue
        r = rs[0]
        ch = s["client_hellos"][0] if s.get("client_hellos") else None
        sh = s["server_hellos"][-1] if s.get("server_hellos") else None
        def chk(name, got, want):
            total[name] += 1
            if got != want:
                mism[name] += 1; examples[name].append("%s: got %r want %r" % (fn, got, want))
        if ch:
            chk("client_hello_frame", r["frames"].get("client_hello"), ch["frame"])
            chk("sni", r["sni"], ch.get("sni") or "")
            chk("ja3", r.get("ja3"), ch.get("ja3"))
            chk("client", r["client"], key(s["client"]["ip"], s["client"]["port"]))
        if sh:
            chk("server_hello_frame", r["frames"].get("server_hello"), sh["frame"])
            if sh.get("cipher_suite_name"):
                chk("cipher", r["cipher"], sh["cipher_suite_name"])
        certs = [c for c in s.get("certificates", []) if c["sender"] == "server"]
        if certs:
            chk("cert_frame", r["frames"].get("certificate"), certs[0]["frame"])
            chk("chain", [c["sha256"] for c in r["chain"]], [c["sha256"] for c in certs[0]["chain"]])
        if s.get("handshake_completed_guess") is not None:
            chk("completed", r["verdict"] == "ok", bool(s["handshake_completed_guess"]))
        al = [(a["sender"], a.get("desc")) for a in s.get("alerts", []) if a.get("desc") is not None]
        mine = [(a["from"], a["description"]) for a in r["alerts"] if not a["encrypted"]]
        chk("alerts_n", len(mine), len(al))
        fins = sorted(f["frame"] for f in s.get("fin", []) if f["sender"] == "client")
        if fins: chk("client_fin", r["frames"].get("client_fin"), fins[0])
        rsts = sorted(f["frame"] for f in s.get("rst", []) if f["sender"] == "client")
        if rsts: chk("client_rst", r["frames"].get("client_rst"), rsts[0])
print("totals", dict(total))
print("mismatches", dict(mism))
for k, v in examples.items():
    print("==", k, len(v))
    for e in v[:20]: print("   ", e[:300])
