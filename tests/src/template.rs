//! Reading `infra/template.yaml` in tests: YAML with CloudFormation short tags becomes
//! the JSON form CloudFormation itself works on (`!GetAtt A.B` is
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Ref X` is `{"Ref": "X"}`), so tests compare plain
//! `serde_json::Value`s.

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."))
}

pub fn template_path() -> PathBuf {
    workspace_root().join("infra").join("template.yaml")
}

/// The template as CloudFormation's JSON form.
pub fn load_template() -> anyhow::Result<Value> {
    let path = template_path();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse_template(&text)
}

pub fn parse_template(text: &str) -> anyhow::Result<Value> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).context("template is not YAML")?;
    yaml_to_json(yaml)
}

pub fn yaml_to_json(value: serde_yaml::Value) -> anyhow::Result<Value> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                let f = n
                    .as_f64()
                    .ok_or_else(|| anyhow!("number {n} is not representable"))?;
                json!(f)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => bail!("unsupported mapping key {other:?}"),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let inner = yaml_to_json(tagged.value)?;
            match name.as_str() {
                "Ref" => json!({ "Ref": inner }),
                "Condition" => json!({ "Condition": inner }),
                // `!GetAtt Res.Attr` is the string form of `[Res, Attr]`.
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (res, attr) = s
                            .split_once('.')
                            .ok_or_else(|| anyhow!("!GetAtt {s} has no attribute"))?;
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    })
}

/// `Resources` of the template, by logical id.
pub fn resources(template: &Value) -> anyhow::Result<&Map<String, Value>> {
    template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("template has no Resources"))
}

pub fn resource<'a>(template: &'a Value, logical_id: &str) -> anyhow::Result<&'a Value> {
    resources(template)?
        .get(logical_id)
        .ok_or_else(|| anyhow!("template has no resource {logical_id}"))
}

pub fn properties<'a>(template: &'a Value, logical_id: &str) -> anyhow::Result<&'a Value> {
    resource(template, logical_id)?
        .get("Properties")
        .ok_or_else(|| anyhow!("{logical_id} has no Properties"))
}

/// Logical ids of the resources of one type.
pub fn ids_of_type(template: &Value, ty: &str) -> anyhow::Result<Vec<String>> {
    Ok(resources(template)?
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
        .map(|(id, _)| id.clone())
        .collect())
}

/// `{"Fn::GetAtt": [id, attr]}` → `id` when the attribute matches.
pub fn get_att_target<'a>(value: &'a Value, attr: &str) -> Option<&'a str> {
    let parts = value.get("Fn::GetAtt")?.as_array()?;
    match parts.as_slice() {
        [Value::String(id), Value::String(a)] if a == attr => Some(id),
        _ => None,
    }
}

/// Every statement of a policy document's `Statement`, with the branches of
/// `Fn::If` (both sides) flattened and `AWS::NoValue` dropped.
pub fn flatten_statements(statements: &Value) -> Vec<&Value> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) if o.contains_key("Fn::If") => {
                if let Some(Value::Array(parts)) = o.get("Fn::If") {
                    parts.iter().skip(1).for_each(|p| walk(p, out));
                }
            }
            Value::Object(o) if o.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") => {}
            Value::Object(_) => out.push(v),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(statements, &mut out);
    out
}

/// A string or a list of strings (IAM `Action`, `Resource`) as a list; intrinsic
/// functions are kept as their JSON text.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
            .collect(),
        Some(other) => vec![other.to_string()],
    }
}

const SCHEMA_TYPES: [&str; 6] = ["string", "number", "object", "array", "boolean", "integer"];

/// The projection `scripts/infra/embed-tool-schemas.py` applies: JSON Schema tool
/// definitions (`name`, `description`, `inputSchema`) → the Gateway's ToolDefinition
/// (`Name`, `Description`, `InputSchema` of `Type`/`Description`/`Properties`/`Items`/
/// `Required`; other keywords are not expressible and dropped).
pub fn project_tools(tools: &Value) -> anyhow::Result<Value> {
    let tools = tools
        .as_array()
        .ok_or_else(|| anyhow!("tool schema file is not an array"))?;
    if tools.is_empty() {
        bail!("tool schema file is empty");
    }
    let mut out = Vec::new();
    for tool in tools {
        let field = |k: &str| tool.get(k).ok_or_else(|| anyhow!("tool {tool} has no {k}"));
        let mut t = Map::new();
        t.insert("Name".into(), field("name")?.clone());
        t.insert("Description".into(), field("description")?.clone());
        t.insert("InputSchema".into(), project_schema(field("inputSchema")?)?);
        if let Some(output) = tool.get("outputSchema") {
            t.insert("OutputSchema".into(), project_schema(output)?);
        }
        out.push(Value::Object(t));
    }
    Ok(Value::Array(out))
}

pub fn project_schema(schema: &Value) -> anyhow::Result<Value> {
    let o = schema
        .as_object()
        .ok_or_else(|| anyhow!("schema {schema} is not an object"))?;
    let ty = match o.get("type") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    };
    let ty = match ty {
        None if o.contains_key("properties") => "object",
        Some(t) if SCHEMA_TYPES.contains(&t) => t,
        _ => bail!("schema {schema} has no type a Gateway tool schema can express"),
    };
    let mut out = Map::new();
    out.insert("Type".into(), json!(ty));
    if let Some(Value::String(d)) = o.get("description") {
        out.insert("Description".into(), json!(d));
    }
    if let Some(Value::Object(props)) = o.get("properties") {
        let mut p = Map::new();
        for (name, sub) in props {
            p.insert(name.clone(), project_schema(sub)?);
        }
        out.insert("Properties".into(), Value::Object(p));
    }
    if let Some(items @ Value::Object(_)) = o.get("items") {
        out.insert("Items".into(), project_schema(items)?);
    }
    if let Some(Value::Array(required)) = o.get("required") {
        if !required.is_empty() {
            out.insert("Required".into(), Value::Array(required.clone()));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_form_intrinsics() {
        let v = parse_template(
            "A: !GetAtt T.StreamArn\nB: !Ref X\nC: !If [Cond, !Sub 'a-${X}', !Ref AWS::NoValue]\nD: !Condition Y\n",
        );
        let v = match v {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(v["A"], json!({"Fn::GetAtt": ["T", "StreamArn"]}));
        assert_eq!(v["B"], json!({"Ref": "X"}));
        assert_eq!(
            v["C"],
            json!({"Fn::If": ["Cond", {"Fn::Sub": "a-${X}"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(v["D"], json!({"Condition": "Y"}));
    }
}
