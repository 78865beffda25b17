#!/usr/bin/env python3
"""Writes the synthetic CSV files of tests/data/fit (standard library only, deterministic).

scaling_small.csv: L = E + A/N^alpha + B/D^beta with Besiroglu et al. 2024's estimates
(E 1.8172, A 482.01, B 2085.43, alpha 0.3478, beta 0.3658), times lognormal noise (sd 0.5%).
latency_small.csv: W = l0 + c*rho/(1-rho), rho = lambda/mu, l0 0.05 s, c 0.02 s, mu 40/s,
plus normal noise (sd 0.5% of W).
Run from this folder: python3 make_fit_data.py
"""
import math
import random

rng = random.Random(5)
with open("scaling_small.csv", "w") as f:
    f.write("# synthetic: L = 1.8172 + 482.01/N^0.3478 + 2085.43/D^0.3658, lognormal noise sd 0.005 (make_fit_data.py)\n")
    f.write("N,D,L\n")
    for n in (7e7, 2e8, 6e8, 2e9, 6e9):
        for tpp in (5, 10, 20, 40, 80, 160, 320):
            d = n * tpp
            loss = 1.8172 + 482.01 / n**0.3478 + 2085.43 / d**0.3658
            f.write(f"{n:.6g},{d:.6g},{loss * math.exp(rng.gauss(0, 0.005)):.6f}\n")
with open("latency_small.csv", "w") as f:
    f.write("# synthetic: W = 0.05 + 0.02*rho/(1-rho), rho = lambda/40, normal noise sd 0.5% (make_fit_data.py)\n")
    f.write("rate,latency\n")
    for i in range(1, 20):
        lam = 2.0 * i
        rho = lam / 40
        w = 0.05 + 0.02 * rho / (1 - rho)
        f.write(f"{lam:g},{w * (1 + rng.gauss(0, 0.005)):.6f}\n")
