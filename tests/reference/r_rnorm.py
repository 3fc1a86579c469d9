"""R's ``set.seed(seed); rnorm(n, mean, sd)`` with its default generators, so that tests written in R with
random data (NHSRplotthedots' testthat files) can be replayed here.

R (src/main/RNG.c, src/nmath/snorm.c): set.seed scrambles the seed with 50 steps of the LCG
seed = 69069·seed + 1, fills the Mersenne-Twister state from 625 further steps (the first is the
position, set to 624), and draws normals by inversion from two uniforms: u = ⌊2²⁷·U₁⌋ + U₂,
z = Φ⁻¹(u / 2²⁷). numpy's MT19937 is the same generator, so only the seeding and the inversion are
redone here.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_MT_SCALE = 2.3283064365386963e-10  # 1 / 2**32, R's MT_genrand
_I2_32M1 = 2.328306437080797e-10  # 1 / (2**32 - 1), R's fixup of 0 and 1
_BIG = 134217728  # 2**27, R's INVERSION


class RRandom:
    """A stream of R's uniform and normal draws after ``set.seed(seed)``."""

    def __init__(self, seed: int):
        state = seed & 0xFFFFFFFF
        for _ in range(50):
            state = (69069 * state + 1) & 0xFFFFFFFF
        words = []
        for _ in range(625):
            state = (69069 * state + 1) & 0xFFFFFFFF
            words.append(state)
        self._mt = np.random.MT19937()
        self._mt.state = {"bit_generator": "MT19937", "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": 624}}

    def runif(self) -> float:
        value = float(self._mt.random_raw()) * _MT_SCALE
        if value <= 0.0:
            return 0.5 * _I2_32M1
        if 1.0 - value <= 0.0:
            return 1.0 - 0.5 * _I2_32M1
        return value

    def rnorm(self, n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        out = np.empty(n)
        for i in range(n):
            u = int(_BIG * self.runif()) + self.runif()
            out[i] = mean + sd * float(ndtri(u / _BIG))
        return out
