//! A fake OpenAI-compatible server on `127.0.0.1:0` for integration tests and
//! benchmarks.
//!
//! Every `POST /v1/chat/completions` is answered by a handler closure given the JSON
//! body and the request's index (from 0); the server records every body and its
//! headers, and counts accepted TCP connections (to check keep-alive). Any other path
//! answers 404 in OpenAI's error shape.
//!
//! The server runs on **its own thread with its own tokio runtime**, so it keeps
//! answering whatever the caller does: a plain `#[test]`, any `#[tokio::test]`
//! flavour, a criterion benchmark, or a test blocked on `std::process::Command`
//! running the real `redraft` binary. It stops when the [`FakeOpenAi`] is dropped.
//!
//! ```text
//! mod support;
//! use support::fake_openai::{FakeOpenAi, Reply, is_structured};
//!
//! #[tokio::test]
//! async fn critic_then_revision() {
//!     let server = FakeOpenAi::start(|body, _n| {
//!         if is_structured(body) {
//!             Reply::verdict(false, 0.9, "fine")
//!         } else {
//!             Reply::text("A better text.")
//!         }
//!     })
//!     .await;
//!     // Point a provider at server.base_url() ("http://127.0.0.1:PORT/v1") …
//!     assert_eq!(server.request_count(), 0);
//! }
//! ```

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use axum::serve::ListenerExt;
use futures::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a chat completion in OpenAI's exact shape (the `model` echoes the
    /// request's).
    Chat {
        /// `choices[0].message.content`.
        content: String,
        /// `choices[0].finish_reason`, e.g. `stop` or `length`.
        finish_reason: String,
        /// `usage.prompt_tokens`.
        prompt_tokens: u64,
        /// `usage.completion_tokens`.
        completion_tokens: u64,
    },
    /// An error status with a JSON body and extra headers (e.g. `Retry-After`).
    Error {
        /// The HTTP status.
        status: u16,
        /// The JSON body.
        body: Value,
        /// Extra response headers.
        headers: Vec<(String, String)>,
    },
    /// Any status with a raw text body (garbage, HTML error pages, …).
    Raw {
        /// The HTTP status.
        status: u16,
        /// The body, sent as is.
        body: String,
    },
    /// Wait, then answer (the wait is on the server; the client sees a slow server).
    Delay(Duration, Box<Reply>),
    /// Any status with a JSON body in any provider's shape (Anthropic, Gemini, Ollama…).
    Json {
        /// The HTTP status.
        status: u16,
        /// The JSON body.
        body: Value,
    },
    /// A streamed body (SSE or NDJSON), sent chunk by chunk exactly as given.
    Stream {
        /// The `content-type`, e.g. `text/event-stream` or `application/x-ndjson`.
        content_type: String,
        /// The chunks, sent in order (split them anywhere: mid-line, mid-character).
        chunks: Vec<Vec<u8>>,
        /// The pause before each chunk.
        pause: Duration,
        /// Drop the connection after the last chunk instead of ending the body cleanly.
        drop_after: bool,
    },
}

impl Reply {
    /// A completion with `content`, `finish_reason = stop`, 12 prompt and 7 completion
    /// tokens.
    pub fn text(content: &str) -> Reply {
        Reply::Chat {
            content: content.to_owned(),
            finish_reason: "stop".to_owned(),
            prompt_tokens: 12,
            completion_tokens: 7,
        }
    }

    /// A completion whose content is `value` serialised (a structured answer).
    pub fn json(value: &Value) -> Reply {
        Reply::text(&value.to_string())
    }

    /// A completion whose content is a critic verdict:
    /// `{"needs_improvement", "confidence", "feedback", "suggestions": [feedback]}`
    /// (no suggestions when no improvement is needed).
    pub fn verdict(needs_improvement: bool, confidence: f64, feedback: &str) -> Reply {
        let suggestions: Vec<&str> = if needs_improvement { vec![feedback] } else { vec![] };
        Reply::json(&json!({
            "needs_improvement": needs_improvement,
            "confidence": confidence,
            "feedback": feedback,
            "suggestions": suggestions,
        }))
    }

    /// An error in OpenAI's shape:
    /// `{"error": {"message", "type", "param": null, "code"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::Error { status, body: error_body(status, code, message), headers: Vec::new() }
    }

    /// A 429 `rate_limit_exceeded` with `Retry-After: retry_after` (seconds, e.g.
    /// `"0.05"`).
    pub fn rate_limited(retry_after: &str) -> Reply {
        Reply::Error {
            status: 429,
            body: error_body(429, "rate_limit_exceeded", "Rate limit reached for requests"),
            headers: vec![("retry-after".into(), retry_after.into())],
        }
    }

    /// OpenAI's real 400 for `json_schema` on a model without structured outputs.
    pub fn schema_rejected() -> Reply {
        Reply::Error {
            status: 400,
            body: json!({ "error": {
                "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                "type": "invalid_request_error",
                "param": null,
                "code": null
            }}),
            headers: Vec::new(),
        }
    }

    /// This reply, after `wait`.
    pub fn delayed(self, wait: Duration) -> Reply {
        Reply::Delay(wait, Box::new(self))
    }

    /// A 200 server-sent-events stream of `events` (each `(event name, data)`), one
    /// chunk per event.
    pub fn sse(events: &[(Option<&str>, String)]) -> Reply {
        let chunks = events
            .iter()
            .map(|(name, data)| {
                let head = name.map(|n| format!("event: {n}\n")).unwrap_or_default();
                format!("{head}data: {data}\n\n").into_bytes()
            })
            .collect();
        Reply::Stream {
            content_type: "text/event-stream".into(),
            chunks,
            pause: Duration::ZERO,
            drop_after: false,
        }
    }

    /// A 200 newline-delimited JSON stream of `values`, one chunk per line.
    pub fn ndjson(values: &[Value]) -> Reply {
        let chunks = values.iter().map(|v| format!("{v}\n").into_bytes()).collect();
        Reply::Stream {
            content_type: "application/x-ndjson".into(),
            chunks,
            pause: Duration::ZERO,
            drop_after: false,
        }
    }
}

/// OpenAI's error body: `{"error": {"message", "type", "param": null, "code"}}`.
fn error_body(status: u16, code: &str, message: &str) -> Value {
    let kind = match status {
        429 => "requests",
        500.. => "server_error",
        _ => "invalid_request_error",
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

type Handler = dyn Fn(&str, &Value, usize) -> Reply + Send + Sync;

/// One recorded request.
#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    body: Value,
    headers: Vec<(String, String)>,
}

struct Shared {
    any_path: bool,
    handler: Box<Handler>,
    recorded: Mutex<Vec<Recorded>>,
    requests: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// A running fake server; stops when dropped.
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeOpenAi {
    /// Start a server answering each `POST /v1/chat/completions` with
    /// `handler(&body_json, n)`, `n` counting requests from 0. Usable from any
    /// runtime flavour (the server has its own thread); see [`FakeOpenAi::start_blocking`]
    /// outside async code.
    pub async fn start(
        handler: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeOpenAi {
        Self::start_blocking(handler)
    }

    /// [`FakeOpenAi::start`] for synchronous code (plain `#[test]`, benchmark setup).
    /// The socket is bound before this returns, so requests can be sent at once.
    pub fn start_blocking(
        handler: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeOpenAi {
        Self::launch(Box::new(move |_, body, n| handler(body, n)), false)
    }

    /// A server answering a `POST` to ANY path with `handler(path, &body_json, n)`
    /// (the path includes the query string): for providers with other routes
    /// (`/v1/messages`, `/v1beta/models/…:generateContent`, `/api/chat`).
    pub fn start_any(
        handler: impl Fn(&str, &Value, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeOpenAi {
        Self::launch(Box::new(handler), true)
    }

    fn launch(handler: Box<Handler>, any_path: bool) -> FakeOpenAi {
        let shared = Arc::new(Shared {
            any_path,
            handler,
            recorded: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-openai".into())
            .spawn(move || serve(listener, state, stopped))
            .expect("spawn the fake server thread");
        FakeOpenAi { addr, shared, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The API root to configure a provider with: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The host root: `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The path (with query string) of every request received, in order.
    pub fn paths(&self) -> Vec<String> {
        self.lock().iter().map(|r| r.path.clone()).collect()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every JSON body received (since the last [`FakeOpenAi::clear`]), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().iter().map(|r| r.body.clone()).collect()
    }

    /// The headers of every request received (since the last [`FakeOpenAi::clear`]),
    /// in order; names are lower-case.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.lock().iter().map(|r| r.headers.clone()).collect()
    }

    /// The value of header `name` (case-insensitive) on the `n`-th recorded request.
    pub fn header(&self, n: usize, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let recorded = self.lock();
        let request = recorded.get(n)?;
        request.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }

    /// How many chat requests were received in all (not reset by `clear`).
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The most requests the server was answering at once (a request counts from its
    /// arrival until its reply — after any [`Reply::Delay`] — is handed over).
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Forget the recorded bodies and headers (long benchmarks keep memory flat).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        self.shared.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server thread: a current-thread runtime serving until `stopped` fires; dropping
/// the runtime then closes every connection and cancels delayed replies.
fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build the fake server runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let counter = Arc::clone(&shared);
        let listener = listener.tap_io(move |_| {
            counter.connections.fetch_add(1, Ordering::SeqCst);
        });
        let any_path = shared.any_path;
        let app = if any_path {
            Router::new().route("/{*path}", post(chat)).fallback(not_found).with_state(shared)
        } else {
            Router::new()
                .route("/v1/chat/completions", post(chat))
                .fallback(not_found)
                .with_state(shared)
        };
        tokio::select! {
            result = axum::serve(listener, app).into_future() => {
                if let Err(e) = result {
                    eprintln!("fake OpenAI server stopped: {e}");
                }
            }
            _ = stopped => {}
        }
    });
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.to_string());
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return render(
                Reply::error(400, "invalid_json", &format!("invalid JSON body: {e}")),
                "",
            );
        }
    };
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let n = shared.requests.fetch_add(1, Ordering::SeqCst);
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
    shared.recorded.lock().unwrap_or_else(|p| p.into_inner()).push(Recorded {
        path: path.clone(),
        body: body.clone(),
        headers,
    });
    let mut reply = (shared.handler)(&path, &body, n);
    while let Reply::Delay(wait, next) = reply {
        tokio::time::sleep(wait).await;
        reply = *next;
    }
    let model = body.get("model").and_then(Value::as_str).unwrap_or("fake-model");
    let response = render(reply, model);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn not_found(uri: Uri) -> Response {
    render(Reply::error(404, "not_found", &format!("no route for {uri} on the fake server")), "")
}

fn render(reply: Reply, model: &str) -> Response {
    let (status, content_type, body, extra) = match reply {
        Reply::Chat { content, finish_reason, prompt_tokens, completion_tokens } => {
            let body = json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_741_569_952,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": content, "refusal": null },
                    "logprobs": null,
                    "finish_reason": finish_reason
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens
                },
                "system_fingerprint": "fp_fake"
            });
            (200, "application/json", body.to_string(), Vec::new())
        }
        Reply::Error { status, body, headers } => {
            (status, "application/json", body.to_string(), headers)
        }
        Reply::Raw { status, body } => (status, "text/plain", body, Vec::new()),
        Reply::Json { status, body } => (status, "application/json", body.to_string(), Vec::new()),
        Reply::Delay(_, next) => return render(*next, model),
        Reply::Stream { content_type, chunks, pause, drop_after } => {
            return stream(content_type, chunks, pause, drop_after);
        }
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).expect("a valid HTTP status"))
        .header("content-type", content_type);
    for (name, value) in extra {
        response = response.header(name, value);
    }
    response.body(Body::from(body)).expect("a valid response")
}

/// A streamed 200 response: each chunk after `pause`; then a clean end, or a dropped
/// connection when `drop_after`.
fn stream(
    content_type: String,
    chunks: Vec<Vec<u8>>,
    pause: Duration,
    drop_after: bool,
) -> Response {
    let chunks = futures::stream::iter(chunks.into_iter().map(Some).chain([None])).then(
        move |chunk| async move {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            chunk
        },
    );
    let body = chunks.filter_map(move |chunk| async move {
        match chunk {
            Some(bytes) => Some(Ok::<_, std::io::Error>(Bytes::from(bytes))),
            None if drop_after => Some(Err(std::io::Error::other("dropped by the fake server"))),
            None => None,
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .body(Body::from_stream(body))
        .expect("a valid response")
}

/// Whether a request asks for structured output (it has a `response_format`): a
/// critique or judge call, as opposed to a draft or revision.
pub fn is_structured(body: &Value) -> bool {
    body.get("response_format").is_some()
}

/// The `response_format.type` of a request (`json_schema`, `json_object`), if any.
pub fn response_format_type(body: &Value) -> Option<String> {
    body.pointer("/response_format/type").and_then(Value::as_str).map(str::to_owned)
}

/// The content of the last message with the given role (`""` when there is none).
pub fn last_message(body: &Value, role: &str) -> String {
    body.get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == role))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The content of the last user message (`""` when there is none): where the text
/// under review goes.
pub fn last_user_message(body: &Value) -> String {
    last_message(body, "user")
}

/// The content of the system message (`""` when there is none).
pub fn system_message(body: &Value) -> String {
    last_message(body, "system")
}
