"""A one-route Flask JSON echo: the floor bench/http_load.py compares the application with (same gunicorn settings)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/echo")
def echo():
    return jsonify(request.get_json(silent=True))
