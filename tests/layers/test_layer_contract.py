"""Every registered layer class passes ``run_layer_test`` (tests/layer_cases.py holds one row per class)."""

import pytest

from lamina import registry
from lamina.testing import run_layer_test
from layer_cases import EXEMPT, LAYER_CASES


@pytest.mark.parametrize("case", LAYER_CASES, ids=[case.id for case in LAYER_CASES])
def test_layer_contract(case):
    run_layer_test(case.cls, **case.run_kwargs())


def test_every_registered_layer_class_has_a_case():
    covered = {case.cls for case in LAYER_CASES} | {cls for case in LAYER_CASES for cls in case.covers}
    registered = {cls for cls in registry.builtins_of("keras.layers").values() if isinstance(cls, type)}
    missing = sorted(cls.__name__ for cls in registered - covered if cls.__name__ not in EXEMPT)
    assert not missing, f"layer classes without a row in tests/layer_cases.py: {missing}"
