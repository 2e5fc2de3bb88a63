//! The one shared HTTP transport.
