#!/usr/bin/env python3
"""Fits the polynomial coefficients of vmath::erfc (include/nnjit/vmath.hpp).

erfc(x) is computed as
  * 1 - x * P(x^2) for |x| < 15/32, P ~ erf(x)/x (fit in z = x^2 on [0, (15/32)^2]);
  * exp(-a^2) * G(a) for a = |x| >= 15/32 (then 2 - that for x < 0), G(a) = erfc(a) exp(a^2),
    in three pieces: a polynomial in u = a - mid on [15/32, 1.25] and [1.25, 2.5], and on
    [2.5, 10.1] G(a) = K(s) / a with K a polynomial in s = 1/a^2 (G(a) ~ 1/(a sqrt(pi)) for large
    a; K depends little on s, so the rounding of s hardly matters, and the 1/a is one division).
Each polynomial is a Chebyshev fit (mpmath.chebyfit, near-minimax) in 40-digit arithmetic; the
coefficients are then rounded to the format, and the script prints the maximum relative error of
the rounded polynomial (before evaluation rounding) on a fine grid. float32 first, then float64:
the same pieces with higher degrees (8, 15, 18 and 22) and piece 3 reaching to 27.3 (erfc(27.23) <
2^-1075 rounds to 0 in float64).

Run: python3 tools/fit_vmath_erfc.py   (needs python3-mpmath; deterministic)
"""
import struct

import mpmath as mp

mp.mp.dps = 40


def f32(v):
    return struct.unpack('f', struct.pack('f', float(v)))[0]


def fit(f, lo, hi, deg, mid, rounded):
    """Coefficients c0..c_deg (lowest first) of a polynomial in u = v - mid, v in [lo, hi]."""
    return [rounded(c) for c in reversed(mp.chebyfit(lambda u: f(u + mid), [lo - mid, hi - mid], deg + 1))]


def max_rel_error(f, lo, hi, mid, coeffs, n=2000):
    worst = mp.mpf(0)
    for i in range(n + 1):
        v = lo + (hi - lo) * i / n
        p = mp.polyval(list(reversed([mp.mpf(c) for c in coeffs])), v - mid)
        worst = max(worst, abs(p / f(v) - 1))
    return worst


def report(name, f, lo, hi, mid, deg, variable, rounded):
    coeffs = fit(f, lo, hi, deg, mid, rounded)
    err = max_rel_error(f, lo, hi, mid, coeffs)
    print(f'// {name}: {variable}, max relative error {float(err):.2e}')
    print('    ' + ', '.join(f'{c!r}' for c in coeffs))


def fit_format(name, rounded, degrees, a_max):
    """degrees: of erf(x)/x, G pieces 1 and 2, K piece 3. a_max: where piece 3 ends."""
    print(f'{name}:')
    t = mp.mpf(15) / 32
    erf_over_x = lambda z: mp.erf(mp.sqrt(z)) / mp.sqrt(z) if z > 0 else 2 / mp.sqrt(mp.pi)
    # erf(x)/x in z = x^2: fitted without a shift (mid = 0) so that the series starts at z = 0.
    report('erf(x)/x', erf_over_x, mp.mpf(0), t * t, 0, degrees[0], 'z = x^2 on [0, (15/32)^2]', rounded)
    g = lambda a: mp.erfc(a) * mp.exp(a * a)
    # Around the midpoints 0.859375 and 1.875 (exact in both formats).
    report('G piece 1', g, t, mp.mpf('1.25'), mp.mpf('0.859375'), degrees[1], 'u = a - 0.859375 on [15/32, 1.25]',
           rounded)
    report('G piece 2', g, mp.mpf('1.25'), mp.mpf('2.5'), mp.mpf('1.875'), degrees[2], 'u = a - 1.875 on [1.25, 2.5]',
           rounded)
    # K(s) = a G(a), s = 1/a^2: fitted without a shift. float32 degree 7: higher degrees have
    # larger, alternating coefficients whose float32 rounding costs more than the degree gains.
    k = lambda s: g(1 / mp.sqrt(s)) / mp.sqrt(s)
    report('K piece 3', k, 1 / a_max ** 2, 1 / mp.mpf('2.5') ** 2, 0, degrees[3],
           f's = 1/a^2 on [1/{a_max}^2, 1/2.5^2]', rounded)


def main():
    fit_format('float32', f32, (5, 8, 8, 7), mp.mpf('10.1'))
    fit_format('float64', float, (8, 15, 18, 22), mp.mpf('27.3'))


if __name__ == '__main__':
    main()
