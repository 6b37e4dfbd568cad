"""A yes/no JSON Schema check that proves plain data valid without importing jsonschema.

Importing jsonschema (with referencing, rpds and attrs) costs more than everything else
`ci-gen validate` does, and on the pre-commit path the manifest is nearly always valid. This
module answers one question: "is this instance certainly valid?". It understands the keywords
the manifest schema uses, with jsonschema's Draft 2020-12 semantics; whenever it is unsure (a
keyword it does not know, a non-local `$ref`, a float where an integer is expected) it answers
False, and the caller asks jsonschema, which also words the errors. So a False is never a
verdict, and a True is only given where jsonschema would find no error.
"""
from __future__ import annotations

import numbers
import re
from typing import Any

# Keywords that never make an instance invalid (jsonschema asserts `format` only when given a
# format checker, which ci-gen does not pass).
_ANNOTATIONS = frozenset({
    "$schema", "$defs", "$comment", "title", "description", "default", "examples", "deprecated",
    "readOnly", "writeOnly", "format", "contentMediaType", "contentEncoding",
})
_PATTERNS: dict[str, re.Pattern[str]] = {}


def conforms(instance: Any, schema: Any) -> bool:
    """True only when `instance` certainly satisfies `schema` (a Draft 2020-12 document)."""
    return _Checker(schema).check(instance, schema)


class _Checker:
    def __init__(self, root: Any) -> None:
        self.root = root

    def check(self, instance: Any, schema: Any) -> bool:
        if schema is True or schema == {}:
            return True
        if not isinstance(schema, dict):
            return False
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or (keyword == "$id" and schema is self.root):
                continue
            method = _KEYWORDS.get(keyword)
            if method is None or not method(self, value, instance, schema):
                return False
        return True

    def ref(self, ref: Any, instance: Any, _: dict[str, Any]) -> bool:
        target = self._resolve(ref)
        return target is not None and self.check(instance, target)

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None  # another document: leave it to jsonschema
        node = self.root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def properties(self, properties: dict[str, Any], instance: Any, _: dict[str, Any]) -> bool:
        if not isinstance(instance, dict):
            return True
        return all(self.check(instance[key], sub) for key, sub in properties.items() if key in instance)

    def additional(self, additional: Any, instance: Any, schema: dict[str, Any]) -> bool:
        if not isinstance(instance, dict):
            return True
        if "patternProperties" in schema:
            return False  # not understood here
        known = schema.get("properties", {})
        return all(self.check(value, additional) for key, value in instance.items() if key not in known)

    def property_names(self, names: Any, instance: Any, _: dict[str, Any]) -> bool:
        return not isinstance(instance, dict) or all(self.check(key, names) for key in instance)

    def items(self, items: Any, instance: Any, schema: dict[str, Any]) -> bool:
        if not isinstance(instance, list):
            return True
        if "prefixItems" in schema:
            return False  # not understood here
        return all(self.check(item, items) for item in instance)

    def all_of(self, schemas: Any, instance: Any, _: dict[str, Any]) -> bool:
        return isinstance(schemas, list) and all(self.check(instance, s) for s in schemas)

    def one_of(self, schemas: Any, instance: Any, _: dict[str, Any]) -> bool:
        # Certain only when one branch certainly holds and every other branch is a bare
        # `required` list, which is decidable both ways (the fleet's "gitlab or path" shape).
        if not isinstance(schemas, list):
            return False
        holding = [s for s in schemas if self.check(instance, s)]
        if len(holding) != 1:
            return False
        others = [s for s in schemas if s is not holding[0]]
        return all(isinstance(s, dict) and list(s) == ["required"] for s in others)

    def any_of(self, schemas: Any, instance: Any, _: dict[str, Any]) -> bool:
        return isinstance(schemas, list) and any(self.check(instance, s) for s in schemas)


def _type(_: _Checker, expected: Any, instance: Any, __: dict[str, Any]) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(_is_type(instance, name) for name in names)


def _is_type(instance: Any, name: str) -> bool:
    if name == "integer":  # 2020-12 also counts 1.0; answering False there is merely cautious
        return isinstance(instance, int) and not isinstance(instance, bool)
    if name == "number":
        return isinstance(instance, (int, float)) and not isinstance(instance, bool)
    checks = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return name in checks and isinstance(instance, checks[name])


def _number(instance: Any) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool)


def _enum(_: _Checker, options: Any, instance: Any, __: dict[str, Any]) -> bool:
    return isinstance(options, list) and any(_equal(instance, option) for option in options)


def _const(_: _Checker, value: Any, instance: Any, __: dict[str, Any]) -> bool:
    return _equal(instance, value)


def _equal(one: Any, two: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0 (as jsonschema's `equal`)."""
    if isinstance(one, str) or isinstance(two, str):
        return type(one) is type(two) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    return _number(one) and _number(two) and one == two or (one is None and two is None)


def _pattern(_: _Checker, pattern: str, instance: Any, __: dict[str, Any]) -> bool:
    if not isinstance(instance, str):
        return True
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled.search(instance) is not None


def _required(_: _Checker, names: Any, instance: Any, __: dict[str, Any]) -> bool:
    return not isinstance(instance, dict) or all(name in instance for name in names)


def _unique(_: _Checker, unique: Any, instance: Any, __: dict[str, Any]) -> bool:
    if not unique or not isinstance(instance, list):
        return True
    if not all(isinstance(item, (str, int, float)) for item in instance):
        return False  # lists of lists or objects: leave the comparison to jsonschema
    # (is-bool, value) keeps true apart from 1 while 1 and 1.0 still collide, as in JSON.
    return len({(isinstance(item, bool), item) for item in instance}) == len(instance)


def _bound(compare: Any, kind: type | tuple[type, ...]) -> Any:
    def check(_: _Checker, limit: Any, instance: Any, __: dict[str, Any]) -> bool:
        if kind is str:
            return not isinstance(instance, str) or compare(len(instance), limit)
        if kind is list:
            return not isinstance(instance, list) or compare(len(instance), limit)
        if _number(instance):
            return bool(compare(instance, limit))
        # jsonschema compares every numbers.Number (Decimal, Fraction); such a value is unsure here.
        return isinstance(instance, bool) or not isinstance(instance, numbers.Number)
    return check


_KEYWORDS: dict[str, Any] = {
    "$ref": _Checker.ref,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "required": _required,
    "properties": _Checker.properties,
    "additionalProperties": _Checker.additional,
    "propertyNames": _Checker.property_names,
    "items": _Checker.items,
    "allOf": _Checker.all_of,
    "anyOf": _Checker.any_of,
    "oneOf": _Checker.one_of,
    "uniqueItems": _unique,
    "minLength": _bound(lambda n, limit: n >= limit, str),
    "maxLength": _bound(lambda n, limit: n <= limit, str),
    "minItems": _bound(lambda n, limit: n >= limit, list),
    "maxItems": _bound(lambda n, limit: n <= limit, list),
    "minimum": _bound(lambda n, limit: n >= limit, (int, float)),
    "maximum": _bound(lambda n, limit: n <= limit, (int, float)),
    "exclusiveMinimum": _bound(lambda n, limit: n > limit, (int, float)),
    "exclusiveMaximum": _bound(lambda n, limit: n < limit, (int, float)),
}
