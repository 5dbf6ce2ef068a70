"""The scientist's instruments: pure functions from numpy/sympy inputs to result dataclasses."""
