"""Schemathesis against the published OpenAPI document, in process: the schema tells the truth.

Every check schemathesis has runs (status codes documented, bodies conform, auth enforced, valid data
accepted, invalid data refused, Allow on 405, ...). Two refusals of schema-valid data are deliberate and
exempted here only, by their exact shape (see `_deliberate`): the ID number's check digit and its
agreement with birth date and sex (422 by HIS-API.md; a JSON Schema cannot compute a checksum), and money
written as a float (`"amount_fen": 100.0` is an integer to JSON Schema, but money is an integer on the wire:
pinned in test_bad_input).
`POST /_test/faults` is left out: it makes the server slow or down on purpose.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from simulators.his.clock import Clock
from simulators.his.server import create_app
from simulators.his.testing import SEEDED_AT, TOKEN, TOKENS, TZ

SCHEMA_PATH = "/api/v1/openapi.json"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEMANTIC_FIELDS = {"id_number", "birth_date", "sex"}
CHANGES = {"POST", "PUT", "DELETE"}


def _config(max_examples: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "headers": AUTH,
            "checks": {"enabled": True},
            "generation": {"mode": "all", "max-examples": max_examples},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
            },
        }
    )


def _schema(app: FastAPI, max_examples: int) -> Any:
    schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, app, config=_config(max_examples))
    return schema.exclude(path="/api/v1/_test/faults")


# schemathesis loads the document when this module is imported (its pytest fixture loader does not
# work with pytest 9), so the app exists first; its SQLite file is filled in by the fixture below,
# before anything connects (the engine connects on first use).
_DIR = Path(tempfile.mkdtemp(prefix="his-openapi-"))
atexit.register(shutil.rmtree, _DIR, True)
APP = create_app(
    f"sqlite:///{_DIR / 'his.db'}",
    seed=None,
    tokens=TOKENS,
    test_mode=True,
    clock=Clock(TZ, SEEDED_AT),
    prepared=True,
)


@pytest.fixture(scope="module", autouse=True)
def _seeded(sqlite_template: Path) -> Iterator[None]:
    shutil.copyfile(sqlite_template, _DIR / "his.db")
    yield
    APP.state.hub.db.dispose()


def _float_money(value: Any) -> bool:
    """Some `*_fen` field holds a float with no fraction (`100.0`)."""
    if isinstance(value, dict):
        return any(
            (k.endswith("_fen") and isinstance(v, float) and v.is_integer()) or _float_money(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_float_money(v) for v in value)
    return False


def _deliberate(case: Any, response: Any) -> bool:
    """A schema-valid request the server refuses on purpose (the module docstring says which)."""
    if response.status_code != 422:
        return False
    error = json.loads(response.content)["error"]
    if error["code"] != "VALIDATION":
        return False
    if (
        case.method == "POST"
        and case.path == "/api/v1/patients"
        and error["details"].get("field") in SEMANTIC_FIELDS
    ):
        return True
    return _float_money(case.body)


def positive_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, minus the deliberate refusals."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _deliberate(case, response):
            return None
        raise


CHECKS: dict[str, Any] = {
    "excluded_checks": [positive_data_acceptance],
    "additional_checks": [positive_accepted],
}


def _replayed(case: Any) -> None:
    """A change sent twice under one fresh Idempotency-Key answers the same both times."""
    key = str(uuid.uuid4())
    first = case.call_and_validate(headers={**AUTH, "Idempotency-Key": key}, **CHECKS)
    again = case.call(headers={**AUTH, "Idempotency-Key": key})
    assert again.status_code == first.status_code, (first.text, again.text)
    assert again.json() == first.json()
    if first.status_code < 300:
        assert again.headers.get("idempotent-replayed") == ["true"]


schema = _schema(APP, 10)


@schema.parametrize()
@hypothesis.settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
    database=None,
)
def test_schema_tells_the_truth(case: Any) -> None:
    if (
        case.method in CHANGES
        and not case.path.startswith("/api/v1/_test/")
        and case.meta.generation.mode.is_positive
    ):
        _replayed(case)
    else:
        case.call_and_validate(**CHECKS)


def _stateful(app: FastAPI, steps: int, examples: int) -> None:
    machine = _schema(app, examples).as_state_machine()

    class Machine(machine):  # type: ignore[valid-type, misc]
        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, **CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )

    Machine.run(
        settings=hypothesis.settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            derandomize=True,
            database=None,
        )
    )


def test_stateful_links() -> None:
    """Sequences that follow the links (hold -> book -> collect -> pay ...) break nothing either."""
    _stateful(APP, steps=5, examples=15)


big_schema = _schema(APP, 300)


@pytest.mark.slow
@big_schema.parametrize()
@hypothesis.settings(
    max_examples=300, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), database=None
)
def test_schema_tells_the_truth_at_length(case: Any) -> None:
    """The same checks with many more (and random) examples: the slow job."""
    if (
        case.method in CHANGES
        and not case.path.startswith("/api/v1/_test/")
        and case.meta.generation.mode.is_positive
    ):
        _replayed(case)
    else:
        case.call_and_validate(**CHECKS)


@pytest.mark.slow
def test_stateful_links_at_length() -> None:
    _stateful(APP, steps=10, examples=150)
