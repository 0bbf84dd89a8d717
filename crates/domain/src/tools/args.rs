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

    fn args(event: Value) -> Args {
        Args::from_event(event).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each problem as `argument: problem`, in the order found.
    fn problems(a: Args) -> Vec<String> {
        match a.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e
                .details
                .into_iter()
                .map(|d| format!("{}: {}", d.argument, d.problem))
                .collect(),
        }
    }

    #[test]
    fn has_problems_says_whether_any_problem_was_found_so_far() {
        let mut a = args(json!({"name": "x", "n": "ten"}));
        assert!(!a.has_problems());
        assert_eq!(a.string("name").as_deref(), Some("x"));
        assert!(!a.has_problems(), "a good argument is no problem");
        assert_eq!(a.integer("n"), None);
        assert!(a.has_problems());
    }

    #[test]
    fn each_reader_takes_its_own_type_and_names_the_type_it_got_otherwise() {
        let mut a = args(json!({
            "s": "text", "i": 7, "b": true, "o": {"k": 1},
            "s_bad": 1, "i_bad": "7", "b_bad": "true", "o_bad": [1], "null": null,
        }));
        assert_eq!(a.string("s").as_deref(), Some("text"));
        assert_eq!(a.integer("i"), Some(7));
        assert_eq!(a.boolean("b"), Some(true));
        assert_eq!(a.object("o").map(|o| o.len()), Some(1));
        assert_eq!(a.string("s_bad"), None);
        assert_eq!(a.integer("i_bad"), None);
        assert_eq!(a.boolean("b_bad"), None);
        assert_eq!(a.object("o_bad"), None);
        assert_eq!(a.string("null"), None);
        // Absent: no value and no problem.
        assert_eq!(a.string("absent"), None);
        assert_eq!(a.integer("absent_too"), None);
        assert_eq!(
            problems(a),
            vec![
                "s_bad: must be a string, got a number",
                "i_bad: must be an integer, got a string",
                "b_bad: must be a boolean, got a string",
                "o_bad: must be an object, got an array",
                "null: must be a string, got null",
            ]
        );
    }

    #[test]
    fn a_required_argument_is_a_problem_only_when_absent() {
        let mut a = args(json!({"s": "x", "i": 3, "wrong": false}));
        assert_eq!(a.required_string("s").as_deref(), Some("x"));
        assert_eq!(a.required_integer("i"), Some(3));
        assert_eq!(a.required_string("wrong"), None);
        assert_eq!(a.required_string("missing_s"), None);
        assert_eq!(a.required_integer("missing_i"), None);
        assert_eq!(
            problems(a),
            vec![
                "wrong: must be a string, got a boolean",
                "missing_s: is required",
                "missing_i: is required",
            ]
        );
    }

    #[test]
    fn integer_in_keeps_both_bounds_and_refuses_one_past_each() {
        let mut a = args(json!({"lo": 1, "hi": 100, "under": 0, "over": 101, "frac": 2.5, "big": 1e16}));
        assert_eq!(a.integer_in("lo", 1, 100), Some(1));
        assert_eq!(a.integer_in("hi", 1, 100), Some(100));
        assert_eq!(a.integer_in("under", 1, 100), None);
        assert_eq!(a.integer_in("over", 1, 100), None);
        assert_eq!(a.integer("frac"), None);
        assert_eq!(a.integer("big"), None, "beyond what a double holds exactly");
        assert_eq!(
            problems(a),
            vec![
                "under: must be between 1 and 100, got 0",
                "over: must be between 1 and 100, got 101",
                "frac: must be an integer, got 2.5",
                "big: must be an integer, got 1e+16",
            ]
        );
        let mut negative = args(json!({"n": -5.0}));
        assert_eq!(negative.integer("n"), Some(-5));
        // A float is taken as an integer only below 9e15, where doubles are still exact.
        let mut edge = args(json!({"below": 8.5e15, "at": 9e15}));
        assert_eq!(edge.integer("below"), Some(8_500_000_000_000_000));
        assert_eq!(edge.integer("at"), None);
    }

    #[test]
    fn finish_refuses_unknown_arguments_naming_the_allowed_ones() {
        let mut a = args(json!({"b": 1, "zz": 1, "aa": 2}));
        assert_eq!(a.integer("b"), Some(1));
        assert_eq!(a.string("c"), None);
        assert_eq!(
            problems(a),
            vec![
                "aa: is not an argument of this tool (allowed: b, c)",
                "zz: is not an argument of this tool (allowed: b, c)",
            ]
        );
        let mut fine = args(json!({"b": 1}));
        assert_eq!(fine.integer("b"), Some(1));
        assert!(fine.finish().is_ok());
    }

    #[test]
    fn json_types_are_named_as_a_sentence_would() {
        let names: Vec<&str> = [
            json!(null),
            json!(true),
            json!(1),
            json!("s"),
            json!([]),
            json!({}),
        ]
        .iter()
        .map(json_type)
        .collect();
        assert_eq!(
            names,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[test]
    fn unknown_keys_of_a_nested_object_are_sorted() {
        let obj = json!({"z": 1, "a": 2, "ok": 3});
        let Value::Object(obj) = obj else {
            panic!("an object")
        };
        assert_eq!(unknown_keys(&obj, &["ok"]), vec!["a", "z"]);
        assert!(unknown_keys(&obj, &["a", "ok", "z"]).is_empty());
    }
}
