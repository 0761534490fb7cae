//! The pipeline watching itself: when deliveries keep failing, or the oldest due delivery has
//! waited too long, an alarm goes out through a separately configured out-of-band target
//! (never through the outbox it is about), and again when the pipeline recovers. The rule is
//! pure and clock-driven ([`Watch::observe`]); the worker feeds it and sends what it returns.

use crate::domain::Timestamp;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;
use utoipa::ToSchema;

/// Why the alarm is raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum AlarmReason {
    /// The oldest due delivery has waited this long.
    Backlog { oldest_due_seconds: u64 },
    /// This many attempts failed within the window.
    Failing { failures: u64, window_seconds: u64 },
}

impl std::fmt::Display for AlarmReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlarmReason::Backlog { oldest_due_seconds } => write!(
                f,
                "the oldest due notification has waited {oldest_due_seconds} s to be sent"
            ),
            AlarmReason::Failing {
                failures,
                window_seconds,
            } => write!(
                f,
                "{failures} notification attempts failed in the last {window_seconds} s"
            ),
        }
    }
}

/// A change of the alarm to announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlarmChange {
    Raised(Vec<AlarmReason>),
    Cleared,
}

/// The alarm's state, as `/api/v1/notifications/status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AlarmState {
    pub raised: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    pub reasons: Vec<AlarmReason>,
}

/// Thresholds (`[notifications.alarm]`).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// The oldest due delivery older than this raises the alarm.
    pub after: Duration,
    /// This many failed attempts within `window` raise it too.
    pub failures: u32,
    pub window: Duration,
}

/// Failed attempts in a sliding window, and the alarm's state.
#[derive(Debug)]
pub struct Watch {
    thresholds: Thresholds,
    failures: VecDeque<Timestamp>,
    state: AlarmState,
}

impl Watch {
    pub fn new(thresholds: Thresholds) -> Watch {
        Watch {
            thresholds,
            failures: VecDeque::new(),
            state: AlarmState::default(),
        }
    }

    /// A failed attempt at `at`.
    pub fn failed(&mut self, at: Timestamp) {
        self.failures.push_back(at);
        // Only the count within the window matters; keep the memory bounded regardless.
        let cap = (self.thresholds.failures as usize).max(1) * 4 + 1024;
        while self.failures.len() > cap {
            self.failures.pop_front();
        }
    }

    pub fn state(&self) -> &AlarmState {
        &self.state
    }

    /// Evaluates the rule at `now` with the outbox's oldest due time; returns the change to
    /// announce, if any. The alarm clears only when no reason holds any more.
    pub fn observe(
        &mut self,
        now: Timestamp,
        oldest_due: Option<Timestamp>,
    ) -> Option<AlarmChange> {
        let window = chrono::Duration::from_std(self.thresholds.window).unwrap_or_default();
        while self.failures.front().is_some_and(|t| now.0 - t.0 > window) {
            self.failures.pop_front();
        }
        let mut reasons = Vec::new();
        if let Some(oldest) = oldest_due {
            let waited = (now.0 - oldest.0).num_seconds().max(0) as u64;
            if waited >= self.thresholds.after.as_secs() {
                reasons.push(AlarmReason::Backlog {
                    oldest_due_seconds: waited,
                });
            }
        }
        let failures = self.failures.len() as u64;
        if self.thresholds.failures > 0 && failures >= u64::from(self.thresholds.failures) {
            reasons.push(AlarmReason::Failing {
                failures,
                window_seconds: self.thresholds.window.as_secs(),
            });
        }
        match (self.state.raised, reasons.is_empty()) {
            (false, false) => {
                self.state = AlarmState {
                    raised: true,
                    since: Some(now),
                    reasons: reasons.clone(),
                };
                Some(AlarmChange::Raised(reasons))
            }
            (true, true) => {
                self.state = AlarmState::default();
                Some(AlarmChange::Cleared)
            }
            (true, false) => {
                self.state.reasons = reasons;
                None
            }
            (false, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_datetime(
            chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("in range"),
        )
    }

    fn watch() -> Watch {
        Watch::new(Thresholds {
            after: Duration::from_secs(300),
            failures: 5,
            window: Duration::from_secs(300),
        })
    }

    #[test]
    fn a_backlog_raises_and_clears_once() {
        let mut w = watch();
        assert_eq!(w.observe(at(0), Some(at(0))), None);
        assert_eq!(w.observe(at(299), Some(at(0))), None);
        assert_eq!(
            w.observe(at(300), Some(at(0))),
            Some(AlarmChange::Raised(vec![AlarmReason::Backlog {
                oldest_due_seconds: 300
            }]))
        );
        assert!(w.state().raised);
        assert_eq!(w.observe(at(400), Some(at(0))), None, "raised once");
        assert_eq!(
            w.observe(at(401), Some(at(390))),
            Some(AlarmChange::Cleared)
        );
        assert_eq!(w.observe(at(402), None), None);
        assert!(!w.state().raised);
    }

    #[test]
    fn failures_raise_within_the_window_and_age_out() {
        let mut w = watch();
        for s in 0..4 {
            w.failed(at(s));
        }
        assert_eq!(w.observe(at(10), None), None, "4 < 5");
        w.failed(at(11));
        assert_eq!(
            w.observe(at(12), None),
            Some(AlarmChange::Raised(vec![AlarmReason::Failing {
                failures: 5,
                window_seconds: 300
            }]))
        );
        // The first failure leaves the window at 301 s.
        assert_eq!(w.observe(at(300), None), None);
        assert_eq!(w.observe(at(301), None), Some(AlarmChange::Cleared));
    }

    #[test]
    fn both_reasons_must_end_before_clearing() {
        let mut w = watch();
        for s in 0..5 {
            w.failed(at(s));
        }
        assert!(matches!(
            w.observe(at(300), Some(at(0))),
            Some(AlarmChange::Raised(r)) if r.len() == 2
        ));
        // Failures aged out, backlog remains.
        assert_eq!(w.observe(at(400), Some(at(0))), None);
        assert_eq!(w.state().reasons.len(), 1);
        assert_eq!(w.observe(at(401), None), Some(AlarmChange::Cleared));
    }
}
