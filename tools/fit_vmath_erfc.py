#!/usr/bin/env python3
"""Fits the polynomial coefficients of vmath::erfc (include/nnjit/vmath.hpp).

erfc(x) is computed as
  * 1 - x * P(x^2) for |x| < 15/32, P ~ erf(x)/x (fit in z = x^2 on [0, (15/32)^2]);
  * exp(-a^2) * G(a) for a = |x| >= 15/32 (then 2 - that for x < 0), G(a) = erfc(a) exp(a^2),
    in three pieces: a polynomial in u = a - mid on [15/32, 1.25] and [1.25, 2.5], and on
    [2.5, 10.1] G(a) = K(s) / a with K a polynomial in s = 1/a^2 (G(a) ~ 1/(a sqrt(pi)) for large
    a; K depends little on s, so the rounding of s hardly matters, and the 1/a is one division).
Each polynomial is a Chebyshev fit (mpmath.chebyfit, near-minimax) in 40-digit arithmetic; the
coefficients are then rounded to float32, and the script prints the maximum relative error of
the rounded polynomial (before float32 evaluation rounding) on a fine grid.

Run: python3 tools/fit_vmath_erfc.py   (needs python3-mpmath; deterministic)
"""
import struct

import mpmath as mp

mp.mp.dps = 40


def f32(v):
    return struct.unpack('f', struct.pack('f', float(v)))[0]


def chebyshev(f, lo, hi, deg):
    """Coefficients c0..c_deg (lowest first) of a polynomial in u = v - mid, v in [lo, hi]."""
    mid = (lo + hi) / 2
    coeffs = mp.chebyfit(lambda u: f(u + mid), [lo - mid, hi - mid], deg + 1)
    return mid, [f32(c) for c in reversed(coeffs)]


def max_rel_error(f, lo, hi, mid, coeffs, n=2000):
    worst = mp.mpf(0)
    for i in range(n + 1):
        v = lo + (hi - lo) * i / n
        p = mp.polyval(list(reversed([mp.mpf(c) for c in coeffs])), v - mid)
        worst = max(worst, abs(p / f(v) - 1))
    return worst


def report(name, f, lo, hi, deg, variable):
    mid, coeffs = chebyshev(f, lo, hi, deg)
    mid = f32(mid)
    # Refit around the float32 midpoint actually used at run time.
    coeffs = [f32(c) for c in reversed(mp.chebyfit(lambda u: f(u + mid), [lo - mid, hi - mid], deg + 1))]
    err = max_rel_error(f, lo, hi, mid, coeffs)
    print(f'// {name}: {variable}, mid = {mid!r}, max relative error {float(err):.2e}')
    print('    ' + ', '.join(f'{c!r}' for c in coeffs))
    return coeffs


def main():
    t = mp.mpf(15) / 32
    erf_over_x = lambda z: mp.erf(mp.sqrt(z)) / mp.sqrt(z) if z > 0 else 2 / mp.sqrt(mp.pi)
    # erf(x)/x in z = x^2: fitted without a shift (mid = 0) so that the series starts at z = 0.
    coeffs = [f32(c) for c in reversed(mp.chebyfit(erf_over_x, [0, t * t], 6))]
    err = max_rel_error(erf_over_x, mp.mpf(0), t * t, 0, coeffs)
    print(f'// erf(x)/x: z = x^2 on [0, (15/32)^2], max relative error {float(err):.2e}')
    print('    ' + ', '.join(f'{c!r}' for c in coeffs))

    g = lambda a: mp.erfc(a) * mp.exp(a * a)
    report('G piece 1', g, t, mp.mpf('1.25'), 8, 'u = a - mid on [15/32, 1.25]')
    report('G piece 2', g, mp.mpf('1.25'), mp.mpf('2.5'), 8, 'u = a - mid on [1.25, 2.5]')
    # K(s) = a G(a), s = 1/a^2: fitted without a shift. Degree 7: higher degrees have larger,
    # alternating coefficients whose float32 rounding costs more than the degree gains.
    k = lambda s: g(1 / mp.sqrt(s)) / mp.sqrt(s)
    s_lo, s_hi = 1 / mp.mpf('10.1') ** 2, 1 / mp.mpf('2.5') ** 2
    coeffs = [f32(c) for c in reversed(mp.chebyfit(k, [s_lo, s_hi], 8))]
    err = max_rel_error(k, s_lo, s_hi, 0, coeffs)
    print(f'// K piece 3: s = 1/a^2 on [1/10.1^2, 1/2.5^2], max relative error {float(err):.2e}')
    print('    ' + ', '.join(f'{c!r}' for c in coeffs))


if __name__ == '__main__':
    main()
