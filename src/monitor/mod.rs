//! Monitoring: checks of every common kind against the services a page describes, confirmed
//! outage detection, and the incidents that follow from it.
//!
//! - `probe`: one module per check kind (HTTP, TCP, DNS, TLS certificate, ICMP); each runs
//!   one check against its target, bounded by a timeout, and reports a [`probe::ProbeReport`].
//! - `evaluate`: pure functions over recent results and a clock: confirmation (N consecutive or M
//!   of the last K failures), hysteresis on recovery, flapping, and the incident action that
//!   follows a change of health.
//! - `chart`: the latency chart, a server-rendered SVG (pure).
//! - `model`: the monitor record, its check settings, and check results.
//! - `spill`: the queue of results not yet stored, in memory then on disk, kept across restarts.
//! - `scheduler`: runs every monitor on its interval, evaluates results and hands results and
//!   verdicts to the store in order.
//! - `rollup`: hourly and daily roll-ups of the results (their arithmetic, and the task that
//!   keeps them current and prunes the raw results).

pub mod chart;
pub mod evaluate;
pub mod model;
pub mod probe;
pub mod rollup;
pub mod scheduler;
pub mod spill;
