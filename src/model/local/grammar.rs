//! Structured output for the local model: a JSON schema becomes a GBNF grammar that the
//! sampler enforces token by token, so the answer is valid JSON of the right shape
//! every time, even from a 135M-parameter model.
//!
//! Before conversion the schema is *bounded*: every array without a `maxItems` gets
//! one, and every string without a `maxLength` gets one sized so that the whole answer
//! fits in the request's token cap (an unbounded string would let a small model ramble
//! until the cap cuts the JSON in half). The same schema also yields an example
//! answer, shown to the model in the system prompt.

use serde_json::{Map, Value, json};

/// Longest string value allowed in a structured answer, in characters.
pub(crate) const MAX_STRING_CHARS: u64 = 280;
/// Shortest string bound, however small the token cap.
const MIN_STRING_CHARS: u64 = 40;
/// Most items allowed in an array of a structured answer.
pub(crate) const MAX_ITEMS: u64 = 3;
/// Characters of string content per token of the cap, conservatively (English prose
/// averages about four characters per token).
const CHARS_PER_TOKEN: u64 = 3;
/// Tokens kept for the JSON punctuation and keys.
const STRUCTURE_TOKENS: u64 = 40;

/// `schema` with every unbounded array and string bounded so that an answer fits in
/// `max_tokens` tokens (see the module docs).
pub(crate) fn bounded(schema: &Value, max_tokens: u32) -> Value {
    let slots = string_slots(schema).max(1);
    let budget = u64::from(max_tokens).saturating_sub(STRUCTURE_TOKENS) * CHARS_PER_TOKEN;
    let per_string = (budget / slots).clamp(MIN_STRING_CHARS, MAX_STRING_CHARS);
    let mut schema = schema.clone();
    walk(&mut schema, &mut |map| {
        let types = type_names(map);
        let free_string =
            types.contains(&"string") && !map.contains_key("enum") && !map.contains_key("const");
        let array = types.contains(&"array");
        if free_string {
            map.entry("maxLength").or_insert(json!(per_string));
        }
        if array {
            map.entry("maxItems").or_insert(json!(MAX_ITEMS));
        }
    });
    schema
}

/// How many free strings an answer to `schema` holds at most once arrays are bounded
/// (an array of strings counts [`MAX_ITEMS`]).
fn string_slots(node: &Value) -> u64 {
    let Value::Object(map) = node else { return 0 };
    let types = type_names(map);
    let mut n = 0;
    if types.contains(&"string") && !map.contains_key("enum") && !map.contains_key("const") {
        n += 1;
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        n += props.values().map(string_slots).sum::<u64>();
    }
    if let Some(items) = map.get("items") {
        let most = map.get("maxItems").and_then(Value::as_u64).unwrap_or(MAX_ITEMS);
        n += most.min(MAX_ITEMS) * string_slots(items);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get(key) {
            n += options.iter().map(string_slots).max().unwrap_or(0);
        }
    }
    n
}

/// Calls `f` on every schema node under `node`, `node` included.
fn walk(node: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Value::Object(map) = node else { return };
    f(map);
    for key in ["properties", "$defs", "definitions", "patternProperties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(|child| walk(child, f));
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            walk(child, f);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(|child| walk(child, f));
        }
    }
}

/// The `type` of a schema node as a list (`"type": "string"` or `["string", "null"]`).
fn type_names(map: &Map<String, Value>) -> Vec<&str> {
    match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The GBNF grammar (root rule `root`) that accepts exactly the JSON `schema` allows.
pub(crate) fn to_grammar(schema: &Value) -> Result<String, String> {
    llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| e.to_string())
}

/// An example value of `schema`: its first `examples` entry if it has one, else one made
/// from the types (a boolean is `true`, a number sits at 80 % of its range, a string
/// is a placeholder naming its field, an array holds one item).
pub(crate) fn example(schema: &Value) -> Value {
    example_of(schema, "value")
}

fn example_of(schema: &Value, field: &str) -> Value {
    let Value::Object(map) = schema else { return Value::Null };
    if let Some(Value::Array(examples)) = map.get("examples")
        && let Some(first) = examples.first()
    {
        return first.clone();
    }
    for key in ["const", "default"] {
        if let Some(v) = map.get(key) {
            return v.clone();
        }
    }
    if let Some(Value::Array(options)) = map.get("enum")
        && let Some(first) = options.first()
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get(key)
            && let Some(first) = options.first()
        {
            return example_of(first, field);
        }
    }
    let types = type_names(map);
    let ty = types.iter().copied().find(|t| *t != "null").unwrap_or("object");
    match ty {
        "boolean" => Value::Bool(true),
        "integer" => {
            let (lo, hi) = range(map);
            json!((lo + (hi - lo) * 0.8).round() as i64)
        }
        "number" => {
            let (lo, hi) = range(map);
            json!(((lo + (hi - lo) * 0.8) * 100.0).round() / 100.0)
        }
        "string" => Value::String(format!("<{}>", field.replace('_', " "))),
        "array" => {
            let item = map.get("items").map_or(Value::Null, |items| {
                example_of(items, &format!("{} item", singular(field)))
            });
            Value::Array(vec![item])
        }
        _ => {
            let mut out = Map::new();
            if let Some(Value::Object(props)) = map.get("properties") {
                for (name, prop) in props {
                    out.insert(name.clone(), example_of(prop, name));
                }
            }
            Value::Object(out)
        }
    }
}

/// `minimum` and `maximum`, defaulting to 0 and 1.
fn range(map: &Map<String, Value>) -> (f64, f64) {
    let lo = map.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
    let hi = map.get("maximum").and_then(Value::as_f64).unwrap_or(lo + 1.0);
    (lo, hi)
}

fn singular(field: &str) -> &str {
    field.strip_suffix('s').unwrap_or(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::verdict::verdict_schema;

    #[test]
    fn strings_and_arrays_get_bounds_and_existing_bounds_stay() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": { "type": "string" },
                "b": { "type": "string", "maxLength": 10 },
                "c": { "type": "array", "items": { "type": "string" } },
                "d": { "type": "string", "enum": ["x", "y"] },
                "e": { "anyOf": [{ "type": "string" }, { "type": "null" }] }
            }
        });
        let b = bounded(&schema, 4096);
        assert_eq!(b["properties"]["a"]["maxLength"], MAX_STRING_CHARS);
        assert_eq!(b["properties"]["b"]["maxLength"], 10);
        assert_eq!(b["properties"]["c"]["maxItems"], MAX_ITEMS);
        assert_eq!(b["properties"]["c"]["items"]["maxLength"], MAX_STRING_CHARS);
        assert!(b["properties"]["d"].get("maxLength").is_none());
        assert_eq!(b["properties"]["e"]["anyOf"][0]["maxLength"], MAX_STRING_CHARS);
    }

    #[test]
    fn string_bounds_shrink_with_the_token_cap() {
        // The verdict holds at most 1 + 3 free strings.
        assert_eq!(string_slots(&verdict_schema()), 4);
        let small = bounded(&verdict_schema(), 256);
        let per_string = small["properties"]["feedback"]["maxLength"].as_u64().unwrap();
        assert_eq!(per_string, (256 - STRUCTURE_TOKENS) * CHARS_PER_TOKEN / 4);
        assert_eq!(small["properties"]["suggestions"]["items"]["maxLength"], per_string);
        let tiny = bounded(&verdict_schema(), 8);
        assert_eq!(tiny["properties"]["feedback"]["maxLength"], MIN_STRING_CHARS);
    }

    #[test]
    fn the_verdict_example_has_every_field_with_the_right_type() {
        let ex = example(&verdict_schema());
        assert_eq!(ex["needs_improvement"], true);
        let confidence = ex["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence), "{confidence}");
        assert_eq!(ex["feedback"], "<feedback>");
        assert_eq!(ex["suggestions"], json!(["<suggestion item>"]));
        let parsed: crate::thought::verdict::VerdictJson = serde_json::from_value(ex).unwrap();
        assert!(parsed.needs_improvement);
    }

    #[test]
    fn examples_in_the_schema_win() {
        let schema = json!({ "type": "object", "examples": [{ "k": 1 }] });
        assert_eq!(example(&schema), json!({ "k": 1 }));
        assert_eq!(example(&json!({ "type": "string", "enum": ["a", "b"] })), json!("a"));
        assert_eq!(example(&json!({ "type": "integer", "minimum": 1, "maximum": 6 })), json!(5));
    }

    #[test]
    fn the_verdict_schema_converts_to_a_grammar() {
        let grammar = to_grammar(&bounded(&verdict_schema(), 384)).unwrap();
        assert!(grammar.contains("root ::="), "{grammar}");
        assert!(grammar.contains("needs_improvement"), "{grammar}");
    }
}
