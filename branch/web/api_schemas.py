"""The JSON shapes the HTTP API answers with, as OpenAPI component schemas."""

from __future__ import annotations

from typing import Any

DATE = {"type": "string", "format": "date"}
_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": _STRING,
            "message": _STRING,
            # A finer cause the pages word apart, and the values their words take.
            "problem": _STRING,
            "values": {"type": "object"},
        },
    },
    "OAuthError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _STRING, "error_description": _STRING},
    },
    "Status": {"type": "object", "required": ["status"], "properties": {"status": _STRING}},
    "Me": {
        "type": "object",
        "required": ["run", "name", "role"],
        "properties": {"run": _STRING, "name": _STRING, "role": _STRING},
    },
    "Document": {"type": "object", "required": ["openapi", "paths"]},
    "Contact": {
        "type": "object",
        "required": ["contact_id", "folio", "service", "citizen_run", "joined_at", "purged_at"],
        "properties": {
            "contact_id": _STRING,
            "folio": _STRING,
            "service": _STRING,
            "citizen_run": _STRING,
            "citizen_name": _STRING,
            "joined_at": _STRING,
            "purged_at": _NULLABLE_STRING,
        },
    },
    "Entry": {
        "type": "object",
        "required": ["seq", "at", "kind", "actor", "hash", "prevHash", "sealed", "erased"],
        "properties": {
            "seq": {"type": "integer"},
            "at": _STRING,
            "kind": _STRING,
            "actor": _STRING,
            "contactId": _NULLABLE_STRING,
            "hash": _STRING,
            "prevHash": _STRING,
            "sealed": {"type": "boolean"},
            "erased": {"type": "boolean"},
        },
    },
    "ContactList": {
        "type": "object",
        "required": ["from", "to", "service", "contacts", "truncated"],
        "properties": {
            "from": DATE,
            "to": DATE,
            "service": _NULLABLE_STRING,
            "contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
            "truncated": {"type": "boolean"},
        },
    },
    "ContactDetail": {
        "type": "object",
        "required": ["contact", "chat", "trail"],
        "properties": {
            "contact": {"$ref": "#/components/schemas/Contact"},
            "chat": {"type": "array"},
            "trail": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
        },
    },
    "EntryPage": {
        "type": "object",
        "required": ["entries", "next"],
        "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
            "next": {"type": ["integer", "null"]},
        },
    },
    "Verdict": {
        "type": "object",
        "required": ["ok", "entries", "erased", "head", "broken"],
        "properties": {
            "ok": {"type": "boolean"},
            "entries": {"type": "integer"},
            "erased": {"type": "integer"},
            "head": {"type": ["object", "null"]},
            "broken": {"type": ["object", "null"]},
        },
    },
}
