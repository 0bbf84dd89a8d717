//! Lambda event filtering (`FilterCriteria.Filters[].Pattern`), evaluated against a
//! stream record in its Lambda JSON shape.
//!
//! Semantics follow the EventBridge-style patterns Lambda documents:
//! - a pattern is a JSON object; every key must match (AND); a nested object descends
//!   into the record's object of the same key;
//! - a leaf is an array of alternatives (OR): string, number, bool or `null` literals,
//!   or one of the operators `{"prefix": "…"}`, `{"exists": bool}`,
//!   `{"anything-but": value | [values] | {"prefix": "…"}}`,
//!   `{"numeric": [op, n, (op, n)]}` with ops `= < <= > >=`;
//! - when the record's value is an array, the leaf matches if any element matches;
//! - a missing field (at any depth) matches only `{"exists": false}`; `anything-but`, `prefix` and
//!   `numeric` need the field present; `exists` looks at leaves only (an object value
//!   is an intermediate node, so `exists: true` does not match it);
//! - numbers compare numerically; `numeric` applies to JSON numbers only, so it does
//!   not match DynamoDB `{"N": "12"}` values, which are strings in the record;
//! - several filters are ORed; no filters at all means every record passes.
//!
//! A leaf that is not an array is rejected when the pattern is parsed, as Lambda
//! rejects it when the mapping is created.

use anyhow::{anyhow, bail, Context};
use serde_json::{Map, Value};

/// One compiled `Pattern`.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    source: String,
    root: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
enum Node {
    Object(Vec<(String, Node)>),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone)]
enum Matcher {
    Literal(Value),
    Prefix(String),
    Exists(bool),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    Numeric(Vec<(Cmp, f64)>),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl FilterPattern {
    /// Parses one pattern (the JSON string of `Filters[].Pattern`).
    pub fn parse(pattern: &str) -> anyhow::Result<Self> {
        let value: Value = serde_json::from_str(pattern)
            .with_context(|| format!("filter pattern is not JSON: {pattern}"))?;
        let Value::Object(map) = value else {
            bail!("filter pattern must be a JSON object: {pattern}");
        };
        let root = compile_object(&map).with_context(|| format!("in filter pattern {pattern}"))?;
        Ok(Self {
            source: pattern.to_owned(),
            root,
        })
    }

    /// The pattern as written in the template.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `record` (Lambda JSON shape) matches this pattern.
    pub fn matches(&self, record: &Value) -> bool {
        match record {
            Value::Object(map) => object_matches(&self.root, map),
            _ => false,
        }
    }
}

/// Lambda's rule for several filters: a record passes if any filter matches; with no
/// filters every record passes.
pub fn matches_any(filters: &[FilterPattern], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(record))
}

fn compile_object(map: &Map<String, Value>) -> anyhow::Result<Vec<(String, Node)>> {
    map.iter()
        .map(|(key, value)| {
            let node = match value {
                Value::Object(inner) => {
                    Node::Object(compile_object(inner).with_context(|| format!("under {key:?}"))?)
                }
                Value::Array(items) => Node::Leaf(
                    items
                        .iter()
                        .map(compile_matcher)
                        .collect::<anyhow::Result<_>>()
                        .with_context(|| format!("under {key:?}"))?,
                ),
                other => {
                    bail!("the value of {key:?} must be an array of alternatives or an object, found {other}")
                }
            };
            Ok((key.clone(), node))
        })
        .collect()
}

fn compile_matcher(item: &Value) -> anyhow::Result<Matcher> {
    let Value::Object(op) = item else {
        return match item {
            Value::Array(_) => Err(anyhow!("nested arrays are not allowed in a pattern")),
            literal => Ok(Matcher::Literal(literal.clone())),
        };
    };
    let mut entries = op.iter();
    let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
        bail!("an operator object must have exactly one key: {item}");
    };
    match (name.as_str(), arg) {
        ("prefix", Value::String(p)) => Ok(Matcher::Prefix(p.clone())),
        ("exists", Value::Bool(b)) => Ok(Matcher::Exists(*b)),
        ("anything-but", Value::Array(values)) => {
            if values.iter().any(|v| v.is_object() || v.is_array()) {
                bail!("anything-but takes literals: {item}");
            }
            Ok(Matcher::AnythingBut(values.clone()))
        }
        ("anything-but", Value::Object(inner)) => match inner.get("prefix") {
            Some(Value::String(p)) if inner.len() == 1 => Ok(Matcher::AnythingButPrefix(p.clone())),
            _ => bail!("unsupported anything-but operand: {item}"),
        },
        ("anything-but", literal) => Ok(Matcher::AnythingBut(vec![literal.clone()])),
        ("numeric", Value::Array(terms)) => compile_numeric(terms).with_context(|| format!("in {item}")),
        _ => bail!("unsupported filter operator: {item}"),
    }
}

fn compile_numeric(terms: &[Value]) -> anyhow::Result<Matcher> {
    if terms.is_empty() || !terms.len().is_multiple_of(2) || terms.len() > 4 {
        bail!("numeric takes one or two (operator, number) pairs");
    }
    let pairs = terms
        .chunks(2)
        .map(|pair| {
            let cmp = match pair[0].as_str() {
                Some("=") => Cmp::Eq,
                Some("<") => Cmp::Lt,
                Some("<=") => Cmp::Le,
                Some(">") => Cmp::Gt,
                Some(">=") => Cmp::Ge,
                _ => bail!("unknown numeric operator {}", pair[0]),
            };
            let n = pair[1]
                .as_f64()
                .ok_or_else(|| anyhow!("numeric operand {} is not a number", pair[1]))?;
            Ok((cmp, n))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Matcher::Numeric(pairs))
}

fn object_matches(fields: &[(String, Node)], record: &Map<String, Value>) -> bool {
    fields
        .iter()
        .all(|(key, node)| node_matches(node, record.get(key)))
}

fn node_matches(node: &Node, value: Option<&Value>) -> bool {
    match node {
        // Patterns address flattened paths: below a missing field (or a scalar) every
        // deeper path is missing, which only `{"exists": false}` accepts.
        Node::Object(fields) => match value {
            Some(Value::Object(map)) => object_matches(fields, map),
            _ => fields.iter().all(|(_, child)| node_matches(child, None)),
        },
        Node::Leaf(matchers) => matchers.iter().any(|m| leaf_matches(m, value)),
    }
}

fn leaf_matches(matcher: &Matcher, value: Option<&Value>) -> bool {
    match (matcher, value) {
        (Matcher::Exists(want), None) => !want,
        // An object is an intermediate node: neither "exists" nor "does not exist" as a leaf.
        (Matcher::Exists(_), Some(Value::Object(_))) => false,
        (Matcher::Exists(want), Some(_)) => *want,
        (_, None) => false,
        (_, Some(Value::Array(items))) => items.iter().any(|item| scalar_matches(matcher, item)),
        (_, Some(v)) => scalar_matches(matcher, v),
    }
}

fn scalar_matches(matcher: &Matcher, value: &Value) -> bool {
    match matcher {
        Matcher::Literal(expected) => literal_eq(expected, value),
        Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        Matcher::Exists(want) => *want,
        Matcher::AnythingBut(excluded) => {
            !value.is_object() && !excluded.iter().any(|e| literal_eq(e, value))
        }
        Matcher::AnythingButPrefix(p) => value.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
        Matcher::Numeric(terms) => match value {
            Value::Number(n) => n.as_f64().is_some_and(|x| {
                terms.iter().all(|(cmp, bound)| match cmp {
                    Cmp::Eq => x == *bound,
                    Cmp::Lt => x < *bound,
                    Cmp::Le => x <= *bound,
                    Cmp::Gt => x > *bound,
                    Cmp::Ge => x >= *bound,
                })
            }),
            _ => false,
        },
    }
}

fn literal_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: &str) -> Value {
        json!({
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"upload_id": {"S": "UPLOAD_1"}, "record_id": {"S": "REC_000001"}},
                "NewImage": {
                    "status": {"S": status},
                    "row_number": {"N": "7"},
                    "flag": {"BOOL": true},
                    "tags": {"SS": ["a", "b"]}
                },
                "SizeBytes": 120
            }
        })
    }

    fn p(s: &str) -> FilterPattern {
        match FilterPattern::parse(s) {
            Ok(p) => p,
            Err(e) => panic!("pattern {s} should parse: {e:#}"),
        }
    }

    #[test]
    fn literal_alternatives_and_nesting() {
        let f = p(
            r#"{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["pending_validation"]}}}}"#,
        );
        assert!(f.matches(&record("pending_validation")));
        assert!(!f.matches(&record("validated")));
        let modify_only = p(r#"{"eventName":["MODIFY"]}"#);
        assert!(!modify_only.matches(&record("pending_validation")));
    }

    #[test]
    fn several_filters_are_ored_and_none_passes_all() {
        let fs = vec![
            p(r#"{"dynamodb":{"NewImage":{"status":{"S":["error"]}}}}"#),
            p(r#"{"dynamodb":{"NewImage":{"status":{"S":["validated"]}}}}"#),
        ];
        assert!(matches_any(&fs, &record("error")));
        assert!(matches_any(&fs, &record("validated")));
        assert!(!matches_any(&fs, &record("pending_validation")));
        assert!(matches_any(&[], &record("whatever")));
    }

    #[test]
    fn prefix_exists_anything_but() {
        assert!(
            p(r#"{"dynamodb":{"Keys":{"upload_id":{"S":[{"prefix":"UPLOAD_"}]}}}}"#).matches(&record("x"))
        );
        assert!(!p(r#"{"dynamodb":{"Keys":{"upload_id":{"S":[{"prefix":"NOPE"}]}}}}"#).matches(&record("x")));
        // exists looks at leaves.
        assert!(p(r#"{"dynamodb":{"NewImage":{"status":{"S":[{"exists":true}]}}}}"#).matches(&record("x")));
        assert!(
            p(r#"{"dynamodb":{"NewImage":{"error_type":{"S":[{"exists":false}]}}}}"#).matches(&record("x"))
        );
        assert!(!p(r#"{"dynamodb":{"NewImage":{"status":{"S":[{"exists":false}]}}}}"#).matches(&record("x")));
        assert!(!p(r#"{"dynamodb":{"NewImage":{"status":[{"exists":true}]}}}"#).matches(&record("x")));
        // anything-but needs the field.
        let ab = p(r#"{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":["validated","error"]}]}}}}"#);
        assert!(ab.matches(&record("pending_validation")));
        assert!(!ab.matches(&record("error")));
        assert!(
            !p(r#"{"dynamodb":{"NewImage":{"nope":{"S":[{"anything-but":"x"}]}}}}"#).matches(&record("x"))
        );
        assert!(
            p(r#"{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":{"prefix":"pend"}}]}}}}"#)
                .matches(&record("error"))
        );
    }

    #[test]
    fn arrays_in_record_match_any_element_and_bools_and_numbers() {
        assert!(p(r#"{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}"#).matches(&record("x")));
        assert!(p(r#"{"dynamodb":{"NewImage":{"flag":{"BOOL":[true]}}}}"#).matches(&record("x")));
        assert!(!p(r#"{"dynamodb":{"NewImage":{"flag":{"BOOL":[false]}}}}"#).matches(&record("x")));
        assert!(p(r#"{"dynamodb":{"SizeBytes":[120.0]}}"#).matches(&record("x")));
        assert!(p(r#"{"dynamodb":{"SizeBytes":[{"numeric":[">",0,"<=",120]}]}}"#).matches(&record("x")));
        assert!(!p(r#"{"dynamodb":{"SizeBytes":[{"numeric":["<",100]}]}}"#).matches(&record("x")));
        // DynamoDB N values are strings: numeric does not apply, string literals do.
        assert!(
            !p(r#"{"dynamodb":{"NewImage":{"row_number":{"N":[{"numeric":[">",0]}]}}}}"#)
                .matches(&record("x"))
        );
        assert!(p(r#"{"dynamodb":{"NewImage":{"row_number":{"N":["7"]}}}}"#).matches(&record("x")));
        assert!(p(r#"{"v":[null]}"#).matches(&json!({"v": null})));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        for bad in [
            "not json",
            "[1]",
            r#"{"eventName":"INSERT"}"#,
            r#"{"a":[{"prefix":1}]}"#,
            r#"{"a":[{"numeric":[">"]}]}"#,
            r#"{"a":[{"wildcard":"x*"}]}"#,
            r#"{"a":[[1]]}"#,
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
