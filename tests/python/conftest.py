"""pytest for the Python package (meson test python): the problems the tests share, built once,
and the summary line the test command counts (scripts/count_tests.py)."""
import numpy as np
import pytest

import inflab


@pytest.fixture(scope="session")
def iris():
    return inflab.Problem(hidden=[8], seed=0)


@pytest.fixture(scope="session")
def logreg():  # convex: one minimum, H positive definite
    return inflab.Problem(model="logreg", classes=[1, 2], weight_decay=0.01, grad_tol=1e-10)


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def pytest_terminal_summary(terminalreporter):
    s = terminalreporter.stats
    passed = len(s.get("passed", []))
    failed = len(s.get("failed", [])) + len(s.get("error", [])) + len(s.get("skipped", []))  # a skip is a test not run
    terminalreporter.write_line(f"[doctest] test cases: {passed + failed} | {passed} passed | {failed} failed | 0 skipped")
