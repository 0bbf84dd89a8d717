//! Reading a tool's arguments object: every argument by name and JSON type, every
//! problem collected (not just the first), and any argument the tool does not know
//! refused. JSON `null` is a wrong type like any other: the tool schemas declare no
//! nullable argument, so "leave it out" is the only way to omit one.

use super::{ArgumentProblem, ToolError};
use serde_json::{Map, Value};

pub struct Args {
    map: Map<String, Value>,
    known: Vec<&'static str>,
    problems: Vec<ArgumentProblem>,
}

impl Args {
    /// The Gateway's event is the arguments object itself.
    pub fn from_event(event: Value) -> Result<Args, ToolError> {
        match event {
            Value::Object(map) => Ok(Args {
                map,
                known: Vec::new(),
                problems: Vec::new(),
            }),
            other => Err(ToolError::invalid_argument(
                "(arguments)",
                format!("must be a JSON object, got {}", json_type(&other)),
            )),
        }
    }

    pub fn problem(&mut self, argument: &str, problem: impl Into<String>) {
        self.problems.push(ArgumentProblem {
            argument: argument.to_string(),
            problem: problem.into(),
        });
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.map.get(name).cloned()
    }

    fn wrong_type(&mut self, name: &str, expected: &str, got: &Value) {
        self.problem(name, format!("must be {expected}, got {}", json_type(got)));
    }

    pub fn string(&mut self, name: &'static str) -> Option<String> {
        match self.take(name)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong_type(name, "a string", &other);
                None
            }
        }
    }

    pub fn required_string(&mut self, name: &'static str) -> Option<String> {
        let present = self.map.contains_key(name);
        let v = self.string(name);
        if !present {
            self.problem(name, "is required");
        }
        v
    }

    /// JSON Schema's `integer`: a number with no fractional part (`5` or `5.0`).
    pub fn integer(&mut self, name: &'static str) -> Option<i64> {
        match self.take(name)? {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(i)
                } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                    Some(f as i64)
                } else {
                    self.problem(name, format!("must be an integer, got {n}"));
                    None
                }
            }
            other => {
                self.wrong_type(name, "an integer", &other);
                None
            }
        }
    }

    pub fn required_integer(&mut self, name: &'static str) -> Option<i64> {
        let present = self.map.contains_key(name);
        let v = self.integer(name);
        if !present {
            self.problem(name, "is required");
        }
        v
    }

    pub fn integer_in(&mut self, name: &'static str, min: i64, max: i64) -> Option<i64> {
        let v = self.integer(name)?;
        if v < min || v > max {
            self.problem(name, format!("must be between {min} and {max}, got {v}"));
            return None;
        }
        Some(v)
    }

    pub fn boolean(&mut self, name: &'static str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(b) => Some(b),
            other => {
                self.wrong_type(name, "a boolean", &other);
                None
            }
        }
    }

    pub fn object(&mut self, name: &'static str) -> Option<Map<String, Value>> {
        match self.take(name)? {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(name, "an object", &other);
                None
            }
        }
    }

    /// Refuses arguments nobody asked for, then answers every problem found.
    pub fn finish(mut self) -> Result<(), ToolError> {
        let mut unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .cloned()
            .collect();
        unknown.sort();
        for k in unknown {
            let allowed = self.known.join(", ");
            self.problem(
                &k,
                format!("is not an argument of this tool (allowed: {allowed})"),
            );
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ToolError::invalid_arguments(self.problems))
        }
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks the keys of a nested object argument against the ones it may have.
pub fn unknown_keys(obj: &Map<String, Value>, allowed: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = obj
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_problem_and_unknown_arguments() {
        let mut a = Args::from_event(json!({"limit": "ten", "flag": null, "extra": 1}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.integer("limit"), None);
        assert_eq!(a.boolean("flag"), None);
        assert_eq!(a.required_string("name"), None);
        let err = a.finish().err().map(|e| e.details.len());
        assert_eq!(err, Some(4));
    }

    #[test]
    fn integers_may_be_written_with_a_zero_fraction() {
        let mut a = Args::from_event(json!({"a": 5.0, "b": 5.5})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.integer("a"), Some(5));
        assert_eq!(a.integer("b"), None);
        assert!(a.finish().is_err());
    }

    #[test]
    fn the_event_must_be_an_object() {
        assert!(Args::from_event(json!([1])).is_err());
        assert!(Args::from_event(json!(null)).is_err());
    }
}
