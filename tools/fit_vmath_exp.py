#!/usr/bin/env python3
"""Fits the polynomial of vmath::exp in float32 (include/nnjit/vmath.hpp).

exp(r) ~ 1 + r + r^2 P(r) on |r| <= ln2/2 (the reduced argument, a little wider for the rounding
of n), with P of degree 4: a Chebyshev fit (mpmath.chebyfit, near-minimax) of
(exp(r) - 1 - r) / r^2 in 40-digit arithmetic, coefficients rounded to float32; prints them and
the maximum relative error of 1 + r + r^2 P(r) (before float32 evaluation rounding) on a fine grid.
vmath::tanh uses the same P for expm1(r) ~ r + r^2 P(r): the script also prints that form's
maximum relative error (against expm1(r), which is what tanh's accuracy depends on).

Run: python3 tools/fit_vmath_exp.py   (needs python3-mpmath; deterministic)
"""
import struct

import mpmath as mp

mp.mp.dps = 40


def f32(v):
    return struct.unpack('f', struct.pack('f', float(v)))[0]


def main():
    h = mp.log(2) / 2 * (1 + mp.mpf(2) ** -18)
    tail = lambda r: (mp.exp(r) - 1 - r) / r ** 2 if r != 0 else mp.mpf(1) / 2
    coeffs = [f32(c) for c in mp.chebyfit(tail, [-h, h], 5)[::-1]]  # lowest degree first
    worst = worst_expm1 = 0
    for i in range(-4000, 4001):
        r = h * i / 4000
        tail_r = r ** 2 * sum(c * r ** k for k, c in enumerate(coeffs))
        worst = max(worst, abs((1 + r + tail_r) / mp.exp(r) - 1))
        if r != 0:
            worst_expm1 = max(worst_expm1, abs((r + tail_r) / mp.expm1(r) - 1))
    print('kExpP', [repr(c) for c in coeffs])
    print('max relative error %.3g (exp), %.3g (expm1, as tanh uses it)' % (float(worst), float(worst_expm1)))


if __name__ == '__main__':
    main()
