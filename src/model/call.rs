//! The recorder every model call goes through: it times the call and appends a
//! [`CallRecord`] — exact messages, sampling, tokens, latency, attempt, finish reason,
//! answer or error — to a [`CallLog`], so `usage.calls` equals the requests sent.

use super::{Completion, LanguageModel, ModelError, Request};
use crate::thought::{CallRecord, CallRole};
use std::sync::Mutex;
use std::time::Instant;

/// Who makes a call and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTag {
    /// Why the call is made.
    pub role: CallRole,
    /// The critic or validator making it.
    pub critic: Option<String>,
    /// 1 for a first attempt, 2 for a re-ask or retry, …
    pub attempt: u32,
}

impl CallTag {
    /// A first attempt for `role`, made by nobody in particular.
    pub fn new(role: CallRole) -> Self {
        Self { role, critic: None, attempt: 1 }
    }

    /// A first attempt made by the critic or validator `name`.
    pub fn by(role: CallRole, name: impl Into<String>) -> Self {
        Self { role, critic: Some(name.into()), attempt: 1 }
    }

    /// The same tag for the next attempt.
    pub fn next_attempt(&self) -> Self {
        Self { attempt: self.attempt + 1, ..self.clone() }
    }
}

/// The call records of one phase. Shared by concurrent critics, drained by the engine.
#[derive(Debug, Default)]
pub struct CallLog {
    records: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a record.
    pub fn push(&self, record: CallRecord) {
        self.lock().push(record);
    }

    /// Take every record so far, leaving the log empty.
    pub fn take(&self) -> Vec<CallRecord> {
        std::mem::take(&mut *self.lock())
    }

    /// How many records the log holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CallRecord>> {
        // A panic while holding this lock cannot leave the Vec half-written.
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Send `request` to `model` and record the call in `log`, whatever its outcome. The
/// request recorded and sent is the one [`LanguageModel::prepare`] returns.
pub async fn call(
    model: &dyn LanguageModel,
    request: &Request,
    tag: &CallTag,
    log: &CallLog,
) -> Result<Completion, ModelError> {
    let request = &*model.prepare(request);
    let started = Instant::now();
    let result = model.complete(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (usage, finish_reason, response, error, served_by) = match &result {
        Ok(c) => (c.usage, Some(c.finish_reason), Some(c.text.clone()), None, c.model.as_str()),
        Err(e) => (Default::default(), None, None, Some(e.to_string()), model.model()),
    };
    log.push(CallRecord {
        role: tag.role,
        critic: tag.critic.clone(),
        provider: model.provider().to_owned(),
        model: if served_by.is_empty() { model.model() } else { served_by }.to_owned(),
        messages: request.messages.clone(),
        sampling: request.sampling,
        response_format: request.format.label().to_owned(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency_ms,
        attempt: tag.attempt,
        finish_reason,
        cache_hit: false,
        response,
        error,
    });
    result
}
