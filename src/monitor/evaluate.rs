//! Evaluation: the pure decisions of monitoring. Given a monitor's [`Policy`], its [`Memory`] of
//! recent results and one new [`Observation`], [`observe`] decides the monitor's [`Health`]
//! (confirmation by N consecutive or M of the last K failures, hysteresis on recovery, flap
//! detection) and returns a [`Transition`] carrying the results that confirmed it. From a
//! transition and what the caller knows about open incidents and maintenances,
//! [`incident_action`] says what the automation should write, and [`component_hold`] says
//! which component status the health holds.
//!
//! Nothing here performs I/O, reads a clock or spawns work: time arrives inside observations,
//! and the memory is a plain serde value the caller stores as JSON between checks, so a
//! restart resumes exactly where it stopped. No input can make these functions panic; a
//! policy that [`Policy::validate`] would reject is clamped to the nearest usable value.

use crate::domain::{ComponentStatus, Timestamp};
use crate::monitor::probe::{ErrorClass, Outcome, ProbeReport};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use utoipa::ToSchema;

/// The largest N, K or R a policy may ask for. The memory keeps that many results, so the
/// bound also bounds the JSON stored per monitor.
pub const MAX_WINDOW: u32 = 100;

/// The longest flapping window a policy may ask for: one week.
pub const MAX_FLAP_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// Messages longer than this are cut when remembered, so one verbose probe cannot bloat the
/// stored memory or an incident's evidence.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// The component status a down monitor holds when its configuration does not choose one.
pub const DEFAULT_DOWN_STATUS: ComponentStatus = ComponentStatus::MajorOutage;

/// How a monitor turns check results into a health: the thresholds of confirmation, recovery
/// and flapping. Every field has a default, so `{}` is a valid policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// N: this many consecutive failing results confirm an outage.
    pub down_after: u32,
    /// M of K: this many failing results among the last K also confirm one; off when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_of_last: Option<MOfK>,
    /// R: this many consecutive good results confirm a recovery.
    pub up_after: u32,
    /// F: this many changes of health within the flapping window make the monitor flapping.
    pub flap_changes: u32,
    /// W, in seconds: the flapping window, and the quiet period that ends flapping.
    pub flap_window_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            down_after: 3,
            down_of_last: None,
            up_after: 2,
            flap_changes: 4,
            flap_window_secs: 1800,
        }
    }
}

/// "M failures among the last K results".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MOfK {
    /// M.
    pub failures: u32,
    /// K.
    pub of_last: u32,
}

impl Policy {
    /// Checks every threshold and explains each bad one, joined with "; ".
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !(1..=MAX_WINDOW).contains(&self.down_after) {
            problems.push(format!(
                "down_after must be between 1 and {MAX_WINDOW} consecutive failures, got {}",
                self.down_after
            ));
        }
        if let Some(MOfK { failures, of_last }) = self.down_of_last {
            if !(1..=MAX_WINDOW).contains(&of_last) {
                problems.push(format!(
                    "down_of_last.of_last (K) must be between 1 and {MAX_WINDOW} results, got {of_last}"
                ));
            }
            if failures == 0 {
                problems.push("down_of_last.failures (M) must be at least 1, got 0".to_string());
            } else if failures > of_last {
                problems.push(format!(
                    "down_of_last.failures (M = {failures}) cannot exceed down_of_last.of_last \
                     (K = {of_last}): M failures must fit among the last K results"
                ));
            }
        }
        if !(1..=MAX_WINDOW).contains(&self.up_after) {
            problems.push(format!(
                "up_after must be between 1 and {MAX_WINDOW} consecutive successes, got {}",
                self.up_after
            ));
        }
        if !(2..=MAX_WINDOW).contains(&self.flap_changes) {
            problems.push(format!(
                "flap_changes must be between 2 and {MAX_WINDOW} changes of health (one change \
                 alone is not flapping), got {}",
                self.flap_changes
            ));
        }
        if !(1..=MAX_FLAP_WINDOW_SECS).contains(&self.flap_window_secs) {
            problems.push(format!(
                "flap_window_secs must be between 1 and {MAX_FLAP_WINDOW_SECS} seconds (one week), \
                 got {}",
                self.flap_window_secs
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    // The accessors below clamp what `validate` would reject, because a policy read back from
    // the database may predate a rule and `observe` must still decide something sensible.

    fn consecutive(&self) -> usize {
        self.down_after.clamp(1, MAX_WINDOW) as usize
    }

    /// (M, K), or `None` when the rule is off.
    fn m_of_k(&self) -> Option<(usize, usize)> {
        self.down_of_last.map(|r| {
            let k = r.of_last.clamp(1, MAX_WINDOW);
            (r.failures.clamp(1, k) as usize, k as usize)
        })
    }

    fn recovery(&self) -> usize {
        self.up_after.clamp(1, MAX_WINDOW) as usize
    }

    fn flap_changes(&self) -> usize {
        self.flap_changes.clamp(2, MAX_WINDOW) as usize
    }

    fn flap_window(&self) -> TimeDelta {
        let secs = self.flap_window_secs.clamp(1, MAX_FLAP_WINDOW_SECS);
        // The clamp keeps the value far inside TimeDelta's range; the fallback is never taken.
        TimeDelta::try_seconds(secs as i64).unwrap_or(TimeDelta::MAX)
    }

    /// How many results the memory must keep to apply every rule (and show its evidence).
    fn history(&self) -> usize {
        let k = self.m_of_k().map_or(0, |(_, k)| k);
        self.consecutive().max(self.recovery()).max(k)
    }
}

/// What a monitor concludes about its target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No verdict yet: a new monitor, or one whose first failures are not confirmed.
    #[default]
    Pending,
    Up,
    Degraded,
    Down,
}

impl Health {
    pub fn as_str(&self) -> &'static str {
        match self {
            Health::Pending => "pending",
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }

    /// True for the healths that hold a component status and can open an incident.
    pub fn is_failing(&self) -> bool {
        matches!(self, Health::Degraded | Health::Down)
    }

    /// How bad a health is, for telling a worsening from an improvement.
    pub fn severity(&self) -> u8 {
        match self {
            Health::Pending | Health::Up => 0,
            Health::Degraded => 1,
            Health::Down => 2,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check result as evaluation remembers it, and as evidence shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Observation {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorClass>,
    #[serde(default)]
    pub message: String,
}

impl Observation {
    /// An observation, with its message cut to [`MAX_MESSAGE_CHARS`].
    pub fn new(
        at: Timestamp,
        outcome: Outcome,
        error: Option<ErrorClass>,
        message: impl Into<String>,
    ) -> Observation {
        let mut message: String = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        Observation {
            at,
            outcome,
            error,
            message,
        }
    }

    /// What a probe reported at `at`.
    pub fn from_report(at: Timestamp, report: &ProbeReport) -> Observation {
        Observation::new(at, report.outcome, report.error, report.message.as_str())
    }
}

/// What a monitor remembers between checks. Stored as JSON; every field has a default so a
/// memory written by an older version still loads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    pub health: Health,
    /// When the health last changed; for a pending monitor, its first result.
    pub health_since: Option<Timestamp>,
    pub flapping: bool,
    /// The latest results, oldest first, as many as the policy's rules need.
    pub recent: VecDeque<Observation>,
    /// When the health changed within the flapping window, oldest first; at most F entries.
    pub changes: VecDeque<Timestamp>,
    /// The first failing result of the current failing streak: incidents are "detected at"
    /// this time. Cleared by a good result while healthy, and by a confirmed recovery.
    pub first_failure_at: Option<Timestamp>,
}

/// Which rule confirmed a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// A pending monitor's first good result.
    FirstCheck,
    /// The last `count` results agreed.
    Consecutive { count: u32 },
    /// `failures` of the last `of_last` results failed.
    OfLast { failures: u32, of_last: u32 },
    /// No change of health for the flapping window: flapping ended, health unchanged.
    Quiet { window_secs: u64 },
}

/// A change worth acting on: of health, or of flapping (then `from == to`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Health,
    pub to: Health,
    pub at: Timestamp,
    /// Whether the monitor is flapping after this transition.
    pub flapping: bool,
    pub flapping_started: bool,
    pub flapping_ended: bool,
    pub rule: Rule,
    /// The results that confirmed the transition, oldest first.
    pub evidence: Vec<Observation>,
    /// The first failing result of the failing streak this transition starts, continues or
    /// ends; `None` when nothing was failing.
    pub first_failure_at: Option<Timestamp>,
}

impl Transition {
    /// One sentence for people: what changed, by which rule, and the latest evidence.
    pub fn summary(&self) -> String {
        let change = if self.from == self.to {
            format!("still {}", self.to)
        } else {
            format!("{} -> {}", self.from, self.to)
        };
        let rule = match self.rule {
            Rule::FirstCheck => "first check".to_string(),
            Rule::Consecutive { count } => format!("{count} consecutive checks"),
            Rule::OfLast { failures, of_last } => {
                format!("{failures} of the last {of_last} checks failed")
            }
            Rule::Quiet { window_secs } => format!("no change for {window_secs} s"),
        };
        let flapping = if self.flapping_started {
            ", flapping started"
        } else if self.flapping_ended {
            ", flapping ended"
        } else if self.flapping {
            ", flapping"
        } else {
            ""
        };
        let latest = match self.evidence.last() {
            Some(obs) => match obs.error {
                Some(class) => format!(
                    ": {} ({}: {})",
                    obs.outcome.as_str(),
                    class.as_str(),
                    obs.message
                ),
                None => format!(": {} ({})", obs.outcome.as_str(), obs.message),
            },
            None => String::new(),
        };
        format!("{change} after {rule}{flapping}{latest}")
    }
}

/// Takes one result into the memory and returns the transition it confirms, if any.
pub fn observe(policy: &Policy, memory: &mut Memory, obs: Observation) -> Option<Transition> {
    let now = obs.at;
    memory.health_since.get_or_insert(now);
    memory.recent.push_back(obs);
    let keep = policy.history();
    while memory.recent.len() > keep {
        memory.recent.pop_front();
    }
    track_first_failure(memory);

    // Changes older than the window no longer count towards flapping; once none is left, the
    // monitor has been quiet for a whole window.
    let window = policy.flap_window();
    while memory
        .changes
        .front()
        .is_some_and(|&at| now.0.signed_duration_since(at.0) >= window)
    {
        memory.changes.pop_front();
    }

    // Flapping ends once a whole window passed without a change, even when the result that
    // shows it changes the health itself: that change then starts a fresh count.
    let flapping_ended = memory.flapping && memory.changes.is_empty();
    if flapping_ended {
        memory.flapping = false;
    }

    let from = memory.health;
    let Some((to, rule, evidence)) = decide(policy, from, &memory.recent) else {
        return flapping_ended.then(|| Transition {
            from,
            to: from,
            at: now,
            flapping: false,
            flapping_started: false,
            flapping_ended: true,
            rule: Rule::Quiet {
                window_secs: policy.flap_window_secs,
            },
            evidence: memory.recent.back().cloned().into_iter().collect(),
            first_failure_at: memory.first_failure_at,
        });
    };

    if to.is_failing() {
        // An M-of-K confirmation counts failures from before the latest good result, which
        // cleared the streak's start; the earliest evidence is where the outage began.
        let earliest = evidence.first().map(|o| o.at);
        memory.first_failure_at = match (memory.first_failure_at, earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let first_failure_at = memory.first_failure_at;
    if to == Health::Up {
        memory.first_failure_at = None;
    }

    // Leaving `pending` is a first verdict, not a change of mind, so it does not count
    // towards flapping.
    let mut flapping_started = false;
    if from != Health::Pending {
        memory.changes.push_back(now);
        let limit = policy.flap_changes();
        while memory.changes.len() > limit {
            memory.changes.pop_front();
        }
        if !memory.flapping && memory.changes.len() >= limit {
            memory.flapping = true;
            flapping_started = true;
        }
    }
    memory.health = to;
    memory.health_since = Some(now);
    Some(Transition {
        from,
        to,
        at: now,
        flapping: memory.flapping,
        flapping_started,
        flapping_ended,
        rule,
        evidence,
        first_failure_at,
    })
}

/// Keeps `first_failure_at` on the first failing result of the current streak. While the
/// monitor is failing, a good result does not end the streak: only a confirmed recovery does.
fn track_first_failure(memory: &mut Memory) {
    let Some(latest) = memory.recent.back() else {
        return;
    };
    if latest.outcome != Outcome::Up {
        memory.first_failure_at.get_or_insert(latest.at);
    } else if !memory.health.is_failing() {
        memory.first_failure_at = None;
    }
}

/// The new health the latest result confirms, with its rule and evidence; `None` to stay.
fn decide(
    policy: &Policy,
    from: Health,
    recent: &VecDeque<Observation>,
) -> Option<(Health, Rule, Vec<Observation>)> {
    let latest = recent.back()?;
    let is_down = |o: Outcome| o == Outcome::Down;
    let is_bad = |o: Outcome| o != Outcome::Up;
    match (from, latest.outcome) {
        (Health::Pending, Outcome::Up) => {
            Some((Health::Up, Rule::FirstCheck, vec![latest.clone()]))
        }
        (Health::Up, Outcome::Up) => None,
        (Health::Degraded | Health::Down, Outcome::Up) => {
            consecutive(recent, policy.recovery(), |o| o == Outcome::Up)
                .map(|(rule, ev)| (Health::Up, rule, ev))
        }
        (Health::Pending | Health::Up | Health::Degraded, Outcome::Down) => {
            if let Some((rule, ev)) = confirm_failure(policy, recent, is_down) {
                return Some((Health::Down, rule, ev));
            }
            if from == Health::Degraded {
                return None;
            }
            confirm_failure(policy, recent, is_bad).map(|(rule, ev)| (Health::Degraded, rule, ev))
        }
        (Health::Pending | Health::Up, Outcome::Degraded) => {
            confirm_failure(policy, recent, is_bad).map(|(rule, ev)| (Health::Degraded, rule, ev))
        }
        (Health::Down, Outcome::Degraded) => {
            consecutive(recent, policy.recovery(), |o| o != Outcome::Down)
                .map(|(rule, ev)| (Health::Degraded, rule, ev))
        }
        (Health::Degraded, Outcome::Degraded) | (Health::Down, Outcome::Down) => None,
    }
}

/// N consecutive results matching `bad`, or else M of the last K.
fn confirm_failure(
    policy: &Policy,
    recent: &VecDeque<Observation>,
    bad: impl Fn(Outcome) -> bool,
) -> Option<(Rule, Vec<Observation>)> {
    if let Some(found) = consecutive(recent, policy.consecutive(), &bad) {
        return Some(found);
    }
    let (m, k) = policy.m_of_k()?;
    let window = recent.len().min(k);
    let failing: Vec<Observation> = recent
        .iter()
        .skip(recent.len() - window)
        .filter(|o| bad(o.outcome))
        .cloned()
        .collect();
    (failing.len() >= m).then(|| {
        let rule = Rule::OfLast {
            failures: failing.len() as u32,
            of_last: window as u32,
        };
        (rule, failing)
    })
}

/// The last `count` results, when they all satisfy `good`.
fn consecutive(
    recent: &VecDeque<Observation>,
    count: usize,
    good: impl Fn(Outcome) -> bool,
) -> Option<(Rule, Vec<Observation>)> {
    if recent.len() < count {
        return None;
    }
    let tail = recent.iter().skip(recent.len() - count);
    if !tail.clone().all(|o| good(o.outcome)) {
        return None;
    }
    let rule = Rule::Consecutive {
        count: count as u32,
    };
    Some((rule, tail.cloned().collect()))
}

/// The status a health holds on the monitor's components: `Down` holds the monitor's
/// configured status (by default [`DEFAULT_DOWN_STATUS`]), `Degraded` holds
/// `degraded_performance`, and `Up` or `Pending` hold nothing, releasing any earlier hold.
pub fn component_hold(health: Health, down_status: ComponentStatus) -> Option<ComponentStatus> {
    match health {
        Health::Down => Some(down_status),
        Health::Degraded => Some(ComponentStatus::DegradedPerformance),
        Health::Pending | Health::Up => None,
    }
}

/// What the caller knows about incidents and maintenances when a transition happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentContext {
    /// The monitor's setting; `false` means status only, never an incident.
    pub auto_incidents: bool,
    /// A maintenance is active on one of the monitor's components.
    pub in_maintenance: bool,
    /// The component status the monitor holds when down.
    pub down_status: ComponentStatus,
    /// The open incident on the monitor's components, if any.
    pub open_incident: Option<OpenIncident>,
}

/// An open incident on the monitor's components, whoever opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIncident {
    /// The health this monitor last reported in the incident; `None` when the incident is
    /// another monitor's or a person's and this monitor has not joined it.
    pub monitor_health: Option<Health>,
    /// A person manages it: they opened it by hand or took it over from the automation.
    pub taken_over: bool,
    /// Other monitors in the incident are still failing, so this one's recovery ends nothing.
    pub other_monitors_failing: bool,
}

/// Why a confirmed change writes nothing to an incident (the component status still follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    AutoIncidentsOff,
    Maintenance,
    Flapping,
    TakenOver,
}

/// What the automation writes to incidents after a transition. Apart from `Open`, each
/// action concerns the context's open incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IncidentAction {
    /// Nothing to write.
    None,
    /// An incident write would follow, but this holds it back: status only.
    Suppressed { reason: Suppression },
    /// Open a new incident for the monitor's components.
    Open {
        component_status: ComponentStatus,
        detected_at: Option<Timestamp>,
    },
    /// Add this monitor and its components to the open incident.
    Join {
        component_status: ComponentStatus,
        detected_at: Option<Timestamp>,
    },
    /// Post an update: it got worse (degraded to down); raise the component status and impact.
    Worsen { component_status: ComponentStatus },
    /// Post an update that the monitor started flapping; the incident stays open until it
    /// settles.
    NoteFlapping,
    /// Post a recovery update and leave the incident open.
    PostRecovery,
    /// Post a recovery update and resolve the incident.
    Resolve,
}

/// Decides the incident write that follows a transition.
pub fn incident_action(t: &Transition, ctx: &IncidentContext) -> IncidentAction {
    let suppressed = |reason| IncidentAction::Suppressed { reason };
    let hold = component_hold(t.to, ctx.down_status);
    let joined = ctx
        .open_incident
        .and_then(|inc| inc.monitor_health.map(|reported| (inc, reported)));

    let Some((incident, reported)) = joined else {
        // This monitor is in no incident: only a confirmed outage leads to one.
        let Some(component_status) = hold else {
            return IncidentAction::None;
        };
        if !ctx.auto_incidents {
            return suppressed(Suppression::AutoIncidentsOff);
        }
        if ctx.in_maintenance {
            return suppressed(Suppression::Maintenance);
        }
        if t.flapping {
            return suppressed(Suppression::Flapping);
        }
        return match ctx.open_incident {
            None => IncidentAction::Open {
                component_status,
                detected_at: t.first_failure_at,
            },
            Some(inc) if inc.taken_over => suppressed(Suppression::TakenOver),
            Some(_) => IncidentAction::Join {
                component_status,
                detected_at: t.first_failure_at,
            },
        };
    };

    // This monitor is in the open incident. While it flaps, its changes are noise: say once
    // that it flaps, then wait for it to settle before recovering or worsening anything.
    if t.flapping_started {
        return if incident.taken_over {
            suppressed(Suppression::TakenOver)
        } else {
            IncidentAction::NoteFlapping
        };
    }
    if t.flapping {
        return suppressed(Suppression::Flapping);
    }
    match t.to {
        Health::Up if incident.taken_over || incident.other_monitors_failing => {
            IncidentAction::PostRecovery
        }
        Health::Up => IncidentAction::Resolve,
        Health::Pending => IncidentAction::None,
        Health::Degraded | Health::Down => {
            let Some(component_status) = hold else {
                return IncidentAction::None;
            };
            if t.to.severity() <= reported.severity() {
                return IncidentAction::None;
            }
            if !ctx.auto_incidents {
                suppressed(Suppression::AutoIncidentsOff)
            } else if incident.taken_over {
                suppressed(Suppression::TakenOver)
            } else if ctx.in_maintenance {
                suppressed(Suppression::Maintenance)
            } else {
                IncidentAction::Worsen { component_status }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    /// Seconds after a fixed origin.
    fn t(secs: i64) -> Timestamp {
        Timestamp(DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap())
    }

    fn obs(at: i64, outcome: Outcome) -> Observation {
        let error = match outcome {
            Outcome::Up => None,
            Outcome::Degraded => Some(ErrorClass::Certificate),
            Outcome::Down => Some(ErrorClass::Timeout),
        };
        Observation::new(
            t(at),
            outcome,
            error,
            format!("{} at {at}", outcome.as_str()),
        )
    }

    // Legend for the tables: checks are `u` up, `d` degraded, `x` down; healths are the same
    // letters plus `p` pending. Spaces are ignored, for grouping.
    fn outcome(c: char) -> Outcome {
        match c {
            'u' => Outcome::Up,
            'd' => Outcome::Degraded,
            'x' => Outcome::Down,
            other => panic!("unknown check letter {other:?}"),
        }
    }

    fn health_letter(h: Health) -> char {
        match h {
            Health::Pending => 'p',
            Health::Up => 'u',
            Health::Degraded => 'd',
            Health::Down => 'x',
        }
    }

    struct Run {
        healths: String,
        flapping: String,
        transitions: Vec<Transition>,
        memory: Memory,
    }

    /// Feeds the checks one every `step` seconds and records the health after each.
    fn run(policy: &Policy, checks: &str, step: i64) -> Run {
        let mut memory = Memory::default();
        let mut out = Run {
            healths: String::new(),
            flapping: String::new(),
            transitions: Vec::new(),
            memory: Memory::default(),
        };
        for (i, c) in checks.chars().filter(|c| !c.is_whitespace()).enumerate() {
            if let Some(tr) = observe(policy, &mut memory, obs(i as i64 * step, outcome(c))) {
                out.transitions.push(tr);
            }
            out.healths.push(health_letter(memory.health));
            out.flapping.push(if memory.flapping { 'F' } else { '-' });
        }
        out.memory = memory;
        out
    }

    fn strip(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn policy(n: u32, m_of_k: Option<(u32, u32)>, r: u32) -> Policy {
        Policy {
            down_after: n,
            down_of_last: m_of_k.map(|(failures, of_last)| MOfK { failures, of_last }),
            up_after: r,
            ..Policy::default()
        }
    }

    #[test]
    fn health_follows_the_confirmation_rules() {
        let n3 = Policy::default();
        let m3k5 = policy(10, Some((3, 5)), 2);
        let both = policy(3, Some((3, 5)), 2);
        let r3 = policy(3, None, 3);
        #[rustfmt::skip]
        let cases: &[(&str, &Policy, &str, &str)] = &[
            // name, policy, checks, health after each check
            ("first up result makes a pending monitor up", &n3, "u", "u"),
            ("pending needs the rule before going down", &n3, "xx x", "pp x"),
            ("pending goes degraded on N slow results", &n3, "ddd", "ppd"),
            ("pending then first up", &n3, "xxu", "ppu"),
            ("N consecutive failures confirm down", &n3, "u xxx", "u uux"),
            ("a single failure does not go down", &n3, "uxuxu", "uuuuu"),
            ("a success breaks the consecutive streak", &n3, "u xxuxx x", "u uuuuu x"),
            ("a single success does not recover", &n3, "u xxx u x u", "u uux x x x"),
            ("R consecutive successes recover", &n3, "u xxx uu", "u uux xu"),
            ("R = 3 needs three successes", &r3, "u xxx uuxuuu", "u uux xxxxxu"),
            ("M of K confirms interleaved failures", &m3k5, "u xuxux", "u uuuux"),
            ("M of K ignores failures out of the window", &m3k5, "u xuuuuxux", "u uuuuuuuu"),
            ("M of K counts a short history", &m3k5, "xxx", "ppx"),
            ("M of K, then recovery needs R ups", &m3k5, "u xuxux uu", "u uuuux xu"),
            ("either rule confirms: consecutive", &both, "u xxx", "u uux"),
            ("either rule confirms: M of K", &both, "u xxuux", "u uuuux"),
            ("slow results confirm degraded", &n3, "u ddd", "u uud"),
            ("mixed failures confirm degraded", &n3, "u dxd", "u uud"),
            ("down results confirm down", &n3, "u xxx", "u uux"),
            ("degraded worsens to down on N downs", &n3, "u ddd xxx", "u uud ddx"),
            ("down results after slow ones: latest down but not N", &n3, "u dxx", "u uud"),
            ("degraded recovers on R ups", &n3, "u ddd uu", "u uud du"),
            ("degraded does not recover on a slow result", &n3, "u ddd ud", "u uud dd"),
            ("down to degraded on R not-down with latest degraded", &n3, "u xxx ud", "u uux xd"),
            ("down to degraded on R slow results", &n3, "u xxx dd", "u uux xd"),
            ("down stays down when a down interrupts", &n3, "u xxx dxd", "u uux xxx"),
            ("down does not go degraded when the latest is up", &n3, "u xxx du", "u uux xx"),
            ("degraded via M of K slow", &m3k5, "u dudud", "u uuuud"),
        ];
        for (name, policy, checks, expected) in cases {
            let got = run(policy, checks, 60);
            assert_eq!(got.healths, strip(expected), "{name}: checks {checks}");
        }
    }

    #[test]
    fn transitions_carry_rule_evidence_and_detection_time() {
        let m3k5 = policy(10, Some((3, 5)), 2);
        let run_n = run(&Policy::default(), "u uxxx uu", 60);
        let [first, down, up] = &run_n.transitions[..] else {
            panic!("expected three transitions, got {:?}", run_n.transitions);
        };
        assert_eq!(
            (first.from, first.to, first.rule),
            (Health::Pending, Health::Up, Rule::FirstCheck)
        );
        assert_eq!((down.from, down.to), (Health::Up, Health::Down));
        assert_eq!(down.rule, Rule::Consecutive { count: 3 });
        let times: Vec<Timestamp> = down.evidence.iter().map(|o| o.at).collect();
        assert_eq!(times, vec![t(120), t(180), t(240)]);
        assert_eq!(down.evidence[0].error, Some(ErrorClass::Timeout));
        assert_eq!(down.evidence[0].message, "down at 120");
        assert_eq!(
            down.first_failure_at,
            Some(t(120)),
            "detected at the streak's first failure"
        );
        assert_eq!(
            (up.from, up.to, up.rule),
            (Health::Down, Health::Up, Rule::Consecutive { count: 2 })
        );
        assert_eq!(up.evidence.len(), 2);
        assert_eq!(
            up.first_failure_at,
            Some(t(120)),
            "recovery says when the outage began"
        );
        assert_eq!(run_n.memory.first_failure_at, None);
        assert!(
            up.summary()
                .starts_with("down -> up after 2 consecutive checks"),
            "{}",
            up.summary()
        );

        // M of K: the evidence is the counted failures, and detection goes back to the first.
        let run_m = run(&m3k5, "u xuxux", 60);
        let down = &run_m.transitions[1];
        assert_eq!(
            down.rule,
            Rule::OfLast {
                failures: 3,
                of_last: 5
            }
        );
        let times: Vec<Timestamp> = down.evidence.iter().map(|o| o.at).collect();
        assert_eq!(times, vec![t(60), t(180), t(300)]);
        assert_eq!(down.first_failure_at, Some(t(60)));

        // Degraded then down: the outage began with the first slow result.
        let run_dx = run(&Policy::default(), "u ddd xxx", 60);
        let worse = &run_dx.transitions[2];
        assert_eq!((worse.from, worse.to), (Health::Degraded, Health::Down));
        assert_eq!(worse.first_failure_at, Some(t(60)));
    }

    #[test]
    fn flapping_starts_after_f_changes_within_w_and_ends_after_a_quiet_w() {
        // N = R = 1 so every result changes health; F = 4 changes within W = 600 s.
        let quick = Policy {
            down_after: 1,
            up_after: 1,
            flap_changes: 4,
            flap_window_secs: 600,
            ..Policy::default()
        };
        #[rustfmt::skip]
        let cases: &[(&str, i64, &str, &str)] = &[
            // name, seconds between checks, checks, flapping after each check
            ("four changes within W flap", 60, "u xuxu", "- ---F"),
            ("three changes do not", 60, "u xux xxx", "- --- ---"),
            ("changes spread wider than W do not", 200, "u xuxuxu", "- ------"),
            ("quiet for W ends flapping", 60, "u xuxu uuuuuuuuuu", "- ---F FFFFFFFFF-"),
            ("a change during the quiet period extends it", 60,
                "u xuxu uuuuux uuuuuuuuuuu", "- ---F FFFFFF FFFFFFFFFF-"),
            ("first verdict from pending does not count", 60, "x uxu", "- ---"),
        ];
        for (name, step, checks, expected) in cases {
            let got = run(&quick, checks, *step);
            assert_eq!(got.flapping, strip(expected), "{name}: checks {checks}");
        }

        let got = run(&quick, "u xuxu uuuuuuuuuu", 60);
        let started: Vec<&Transition> = got
            .transitions
            .iter()
            .filter(|t| t.flapping_started)
            .collect();
        let ended: Vec<&Transition> = got
            .transitions
            .iter()
            .filter(|t| t.flapping_ended)
            .collect();
        assert_eq!(started.len(), 1);
        assert_eq!((started[0].to, started[0].flapping), (Health::Up, true));
        assert_eq!(ended.len(), 1);
        let end = ended[0];
        assert_eq!(
            (end.from, end.to, end.flapping),
            (Health::Up, Health::Up, false)
        );
        assert_eq!(end.rule, Rule::Quiet { window_secs: 600 });
        assert_eq!(
            end.at,
            t(4 * 60 + 600),
            "ends exactly W after the last change"
        );

        // The result that ends the quiet period may itself change the health: one transition
        // says both, and the change starts a fresh count rather than prolonging flapping.
        let mut memory = run(&quick, "u xuxu", 60).memory;
        let late = observe(&quick, &mut memory, obs(4 * 60 + 600, Outcome::Down));
        let late = late.expect("a change of health");
        assert_eq!((late.from, late.to), (Health::Up, Health::Down));
        assert_eq!((late.flapping, late.flapping_ended), (false, true));
        assert_eq!(late.rule, Rule::Consecutive { count: 1 });
        assert!(!memory.flapping);
        assert_eq!(memory.changes, [t(4 * 60 + 600)]);
    }

    #[test]
    fn memory_stays_bounded_and_survives_a_json_round_trip() {
        let p = policy(3, Some((4, 8)), 2);
        let mut memory = Memory::default();
        let mut from_json = Memory::default();
        for i in 0..50 {
            let outcome = if i % 3 == 0 {
                Outcome::Up
            } else {
                Outcome::Down
            };
            let a = observe(&p, &mut memory, obs(i * 30, outcome));
            // The same run, with the memory stored and reloaded between every check.
            let json = serde_json::to_string(&from_json).unwrap();
            from_json = serde_json::from_str(&json).unwrap();
            let b = observe(&p, &mut from_json, obs(i * 30, outcome));
            assert_eq!(a, b, "check {i}");
            assert!(memory.recent.len() <= 8);
            assert!(memory.changes.len() <= p.flap_changes as usize);
        }
        assert_eq!(memory, from_json);
        let json = serde_json::to_value(&memory).unwrap();
        assert_eq!(json["health"], "down");
        assert!(json["recent"][0]["at"].as_str().unwrap().ends_with('Z'));
        // An older memory missing fields still loads.
        let old: Memory = serde_json::from_str(r#"{"health":"up"}"#).unwrap();
        assert_eq!(old.health, Health::Up);
    }

    #[test]
    fn long_messages_are_cut_when_remembered() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let o = Observation::new(t(0), Outcome::Down, Some(ErrorClass::Status), long);
        assert_eq!(o.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(o.message.ends_with('…'));
    }

    #[test]
    fn an_invalid_policy_is_clamped_rather_than_panicking() {
        let bad = Policy {
            down_after: 0,
            down_of_last: Some(MOfK {
                failures: 9,
                of_last: 0,
            }),
            up_after: 0,
            flap_changes: 0,
            flap_window_secs: u64::MAX,
        };
        assert!(bad.validate().is_err());
        let got = run(&bad, "u x u x u", 60);
        assert_eq!(got.healths, "uxuxu");
    }

    #[test]
    fn policy_validation_explains_each_bad_value() {
        let ok = Policy::default();
        #[rustfmt::skip]
        let cases: &[(&str, Policy, Option<&str>)] = &[
            ("defaults are valid", ok.clone(), None),
            ("M of K within bounds", Policy { down_of_last: Some(MOfK { failures: 3, of_last: 5 }), ..ok.clone() }, None),
            ("N of zero", Policy { down_after: 0, ..ok.clone() },
                Some("down_after must be between 1 and 100 consecutive failures, got 0")),
            ("N too large", Policy { down_after: 101, ..ok.clone() },
                Some("down_after must be between 1 and 100 consecutive failures, got 101")),
            ("M above K", Policy { down_of_last: Some(MOfK { failures: 6, of_last: 5 }), ..ok.clone() },
                Some("down_of_last.failures (M = 6) cannot exceed down_of_last.of_last (K = 5): M failures must fit among the last K results")),
            ("M of zero", Policy { down_of_last: Some(MOfK { failures: 0, of_last: 5 }), ..ok.clone() },
                Some("down_of_last.failures (M) must be at least 1, got 0")),
            ("K too large", Policy { down_of_last: Some(MOfK { failures: 3, of_last: 101 }), ..ok.clone() },
                Some("down_of_last.of_last (K) must be between 1 and 100 results, got 101")),
            ("R of zero", Policy { up_after: 0, ..ok.clone() },
                Some("up_after must be between 1 and 100 consecutive successes, got 0")),
            ("F of one", Policy { flap_changes: 1, ..ok.clone() },
                Some("flap_changes must be between 2 and 100 changes of health (one change alone is not flapping), got 1")),
            ("W of zero", Policy { flap_window_secs: 0, ..ok.clone() },
                Some("flap_window_secs must be between 1 and 604800 seconds (one week), got 0")),
            ("several problems at once", Policy { down_after: 0, up_after: 0, ..ok.clone() },
                Some("down_after must be between 1 and 100 consecutive failures, got 0; up_after must be between 1 and 100 consecutive successes, got 0")),
        ];
        for (name, p, expected) in cases {
            assert_eq!(p.validate().err().as_deref(), *expected, "{name}");
        }
    }

    #[test]
    fn policy_json_has_defaults_and_rejects_unknown_fields() {
        let empty: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Policy::default());
        let partial: Policy =
            serde_json::from_str(r#"{"down_after":5,"down_of_last":{"failures":3,"of_last":5}}"#)
                .unwrap();
        assert_eq!(partial.down_after, 5);
        assert_eq!(
            partial.down_of_last,
            Some(MOfK {
                failures: 3,
                of_last: 5
            })
        );
        let typo = serde_json::from_str::<Policy>(r#"{"down_afer":5}"#).unwrap_err();
        assert!(
            typo.to_string().contains("unknown field `down_afer`"),
            "{typo}"
        );
    }

    #[test]
    fn each_health_holds_its_component_status() {
        use ComponentStatus::*;
        let cases = [
            (Health::Down, DEFAULT_DOWN_STATUS, Some(MajorOutage)),
            (Health::Down, PartialOutage, Some(PartialOutage)),
            (Health::Degraded, PartialOutage, Some(DegradedPerformance)),
            (Health::Up, MajorOutage, None),
            (Health::Pending, MajorOutage, None),
        ];
        for (health, configured, expected) in cases {
            assert_eq!(
                component_hold(health, configured),
                expected,
                "{health} with {configured}"
            );
        }
    }

    fn transition(from: Health, to: Health, flapping: (bool, bool, bool)) -> Transition {
        let (flapping, flapping_started, flapping_ended) = flapping;
        Transition {
            from,
            to,
            at: t(600),
            flapping,
            flapping_started,
            flapping_ended,
            rule: Rule::Consecutive { count: 3 },
            evidence: vec![obs(600, Outcome::Down)],
            first_failure_at: Some(t(480)),
        }
    }

    #[test]
    fn incident_actions_follow_the_transition_and_context() {
        use Health::*;
        use IncidentAction as A;
        use Suppression as S;
        const STEADY: (bool, bool, bool) = (false, false, false);
        const FLAPPING: (bool, bool, bool) = (true, false, false);
        const STARTS: (bool, bool, bool) = (true, true, false);
        const ENDS: (bool, bool, bool) = (false, false, true);
        let ctx = IncidentContext {
            auto_incidents: true,
            in_maintenance: false,
            down_status: ComponentStatus::PartialOutage,
            open_incident: None,
        };
        let incident =
            |monitor_health: Option<Health>, taken_over: bool, others: bool| IncidentContext {
                open_incident: Some(OpenIncident {
                    monitor_health,
                    taken_over,
                    other_monitors_failing: others,
                }),
                ..ctx.clone()
            };
        let own = |h| incident(Some(h), false, false);
        let taken = |h| incident(Some(h), true, false);
        let detected = Some(t(480));
        let open = |s| A::Open {
            component_status: s,
            detected_at: detected,
        };
        let join = |s| A::Join {
            component_status: s,
            detected_at: detected,
        };
        let partial = ComponentStatus::PartialOutage;
        let degraded = ComponentStatus::DegradedPerformance;
        #[rustfmt::skip]
        let cases: Vec<(&str, Transition, IncidentContext, IncidentAction)> = vec![
            ("down opens an incident", transition(Up, Down, STEADY), ctx.clone(), open(partial)),
            ("degraded opens an incident", transition(Up, Degraded, STEADY), ctx.clone(), open(degraded)),
            ("pending to down opens one", transition(Pending, Down, STEADY), ctx.clone(), open(partial)),
            ("first up writes nothing", transition(Pending, Up, STEADY), ctx.clone(), A::None),
            ("auto incidents off: status only", transition(Up, Down, STEADY),
                IncidentContext { auto_incidents: false, ..ctx.clone() }, A::Suppressed { reason: S::AutoIncidentsOff }),
            ("maintenance suppresses the incident", transition(Up, Down, STEADY),
                IncidentContext { in_maintenance: true, ..ctx.clone() }, A::Suppressed { reason: S::Maintenance }),
            ("flapping suppresses the incident", transition(Up, Down, FLAPPING), ctx.clone(), A::Suppressed { reason: S::Flapping }),
            ("flapping start while down: no incident", transition(Up, Down, STARTS), ctx.clone(), A::Suppressed { reason: S::Flapping }),
            ("flapping ends while down: open at last", transition(Down, Down, ENDS), ctx.clone(), open(partial)),
            ("flapping ends while up: nothing", transition(Up, Up, ENDS), ctx.clone(), A::None),
            ("another monitor's incident is joined", transition(Up, Down, STEADY), incident(None, false, true), join(partial)),
            ("joining waits out maintenance", transition(Up, Down, STEADY),
                IncidentContext { in_maintenance: true, ..incident(None, false, true) }, A::Suppressed { reason: S::Maintenance }),
            ("a taken-over incident is not joined", transition(Up, Down, STEADY), incident(None, true, false), A::Suppressed { reason: S::TakenOver }),
            ("degraded to down worsens its incident", transition(Degraded, Down, STEADY), own(Degraded), A::Worsen { component_status: partial }),
            ("worse than it reported: worsen", transition(Up, Down, STEADY), own(Degraded), A::Worsen { component_status: partial }),
            ("down to degraded writes nothing", transition(Down, Degraded, STEADY), own(Down), A::None),
            ("already reported down: nothing", transition(Down, Down, ENDS), own(Down), A::None),
            ("worsening in maintenance is held", transition(Degraded, Down, STEADY),
                IncidentContext { in_maintenance: true, ..own(Degraded) }, A::Suppressed { reason: S::Maintenance }),
            ("recovery resolves its incident", transition(Down, Up, STEADY), own(Down), A::Resolve),
            ("recovery in maintenance still resolves", transition(Down, Up, STEADY),
                IncidentContext { in_maintenance: true, ..own(Down) }, A::Resolve),
            ("recovery with others failing only posts", transition(Down, Up, STEADY), incident(Some(Down), false, true), A::PostRecovery),
            ("recovery with auto incidents off still resolves", transition(Down, Up, STEADY),
                IncidentContext { auto_incidents: false, ..own(Down) }, A::Resolve),
            ("recovery elsewhere's incident: nothing", transition(Down, Up, STEADY), incident(None, false, true), A::None),
            ("taken over: recovery update only", transition(Down, Up, STEADY), taken(Down), A::PostRecovery),
            ("taken over: no worsening", transition(Degraded, Down, STEADY), taken(Degraded), A::Suppressed { reason: S::TakenOver }),
            ("taken over: no flapping note", transition(Down, Up, STARTS), taken(Down), A::Suppressed { reason: S::TakenOver }),
            ("flapping starts in its incident: note it", transition(Down, Up, STARTS), own(Down), A::NoteFlapping),
            ("flapping: no resolve", transition(Down, Up, FLAPPING), own(Down), A::Suppressed { reason: S::Flapping }),
            ("flapping: no worsening", transition(Degraded, Down, FLAPPING), own(Degraded), A::Suppressed { reason: S::Flapping }),
            ("flapping ends up: resolve", transition(Up, Up, ENDS), own(Down), A::Resolve),
            ("flapping ends down, reported degraded: worsen", transition(Down, Down, ENDS), own(Degraded), A::Worsen { component_status: partial }),
        ];
        for (name, t, ctx, expected) in cases {
            assert_eq!(incident_action(&t, &ctx), expected, "{name}");
        }
    }

    #[test]
    fn a_whole_outage_opens_once_and_resolves() {
        // The monitor's story through observe and incident_action, with the caller's part
        // (remembering which incident the monitor is in) played by the test.
        let p = Policy::default();
        let mut memory = Memory::default();
        let mut in_incident: Option<Health> = None;
        let mut actions = Vec::new();
        for (i, c) in "uu xxx xx uu"
            .chars()
            .filter(|c| !c.is_whitespace())
            .enumerate()
        {
            let Some(tr) = observe(&p, &mut memory, obs(i as i64 * 60, outcome(c))) else {
                continue;
            };
            let ctx = IncidentContext {
                auto_incidents: true,
                in_maintenance: false,
                down_status: DEFAULT_DOWN_STATUS,
                open_incident: in_incident.map(|h| OpenIncident {
                    monitor_health: Some(h),
                    taken_over: false,
                    other_monitors_failing: false,
                }),
            };
            let action = incident_action(&tr, &ctx);
            match action {
                IncidentAction::Open { .. } | IncidentAction::Worsen { .. } => {
                    in_incident = Some(tr.to)
                }
                IncidentAction::Resolve => in_incident = None,
                _ => {}
            }
            actions.push(action);
        }
        assert_eq!(
            actions,
            vec![
                IncidentAction::None,
                IncidentAction::Open {
                    component_status: ComponentStatus::MajorOutage,
                    detected_at: Some(t(120)),
                },
                IncidentAction::Resolve,
            ]
        );
    }
}
