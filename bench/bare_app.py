"""The yardstick for the ingest benchmark: a Flask endpoint that only parses JSON."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/bare")
def bare():
    payload = request.get_json()
    return {"accepted": 1 if payload else 0, "duplicates": 0}, 202
