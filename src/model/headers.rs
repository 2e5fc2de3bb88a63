//! HTTP headers every provider needs: the key as a sensitive header, the user's custom
//! headers (`provider.headers`), and scrubbing a key a server echoed back out of an
//! error. Shared so that no provider handles a secret its own way.

use super::{ModelError, ModelErrorKind};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// Keys shorter than this are not scrubbed from messages (scrubbing `"x"` would
/// mangle every message, and such a key protects nothing).
const MIN_REDACTED_KEY_LEN: usize = 4;

/// The header map of the user's custom headers, or why one of them cannot be sent
/// (the reason names the header, never its value).
pub(crate) fn custom_headers(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            format!("the value of header `{name}` contains characters not allowed in HTTP")
        })?;
        // Custom headers often carry gateway credentials: keep them out of debug output.
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}

/// The trimmed key, when there is a non-empty one.
pub(crate) fn key_text(key: Option<&SecretString>) -> Option<&str> {
    key.map(|k| k.expose_secret().trim()).filter(|k| !k.is_empty())
}

/// `prefix` + the key as a sensitive header value; an [`ModelErrorKind::Auth`] error
/// for `provider` (without the key) when the key cannot be sent in a header.
pub(crate) fn secret_value(
    provider: &str,
    prefix: &str,
    key: &str,
) -> Result<HeaderValue, ModelError> {
    let mut value = HeaderValue::from_str(&format!("{prefix}{key}")).map_err(|_| {
        ModelError::new(
            ModelErrorKind::Auth,
            provider,
            "the API key contains characters not allowed in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `error` with `key` scrubbed from its message, in case a server echoed it back.
pub(crate) fn redact(mut error: ModelError, key: Option<&SecretString>) -> ModelError {
    if let Some(key) = key_text(key)
        && key.len() >= MIN_REDACTED_KEY_LEN
        && error.message.contains(key)
    {
        error.message = error.message.replace(key, "[REDACTED]");
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_are_checked_and_sensitive() {
        let ok = BTreeMap::from([("X-Custom".to_owned(), " v1 ".to_owned())]);
        let map = custom_headers(&ok).unwrap();
        assert_eq!(map.get("x-custom").unwrap(), "v1");
        assert!(map.get("x-custom").unwrap().is_sensitive());
        let bad_name = BTreeMap::from([("X Custom".to_owned(), "v".to_owned())]);
        assert!(custom_headers(&bad_name).unwrap_err().contains("`X Custom`"));
        let bad_value = BTreeMap::from([("X-A".to_owned(), "secret\nvalue".to_owned())]);
        let reason = custom_headers(&bad_value).unwrap_err();
        assert!(reason.contains("X-A") && !reason.contains("secret"), "{reason}");
    }

    #[test]
    fn secret_values_are_sensitive_and_errors_hide_the_key() {
        let v = secret_value("p", "Bearer ", "sk-1").unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Bearer sk-1");
        let err = secret_value("p", "", "sk-bad\u{7f}key").unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Auth);
        assert!(!err.to_string().contains("sk-bad"), "{err}");
    }

    #[test]
    fn redact_scrubs_long_keys_only() {
        let key = SecretString::from(" sk-secret-key ");
        let e = ModelError::new(ModelErrorKind::Auth, "p", "bad key sk-secret-key!");
        assert_eq!(redact(e, Some(&key)).message, "bad key [REDACTED]!");
        let short = SecretString::from("ab");
        let e = ModelError::new(ModelErrorKind::Auth, "p", "abc");
        assert_eq!(redact(e, Some(&short)).message, "abc");
        assert_eq!(key_text(Some(&SecretString::from("  "))), None);
    }
}
