//! API URLs: a configured base URL joined with an endpoint's path, and the form of a
//! URL that is safe to show.
//!
//! A base URL may carry credentials — user info (`https://user:pass@host/v1`) or a
//! query string (`https://host/v1?api-key=…`, as some gateways and Gemini's `?key=`
//! take them). Joining puts the endpoint's path after the base's *path*, before its
//! query, so `http://h/v1?api-key=X` sends to `http://h/v1/chat/completions?api-key=X`;
//! [`redacted`] is how such a URL appears in configuration output, errors and logs.

/// What a credential in a URL is shown as.
pub(crate) const REDACTED: &str = "[redacted]";

/// `base` with `path` appended to its path, its query string kept after the path, and
/// `query` (already encoded, e.g. `alt=sse`) appended to that query. A trailing `/` of
/// the base's path is dropped; a `#fragment` (never sent by HTTP clients) is dropped.
///
/// ```
/// use redraft::model::url::join;
/// assert_eq!(join("http://h/v1/", "/chat/completions", None), "http://h/v1/chat/completions");
/// assert_eq!(
///     join("http://h/v1?api-key=X", "/chat/completions", Some("api-version=1")),
///     "http://h/v1/chat/completions?api-key=X&api-version=1"
/// );
/// ```
pub fn join(base: &str, path: &str, query: Option<&str>) -> String {
    let base = base.split_once('#').map_or(base, |(before, _)| before);
    let (root, base_query) = match base.split_once('?') {
        Some((root, q)) => (root, Some(q).filter(|q| !q.is_empty())),
        None => (base, None),
    };
    let mut url = format!("{}{path}", root.trim_end_matches('/'));
    let queries: Vec<&str> = base_query.into_iter().chain(query).collect();
    if !queries.is_empty() {
        url.push('?');
        url.push_str(&queries.join("&"));
    }
    url
}

/// `url` with its credentials redacted, the form to print, store or log: the password
/// of its user info (or the user name when it stands alone, as a token does) and the
/// value of every query parameter become `[redacted]`; a fragment is dropped. The rest
/// is shown as written.
///
/// ```
/// use redraft::model::url::redacted;
/// assert_eq!(
///     redacted("http://me:pw@h/v1?api-key=X&v=2"),
///     "http://me:[redacted]@h/v1?api-key=[redacted]&v=[redacted]"
/// );
/// assert_eq!(redacted("https://api.openai.com/v1"), "https://api.openai.com/v1");
/// ```
pub fn redacted(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let mut shown = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => {
                    let user = match rest[..at].split_once(':') {
                        Some((name, _)) => format!("{name}:{REDACTED}"),
                        None => REDACTED.to_owned(),
                    };
                    format!("{scheme}://{user}@{}", &rest[at + 1..])
                }
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((name, _)) => format!("{name}={REDACTED}"),
                None => REDACTED.to_owned(),
            })
            .collect();
        if !params.is_empty() {
            shown.push('?');
            shown.push_str(&params.join("&"));
        }
    }
    shown
}

/// Whether `url` carries what may be a credential: user info or a query string.
pub fn has_credentials(url: &str) -> bool {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (before_query, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = before_query
        .split_once("://")
        .map_or("", |(_, rest)| rest.find('/').map_or(rest, |end| &rest[..end]));
    !query.is_empty() || authority.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_goes_before_the_query() {
        assert_eq!(join("http://h/v1", "/chat/completions", None), "http://h/v1/chat/completions");
        assert_eq!(
            join("http://h/v1?api-key=X", "/chat/completions", None),
            "http://h/v1/chat/completions?api-key=X"
        );
        assert_eq!(
            join("http://h/v1/?api-key=X", "/chat/completions", None),
            "http://h/v1/chat/completions?api-key=X",
            "the slash before the query goes"
        );
        assert_eq!(
            join("http://h/v1beta?key=K", "/models/m:streamGenerateContent", Some("alt=sse")),
            "http://h/v1beta/models/m:streamGenerateContent?key=K&alt=sse"
        );
        assert_eq!(join("http://h?", "/api/chat", None), "http://h/api/chat");
        assert_eq!(join("http://h/#x", "/api/chat", None), "http://h/api/chat");
        assert_eq!(join("http://h", "/v1/messages", Some("a=1")), "http://h/v1/messages?a=1");
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redacted("http://u:p@h:8/v1"), "http://u:[redacted]@h:8/v1");
        assert_eq!(redacted("https://tok@h/v1"), "https://[redacted]@h/v1");
        assert_eq!(redacted("http://h/v1?key=K"), "http://h/v1?key=[redacted]");
        assert_eq!(redacted("http://h/v1?token"), "http://h/v1?[redacted]");
        assert_eq!(redacted("http://h/a@b"), "http://h/a@b", "an @ in the path is not user info");
        assert_eq!(redacted("http://h/v1#frag"), "http://h/v1");
        assert_eq!(redacted("not a url"), "not a url");
        assert!(has_credentials("http://u:p@h") && has_credentials("http://h/?k=v"));
        assert!(!has_credentials("http://h/v1") && !has_credentials("http://h/v1#x"));
        assert!(!has_credentials("http://h/v1?") && !has_credentials("http://h/a@b"));
    }
}
