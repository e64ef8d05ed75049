#!/usr/bin/env python3
"""Validates tw-advisor JSON documents against schema/<kind>.schema.json.

  validate_json.py SCHEMA_DIR FILE...   each FILE (or - for stdin): one document; exit 1 if any
                                        is invalid, naming the file, the JSON path and the rule
  validate_json.py SCHEMA_DIR --serve   one compact document per stdin line; one answer line each:
                                        "ok" or "invalid: ..." (the C++ test harness keeps one running)

The schema is chosen by the document's "kind"; a document without one is invalid. Works with
Debian 12's python3-jsonschema (4.10, RefResolver) and newer releases (the referencing registry).
"""
import json
import pathlib
import sys

import jsonschema


def load_schemas(schema_dir):
    schemas = {}
    for path in sorted(pathlib.Path(schema_dir).glob("*.schema.json")):
        with open(path, encoding="utf-8") as f:
            schemas[path.name] = json.load(f)
    if not schemas:
        raise SystemExit(f"validate_json: no *.schema.json in {schema_dir}")
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        if schema.get("$id") != name:
            raise SystemExit(f"validate_json: {name}: $id must be {name!r}, is {schema.get('$id')!r}")
    return schemas


def make_validators(schemas):
    try:  # jsonschema >= 4.18
        from referencing import Registry, Resource

        registry = Registry().with_resources(
            (name, Resource.from_contents(s)) for name, s in schemas.items()
        )
        return {
            name: jsonschema.Draft202012Validator(s, registry=registry)
            for name, s in schemas.items()
        }
    except ImportError:  # Debian 12: 4.10
        store = dict(schemas)
        return {
            name: jsonschema.Draft202012Validator(
                s, resolver=jsonschema.RefResolver(base_uri=name, referrer=s, store=store)
            )
            for name, s in schemas.items()
        }


def problems(validators, doc):
    if not isinstance(doc, dict):
        return [f"not a JSON object but {type(doc).__name__}"]
    kind = doc.get("kind")
    name = f"{kind}.schema.json"
    if not isinstance(kind, str) or name not in validators:
        return [f'"kind" is {kind!r}: no schema {name} for it']
    found = []
    for error in sorted(validators[name].iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append(f"{name}: {where}: {error.message[:300]}")
    return found


def serve(validators):
    for line in sys.stdin:
        try:
            found = problems(validators, json.loads(line))
        except ValueError as e:
            found = [f"not JSON: {e}"]
        print("ok" if not found else "invalid: " + "; ".join(found[:5]), flush=True)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    validators = make_validators(load_schemas(argv[1]))
    if argv[2] == "--serve":
        serve(validators)
        return 0
    bad = 0
    for arg in argv[2:]:
        text = sys.stdin.read() if arg == "-" else pathlib.Path(arg).read_text(encoding="utf-8")
        try:
            found = problems(validators, json.loads(text))
        except ValueError as e:
            found = [f"not JSON: {e}"]
        for p in found:
            print(f"{arg}: {p}", file=sys.stderr)
        bad += 1 if found else 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
