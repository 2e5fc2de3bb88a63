//! JSON Schema → the OpenAPI 3 subset Gemini's `responseSchema` accepts.
//!
//! Gemini rejects keys it does not know (`additionalProperties`, `$schema`, `const`,
//! …) with a 400, so a schema written for OpenAI's strict mode cannot be sent as is.
//! The translation keeps what Gemini understands and rewrites what it can:
//!
//! - `type` is upper-cased (`OBJECT`, `STRING`, …); `["string", "null"]` becomes
//!   `STRING` with `nullable: true`;
//! - `const: "x"` becomes `enum: ["x"]`; `enum` is kept for strings only;
//! - local `$ref`s (`#/$defs/…`, `#/definitions/…`) are inlined (a few levels deep:
//!   Gemini has no recursion);
//! - `format` is kept only where Gemini supports it (`date-time`, `enum`, `int32`,
//!   `int64`, `float`, `double`);
//! - every other key (`additionalProperties`, `$schema`, `$id`, `examples`, `oneOf`…)
//!   is dropped. The answer is still checked against the full schema by the caller.

use serde_json::{Map, Value};

/// The keys Gemini's `Schema` object takes, besides the ones handled specially.
const KEPT: [&str; 13] = [
    "title",
    "description",
    "nullable",
    "maxItems",
    "minItems",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
];

/// The `format`s Gemini supports.
const FORMATS: [&str; 6] = ["date-time", "enum", "int32", "int64", "float", "double"];

/// How deep `$ref`s are inlined before the reference is cut off.
const MAX_REF_DEPTH: usize = 8;

/// `schema` as a Gemini `responseSchema`.
pub fn openapi_schema(schema: &Value) -> Value {
    translate(schema, schema, 0)
}

fn translate(node: &Value, root: &Value, depth: usize) -> Value {
    let Some(object) = node.as_object() else { return node.clone() };
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        return match resolve(root, target) {
            Some(found) if depth < MAX_REF_DEPTH => translate(found, root, depth + 1),
            _ => Value::Object(Map::new()),
        };
    }
    let mut out = Map::new();
    let mut kind = None;
    match object.get("type") {
        Some(Value::String(t)) => kind = Some(t.as_str()),
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            kind = named.iter().copied().find(|t| *t != "null");
            if named.contains(&"null") {
                out.insert("nullable".into(), Value::Bool(true));
            }
        }
        _ => {}
    }
    if let Some(kind) = kind {
        out.insert("type".into(), Value::String(kind.to_uppercase()));
    }
    for key in KEPT {
        if let Some(v) = object.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(format) = object.get("format").and_then(Value::as_str)
        && FORMATS.contains(&format)
    {
        out.insert("format".into(), Value::String(format.to_owned()));
    }
    let all_strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    if let Some(values) = object.get("enum").filter(|v| all_strings(v)) {
        out.insert("enum".into(), values.clone());
    } else if let Some(value @ Value::String(_)) = object.get("const") {
        out.insert("enum".into(), Value::Array(vec![value.clone()]));
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        let translated =
            properties.iter().map(|(k, v)| (k.clone(), translate(v, root, depth))).collect();
        out.insert("properties".into(), Value::Object(translated));
    }
    if let Some(items) = object.get("items") {
        out.insert("items".into(), translate(items, root, depth));
    }
    if let Some(Value::Array(options)) = object.get("anyOf") {
        let translated = options.iter().map(|o| translate(o, root, depth)).collect();
        out.insert("anyOf".into(), Value::Array(translated));
    }
    Value::Object(out)
}

/// The node a local reference (`#/…`) points at.
fn resolve<'a>(root: &'a Value, target: &str) -> Option<&'a Value> {
    root.pointer(target.strip_prefix('#')?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_verdict_schema_loses_additional_properties() {
        let verdict = crate::thought::verdict::verdict_schema();
        let out = openapi_schema(&verdict);
        assert_eq!(
            out,
            json!({
                "type": "OBJECT",
                "properties": {
                    "needs_improvement": { "type": "BOOLEAN" },
                    "confidence": { "type": "NUMBER", "minimum": 0, "maximum": 1 },
                    "feedback": { "type": "STRING" },
                    "suggestions": { "type": "ARRAY", "items": { "type": "STRING" } }
                },
                "required": ["needs_improvement", "confidence", "feedback", "suggestions"]
            })
        );
    }

    #[test]
    fn nullable_types_const_enums_formats_and_refs() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": { "level": { "type": "string", "enum": ["low", "high"] } },
            "type": "object",
            "properties": {
                "note": { "type": ["string", "null"], "format": "email", "description": "d" },
                "kind": { "const": "review" },
                "n": { "type": "integer", "enum": [1, 2], "format": "int32" },
                "level": { "$ref": "#/$defs/level" },
                "missing": { "$ref": "#/$defs/nope" },
                "either": { "anyOf": [{ "type": "string" }, { "type": "number" }] }
            }
        });
        let out = openapi_schema(&schema);
        assert!(out.get("$schema").is_none() && out.get("$defs").is_none());
        let p = &out["properties"];
        assert_eq!(p["note"], json!({ "type": "STRING", "nullable": true, "description": "d" }));
        assert_eq!(p["kind"], json!({ "enum": ["review"] }));
        assert_eq!(p["n"], json!({ "type": "INTEGER", "format": "int32" }));
        assert_eq!(p["level"], json!({ "type": "STRING", "enum": ["low", "high"] }));
        assert_eq!(p["missing"], json!({}));
        assert_eq!(p["either"]["anyOf"][1], json!({ "type": "NUMBER" }));
    }

    #[test]
    fn recursive_refs_stop() {
        let schema = json!({
            "$defs": { "node": { "type": "object", "properties": { "next": { "$ref": "#/$defs/node" } } } },
            "$ref": "#/$defs/node"
        });
        let out = openapi_schema(&schema);
        let mut depth = 0;
        let mut node = &out;
        while let Some(next) = node.pointer("/properties/next") {
            node = next;
            depth += 1;
        }
        assert_eq!(depth, MAX_REF_DEPTH);
    }
}
