//! Vendor tracking: following the public status pages of third-party services.
//!
//! - [`model`]: the normalised snapshot every adapter produces.
//! - [`adapter`]: one module per source format, each a pure parser.

pub mod adapter;
pub mod catalog;
pub mod detect;
pub mod diff;
pub mod fetch;
pub mod model;
pub mod poller;
pub mod record;
