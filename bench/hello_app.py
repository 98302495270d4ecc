"""The machine's reference point: a bare Flask JSON endpoint (typically 3,500-5,000 req/s).

.venv/bin/gunicorn --chdir bench -w 2 hello_app:app
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/hello", methods=["GET", "POST"])
def hello():  # type: ignore[no-untyped-def]
    return jsonify(hello="world")
