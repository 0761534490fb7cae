//! Notifications: everything Pharos tells people, derived from the event log.
//!
//! - [`plan`]: which events are news and for whom (pure); the store applies it in the
//!   transaction that advances the planner's cursor (`Store::plan_notifications`).
//! - [`record`]: channels, subscribers and deliveries as stored, with their validation.
//! - [`message`]: one event into one [`message::Message`] (title, text, Markdown, HTML, link,
//!   severity), written once per event kind; pure.
//! - [`channel`]: where messages go ([`channel::Target`]: email, webhook, chat and paging
//!   services) and the [`channel::Sender`] that delivers one message to one target.
//! - [`links`]: signed links (confirm, unsubscribe, acknowledge) that need no login.
//! - [`escalation`]: on-call policies and the rules of their steps (pure).
//! - [`alarm`]: the pipeline's own alarm rule (pure).
//! - [`worker`]: the engine: planner, delivery worker, recorder and watch.

pub mod alarm;
pub mod channel;
pub mod escalation;
pub mod links;
pub mod message;
pub mod plan;
pub mod record;
pub mod worker;
