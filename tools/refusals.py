"""The words of ``recall.web.console.words``: the English messages the domain and the API's schemas refuse an
input with, which the console shows beside its fields in the member's language.

* **The domain's refusals**: the first argument of every call of one of the domain's error classes
  (``ValidationError("must not be in the past", field=...)``) in ``recall.clinic``, ``visits``, ``queue``,
  ``reminders``, ``credit`` and ``common``. The classes are found, not listed: ``RecallError`` and every class
  of those packages that derives from one of them, under any name a module imports it as.
  A module's ``*_MESSAGES`` dicts hold refusals said in full, one per case, where an f-string would not be
  found in a catalog.
* **The schemas' own messages**: the same calls (``ma.ValidationError("is out of range")``) in the web package,
  where the API's schemas, their fields and the console's form readers live.
* **marshmallow's messages** for the fields of the schemas the console's forms read input through, taken from
  the installed marshmallow: each field's ``error_messages`` (its classes' ``default_error_messages``) and its
  validators' messages, filled in with that field's and validator's own parameters, exactly as marshmallow
  fills them in when it refuses ("Length must be between 1 and 200.").

An f-string whose substitutions are all constants of its module (``f"must be at most {MAX_NOTE} characters"``)
always makes the same message: it is extracted as that message. Any other f-string with substitutions cannot be
looked up as written: ``dynamic()`` lists those calls, and they stay in English; except one said as a literal
and, in closing parentheses, its detail (``... at an overlapping time (booking {clash})``): the literal is
extracted, and ``say`` translates it and keeps the detail as it is.

The sources are read with ``ast``, not babel's token-based python extractor, which takes the ``"; "`` of
``ValidationError("; ".join(problems))`` for a message and cannot tell an f-string's constants from its input;
``tools.catalogs`` adds what is found here to the words package's babel catalog.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import marshmallow as ma

ROOT = Path(__file__).resolve().parents[1]
RECALL = ROOT / "recall"
DOMAIN = tuple(RECALL / area for area in ("clinic", "visits", "queue", "reminders", "credit", "common"))
WEB = RECALL / "web"
CONSOLE = WEB / "console"
BASE = "RecallError"
#: marshmallow's own ``ValidationError``, raised by the schemas' fields and validators.
SCHEMA_ERRORS = frozenset({"ValidationError"})


class Call(NamedTuple):
    """One refusal in the sources: where, the class called, and its message (a literal or not)."""

    path: Path
    lineno: int
    name: str
    message: str | None  # None: not a literal (an f-string, a variable, a translated text)
    source: str
    fstring: bool


def _python_files(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def error_classes() -> frozenset[str]:
    """``RecallError`` and every class of the domain that derives from it, directly or not."""
    classes: list[tuple[str, set[str]]] = []
    for path in _python_files(DOMAIN):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
                classes.append((node.name, bases))
    found = {BASE}
    grown = True
    while grown:
        grown = False
        for name, bases in classes:
            if name not in found and bases & found:
                found.add(name)
                grown = True
    return frozenset(found)


def _names(tree: ast.Module, classes: frozenset[str]) -> dict[str, str]:
    """The names this module calls the classes by (``ValidationError as RecallValidationError``)."""
    names = {name: name for name in classes}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in classes and alias.asname:
                    names[alias.asname] = alias.name
    return names


def _message(node: ast.Call) -> ast.expr | None:
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg == "message"), None)


def calls(path: Path, classes: frozenset[str]) -> Iterator[Call]:
    """Every call of one of ``classes`` in the module at ``path``, with its message."""
    tree = _tree(path)
    names = _names(tree, classes)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called not in names:
            continue
        arg = _message(node)
        if arg is None:
            continue
        literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        if names[called] == "NotFound":  # NotFound(what, ident): "what ident not found", or "what not found"
            literal = f"{literal} not found" if literal is not None and len(node.args) < 2 else None
        fstring = isinstance(arg, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in arg.values)
        if isinstance(arg, ast.JoinedStr):
            literal = _folded(path, arg) or _before_detail(arg)
            fstring = literal is None
        yield Call(path, node.lineno, names[called], literal, ast.unparse(arg), fstring)


def tables(path: Path) -> Iterator[Call]:
    """The messages of a module's ``*_MESSAGES`` dicts: refusals said in full, one per case, where the case
    would otherwise be put into an f-string (``REQUIRED_MESSAGES[outcome]``)."""
    for node in _tree(path).body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if not (isinstance(target, ast.Name) and target.id.endswith("_MESSAGES") and isinstance(node.value, ast.Dict)):
            continue
        for value in node.value.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield Call(path, value.lineno, target.id, value.value, ast.unparse(value), False)


def _folded(path: Path, fstring: ast.JoinedStr) -> str | None:
    """An f-string whose every substitution is a constant of its module (``{MAX_NOTE}``, a number or a text) as
    the message it always makes; None when one depends on the input."""
    module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    parts = []
    for value in fstring.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
            continue
        assert isinstance(value, ast.FormattedValue)
        found = getattr(module, value.value.id, None) if isinstance(value.value, ast.Name) else None
        if value.conversion != -1 or value.format_spec is not None or type(found) not in (int, str):
            return None
        parts.append(str(found))
    return "".join(parts)


DETAIL = re.compile(r"([^\0]+) \(([^()]*\0[^()]*)\)")


def _before_detail(fstring: ast.JoinedStr) -> str | None:
    """The literal of a message said as a literal and, in closing parentheses, its detail (``f"the patient
    already has a booking at an overlapping time (booking {clash})"``): ``say`` translates the literal and keeps
    the detail."""
    shape = "".join(v.value if isinstance(v, ast.Constant) else "\0" for v in fstring.values)
    found = DETAIL.fullmatch(shape)
    return found.group(1) if found else None


def domain_calls() -> list[Call]:
    classes = error_classes()
    return [call for path in _python_files(DOMAIN) for call in [*calls(path, classes), *tables(path)]]


def web_calls() -> list[Call]:
    """The web package's own refusals (schemas, fields, form readers), marshmallow's and the domain's classes."""
    classes = error_classes() | SCHEMA_ERRORS
    return [call for path in _python_files([WEB]) for call in calls(path, classes)]


def dynamic() -> list[Call]:
    """The refusals whose message is an f-string with substitutions: they stay in English."""
    return [call for call in domain_calls() + web_calls() if call.fstring]


# --- marshmallow's messages for the console's schemas ----------------------------------------------------------


def console_schemas() -> list[type[ma.Schema]]:
    """The API's schemas that a console module imports to read a form through."""
    found: list[type[ma.Schema]] = []
    for path in _python_files([CONSOLE]):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recall.web."):
                if ".console" in node.module:
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name, None)
                    if isinstance(value, type) and issubclass(value, ma.Schema) and value not in found:
                        found.append(value)
    return found


def _fields(schema: ma.Schema) -> Iterator[ma.fields.Field]:
    for field in schema.fields.values():
        yield from _field_and_inner(field)


def _field_and_inner(field: ma.fields.Field) -> Iterator[ma.fields.Field]:
    yield field
    if isinstance(field, ma.fields.Nested):
        nested = field.schema
        yield from _fields(nested)
    for inner in (getattr(field, name, None) for name in ("inner", "key_field", "value_field")):
        if isinstance(inner, ma.fields.Field):
            yield from _field_and_inner(inner)
    for inner in getattr(field, "tuple_fields", ()) or ():
        yield from _field_and_inner(inner)


def _filled(template: str, **values: Any) -> list[str]:
    """``template`` with ``values`` put in; nothing when it needs what only the input knows (``{input}``)."""
    variants = [values]
    if "{awareness}" in template:
        variants = [{**values, "awareness": a} for a in ("naive", "aware")]
    texts = []
    for variant in variants:
        try:
            texts.append(template.format(**variant))
        except (KeyError, IndexError, ValueError):
            continue
    return texts


def _bounded(validator: ma.validate.Length | ma.validate.Range) -> list[str]:
    """The one message a Length or Range says, as marshmallow picks it by the bounds it has."""
    low, high = validator.min, validator.max
    if isinstance(validator, ma.validate.Length) and validator.equal is not None:
        template = validator.message_equal
    elif low is not None and high is not None:
        template = validator.message_all
    else:
        template = validator.message_min if low is not None else validator.message_max
    values = {"min": low, "max": high, "equal": getattr(validator, "equal", None)}
    return _filled(validator.error or template, **values)


def _validator_messages(validator: Any) -> list[str]:
    if isinstance(validator, (ma.validate.Length, ma.validate.Range)):
        return _bounded(validator)
    values = {k: v for k, v in vars(validator).items() if not k.startswith("_")}
    for key in ("choices", "labels"):  # OneOf and ContainsOnly say their choices as text
        if f"{key}_text" in values:
            values[key] = values[f"{key}_text"]
    template = getattr(validator, "error", None) or getattr(validator, "default_message", None)
    return _filled(template, **values) if isinstance(template, str) else []


def field_messages(field: ma.fields.Field) -> list[str]:
    """What marshmallow says when this field, or one of its validators, refuses a value."""
    values = {"obj_type": getattr(field, "OBJ_TYPE", ""), "choices": getattr(field, "choices_text", "")}
    messages = [text for template in field.error_messages.values() for text in _filled(str(template), **values)]
    for validator in field.validators:
        messages += _validator_messages(validator)
    return messages


def schema_messages() -> list[str]:
    """marshmallow's messages for every field (nested ones too) of the schemas the console's forms use."""
    messages: list[str] = []
    for schema in console_schemas():
        for field in _fields(schema()):
            messages += [m for m in field_messages(field) if m not in messages]
    return messages


# --- for tools.catalogs --------------------------------------------------------------------------------------------


def literal_messages() -> list[tuple[str, int, str]]:
    """(file, line, message) of every literal refusal of the domain and the web package."""
    return [
        (str(call.path.relative_to(ROOT)), call.lineno, call.message)
        for call in domain_calls() + web_calls()
        if call.message
    ]


def extract_words() -> Iterator[tuple[str, int, str]]:
    """The words package's messages: (where, line, English message), the domain's and the schemas' literals,
    then marshmallow's for the console's schemas."""
    yield from literal_messages()
    for message in schema_messages():
        yield "marshmallow", 0, message
