//! The cache key: what makes two requests "the same", written as canonical JSON and
//! hashed with a stable 128-bit hash, so the key is the same in every process (the file
//! and Redis tiers are shared across runs and machines).
//!
//! # What goes into the key
//!
//! A version tag (`v1`), then:
//! - the provider and model names (as the wrapped model reports them), and the
//!   endpoint (the base URL) when the cache layer was given one — two servers may serve
//!   different models under one name;
//! - every message, in order: its role and its content **normalised** as follows —
//!   line endings `\r\n` become `\n`, and whitespace at both ends of the content is
//!   trimmed; nothing else changes (inner whitespace, case and Unicode are kept as sent);
//! - the sampling parameters (temperature, max tokens; absent ones as `null`);
//! - the response format: `text`, `json_object`, or `json_schema` with its name and
//!   schema (object keys sorted, so the order a schema was written in does not matter);
//! - the sample index (see [`with_sample`]), 0 by default.
//!
//! # The hash
//!
//! XXH3, 128 bits, over the UTF-8 bytes of the canonical JSON (`xxhash-rust`: fully
//! specified and the same on every platform, so every process and machine computes the
//! same key, at a fraction of a CPU instruction per byte). It is not a cryptographic
//! hash: the cache is the user's own, not fed by an adversary. As a guard against an
//! accidental collision or an entry written by another key version, every stored entry
//! carries a second, independent 64-bit check of the same text (XXH3-64 with its own
//! seed), verified on read ([`CacheKey::check`]).
//!
//! The canonical text is written straight from the request — no intermediate JSON
//! value, no copy of the messages — since a key is computed for every call.

use crate::json::{push_str, push_value as push_json};
use crate::model::{Request, ResponseFormat, Role};
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The version of the key layout; bump it when what goes into the key changes.
const VERSION: u32 = 2;

tokio::task_local! {
    static SAMPLE: u32;
}

/// Run `fut` with the cache's sample index set to `index`.
///
/// When one request is deliberately sent k times to get k different answers (sampling
/// with temperature > 0, e.g. self-consistency voting), run the i-th call inside
/// `with_sample(i, …)`: each index gets its own cache entry, so the k answers stay k
/// answers on a repeated run instead of collapsing into one. Outside it the index is 0.
/// The index is task-local: it holds for every call `fut` makes, even across
/// `join_all` of several scoped futures in one task.
pub async fn with_sample<F: Future>(index: u32, fut: F) -> F::Output {
    SAMPLE.scope(index, fut).await
}

/// The sample index of the current task (0 outside [`with_sample`]).
pub fn current_sample() -> u32 {
    SAMPLE.try_with(|s| *s).unwrap_or(0)
}

/// A stable key for one request to one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    hash: u128,
    check: u64,
}

impl CacheKey {
    /// The key of `request` sent to `model` of `provider` (at `endpoint`, if given)
    /// with sample index `sample`.
    pub fn new(
        provider: &str,
        model: &str,
        endpoint: Option<&str>,
        request: &Request,
        sample: u32,
    ) -> Self {
        let text = canonical_bytes(provider, model, endpoint, request, sample);
        Self {
            hash: xxhash_rust::xxh3::xxh3_128(&text),
            check: xxhash_rust::xxh3::xxh3_64_with_seed(&text, CHECK_SEED),
        }
    }

    /// The 128-bit hash.
    pub fn hash(&self) -> u128 {
        self.hash
    }

    /// The independent 64-bit check stored with an entry and verified on read.
    pub fn check(&self) -> u64 {
        self.check
    }

    /// The hash as 32 lowercase hex digits: the file name and the Redis key suffix.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.hash)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.hash)
    }
}

/// The seed of the independent check hash.
const CHECK_SEED: u64 = 0x7265_6472_6166_7421;

/// The canonical JSON text hashed into the key (see the module docs): an object with
/// its keys in sorted order, no spaces.
pub fn canonical_text(
    provider: &str,
    model: &str,
    endpoint: Option<&str>,
    request: &Request,
    sample: u32,
) -> String {
    let bytes = canonical_bytes(provider, model, endpoint, request, sample);
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`canonical_text`] as the UTF-8 bytes that are hashed.
fn canonical_bytes(
    provider: &str,
    model: &str,
    endpoint: Option<&str>,
    request: &Request,
    sample: u32,
) -> Vec<u8> {
    let size: usize = request.messages.iter().map(|m| m.content.len() + 16).sum();
    let mut out = Vec::with_capacity(size + 1024);
    out.extend_from_slice(b"{\"endpoint\":");
    match endpoint {
        Some(e) => push_str(&mut out, e),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"format\":");
    match &request.format {
        ResponseFormat::Text => out.extend_from_slice(b"{\"type\":\"text\"}"),
        ResponseFormat::JsonObject => out.extend_from_slice(b"{\"type\":\"json_object\"}"),
        ResponseFormat::JsonSchema { name, schema } => {
            out.extend_from_slice(b"{\"name\":");
            push_str(&mut out, name);
            out.extend_from_slice(b",\"schema\":");
            push_canonical_schema(schema, &mut out);
            out.extend_from_slice(b",\"type\":\"json_schema\"}");
        }
    }
    out.extend_from_slice(b",\"max_tokens\":");
    push_json(&mut out, &request.sampling.max_tokens);
    out.extend_from_slice(b",\"messages\":[");
    for (i, m) in request.messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(match m.role {
            Role::System => b"[\"system\",".as_slice(),
            Role::User => b"[\"user\",",
            Role::Assistant => b"[\"assistant\",",
        });
        let content = m.content.trim();
        if content.contains('\r') {
            push_str(&mut out, &content.replace("\r\n", "\n"));
        } else {
            push_str(&mut out, content);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"],\"model\":");
    push_str(&mut out, model);
    out.extend_from_slice(b",\"provider\":");
    push_str(&mut out, provider);
    out.extend_from_slice(b",\"sample\":");
    push_json(&mut out, &sample);
    out.extend_from_slice(b",\"temperature\":");
    // Through a `Value`, as version 1 wrote it: an f32 widened to f64.
    push_json(&mut out, &request.sampling.temperature.map(Value::from));
    out.extend_from_slice(b",\"v\":");
    push_json(&mut out, &VERSION);
    out.push(b'}');
    out
}

/// How many schemas' canonical texts [`push_canonical_schema`] remembers.
const SCHEMAS_KEPT: usize = 4;

/// The canonical texts of the last few schemas keyed, by the schema's `Arc`: a critic
/// sends the same shared schema with every request, so it is canonicalised once, not
/// on every call. Each entry holds its `Arc`, so the schema it stands for stays alive
/// and unchanged (a value behind an `Arc` held twice cannot be mutated in place) and its
/// address cannot be reused by another schema.
static SCHEMAS: Mutex<Vec<KeptSchema>> = Mutex::new(Vec::new());

/// A schema and its canonical text.
type KeptSchema = (Arc<Value>, Arc<[u8]>);

/// `schema` as [`write_canonical`] writes it, remembered per `Arc` (see [`SCHEMAS`]).
fn push_canonical_schema(schema: &Arc<Value>, out: &mut Vec<u8>) {
    let Ok(mut kept) = SCHEMAS.lock() else {
        return write_canonical(schema, out);
    };
    if let Some((_, text)) = kept.iter().find(|(s, _)| Arc::ptr_eq(s, schema)) {
        out.extend_from_slice(text);
        return;
    }
    let start = out.len();
    write_canonical(schema, out);
    if kept.len() == SCHEMAS_KEPT {
        kept.remove(0);
    }
    kept.push((Arc::clone(schema), Arc::from(&out[start..])));
}

/// JSON with object keys sorted at every level, no spaces: one text per value,
/// whatever order its maps were built in.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            // A map usually iterates sorted already (serde_json's default map is a
            // B-tree): sort only when it does not.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            if !members.is_sorted_by(|a, b| a.0 <= b.0) {
                members.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push(b'{');
            for (i, (key, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(out, key);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => push_str(out, s),
        scalar => push_json(out, scalar),
    }
}

/// FNV-1a, 128 bits: a tiny, fully specified hash for names derived from text (it is
/// no longer the cache key's hash, which is XXH3).
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes.iter().fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Sampling};

    fn request(user: &str, temperature: f32) -> Request {
        Request {
            messages: vec![Message::system("sys"), Message::user(user)],
            sampling: Sampling { temperature: Some(temperature), max_tokens: Some(64) },
            format: ResponseFormat::Text,
            ..Request::default()
        }
    }

    fn key(r: &Request) -> CacheKey {
        CacheKey::new("openai", "m", None, r, 0)
    }

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    /// The key of `request("hello", 0.5)` for `openai` / `m`, as every process computes it.
    const PINNED: &str = "610215dab5eed484ba46ea496c96d112";

    /// The canonical text as version 1 built it, through a `serde_json::Value`: the
    /// direct writer must give the same text, byte for byte (but for the version).
    fn canonical_via_value(request: &Request, endpoint: Option<&str>, sample: u32) -> String {
        use serde_json::json;
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!([m.role, m.content.trim().replace("\r\n", "\n")]))
            .collect();
        let format = match &request.format {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema { name, schema } => {
                json!({"type": "json_schema", "name": name, "schema": schema})
            }
        };
        let value = json!({
            "v": VERSION, "provider": "openai", "model": "m", "endpoint": endpoint,
            "messages": messages, "temperature": request.sampling.temperature,
            "max_tokens": request.sampling.max_tokens, "format": format, "sample": sample,
        });
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_direct_writer_matches_the_value_layout() {
        let mut tricky = request("  quote \" back\\slash \u{1} é 😀\r\nline  ", 0.7);
        tricky.messages.push(Message::assistant("\t tab"));
        tricky.sampling = Sampling { temperature: None, max_tokens: None };
        let mut schema = request("x", 0.1);
        schema.format = ResponseFormat::JsonSchema {
            name: "verdict".into(),
            schema: serde_json::json!({"type": "object", "required": ["a"], "x": {"b": 1, "a": [true, null, 1.5]}})
            .into(),
        };
        let mut object = request("y", 1.0);
        object.format = ResponseFormat::JsonObject;
        for (r, endpoint, sample) in [
            (request("hello", 0.5), None, 0),
            (tricky, Some("http://h/v1"), 3),
            (schema, None, 1),
            (object, Some("e\"p"), 0),
        ] {
            assert_eq!(
                canonical_text("openai", "m", endpoint, &r, sample),
                canonical_via_value(&r, endpoint, sample)
            );
        }
    }

    #[test]
    fn the_key_is_stable_across_processes() {
        // A fixed request must always give this key: a change here invalidates every
        // file and Redis cache in the field, so it needs a VERSION bump.
        let k = key(&request("hello", 0.5));
        assert_eq!(k.hex().len(), 32);
        assert_eq!(
            canonical_text("openai", "m", None, &request("hello", 0.5), 0),
            r#"{"endpoint":null,"format":{"type":"text"},"max_tokens":64,"messages":[["system","sys"],["user","hello"]],"model":"m","provider":"openai","sample":0,"temperature":0.5,"v":2}"#
        );
        assert_eq!(k.hex(), PINNED, "the hash of the canonical text is pinned too");
        assert_eq!(k, key(&request("hello", 0.5)));
    }

    #[test]
    fn end_whitespace_and_line_endings_are_normalised() {
        assert_eq!(key(&request("  hello\r\nworld \n", 0.5)), key(&request("hello\nworld", 0.5)));
        assert_ne!(key(&request("hello  world", 0.5)), key(&request("hello world", 0.5)));
    }

    #[test]
    fn everything_that_changes_an_answer_changes_the_key() {
        let base = request("hello", 0.5);
        let k = key(&base);
        assert_ne!(k, key(&request("hello", 0.7)), "temperature");
        let mut r = base.clone();
        r.sampling.max_tokens = Some(65);
        assert_ne!(k, key(&r), "max_tokens");
        let mut r = base.clone();
        r.format = ResponseFormat::JsonObject;
        assert_ne!(k, key(&r), "format");
        let mut r = base.clone();
        r.messages[0] = Message::user("sys");
        assert_ne!(k, key(&r), "role");
        assert_ne!(k, CacheKey::new("anthropic", "m", None, &base, 0), "provider");
        assert_ne!(k, CacheKey::new("openai", "m2", None, &base, 0), "model");
        assert_ne!(k, CacheKey::new("openai", "m", Some("http://a"), &base, 0), "endpoint");
        assert_ne!(k, CacheKey::new("openai", "m", None, &base, 1), "sample");
    }

    #[test]
    fn schema_key_order_does_not_matter() {
        let schema = |v: Value| {
            let mut r = request("x", 0.1);
            r.format = ResponseFormat::JsonSchema { name: "s".into(), schema: v.into() };
            key(&r)
        };
        let a: Value = serde_json::from_str(r#"{"type":"object","required":["a"]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"required":["a"],"type":"object"}"#).unwrap();
        assert_eq!(schema(a), schema(b));
    }

    #[test]
    fn a_remembered_schema_gives_the_key_a_fresh_one_gives() {
        let with = |schema: &Arc<Value>| {
            let mut r = request("x", 0.1);
            r.format = ResponseFormat::JsonSchema { name: "s".into(), schema: Arc::clone(schema) };
            (canonical_text("openai", "m", None, &r, 0), canonical_via_value(&r, None, 0))
        };
        // More schemas than are remembered, each keyed twice through its own Arc and
        // once through a fresh copy: every text is the one the value layout gives.
        let schemas: Vec<Arc<Value>> = (0..SCHEMAS_KEPT + 2)
            .map(|i| Arc::new(serde_json::json!({"type": "object", "i": i, "b": [i]})))
            .collect();
        for _ in 0..2 {
            for schema in &schemas {
                let (direct, via_value) = with(schema);
                assert_eq!(direct, via_value);
                assert_eq!(direct, with(&Arc::new(Value::clone(schema))).0);
            }
        }
        let texts: std::collections::HashSet<String> = schemas.iter().map(|s| with(s).0).collect();
        assert_eq!(texts.len(), schemas.len(), "different schemas, different texts");
    }

    #[tokio::test]
    async fn the_sample_index_is_scoped() {
        assert_eq!(current_sample(), 0);
        let (a, b) =
            futures::join!(with_sample(1, async { current_sample() }), async { current_sample() });
        assert_eq!((a, b), (1, 0));
        assert_eq!(with_sample(3, async { current_sample() }).await, 3);
    }
}
