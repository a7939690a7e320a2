"""The names each package promises resolve, and importing a package's errors stays cheap."""

import importlib
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("package", ["curation", "filters", "filters.poems", "filters.posts", "builders",
                                     "trainers"])
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert module.__all__ and not missing


def test_the_core_exports_the_engine_contract_and_adapters():
    import curation

    assert {"run", "open_reader", "Stage", "GlobalStage", "reject_where", "as_batched_map",
            "RayStages"} <= set(curation.__all__)
    with pytest.raises(AttributeError, match="no attribute 'engine_internals'"):
        curation.engine_internals  # noqa: B018


def test_importing_the_errors_does_not_import_the_engine():
    code = "import sys, curation.errors; print('curation.engine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
