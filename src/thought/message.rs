//! The words of a conversation with a model, as the audit trail records them: who
//! speaks ([`Role`]), what is said ([`Message`]), with which sampling parameters
//! ([`Sampling`]), and why the model stopped ([`FinishReason`]). They live here, below
//! the model layer, because every stored [`Thought`](super::Thought) is made of them;
//! [`crate::model`] re-exports them.

use serde::{Deserialize, Serialize};

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions.
    System,
    /// The user (and the data under review).
    User,
    /// The model.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// Sampling parameters sent with a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f32>,
    /// Cap on completion tokens; `None` leaves the provider's default.
    pub max_tokens: Option<u32>,
}

/// Why the model stopped writing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end.
    #[default]
    Stop,
    /// Cut off by the token limit.
    Length,
    /// Stopped by a content filter.
    ContentFilter,
    /// Anything else the provider reported.
    Other,
}
