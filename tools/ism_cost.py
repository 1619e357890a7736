"""Multiply-adds of exact incremental ISM against naive ISM for the chapter's baseline.

The incremental method (src/explain/ism.c) must, per variant, push the change of the
second convolution's input (the pooled positions the base change reaches) through that
convolution's taps, and update the first dense layer by the change of its input; the
layers after that run on every variant. This counts those multiply-adds exactly, window
by window, edges included, and sets them against a whole forward, which naive ISM runs
per variant. The second convolution is counted both ways dnacl can run it: four
multiply-adds per column and tap pair (direct) and Karatsuba's three (cl/ism.cl KARA; a
pair with one changed column takes two), pairs counted from the first changed column (the
kernel pairs from its window's start, which differs only near the sequence's ends).
Dividing the incremental count by a rate the machine sustains (GFLOP/s)
gives the least time an exact incremental implementation can take at that rate, hence
the largest naive/incremental ratio it allows (docs/ism.md: on the development CPU,
OpenBLAS SGEMM reaches 243 GFLOP/s, register-only FMAs 525):

    python3 tools/ism_cost.py --length 200 --naive-ms 23.1 --gflops 525

(--naive-ms: dnacl's naive ISM per sequence, `build/test_ism --bench 8`.) Pure Python, no
dependencies.
"""
import argparse


def conv_same(lo, hi, n, k):
    """Outputs of a 'same' convolution (k taps, left pad (k-1)//2) that inputs lo..hi reach."""
    span, left = k - 1, (k - 1) // 2
    return max(0, lo - span + left), min(n - 1, hi + left)


def pool(lo, hi, w):
    return lo // w, hi // w


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--kernel", type=int, default=10)
    ap.add_argument("--naive-ms", type=float, help="measured naive ISM, ms per sequence")
    ap.add_argument("--gflops", type=float, help="a rate the machine sustains, GFLOP/s")
    a = ap.parse_args()
    L, F, K = a.length, a.filters, a.kernel
    L1, L2 = L // 2, L // 4  # after pool1 and pool2
    naive = L * 4 * K * F + L1 * F * K * F + L2 * F * 128 + 128 * 64 + 64
    conv2 = conv2_direct = dense1 = 0
    for p in range(L):
        lo, hi = pool(*conv_same(p, p, L, K), 2)        # pooled conv1 positions changed
        n = hi - lo + 1
        conv2_direct += n * F * K * F                   # their change through conv2's taps
        conv2 += (3 * (n // 2) + 2 * (n % 2)) * (K // 2) * F * F if K % 2 == 0 else n * F * K * F
        lo, hi = pool(*conv_same(lo, hi, L1, K), 2)     # pooled conv2 positions changed
        dense1 += (hi - lo + 1) * F * 128               # dense1 updated by their change
    conv1, tail = 4 * K * F, 128 * 64 + 64
    inc = (conv2 + dense1) / L + conv1 + tail
    direct = inc + (conv2_direct - conv2) / L
    print(f"L={L}: multiply-adds per variant: naive forward {naive}, incremental {inc:.0f} "
          f"(conv2 {conv2 / L:.0f}, dense1 {dense1 / L:.0f}, conv1 {conv1}, dense2+3 {tail}); "
          f"ratio {naive / inc:.2f}; with a direct conv2 ({conv2_direct / L:.0f}) {direct:.0f}, "
          f"ratio {naive / direct:.2f}")
    if a.naive_ms and a.gflops:
        least_ms = 2 * inc * 3 * L / (a.gflops * 1e9) * 1e3
        print(f"exact incremental at {a.gflops:g} GFLOP/s takes at least {least_ms:.3f} ms per sequence; "
              f"against naive {a.naive_ms:g} ms the ratio is at most {a.naive_ms / least_ms:.1f}x")


if __name__ == "__main__":
    main()
