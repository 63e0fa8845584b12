"""A JSON Schema validator for the keywords our schemas use, in the standard library.

CI installs nothing beyond the course's packages, so the tests check Gradescope's
results.json with this subset of JSON Schema (type, enum, required, properties,
additionalProperties: false, items, minimum, anyOf, local $ref). A keyword it does
not know is an error, so a schema cannot silently ask for more than is checked.
"""
from __future__ import annotations

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
_KNOWN = {"$schema", "title", "description", "$defs", "type", "enum", "required", "properties",
          "additionalProperties", "items", "minimum", "anyOf", "$ref"}


class SchemaError(ValueError):
    pass


def _is(value, kind: str) -> bool:
    if kind in ("number", "integer"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok and (kind == "number" or float(value).is_integer())
    return isinstance(value, _TYPES[kind])


def validate(value, schema: dict, root: dict | None = None, where: str = "$") -> None:
    root = root if root is not None else schema
    unknown = set(schema) - _KNOWN
    if unknown:
        raise SchemaError(f"the validator does not know {sorted(unknown)}")
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        validate(value, target, root, where)
    kinds = schema.get("type")
    if kinds is not None and not any(_is(value, k) for k in ([kinds] if isinstance(kinds, str) else kinds)):
        raise SchemaError(f"{where}: {value!r:.80} is not of type {kinds}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{where}: {value!r:.80} is not one of {schema['enum']}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        raise SchemaError(f"{where}: {value} is below {schema['minimum']}")
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, root, where)
                break
            except SchemaError as error:
                errors.append(str(error))
        else:
            raise SchemaError(f"{where}: matches none of anyOf: {errors}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{where}: {key} is required")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties", True) is False:
                raise SchemaError(f"{where}: {key} is not a documented key")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], root, f"{where}[{index}]")
