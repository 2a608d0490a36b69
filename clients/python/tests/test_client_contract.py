"""The REST client against the committed OpenAPI document: a route added, removed or changed in one and not the
other fails here."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import smpc
from smpc import errors
from smpc.client import ROUTES, Client

REPO = Path(__file__).resolve().parents[3]
OPENAPI = json.loads((REPO / "ApiGateway" / "openapi" / "v1.json").read_text())


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def operations() -> dict[str, tuple[str, str]]:
    found = {}
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            found[op["operationId"]] = (method.upper(), path)
    return found


def test_every_route_of_the_document_is_in_the_client_and_no_other() -> None:
    documented = operations()
    assert set(documented) - set(ROUTES) == set(), "routes the Python client lacks"
    assert set(ROUTES) - set(documented) == set(), "routes the client calls that the service does not document"
    for op, route in documented.items():
        assert ROUTES[op] == route, f"{op}: document {route}, client {ROUTES[op]}"


def test_every_route_has_a_method_named_after_its_operation() -> None:
    for op in ROUTES:
        method = getattr(Client, snake(op), None)
        assert method is not None and callable(method), f"Client.{snake(op)} is missing for {op}"
        assert inspect.getdoc(method), f"Client.{snake(op)} has no docstring"


def test_query_parameters_of_the_document_are_accepted() -> None:
    # Each documented query parameter appears in the client's method (as a keyword or a **filters pass-through).
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            if not names:
                continue
            source = inspect.getsource(getattr(Client, snake(op["operationId"])))
            for name in names:
                assert name in source or "**filters" in source, f"{op['operationId']} ignores query parameter {name}"


def test_every_problem_type_of_the_service_has_an_exception_class() -> None:
    source = (REPO / "Contracts" / "ProblemTypes.cs").read_text()
    kinds = set(re.findall(r'Base \+ "([a-z-]+)"', source))
    assert kinds, "no problem types found in Contracts/ProblemTypes.cs"
    mapped = errors.problem_kinds()
    assert kinds - set(mapped) == set(), "problem types without an exception class"
    for kind, cls in mapped.items():
        assert issubclass(cls, smpc.ProblemError)
        assert errors.problem_class(errors.PROBLEM_BASE + kind) is cls
    assert errors.problem_class("https://example.com/other") is smpc.ProblemError
