//! Middleware: wrappers around a [`LanguageModel`](super::LanguageModel), one concept
//! per file. The response cache is the outermost layer: a hit sends nothing, so it
//! needs no retry, rate limit or fallback.

pub mod cache;
