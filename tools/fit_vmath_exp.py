#!/usr/bin/env python3
"""Fits the polynomial of vmath::exp in float32 (include/nnjit/vmath.hpp).

exp(r) ~ 1 + r + r^2 P(r) on |r| <= ln2/2 (the reduced argument, a little wider for the rounding
of n), with P of degree 4: a Chebyshev fit (mpmath.chebyfit, near-minimax) of
(exp(r) - 1 - r) / r^2 in 40-digit arithmetic, coefficients rounded to float32; prints them and
the maximum relative error of 1 + r + r^2 P(r) (before float32 evaluation rounding) on a fine grid.

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
    worst = 0
    for i in range(-4000, 4001):
        r = h * i / 4000
        approx = 1 + r + r ** 2 * sum(c * r ** k for k, c in enumerate(coeffs))
        worst = max(worst, abs(approx / mp.exp(r) - 1))
    print('kExpP', [repr(c) for c in coeffs])
    print('max relative error %.3g' % float(worst))


if __name__ == '__main__':
    main()
