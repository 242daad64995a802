#!/usr/bin/env python3
"""Writes weak_dsa_keys.txt: degenerate DSA public keys for the validation tests.

Each key comes with an x that lets a test sign under it in a way that the arithmetic of
DSA verification accepts (where that is possible), so that only validation stands between
the key and a completed key exchange. Needs sympy (primality); deterministic (seeded).

    python3 weak_dsa_keys.py > weak_dsa_keys.txt
"""
import random

from sympy import isprime, nextprime

rng = random.Random(6979)

# RFC 6979 appendix A.2.1 (a valid 1024/160 key).
P = int(
    "86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447"
    "E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED88"
    "73ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C"
    "881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779",
    16,
)
Q = int("996F967F6C8E388D9E28D01E205FBA957A5698B1", 16)
G = int(
    "07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D"
    "89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD"
    "87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA4"
    "17BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD",
    16,
)
X = int("411602CB19A6CCC34494D79D98EF1E7ED5AF25F7", 16)
Y = pow(G, X, P)


def prime_p_over(q, bits):
    """A prime p = j*q + 1 of exactly `bits` bits."""
    while True:
        j = rng.getrandbits(bits - q.bit_length()) | (1 << (bits - q.bit_length() - 1))
        j &= ~1
        p = j * q + 1
        if p.bit_length() == bits and isprime(p):
            return p


def generator(p, q):
    """An element of order dividing q (exactly q when q is prime), not 1."""
    h = 2
    while True:
        g = pow(h, (p - 1) // q, p)
        if g != 1:
            return g
        h += 1


def carmichael_160():
    """A 160-bit Carmichael number (6k+1)(12k+1)(18k+1): a Fermat liar for every base
    prime to it, so Fermat-based inversion mod q still works and signatures verify."""
    lo = int(((1 << 159) // 1296) ** (1 / 3))
    k = lo + rng.getrandbits(40)
    while True:
        a, b, c = 6 * k + 1, 12 * k + 1, 18 * k + 1
        n = a * b * c
        if n.bit_length() == 160 and isprime(a) and isprime(b) and isprime(c):
            return n, (a, b, c)
        k += 1


def emit(name, defect, p, q, g, y, x, note):
    print(f"# {note}")
    print(f"name {name}")
    print(f"defect {defect}")
    for label, v in (("p", p), ("q", q), ("g", g), ("y", y), ("x", x)):
        digits = f"{v:X}"
        print(f"{label} {'0' * (len(digits) % 2)}{digits}")
    print()


print("# Degenerate DSA public keys (written by weak_dsa_keys.py; do not edit by hand).")
print("# Each: name, the DsaKeyDefect validation must report, p q g y in hex, and an x")
print("# with which a forger signs (00 for y = 1). The base key is RFC 6979 A.2.1's.")
print()
emit("valid", "None", P, Q, G, Y, X, "RFC 6979 A.2.1: valid, the control case")
emit("y_one", "YOutOfRange", P, Q, G, 1, 0, "y = 1: x = 0 signs for anyone")
emit("g_order_2", "GOrder", P, Q, P - 1, P - 1, 1,
     "g = p-1 of order 2, y = p-1: r = 1 signatures verify for a quarter of all nonces")
p512 = prime_p_over(Q, 512)
g512 = generator(p512, Q)
x512 = rng.randrange(1, Q)
emit("p_512", "PSize", p512, Q, g512, pow(g512, x512, p512), x512,
     "512-bit p = j*q + 1 with RFC 6979's q: a sound but too small group")
qc, factors = carmichael_160()
pc = prime_p_over(qc, 1024)
gc = generator(pc, qc)
xc = rng.randrange(1, qc)
emit("q_composite", "QComposite", pc, qc, gc, pow(gc, xc, pc), xc,
     "q = %s (a Carmichael number), p = j*q + 1 prime" % " * ".join(hex(f) for f in factors))
q2 = nextprime(rng.getrandbits(160) | (1 << 159))
assert q2.bit_length() == 160 and (P - 1) % q2 != 0
emit("q_not_dividing", "QDoesNotDivide", P, q2, P - 1, P - 1, 1,
     "q prime but not dividing p-1 (g = y = p-1: nothing ties g to q)")
emit("y_outside_subgroup", "YOrder", P, Q, G, P - Y, X,
     "y = -(g^x): signatures verify whenever u2 is even")
