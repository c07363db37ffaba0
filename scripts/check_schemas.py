#!/usr/bin/env python3
"""Checks the providers' wire formats against their published schemas (../shared/schemas).

1. Every Railway GraphQL document the client can send validates against Railway's introspection
   schema (graphql-core).
2. Writes the fields the OpenRouter OpenAPI document requires of a key object, and of the create
   response, to the JSON file named by argv[1]; ProvidersTests hold the simulator's answers to them.
Exits 1 on any invalid document.
"""
import glob, json, os, sys

schemas = sys.argv[2]
from graphql import build_client_schema, parse, validate
schema = build_client_schema(json.load(open(os.path.join(schemas, "railway-schema.json")))["data"])
failed = False
for path in sorted(glob.glob("Sources/Providers/Railway/Documents/*.graphql")):
    errors = validate(schema, parse(open(path).read()))
    print(f"railway document {os.path.basename(path)}: {'valid' if not errors else errors}")
    failed |= bool(errors)

import yaml
spec = yaml.safe_load(open(os.path.join(schemas, "openrouter-openapi.yaml")))

def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"].lstrip("#/").split("/")
        node = spec
        for part in ref:
            node = node[part]
    return node

created = resolve(spec["paths"]["/keys"]["post"]["responses"]["201"]["content"]["application/json"]["schema"])
key = resolve(created["properties"]["data"])
json.dump({"createResponse": sorted(created.get("required", [])), "key": sorted(key.get("required", []))}, open(sys.argv[1], "w"))
print(f"openrouter key object: {len(key.get('required', []))} required fields")
sys.exit(1 if failed else 0)
