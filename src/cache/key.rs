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
//! FNV-1a, 128 bits, over the UTF-8 bytes of the canonical JSON (chosen because it is
//! tiny, fast and fully specified, so every process and machine computes the same key;
//! no crate needed). It is not a cryptographic hash: the cache is the user's own, not
//! fed by an adversary. As a guard against an accidental collision or an entry written
//! by another key version, every stored entry carries a second, independent 64-bit
//! check of the same text, verified on read ([`CacheKey::check`]).

use crate::model::{Request, ResponseFormat};
use serde_json::{Value, json};
use std::fmt;

/// The version of the key layout; bump it when what goes into the key changes.
const VERSION: u32 = 1;

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
        let text = canonical_text(provider, model, endpoint, request, sample);
        Self { hash: fnv1a_128(text.as_bytes()), check: check_64(text.as_bytes()) }
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

/// The canonical JSON text hashed into the key (see the module docs).
pub fn canonical_text(
    provider: &str,
    model: &str,
    endpoint: Option<&str>,
    request: &Request,
    sample: u32,
) -> String {
    let messages: Vec<Value> =
        request.messages.iter().map(|m| json!([m.role, normalise(&m.content)])).collect();
    let format = match &request.format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema } => {
            json!({"type": "json_schema", "name": name, "schema": schema})
        }
    };
    let value = json!({
        "v": VERSION,
        "provider": provider,
        "model": model,
        "endpoint": endpoint,
        "messages": messages,
        "temperature": request.sampling.temperature,
        "max_tokens": request.sampling.max_tokens,
        "format": format,
        "sample": sample,
    });
    let mut out = String::with_capacity(256);
    write_canonical(&value, &mut out);
    out
}

/// `\r\n` → `\n`, and whitespace at both ends trimmed.
fn normalise(content: &str) -> String {
    let trimmed = content.trim();
    if trimmed.contains('\r') { trimmed.replace("\r\n", "\n") } else { trimmed.to_owned() }
}

/// JSON with object keys sorted at every level, no spaces: one text per value,
/// whatever order its maps were built in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// FNV-1a, 128 bits.
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes.iter().fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

/// FNV-1a, 64 bits, over the bytes in reverse: independent enough of the 128-bit hash
/// to catch a collision of it.
fn check_64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf29ce484222325;
    const PRIME: u64 = 0x100000001b3;
    bytes.iter().rev().fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
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

    #[test]
    fn the_key_is_stable_across_processes() {
        // A fixed request must always give this key: a change here invalidates every
        // file and Redis cache in the field, so it needs a VERSION bump.
        let k = key(&request("hello", 0.5));
        assert_eq!(k.hex().len(), 32);
        assert_eq!(
            canonical_text("openai", "m", None, &request("hello", 0.5), 0),
            r#"{"endpoint":null,"format":{"type":"text"},"max_tokens":64,"messages":[["system","sys"],["user","hello"]],"model":"m","provider":"openai","sample":0,"temperature":0.5,"v":1}"#
        );
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
            r.format = ResponseFormat::JsonSchema { name: "s".into(), schema: v };
            key(&r)
        };
        let a: Value = serde_json::from_str(r#"{"type":"object","required":["a"]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"required":["a"],"type":"object"}"#).unwrap();
        assert_eq!(schema(a), schema(b));
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
