//! The response-cache layer: a [`LanguageModel`] wrapper that answers a request from the
//! [`ResponseCache`] when an identical one was answered before, and stores what the
//! wrapped model answers otherwise.
//!
//! It is the **outermost** layer of the middleware stack: a hit sends nothing, so it
//! must not wait on a rate limit or a concurrency slot, and a miss goes through retry,
//! limits and fallback like any call; what is stored is the final answer only (never
//! its failed attempts, never an error, a cut-off, filtered or empty answer — see
//! [`cacheable`]).
//!
//! A hit is a [`Completion`] with `cache_hit = true` and the original call's usage: the
//! recorder marks its call record as a cache hit and the engine counts those tokens
//! (and their cost) as saved, not spent. Streaming: a hit yields its whole text as one
//! delta, then the completion; a miss streams through and the final completion is
//! stored when the stream ends.
//!
//! The key ([`CacheKey`]) is built from the wrapped model's provider and model names,
//! the endpoint given with [`Cached::endpoint`], the request, and the task's sample
//! index ([`crate::cache::with_sample`]).

use crate::cache::{CacheKey, ResponseCache, cacheable, current_sample};
use crate::model::stream::{self, CompletionStream, StreamEvent};
use crate::model::{Completion, LanguageModel, ModelError, Request};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::Arc;

/// A model whose answers are cached.
pub struct Cached<M> {
    inner: M,
    cache: Arc<ResponseCache>,
    endpoint: Option<String>,
}

impl<M: LanguageModel> Cached<M> {
    /// `inner`, answering from `cache` when it can.
    pub fn new(inner: M, cache: Arc<ResponseCache>) -> Self {
        Self { inner, cache, endpoint: None }
    }

    /// Put `endpoint` (the provider's base URL) into every key, so two servers that
    /// serve different models under the same name never share answers. Default: none.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<ResponseCache> {
        &self.cache
    }

    /// The key `request` has for this model in the current task.
    pub fn key(&self, request: &Request) -> CacheKey {
        CacheKey::new(
            self.inner.provider(),
            self.inner.model(),
            self.endpoint.as_deref(),
            request,
            current_sample(),
        )
    }
}

impl<M> std::fmt::Debug for Cached<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("endpoint", &self.endpoint.as_deref().map(crate::model::url::redacted))
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<M: LanguageModel> LanguageModel for Cached<M> {
    crate::forward_metadata!(inner);

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let key = self.key(request);
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let completion = self.inner.complete(request).await?;
        self.cache.put(&key, &completion).await;
        Ok(completion)
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let key = self.key(request);
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(stream::once(hit));
        }
        let cache = self.cache.clone();
        let events = self.inner.stream(request).await?.then(move |event| {
            let cache = cache.clone();
            async move {
                if let Ok(StreamEvent::Done(completion)) = &event
                    && cacheable(completion)
                {
                    cache.put(&key, completion).await;
                }
                event
            }
        });
        Ok(Box::pin(events))
    }
}
