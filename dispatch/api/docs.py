"""A readable page of the OpenAPI document, rendered on the server (no CDN, no JavaScript)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from dispatch.extensions import api

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/api/docs")
def docs() -> str:
    spec: dict[str, Any] = api.spec.to_dict()
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["other"])[0]
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            groups.setdefault(tag, []).append({
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": op.get("parameters", []) + item.get("parameters", []),
                "body": _schema_ref(body),
                "responses": sorted(op.get("responses", {}).items()),
            })
    descriptions = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    return render_template("api_docs.html", spec=spec, groups=groups, descriptions=descriptions)


def _schema_ref(content: dict[str, Any]) -> str:
    for media in content.values():
        return str(media.get("schema", {}).get("$ref", ""))
    return ""
