#!/usr/bin/env python3
"""Rewrite the Gateway targets' inline tool schemas in infra/template.yaml from
infra/tool-schemas/{target}.json, the single source of truth the tool tests use.

Usage: embed-tool-schemas.py [--check] [--template PATH] [--schemas DIR]
  --check   do not write; exit 1 if the template is out of date (used by `make lint`).

The CloudFormation/Gateway ToolDefinition is not full JSON Schema: it takes
Name, Description, InputSchema (and OutputSchema), and a SchemaDefinition holds only
Type, Description, Properties, Items and Required. So each schema is *projected*:
keys are renamed to that PascalCase form and every other keyword (pattern, minimum,
enum, additionalProperties, oneOf, ...) is dropped -- the handlers still enforce the
full schema (the tool tests check that). Put a constraint an agent should know about
into the description. tests/src/template.rs implements the same projection and
tests/tests/template.rs fails when the template and the files differ.

Each block sits between marker comments inside the target's Lambda configuration:
            # BEGIN tool-schema reviews
            ...
            # END tool-schema reviews
"""
import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_TYPES = {"string", "number", "object", "array", "boolean", "integer"}


def project_schema(schema, where):
    if not isinstance(schema, dict):
        raise SystemExit(f"{where}: a schema must be a JSON object")
    ty = schema.get("type")
    if isinstance(ty, list):
        ty = next((t for t in ty if t != "null"), None)
    if ty is None and "properties" in schema:
        ty = "object"
    if ty not in SCHEMA_TYPES:
        raise SystemExit(f"{where}: type {schema.get('type')!r} cannot be expressed in a Gateway tool schema")
    out = {"Type": ty}
    if isinstance(schema.get("description"), str):
        out["Description"] = schema["description"]
    if isinstance(schema.get("properties"), dict):
        out["Properties"] = {
            name: project_schema(sub, f"{where}.properties.{name}")
            for name, sub in schema["properties"].items()
        }
    if isinstance(schema.get("items"), dict):
        out["Items"] = project_schema(schema["items"], f"{where}.items")
    if isinstance(schema.get("required"), list) and schema["required"]:
        out["Required"] = list(schema["required"])
    return out


def project_tools(tools, where):
    if not isinstance(tools, list) or not tools:
        raise SystemExit(f"{where}: expected a non-empty JSON array of tools")
    out = []
    for i, tool in enumerate(tools):
        w = f"{where}[{i}]"
        for key in ("name", "description", "inputSchema"):
            if key not in tool:
                raise SystemExit(f"{w}: missing {key!r}")
        t = {
            "Name": tool["name"],
            "Description": tool["description"],
            "InputSchema": project_schema(tool["inputSchema"], f"{w}.inputSchema"),
        }
        if "outputSchema" in tool:
            t["OutputSchema"] = project_schema(tool["outputSchema"], f"{w}.outputSchema")
        out.append(t)
    return out


def render(indent, target, payload):
    pad = " " * indent
    body = json.dumps(payload, indent=2, ensure_ascii=True)
    # JSON is YAML: the flow sequence continues on lines indented deeper than its key.
    lines = body.splitlines()
    flow = lines[0] + "".join("\n" + pad + "    " + line for line in lines[1:])
    return (
        f"{pad}# BEGIN tool-schema {target}\n"
        f"{pad}ToolSchema:\n"
        f"{pad}  InlinePayload: {flow}\n"
        f"{pad}# END tool-schema {target}\n"
    )


BLOCK = re.compile(
    r"^(?P<pad>[ ]*)# BEGIN tool-schema (?P<target>[a-z0-9-]+)\n.*?^[ ]*# END tool-schema (?P=target)\n",
    re.S | re.M,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--template", default=str(ROOT / "infra" / "template.yaml"))
    ap.add_argument("--schemas", default=str(ROOT / "infra" / "tool-schemas"))
    args = ap.parse_args()

    template = pathlib.Path(args.template)
    text = template.read_text(encoding="utf-8")
    seen = []

    def replace(m):
        target = m.group("target")
        path = pathlib.Path(args.schemas) / f"{target}.json"
        try:
            tools = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: {e}")
        seen.append(target)
        return render(len(m.group("pad")), target, project_tools(tools, str(path)))

    new = BLOCK.sub(replace, text)
    if not seen:
        raise SystemExit(f"{template}: no '# BEGIN tool-schema' blocks found")
    if args.check:
        if new != text:
            print(f"{template} is out of date with {args.schemas}: run {sys.argv[0]}", file=sys.stderr)
            return 1
        print(f"tool schemas in {template.name} match {args.schemas} ({', '.join(seen)})")
        return 0
    if new != text:
        template.write_text(new, encoding="utf-8")
        print(f"rewrote tool schemas: {', '.join(seen)}")
    else:
        print("tool schemas already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
