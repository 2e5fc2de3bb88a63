//! The byte backends that the response cache ([`crate::cache`]) and the thought store
//! ([`crate::store`]) share, so there is one copy of the file and Redis code:
//!
//! - `dir` — a directory of documents, each written atomically (a temporary file
//!   created exclusively beside it, written, optionally fsynced, renamed over the
//!   name, the directory fsynced), so readers in any process see the old document or
//!   the new one, never half of one.
//! - `redis` — one lazily made, multiplexed, self-reconnecting Redis connection with
//!   connect and response timeouts, and a pause after a failure so a dead server costs
//!   one short timeout rather than one per command; keys are namespaced by the users.
//!
//! Both report errors; what to do about them (a cache carries on, a store says so) is
//! the user's choice.

pub(crate) mod dir;
pub(crate) mod redis;
