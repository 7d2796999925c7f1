"""Fuzz the API from its own OpenAPI document: no input may produce a 5xx, and answers follow the contract."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.conftest import Api


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def token(client):
    return Api(client).login("supervisor1")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_follows_its_contract(case, token):
    # Business rules the document cannot express (the customer must exist, a task's own form) answer 422
    # to schema-valid input, so only the other direction is checked: schema-violating input is refused.
    # The token header replaces whatever was generated for the headers: a case made invalid in its headers alone
    # (e.g. Authorization removed) is a valid request once sent, so its acceptance is not a finding.
    excluded = [positive_data_acceptance]
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if headers is not None and headers.mode == GenerationMode.NEGATIVE:
        excluded.append(negative_data_rejection)
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)
    assert response.status_code < 500
