#!/usr/bin/env python3
"""Reference for src/explain/tomtom.c, written independently in plain Python (standard
library only, so it runs wherever python3 does): the TomTom-style comparison that
src/explain/tomtom.h describes, step for step.

    python3 tools/tomtom_reference.py QUERY.meme DB.meme [--top K] [--min-overlap 5]
                                      [--bins 100] [--single-strand] [--query ID ...]

prints, for each query motif, its K best database motifs as TSV:
query, target, offset, strand, overlap, score, p_align, p, E, q. tests/test_tomtom.c
holds values printed by this script (the commands are in its comments); the test itself
needs no Python.
"""
import argparse
import math
import sys


def read_meme(path):
    """The letter-probability matrices of a MEME file: [(id, name, rows)]."""
    motifs, cur, want = [], None, 0
    with open(path) as f:
        for line in f:
            s = line.strip()
            if want and s:
                cur[2].append([float(v) for v in s.split()])
                want -= 1
                continue
            if s.startswith("MOTIF"):
                w = s.split()
                cur = (w[1], w[2] if len(w) > 2 else "", [])
                motifs.append(cur)
            elif s.startswith("letter-probability matrix:"):
                toks = s.split(":", 1)[1].replace("=", "= ").split()
                kv = {toks[i].rstrip("="): toks[i + 1] for i in range(0, len(toks) - 1, 2)}
                want = int(kv["w"])
    return motifs


def pearson(a, b):
    # Same operation order as pearson4() in tomtom.c, so the rounded scores agree exactly.
    ma = (a[0] + a[1] + a[2] + a[3]) / 4
    mb = (b[0] + b[1] + b[2] + b[3]) / 4
    cov = va = vb = 0.0
    for c in range(4):
        cov += (a[c] - ma) * (b[c] - mb)
        va += (a[c] - ma) * (a[c] - ma)
        vb += (b[c] - mb) * (b[c] - mb)
    if va < 1e-24 or vb < 1e-24:
        return 0.0
    r = cov / math.sqrt(va * vb)
    return max(-1.0, min(1.0, r))


def kscore(q, t, bins):
    return int(math.floor((pearson(q, t) + 1) / 2 * bins + 0.5))  # lround for x >= 0


def compare(query, db, bins=100, min_overlap=5, both=True):
    cols = [c for _, _, rows in db for c in rows]
    comp = [[c[3], c[2], c[1], c[0]] for c in cols]
    null = cols + (comp if both else [])
    wq = len(query)
    hist = []
    for q in query:
        h = [0.0] * (bins + 1)
        for t in null:
            h[kscore(q, t, bins)] += 1 / len(null)
        hist.append(h)
    tails = {}
    for a in range(wq):
        pmf = hist[a][:]
        for b in range(a, wq):
            if b > a:
                nxt = [0.0] * (len(pmf) + bins)
                for k, hk in enumerate(hist[b]):
                    if hk:
                        for s, ps in enumerate(pmf):
                            nxt[s + k] += ps * hk
                pmf = nxt
            tail, acc = [0.0] * len(pmf), 0.0
            for s in range(len(pmf) - 1, -1, -1):
                acc += pmf[s]
                tail[s] = min(acc, 1.0)
            tails[a, b] = tail
    hits = []
    for ti, (tid, tname, rows) in enumerate(db):
        wt = len(rows)
        mo = min(min_overlap, wq, wt)
        best, n_align = None, 0
        for strand in ([1, -1] if both else [1]):
            tcols = rows if strand == 1 else [[c[3], c[2], c[1], c[0]] for c in reversed(rows)]
            for off in range(-(wt - 1), wq):
                a, b = max(off, 0), min(off + wt, wq) - 1
                if b - a + 1 < mo:
                    continue
                n_align += 1
                S = sum(kscore(query[i], tcols[i - off], bins) for i in range(a, b + 1))
                p = tails[a, b][S]
                ov = b - a + 1
                if best is None or p < best[0] or (p == best[0] and ov > best[3]):
                    best = (p, off, strand, ov, S / ov * 2 / bins - 1)
        p_align = best[0]
        p = 1.0 if p_align >= 1 else -math.expm1(n_align * math.log1p(-p_align))
        hits.append(dict(target=tid, name=tname, offset=best[1], strand=best[2], overlap=best[3],
                         score=best[4], p_align=p_align, p=min(p, 1.0), E=min(p, 1.0) * len(db), index=ti))
    order = sorted(range(len(hits)), key=lambda i: (hits[i]["p"], i))
    qmin = 1.0
    for r in range(len(order) - 1, -1, -1):
        qmin = min(qmin, hits[order[r]]["p"] * len(hits) / (r + 1))
        hits[order[r]]["q"] = qmin
    return [hits[i] for i in order]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("query")
    ap.add_argument("db")
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--min-overlap", type=int, default=5)
    ap.add_argument("--bins", type=int, default=100)
    ap.add_argument("--single-strand", action="store_true")
    ap.add_argument("--query-id", nargs="*", help="only these query motifs")
    args = ap.parse_args()
    db = read_meme(args.db)
    print("query\ttarget\tname\toffset\tstrand\toverlap\tscore\tp_align\tp\tE\tq")
    for qid, _, rows in read_meme(args.query):
        if args.query_id and qid not in args.query_id:
            continue
        for h in compare(rows, db, args.bins, args.min_overlap, not args.single_strand)[: args.top]:
            print("%s\t%s\t%s\t%d\t%s\t%d\t%.6f\t%.6e\t%.6e\t%.6e\t%.6e" % (
                qid, h["target"], h["name"], h["offset"], "+" if h["strand"] == 1 else "-", h["overlap"],
                h["score"], h["p_align"], h["p"], h["E"], h["q"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
