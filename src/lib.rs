//! Pharos: a self-hosted status page, uptime monitor and vendor-outage tracker.
//!
//! The crate is one binary (`pharos`, see `main.rs`) over this library, so integration tests
//! can drive the same code. The parts:
//!
//! - [`account`]: users and roles of the web UI, argon2id passwords, TOTP, session secrets.
//! - [`domain`]: the vocabulary's types and rules (statuses, ids, the component status rule);
//!   no I/O.
//! - [`events`]: the event log's kinds and actors. Every change appends events in the same
//!   transaction; everything downstream follows the log.
//! - [`store`]: the storage interface and its SQL implementation for SQLite and PostgreSQL,
//!   with embedded migrations and the conformance suite both backends must pass.
//! - [`config`]: TOML + environment + flags, validated into one [`config::Config`].
//! - [`http`]: the router, the management API (`/api/v1`), its OpenAPI document, errors,
//!   authentication and the operations endpoints.
//! - [`markdown`]: Markdown to sanitised HTML for update bodies and postmortems on the pages.
//! - [`app`]: wires a [`config::Config`] into a running server with a graceful shutdown.
//! - [`cli`]: the command line.
//! - [`clock`]: injected wall time.

pub mod account;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod events;
pub mod http;
pub mod markdown;
pub mod memory;
pub mod monitor;
pub mod notify;
pub mod snapshot;
pub mod store;
pub mod token;
pub mod vendor;
