#!/usr/bin/env python3
"""Validates every message in protocol/examples against the JSON Schemas in protocol/schemas.

Each method used in an example must have its schemas (params for client requests and notifications
and for server notifications, result for answers) unless the example lists it as undocumented.
Exit status 0 when everything validates; prints one line per problem otherwise.
"""
import json
import pathlib
import re
import sys

import warnings

import jsonschema

# RefResolver is what Debian 12's jsonschema (4.10) offers; newer ones warn but still work.
warnings.filterwarnings("ignore", category=DeprecationWarning)

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2] / "protocol")
schemas = {p.name: json.loads(p.read_text()) for p in (root / "schemas").glob("*.json")}
NO_PARAMS = {"initialized", "exit", "shutdown"}
problems = []
checked = 0


def schema_for(method, part):
    return schemas.get(method.replace("/", "_") + "." + part + ".json")


def validate(instance, schema, where, expect_invalid=False):
    global checked
    checked += 1
    # Schemas refer to each other by file name ($id), e.g. initialize's dockerRun.
    resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema,
                                      store={s.get("$id", name): s for name, s in schemas.items()})
    errors = list(jsonschema.Draft7Validator(schema, resolver=resolver).iter_errors(instance))
    if expect_invalid:
        if not errors:
            problems.append(f"{where}: marked invalid, yet its schema accepts it")
        return
    for error in errors:
        problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")


for schema_name, schema in schemas.items():
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        problems.append(f"schemas/{schema_name}: not a valid draft-07 schema: {e.message}")

examples = sorted((root / "examples").glob("*.json"))
if not examples:
    problems.append("no examples found")
for path in examples:
    example = json.loads(path.read_text())
    undocumented = set(example.get("undocumented", []))
    methods_by_id = {}
    for i, entry in enumerate(example["messages"]):
        where = f"{path.name} message {i}"
        message = entry.get("message")
        if message is None:
            continue
        method = message.get("method")
        if method is not None:
            if "id" in message:
                methods_by_id[json.dumps(message["id"])] = method
            if method in undocumented or method in NO_PARAMS:
                continue
            schema = schema_for(method, "params")
            if schema is None:
                problems.append(f"{where}: no schema protocol/schemas/{method.replace('/', '_')}.params.json")
            else:
                validate(message.get("params", {}), schema, where + f" ({method} params)",
                         expect_invalid=entry.get("invalid", False))
        elif "error" in message:
            validate(message["error"], schemas["error.json"], where + " (error)")
        elif "result" in message:
            method = methods_by_id.get(json.dumps(message.get("id")))
            if method is None:
                problems.append(f"{where}: a result for an id no request in the example used")
                continue
            schema = schema_for(method, "result")
            if schema is None:
                problems.append(f"{where}: no schema protocol/schemas/{method.replace('/', '_')}.result.json")
            else:
                validate(message["result"], schema, where + f" ({method} result)")

# The hub's HTTP contract: every request and response body an example shows, against the schema it
# names ("schema" on the request or the response; NDJSON lines against the response's schema).
# Variables like ${tree:site} stand in for ids the replay computes: a well-formed value replaces them.
hub_root = root / "hub"
hub_examples = sorted((hub_root / "examples").glob("*.json")) if hub_root.exists() else []
hub_schemas = {p.name: json.loads(p.read_text()) for p in (hub_root / "schemas").glob("*.json")} if hub_root.exists() else {}
for schema_name, schema in hub_schemas.items():
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        problems.append(f"hub/schemas/{schema_name}: not a valid draft-07 schema: {e.message}")


def stand_ins(value):
    text = json.dumps(value)
    text = re.sub(r"\$\{(oid|tree):[^}]*\}", "0" * 40, text)
    text = re.sub(r"\$\{hub\}", "https://hub.example.com", text)
    text = re.sub(r"\$\{[a-zA-Z]+\}", "1", text)
    text = re.sub(r"\$\{content:[^}]*\}", "x", text)
    return json.loads(text)


def validate_hub(instance, schema_name, where):
    global checked
    schema = hub_schemas.get(schema_name)
    if schema is None:
        problems.append(f"{where}: no schema protocol/hub/schemas/{schema_name}")
        return
    checked += 1
    # The hub's schemas refer to the shared ones (an event line's event is protocol/schemas/event.json).
    store = {s.get("$id", n): s for n, s in schemas.items()}
    store.update({s.get("$id", n): s for n, s in hub_schemas.items()})
    resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
    for error in jsonschema.Draft7Validator(schema, resolver=resolver).iter_errors(stand_ins(instance)):
        problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")


for path in hub_examples:
    example = json.loads(path.read_text())
    for i, exchange in enumerate(example.get("exchanges", [])):
        where = f"hub/examples/{path.name} exchange {i}"
        request, response = exchange["request"], exchange["response"]
        if "schema" in request and "json" in request:
            validate_hub(request["json"], request["schema"], where + " (request)")
        if "schema" in response:
            if "json" in response:
                validate_hub(response["json"], response["schema"], where + " (response)")
            for j, line in enumerate(response.get("ndjson", [])):
                full = {"seq": j + 1, "time": "2026-11-30T09:00:00.000Z"}
                full.update(line)
                if isinstance(line.get("event"), dict):  # a partial event: the fields a replay does not pin
                    full["event"] = {"event": "progress", "message": "m", "percent": 20, **line["event"]}
                validate_hub(full, response["schema"], where + f" (event line {j})")
        if response.get("status", 200) >= 400 and "json" in response:
            validate_hub(response["json"], "error.json", where + " (error)")
if hub_root.exists() and not hub_examples:
    problems.append("no hub examples found")

for p in problems:
    print(p)
print(f"protocol examples: {checked} messages checked against their schemas in {len(examples) + len(hub_examples)} "
      f"examples, {len(problems)} problems")
sys.exit(1 if problems else 0)
