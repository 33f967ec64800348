"""`GET /openapi.json`: the OpenAPI 3.1 description of the webhooks and the API (service/openapi.yaml)."""

from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)
SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@cache
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(spec())
