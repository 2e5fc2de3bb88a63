//! The one shared HTTP transport every provider sends through.
//!
//! Providers are pure translation (request → JSON body, status + headers + body →
//! completion or typed error); all network I/O lives here. A [`Transport`] wraps one
//! `reqwest` client (rustls, keep-alive connection pool), so cloning it is cheap and
//! sequential calls to the same server reuse one TCP connection. It maps network
//! failures to [`ModelErrorKind::Timeout`], [`ModelErrorKind::Unreachable`] and
//! [`ModelErrorKind::Connection`] and hands
//! every HTTP answer — success or not — back with its status, headers and body, so the
//! provider can classify errors and read `Retry-After` itself.

use super::{CallTrace, ModelError, ModelErrorKind};
use futures::stream::BoxStream;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most response bytes read from one answer; a larger body is an error, not an
/// out-of-memory.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Timeouts for a [`Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSettings {
    /// Longest wait to open a TCP (and TLS) connection. Default: 10 s.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, from sending to the last body byte.
    /// Default: 120 s.
    pub request_timeout: Duration,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(10), request_timeout: Duration::from_secs(120) }
    }
}

/// One HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole response body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One `POST` of a JSON body: who sends it, where, with which headers, and the call
/// it belongs to.
#[derive(Debug)]
pub struct Post<'a> {
    /// The provider errors are attributed to, e.g. `openai`.
    pub provider: &'a str,
    /// Where the request goes.
    pub target: &'a Target,
    /// The request headers; `Content-Type: application/json` is added unless set.
    /// Header values are never put in errors or logs; mark secret ones sensitive
    /// anyway.
    pub headers: HeaderMap,
    /// The JSON body, serialised.
    pub body: Vec<u8>,
    /// The call's live trace, marked sent as the request leaves.
    pub trace: &'a CallTrace,
}

impl Post<'_> {
    /// The `reqwest` request: the URL parsed once in the target, the headers, the
    /// body moved in (not copied).
    fn request(self, client: &reqwest::Client) -> Result<reqwest::RequestBuilder, ModelError> {
        let url = self.target.url(self.provider)?;
        let mut headers = self.headers;
        headers.entry(CONTENT_TYPE).or_insert(HeaderValue::from_static("application/json"));
        self.trace.sent(self.provider);
        Ok(client.post(url).headers(headers).body(self.body))
    }
}

/// The shared HTTP client. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    /// A transport with `settings`. Redirects are not followed: an API that redirects
    /// a `POST` is misconfigured, and the 3xx is reported as such.
    pub fn new(settings: TransportSettings) -> Result<Self, crate::Error> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("redraft/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::Error::Provider {
                provider: "http".to_owned(),
                reason: format!("cannot build the HTTP client: {}", root_cause(&e)),
            })?;
        Ok(Self { client })
    }

    /// Send `post` and read the whole answer.
    ///
    /// Any HTTP status is returned as an [`HttpResponse`]; only failures to get an
    /// answer are errors, attributed to `post.provider`: [`ModelErrorKind::Timeout`],
    /// [`ModelErrorKind::Unreachable`] (refused, no route, unknown host),
    /// [`ModelErrorKind::Connection`] (reset, dropped mid-body),
    /// [`ModelErrorKind::InvalidRequest`] (an unusable URL) or
    /// [`ModelErrorKind::Malformed`] (a body over [`MAX_BODY_BYTES`]).
    /// The request is marked sent on `post.trace` as it leaves.
    pub async fn post_json(&self, post: Post<'_>) -> Result<HttpResponse, ModelError> {
        let (provider, target) = (post.provider, post.target);
        let shown_url = &target.shown;
        let mut response = post
            .request(&self.client)?
            .send()
            .await
            .map_err(|e| network_error(provider, shown_url, e))?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut bytes = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| network_error(provider, shown_url, e))?
        {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ModelError::new(
                    ModelErrorKind::Malformed,
                    provider,
                    format!("response from {shown_url} is larger than {MAX_BODY_BYTES} bytes"),
                )
                .with_status(status));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(provider, url = %shown_url, status, bytes = bytes.len(), "http response");
        Ok(HttpResponse { status, headers, body: bytes })
    }
}

/// A streamed HTTP answer: status and headers now, the body as it arrives.
pub struct StreamResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, chunk by chunk; each chunk must arrive within the idle timeout.
    pub body: ByteStream,
}

impl StreamResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Read the rest of the body (for an error answer), up to [`MAX_BODY_BYTES`].
    pub async fn read_all(mut self) -> Result<HttpResponse, ModelError> {
        use futures::StreamExt;
        let mut body = Vec::new();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status: self.status, headers: self.headers, body })
    }
}

impl Transport {
    /// Send `post` and stream the answer. Each body chunk must arrive within
    /// `idle_timeout` of the previous one, else the stream yields a
    /// [`ModelErrorKind::Timeout`]; a connection dropped mid-body yields
    /// [`ModelErrorKind::Connection`]. Errors are attributed to `post.provider`.
    pub async fn post_stream(
        &self,
        post: Post<'_>,
        idle_timeout: Duration,
    ) -> Result<StreamResponse, ModelError> {
        let (provider, shown_url) = (post.provider, post.target.shown.clone());
        let send = post.request(&self.client)?.send();
        let mut response = match tokio::time::timeout(idle_timeout, send).await {
            Ok(sent) => sent.map_err(|e| network_error(provider, &shown_url, e))?,
            Err(_) => return Err(idle_error(provider, &shown_url, idle_timeout)),
        };
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let provider = provider.to_owned();
        let body = futures::stream::unfold(Some(response), move |state| {
            let provider = provider.clone();
            let shown_url = shown_url.clone();
            async move {
                let mut response = state?;
                match tokio::time::timeout(idle_timeout, response.chunk()).await {
                    Ok(Ok(Some(chunk))) => Some((Ok(chunk.to_vec()), Some(response))),
                    Ok(Ok(None)) => None,
                    Ok(Err(e)) => Some((Err(network_error(&provider, &shown_url, e)), None)),
                    Err(_) => Some((Err(idle_error(&provider, &shown_url, idle_timeout)), None)),
                }
            }
        });
        Ok(StreamResponse { status, headers, body: Box::pin(body) })
    }
}

/// How a provider turns an error status, its headers and body into a typed error.
pub type Classify<'a> = &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> ModelError + Sync);

/// A streamed body, chunk by chunk.
pub type ByteStream = BoxStream<'static, Result<Vec<u8>, ModelError>>;

impl Transport {
    /// Send `post` and return the body of a 2xx answer; any other status becomes
    /// `classify(status, headers, body)`. The one request/response exchange every HTTP
    /// provider's `complete` makes.
    pub async fn exchange(
        &self,
        post: Post<'_>,
        classify: Classify<'_>,
    ) -> Result<Vec<u8>, ModelError> {
        let response = self.post_json(post).await?;
        if !response.is_success() {
            return Err(classify(response.status, &response.headers, &response.body));
        }
        Ok(response.body)
    }

    /// Like [`Transport::exchange`], for a streamed answer: the body of a 2xx answer
    /// as it arrives (each chunk within `idle_timeout`); any other status is read whole
    /// and classified.
    pub async fn exchange_stream(
        &self,
        post: Post<'_>,
        idle_timeout: Duration,
        classify: Classify<'_>,
    ) -> Result<ByteStream, ModelError> {
        let response = self.post_stream(post, idle_timeout).await?;
        if !response.is_success() {
            let full = response.read_all().await?;
            return Err(classify(full.status, &full.headers, &full.body));
        }
        Ok(response.body)
    }
}

fn idle_error(provider: &str, url: &str, idle: Duration) -> ModelError {
    let secs = idle.as_secs_f64();
    ModelError::new(ModelErrorKind::Timeout, provider, format!("POST {url}: no data for {secs}s"))
}

/// Map a `reqwest` failure to a typed error. The URL shown has no query string.
fn network_error(provider: &str, url: &str, error: reqwest::Error) -> ModelError {
    let kind = if error.is_timeout() {
        ModelErrorKind::Timeout
    } else if error.is_connect() {
        ModelErrorKind::Unreachable
    } else if error.is_builder() {
        ModelErrorKind::InvalidRequest
    } else {
        ModelErrorKind::Connection
    };
    let what = match kind {
        ModelErrorKind::Timeout => "timed out",
        ModelErrorKind::InvalidRequest => "could not be built",
        _ => "failed",
    };
    let message = format!("POST {url} {what}: {}", root_cause(&error));
    ModelError::new(kind, provider, message).with_source(error.without_url())
}

/// The innermost error's message: the one that says what really happened
/// ("Connection refused", "operation timed out").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A URL parsed once, to be sent to on every call, and the form of it that may be
/// shown (no query string, no user info). An unusable URL is kept as its reason and
/// reported when a request is sent to it.
#[derive(Debug, Clone)]
pub struct Target {
    url: Result<reqwest::Url, String>,
    shown: String,
}

impl Target {
    /// Parse `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: reqwest::Url::parse(url).map_err(|e| e.to_string()),
            shown: url_for_display(url),
        }
    }

    /// The URL without its query string or user info, for messages and logs.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL to send to, or why there is none, attributed to `provider`.
    fn url(&self, provider: &str) -> Result<reqwest::Url, ModelError> {
        self.url.clone().map_err(|reason| {
            let message = format!("POST {} could not be built: {reason}", self.shown);
            ModelError::new(ModelErrorKind::InvalidRequest, provider, message)
        })
    }
}

/// `url` without its query string or user info, for messages and logs.
fn url_for_display(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// A [`ModelErrorKind::Malformed`] error for `provider`: `why`, then the start of the
/// body (at most 200 characters), or "(empty body)".
pub fn malformed(provider: &str, why: String, body: &[u8]) -> ModelError {
    let excerpt = body_excerpt(body, 200);
    let shown =
        if excerpt.is_empty() { "(empty body)".to_owned() } else { format!("body: {excerpt}") };
    ModelError::new(ModelErrorKind::Malformed, provider, format!("{why}; {shown}"))
}

/// At most `max_chars` characters of a response body, lossily decoded, with `…` when
/// cut: enough to recognise an HTML error page without flooding a message.
pub fn body_excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// How long the server asked us to wait: `retry-after-ms` (milliseconds, as OpenAI
/// sends it) first, then `Retry-After` in seconds (fractions allowed, e.g. `0.05`) or
/// as an HTTP date. Unparseable or negative values are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// [`retry_after`] with an explicit "now", for an HTTP-date `Retry-After`. A date in
/// the past means no wait.
pub fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let ms = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok());
    if let Some(wait) = ms.and_then(|ms| seconds(ms / 1000.0)) {
        return Some(wait);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let date = parse_http_date(value)?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A non-negative, finite number of seconds as a duration.
fn seconds(secs: f64) -> Option<Duration> {
    if secs >= 0.0 { Duration::try_from_secs_f64(secs).ok() } else { None }
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP date format
/// servers may send.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (_weekday, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + m * 60 + s))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_reads_fractional_seconds() {
        let wait = retry_after(&headers(&[("retry-after", "0.05")]));
        assert_eq!(wait, Some(Duration::from_millis(50)));
        assert_eq!(retry_after(&headers(&[("retry-after", "20")])), Some(Duration::from_secs(20)));
    }

    #[test]
    fn retry_after_ms_wins_over_seconds() {
        let wait = retry_after(&headers(&[("retry-after", "3"), ("retry-after-ms", "1500")]));
        assert_eq!(wait, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn retry_after_ignores_garbage_and_negatives() {
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "NaN")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "1e300")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
        // A bad millisecond header falls back to the seconds one.
        let wait = retry_after(&headers(&[("retry-after-ms", "x"), ("retry-after", "2")]));
        assert_eq!(wait, Some(Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_reads_an_http_date() {
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date, UNIX_EPOCH + Duration::from_secs(784_111_777));
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
        let map = headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(retry_after_at(&map, now), Some(Duration::from_secs(7)));
        let later = UNIX_EPOCH + Duration::from_secs(784_111_800);
        assert_eq!(retry_after_at(&map, later), Some(Duration::ZERO));
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let body = "é".repeat(500);
        let cut = body_excerpt(body.as_bytes(), 200);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
        assert_eq!(body_excerpt(b"  short  ", 200), "short");
        assert_eq!(body_excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn display_url_drops_query_and_credentials() {
        assert_eq!(
            url_for_display("http://user:pw@host:8080/v1/chat?key=secret"),
            "http://host:8080/v1/chat"
        );
        assert_eq!(url_for_display("not a url"), "<invalid URL>");
    }

    #[test]
    fn builds_with_default_settings() {
        let settings = TransportSettings::default();
        assert_eq!(settings.connect_timeout, Duration::from_secs(10));
        assert_eq!(settings.request_timeout, Duration::from_secs(120));
        assert!(Transport::new(settings).is_ok());
    }

    #[tokio::test]
    async fn refused_connection_is_a_connection_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let transport = Transport::new(TransportSettings::default()).unwrap();
        let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
        let err = transport
            .post_json(Post {
                provider: "openai",
                target: &Target::new(&url),
                headers: HeaderMap::new(),
                body: b"{}".to_vec(),
                trace: &CallTrace::default(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Unreachable, "{err}");
        assert!(err.message.contains(&url), "{err}");
    }

    #[tokio::test]
    async fn unusable_url_is_an_invalid_request() {
        let transport = Transport::new(TransportSettings::default()).unwrap();
        let err = transport
            .post_json(Post {
                provider: "openai",
                target: &Target::new("not a url"),
                headers: HeaderMap::new(),
                body: b"{}".to_vec(),
                trace: &CallTrace::default(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::InvalidRequest, "{err}");
    }
}
