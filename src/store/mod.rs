//! Storage: one interface ([`Store`]) and one SQL implementation ([`sql::SqlStore`]) that
//! serves both SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Every write is one transaction that changes the state *and* appends its events to the log
//! (see [`crate::events`]). Queries are written once with `$1` placeholders, `ON CONFLICT` and
//! `RETURNING`, which both databases accept; where the semantics differ (migration locking)
//! the query is forked side by side with a comment saying why.
//!
//! The store must not know about HTTP or configuration files: it receives validated inputs
//! and reports [`StoreError`]s that the HTTP layer maps to status codes.

pub mod conformance;
mod migrate;
pub mod sql;

use crate::account::{NewSession, NewUser, Session, StoredUser, User, UserPatch};
use crate::domain::ids::UserId;
use crate::domain::model::*;
use crate::domain::*;
use crate::events::Actor;
use crate::monitor::evaluate::{Memory, Policy, Transition};
use crate::monitor::model::{Check, CheckRecord, Monitor, MonitorPatch, NewMonitor};
use crate::monitor::rollup::{Period, Rollup, RollupReport, Uptime};
use crate::notify::escalation::{
    Escalation, EscalationPolicy, EscalationState, NewPolicy, PolicyPatch,
};
use crate::notify::record::{
    Channel, ChannelPatch, ClaimedDelivery, Delivery, DeliveryState, NewChannel, NewSubscriber,
    OutboxStats, Outcome, PlanReport, Subscriber, SubscriberPatch, SubscriberTarget,
};
use crate::vendor::record::{
    Dependency, NewDependency, NewVendor, PollRecord, UpstreamProblem, Vendor, VendorChecked,
    VendorPatch, VendorProblems, VendorState,
};
use async_trait::async_trait;

pub use migrate::MIGRATIONS;
pub use sql::SqlStore;

/// What can go wrong in storage, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named resource does not exist.
    #[error("{what} `{id}` was not found")]
    NotFound { what: &'static str, id: String },
    /// The request conflicts with the stored state (a second resolve, a duplicate name).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The input refers to something that makes it impossible (an unknown component id).
    #[error("{message}")]
    Invalid { message: String },
    /// The database cannot be reached or refused the connection; try again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a corrupted row. Logged with its cause, reported generically.
    #[error("storage error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        StoreError::Invalid {
            message: message.into(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How many incident templates a page may have: a list a responder can scan, read unpaged.
pub const MAX_INCIDENT_TEMPLATES: u64 = 200;

/// A page request: at most `limit` items after the opaque `cursor`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit,
            cursor: None,
        }
    }
}

/// One page of results and the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---- inputs -------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub name: String,
    pub description: Option<String>,
    /// Appended at the end when absent.
    pub position: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub position: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct NewComponent {
    pub name: String,
    pub description: Option<String>,
    pub group_id: Option<ComponentGroupId>,
    pub position: Option<i64>,
    pub status: Option<ComponentStatus>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    pub start_date: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ComponentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub group_id: Option<Option<ComponentGroupId>>,
    pub position: Option<i64>,
    /// Setting a status by hand; see `domain::rules` for how it meets incident holds.
    pub status: Option<ComponentStatus>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    pub start_date: Option<Option<String>>,
}

/// A component an incident or update names, with the status it sets (or none: affected,
/// status unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentChange {
    pub component_id: ComponentId,
    pub status: Option<ComponentStatus>,
}

#[derive(Debug, Clone)]
pub struct NewIncident {
    pub name: String,
    pub status: IncidentStatus,
    /// Derived from the worst component status set when absent.
    pub impact: Option<IncidentImpact>,
    pub body: String,
    pub components: Vec<ComponentChange>,
    pub source: IncidentSource,
    /// When the problem began, if earlier than now (a monitor's first failing check).
    pub started_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewIncidentUpdate {
    /// Unchanged when absent.
    pub status: Option<IncidentStatus>,
    pub body: String,
    pub components: Vec<ComponentChange>,
    pub impact: Option<IncidentImpact>,
}

#[derive(Debug, Clone, Default)]
pub struct IncidentPatch {
    pub name: Option<String>,
    pub impact: Option<IncidentImpact>,
}

#[derive(Debug, Clone)]
pub struct PostmortemInput {
    pub body: String,
    /// Publish now; otherwise save as a draft.
    pub publish: bool,
}

/// A component an incident template names, with the status the incident would set (none:
/// affected, status unchanged).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct TemplateComponent {
    #[schema(value_type = String, format = Uuid)]
    pub component_id: ComponentId,
    pub status: Option<ComponentStatus>,
}

/// An incident template: what the web UI's "open an incident" form starts from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncidentTemplate {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::domain::ids::IncidentTemplateId,
    /// What the template is called in lists (unique).
    pub name: String,
    /// The incident name it proposes.
    pub title: String,
    /// None: derived from the component statuses, as for an incident.
    pub impact: Option<IncidentImpact>,
    /// The first update's status (not `resolved` or `postmortem`).
    pub status: IncidentStatus,
    /// The first update's Markdown.
    pub body: String,
    pub components: Vec<TemplateComponent>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A template's fields, validated, for creating one or replacing one's fields.
#[derive(Debug, Clone)]
pub struct IncidentTemplateInput {
    pub name: String,
    pub title: String,
    pub impact: Option<IncidentImpact>,
    pub status: IncidentStatus,
    pub body: String,
    pub components: Vec<TemplateComponent>,
}

/// The page settings stored from the web UI or `/api/v1/page` (one row, `page_settings`). A
/// `None` field is not stored: the configuration's value or the built-in default applies
/// (`config::PageSettings::merged`, where a field the configuration sets always wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredPageSettings {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    pub time_zone: Option<String>,
    pub footer_links: Option<Vec<crate::config::FooterLink>>,
    pub footer_text: Option<String>,
    /// When and by whom they were last changed; none before the first change.
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

/// A change of the stored page settings, validated by the caller. Per field: `None` leaves it
/// as it is, `Some(None)` removes the stored value (back to the default), `Some(Some(v))`
/// stores `v`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageSettingsPatch {
    pub name: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub accent_color: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub footer_links: Option<Option<Vec<crate::config::FooterLink>>>,
    pub footer_text: Option<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only open (true) or only closed (false) incidents.
    pub open: Option<bool>,
}

/// The incidents and maintenances of a stretch of time, as the history pages show them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryWindow {
    /// Incidents that started in the stretch, latest first, with their updates.
    pub incidents: Vec<Incident>,
    /// Maintenances scheduled to begin in the stretch, latest first, with their updates.
    pub maintenances: Vec<Maintenance>,
    /// Where the page's history begins: the start of its earliest incident or the scheduled
    /// start of its earliest maintenance, whenever that was. None when it has neither.
    pub earliest: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewMaintenance {
    pub name: String,
    pub scheduled_for: Timestamp,
    pub scheduled_until: Timestamp,
    pub component_ids: Vec<ComponentId>,
    pub body: Option<String>,
    pub auto_transition: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MaintenancePatch {
    pub name: Option<String>,
    pub scheduled_for: Option<Timestamp>,
    pub scheduled_until: Option<Timestamp>,
    pub component_ids: Option<Vec<ComponentId>>,
    pub auto_transition: Option<bool>,
    /// Moving the window by hand (start early, verify, complete).
    pub status: Option<MaintenanceStatus>,
    /// Posted as an update to the maintenance's timeline.
    pub body: Option<String>,
}

/// A group or component declared in the configuration file, keyed by its `key`.
#[derive(Debug, Clone)]
pub struct DeclaredGroup {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct DeclaredComponent {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub group_key: Option<String>,
    pub position: i64,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub start_date: Option<String>,
}

/// A monitor declared in the configuration file, keyed by its `key`, validated as the API
/// validates monitors. Its components are named by the keys of declared components and
/// resolved to their ids when reconciled. Never a push monitor: its secret URL could not be
/// shown to anyone.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredMonitor {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub check: Check,
    pub interval_seconds: u64,
    pub timeout_ms: u64,
    pub policy: Policy,
    pub components: Vec<DeclaredMonitorComponent>,
    pub tags: Vec<String>,
    /// `Some`: the file decides at every start. `None`: the file leaves it to operators, who
    /// may pause and resume the monitor through the API (created running).
    pub paused: Option<bool>,
    pub auto_incidents: bool,
}

/// A component a declared monitor drives, by the component's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredMonitorComponent {
    pub component_key: String,
    pub down_status: ComponentStatus,
}

/// What reconciling the configuration changed: groups, components and monitors together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub created: usize,
    pub updated: usize,
    pub released: usize,
}

/// A stored token with the hash to verify a presented secret against.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub token: ApiToken,
    pub secret_hash: String,
}

/// The monitoring of one component, for the public page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComponentChecks {
    pub component_id: ComponentId,
    /// Active monitors driving it.
    pub monitors: u32,
    /// The latest check of any of them; none before the first.
    pub last_checked_at: Option<Timestamp>,
    /// Those monitors, by name, for links to their public pages. Absent from snapshots
    /// written before monitor pages existed.
    #[serde(default)]
    pub monitor_refs: Vec<crate::monitor::model::MonitorRef>,
}

/// A check result with the monitor's memory after it, for [`Store::record_checks`].
#[derive(Debug, Clone)]
pub struct RecordedCheck {
    pub record: CheckRecord,
    pub memory: Memory,
}

/// Which events the audit log shows: newest first, before `before_seq` when set, by one
/// actor (`user:ops@example.com`, `token:deploy`, `cli`) and of one kind or kind prefix
/// (`incident.` matches every incident event) when set.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub before_seq: Option<i64>,
}

/// Which monitors a list shows (the admin monitor list): at most `limit` after `offset`, in
/// the order of [`Store::monitor_listing`].
#[derive(Debug, Clone, Default)]
pub struct MonitorQuery {
    pub state: Option<MonitorStateFilter>,
    /// A check kind: `http`, `tcp`, `dns`, `tls`, `icmp`, `push`.
    pub kind: Option<String>,
    /// Text the name or one of the tags contains, without regard to (ASCII) case.
    pub search: Option<String>,
    pub offset: u64,
    pub limit: u32,
}

/// A monitor's state as a list filters it: a health of a running monitor, paused, or flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorStateFilter {
    Down,
    Degraded,
    Up,
    Pending,
    Paused,
    Flapping,
}

impl MonitorStateFilter {
    pub const ALL: [MonitorStateFilter; 6] = [
        MonitorStateFilter::Down,
        MonitorStateFilter::Degraded,
        MonitorStateFilter::Up,
        MonitorStateFilter::Pending,
        MonitorStateFilter::Paused,
        MonitorStateFilter::Flapping,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MonitorStateFilter::Down => "down",
            MonitorStateFilter::Degraded => "degraded",
            MonitorStateFilter::Up => "up",
            MonitorStateFilter::Pending => "pending",
            MonitorStateFilter::Paused => "paused",
            MonitorStateFilter::Flapping => "flapping",
        }
    }
}

/// A monitor as a list row shows it: no thresholds, no memory, no components.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSummary {
    pub id: MonitorId,
    pub name: String,
    pub check: Check,
    pub tags: Vec<String>,
    pub paused: bool,
    pub health: crate::monitor::evaluate::Health,
    pub health_since: Timestamp,
    pub flapping: bool,
    pub last_checked_at: Option<Timestamp>,
    pub last_message: Option<String>,
    pub managed_by: ManagedBy,
}

/// One page of [`Store::monitor_listing`] and how many monitors match in all.
#[derive(Debug, Clone, Default)]
pub struct MonitorListing {
    pub items: Vec<MonitorSummary>,
    pub total: u64,
}

/// The storage interface. Every method that changes state does so in one transaction that
/// also appends the matching events; every method is safe to call concurrently.
#[async_trait]
pub trait Store: Send + Sync {
    /// Cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Waits for in-flight work and closes the connections.
    async fn close(&self);
    /// Announces the sequence number of the last event this process committed, so followers
    /// of the log (the public snapshot) wake at once instead of waiting for their next poll.
    fn subscribe_commits(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        None
    }
    /// Connections open and idle in the pool, for `/metrics`.
    fn pool_stats(&self) -> Option<(u32, usize)> {
        None
    }

    // component groups
    async fn create_group(&self, input: NewGroup, actor: &Actor) -> StoreResult<ComponentGroup>;
    async fn update_group(
        &self,
        id: ComponentGroupId,
        patch: GroupPatch,
        actor: &Actor,
    ) -> StoreResult<ComponentGroup>;
    /// Deletes the group; its components become ungrouped. Refused for config-managed groups.
    async fn delete_group(&self, id: ComponentGroupId, actor: &Actor) -> StoreResult<()>;
    async fn get_group(&self, id: ComponentGroupId) -> StoreResult<ComponentGroup>;
    async fn list_groups(&self, page: PageRequest) -> StoreResult<Page<ComponentGroup>>;

    // components
    async fn create_component(&self, input: NewComponent, actor: &Actor) -> StoreResult<Component>;
    async fn update_component(
        &self,
        id: ComponentId,
        patch: ComponentPatch,
        actor: &Actor,
    ) -> StoreResult<Component>;
    /// Refused for config-managed components.
    async fn delete_component(&self, id: ComponentId, actor: &Actor) -> StoreResult<()>;
    async fn get_component(&self, id: ComponentId) -> StoreResult<Component>;
    async fn list_components(&self, page: PageRequest) -> StoreResult<Page<Component>>;
    /// For every component, the change that gave it its status at `since` (if it existed then)
    /// and every change after, ordered by component and time. The public snapshot's uptime
    /// bars come from this.
    async fn status_changes_window(
        &self,
        since: Timestamp,
    ) -> StoreResult<Vec<ComponentStatusChange>>;
    /// Every status change of a component since `since`, oldest first.
    async fn component_status_history(
        &self,
        id: ComponentId,
        since: Timestamp,
    ) -> StoreResult<Vec<ComponentStatusChange>>;

    // incidents
    async fn create_incident(&self, input: NewIncident, actor: &Actor) -> StoreResult<Incident>;
    async fn post_incident_update(
        &self,
        id: IncidentId,
        input: NewIncidentUpdate,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    async fn edit_incident_update(
        &self,
        id: IncidentId,
        update_id: IncidentUpdateId,
        body: String,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    async fn update_incident(
        &self,
        id: IncidentId,
        patch: IncidentPatch,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    /// Resolves the incident with a final update. A second resolve is a conflict.
    async fn resolve_incident(
        &self,
        id: IncidentId,
        body: Option<String>,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    async fn set_postmortem(
        &self,
        id: IncidentId,
        input: PostmortemInput,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    /// Deletes one update of an incident (`incident.update_deleted`, carrying the deleted
    /// update). The incident's status and its components' statuses stay as they are: post a
    /// new update to change them. Refused with `Conflict("only_update")` for the only update.
    async fn delete_incident_update(
        &self,
        id: IncidentId,
        update_id: IncidentUpdateId,
        actor: &Actor,
    ) -> StoreResult<Incident>;
    async fn delete_incident(&self, id: IncidentId, actor: &Actor) -> StoreResult<()>;
    async fn get_incident(&self, id: IncidentId) -> StoreResult<Incident>;
    async fn get_incident_by_short_id(&self, short_id: &str) -> StoreResult<Incident>;
    /// Newest first.
    async fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Incident>>;
    /// What the history pages show of `[from, until)`: the incidents that started in it and the
    /// maintenances scheduled to begin in it, latest first, at most `limit` of each, and where
    /// the whole history begins.
    async fn history_window(
        &self,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<HistoryWindow>;

    // maintenances
    async fn create_maintenance(
        &self,
        input: NewMaintenance,
        actor: &Actor,
    ) -> StoreResult<Maintenance>;
    async fn update_maintenance(
        &self,
        id: MaintenanceId,
        patch: MaintenancePatch,
        actor: &Actor,
    ) -> StoreResult<Maintenance>;
    /// Calls the window off: it completes now (restoring its components) and is marked cancelled.
    async fn cancel_maintenance(
        &self,
        id: MaintenanceId,
        actor: &Actor,
    ) -> StoreResult<Maintenance>;
    async fn get_maintenance(&self, id: MaintenanceId) -> StoreResult<Maintenance>;
    /// Soonest first.
    async fn list_maintenances(&self, page: PageRequest) -> StoreResult<Page<Maintenance>>;
    /// Starts windows whose start has passed and completes those whose end has passed
    /// (only those with `auto_transition`). Returns how many changed.
    async fn advance_maintenances(&self, now: Timestamp) -> StoreResult<usize>;

    // the event log
    async fn list_events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>>;
    async fn last_event_seq(&self) -> StoreResult<i64>;

    // API tokens
    async fn create_token(
        &self,
        id: TokenId,
        name: &str,
        scope: TokenScope,
        secret_hash: &str,
        actor: &Actor,
    ) -> StoreResult<ApiToken>;
    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, name: &str, actor: &Actor) -> StoreResult<ApiToken>;
    /// An active (not revoked) token by id.
    async fn find_token(&self, id: TokenId) -> StoreResult<Option<StoredToken>>;
    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()>;

    // monitors (see `crate::monitor`)
    async fn create_monitor(&self, input: NewMonitor, actor: &Actor) -> StoreResult<Monitor>;
    /// Pausing releases the monitor's hold on its components (its health becomes `pending`).
    async fn update_monitor(
        &self,
        id: MonitorId,
        patch: MonitorPatch,
        actor: &Actor,
    ) -> StoreResult<Monitor>;
    async fn delete_monitor(&self, id: MonitorId, actor: &Actor) -> StoreResult<()>;
    async fn get_monitor(&self, id: MonitorId) -> StoreResult<Monitor>;
    async fn list_monitors(&self, page: PageRequest) -> StoreResult<Page<Monitor>>;
    /// Every monitor, for the scheduler.
    async fn all_monitors(&self) -> StoreResult<Vec<Monitor>>;
    /// For each component some active (not paused) monitor drives: how many, and when the
    /// latest of their checks ran. For "last checked" on the page.
    async fn component_checks(&self) -> StoreResult<Vec<ComponentChecks>>;
    /// The push monitor whose secret hashes to `token_hash`.
    async fn find_push_monitor(&self, token_hash: &str) -> StoreResult<Option<Monitor>>;
    /// Writes a batch of check results and each monitor's latest result and memory, in one
    /// transaction, with no events (results are too many for the log; verdicts are events).
    /// Results of monitors deleted meanwhile are dropped.
    async fn record_checks(&self, batch: &[RecordedCheck]) -> StoreResult<()>;
    /// Applies a change of a monitor's health: stores the verdict, appends
    /// `monitor.state_changed` with its evidence, lets the monitor's hold on its components
    /// follow, and opens, joins, updates or resolves the monitor's incident as
    /// [`crate::monitor::evaluate::incident_action`] decides.
    async fn apply_transition(
        &self,
        id: MonitorId,
        transition: &Transition,
        memory: &Memory,
    ) -> StoreResult<Monitor>;
    /// The newest results of a monitor, newest first.
    async fn recent_checks(&self, id: MonitorId, limit: u32) -> StoreResult<Vec<CheckRecord>>;
    /// Rolls up, for every monitor, each whole hour before `until` that has results and no
    /// roll-up yet, or received results after its roll-up was written, and the days those
    /// hours fall in (a day's roll-up covers its rolled-up hours). Idempotent: a recomputed
    /// hour gets the same values; catches up any backlog in one call.
    async fn roll_up(&self, until: Timestamp) -> StoreResult<RollupReport>;
    /// Deletes raw results older than `older_than`, in bounded batches, but only those whose
    /// hour is rolled up (and not awaiting recomputation). Returns how many were deleted.
    async fn prune_checks(&self, older_than: Timestamp) -> StoreResult<u64>;
    /// A monitor's roll-ups of `period` from the one holding `since` on, oldest first.
    async fn monitor_rollups(
        &self,
        id: MonitorId,
        period: Period,
        since: Timestamp,
    ) -> StoreResult<Vec<Rollup>>;
    /// Every monitor's roll-ups of `period` from the one holding `since` on, by monitor and
    /// then oldest first: for uptime bars of many components at once.
    async fn rollups_since(&self, period: Period, since: Timestamp) -> StoreResult<Vec<Rollup>>;
    /// A monitor's uptime over the 24 hours, 7, 30, 90 and 365 days before `now`: day and
    /// hour roll-ups where they are current, raw results for the rest.
    async fn monitor_uptime(&self, id: MonitorId, now: Timestamp) -> StoreResult<Uptime>;
    /// The monitors `query` matches, running ones by health (down, degraded, pending, up),
    /// paused ones last, then by name; and how many match in all. Reads no check results.
    async fn monitor_listing(&self, query: &MonitorQuery) -> StoreResult<MonitorListing>;
    /// The uptime of each of these monitors over the whole hours of the last 24 before `now`
    /// and the raw results since its last roll-up: cheap enough for a page of a list. A
    /// monitor without checks in that time is absent.
    async fn uptime_24h(
        &self,
        ids: &[MonitorId],
        now: Timestamp,
    ) -> StoreResult<std::collections::BTreeMap<MonitorId, f64>>;
    /// The latest change of a monitor's health with the results that confirmed it (from its
    /// newest `monitor.state_changed` event); none before its first verdict.
    async fn last_transition(&self, id: MonitorId) -> StoreResult<Option<Transition>>;

    // vendors (see `crate::vendor`)
    async fn create_vendor(&self, input: NewVendor, actor: &Actor) -> StoreResult<Vendor>;
    /// Changing the adapter or the URLs forgets the conditional-GET validators.
    async fn update_vendor(
        &self,
        id: VendorId,
        patch: VendorPatch,
        actor: &Actor,
    ) -> StoreResult<Vendor>;
    /// Deletes the vendor with everything seen on its page.
    async fn delete_vendor(&self, id: VendorId, actor: &Actor) -> StoreResult<()>;
    async fn get_vendor(&self, id: VendorId) -> StoreResult<Vendor>;
    async fn get_vendor_by_slug(&self, slug: &str) -> StoreResult<Vendor>;
    /// Every vendor, by slug.
    async fn all_vendors(&self) -> StoreResult<Vec<Vendor>>;
    /// Whether any vendor is followed and enabled (for the pages' navigation).
    async fn any_vendor_enabled(&self) -> StoreResult<bool>;
    /// Everything stored about a vendor's page: components in the vendor's order (removed
    /// ones included), incidents and maintenances newest first with their updates.
    async fn vendor_state(&self, id: VendorId) -> StoreResult<VendorState>;
    /// Stores one poll in one transaction: the rows of its diff, its events, the source's
    /// state (with `vendor.source_unreachable` / `vendor.source_recovered` when that
    /// changes), the poll time and validators. The caller skips it when nothing changed.
    async fn record_vendor_poll(&self, id: VendorId, poll: &PollRecord) -> StoreResult<()>;
    /// Makes a component depend on a vendor or a vendor component; with `set_status`, the
    /// dependency holds that status on the component while its upstream is degraded or worse
    /// (and the vendor's source readable).
    async fn create_dependency(
        &self,
        input: NewDependency,
        actor: &Actor,
    ) -> StoreResult<Dependency>;
    async fn delete_dependency(&self, id: DependencyId, actor: &Actor) -> StoreResult<()>;
    /// Every dependency, or one vendor's.
    async fn dependencies(&self, vendor: Option<VendorId>) -> StoreResult<Vec<Dependency>>;
    /// The dependencies whose upstream is degraded or worse now (sources readable), for the
    /// public snapshot.
    async fn upstream_problems(&self) -> StoreResult<Vec<UpstreamProblem>>;
    /// Makes the vendors declared in the configuration file match the store, in one
    /// transaction: creates what is new (or takes over an API vendor with the same slug),
    /// updates what changed, releases to the API what is no longer declared.
    async fn reconcile_vendors(
        &self,
        declared: &[crate::vendor::record::DeclaredVendor],
        actor: &Actor,
    ) -> StoreResult<ReconcileReport>;
    /// Incident drafts waiting for a responder, oldest first.
    async fn incident_drafts(&self) -> StoreResult<Vec<crate::vendor::record::IncidentDraft>>;
    /// Opens the incident a draft prepared (source `vendor`, its component holding the
    /// dependency's status) and closes the draft, in one transaction.
    async fn publish_incident_draft(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<Incident>;
    async fn dismiss_incident_draft(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()>;
    /// Every vendor's components that are not operational and its open records.
    async fn vendor_problems(&self) -> StoreResult<VendorProblems>;
    /// Writes the poll times and validators of many vendors in one transaction, no events.
    async fn touch_vendors(&self, checked: &[VendorChecked]) -> StoreResult<()>;
    /// Deletes vendor incidents and maintenances that ended before `before`. Returns how
    /// many.
    async fn prune_vendor_history(&self, before: Timestamp) -> StoreResult<u64>;

    // ---- notifications (see crate::notify) --------------------------------------------

    async fn create_channel(&self, input: NewChannel, actor: &Actor) -> StoreResult<Channel>;
    async fn update_channel(
        &self,
        id: ChannelId,
        patch: ChannelPatch,
        actor: &Actor,
    ) -> StoreResult<Channel>;
    /// Deletes the channel; its pending deliveries are cancelled.
    async fn delete_channel(&self, id: ChannelId, actor: &Actor) -> StoreResult<()>;
    async fn get_channel(&self, id: ChannelId) -> StoreResult<Channel>;
    async fn list_channels(&self) -> StoreResult<Vec<Channel>>;

    /// A second subscription of the same address is `Conflict("subscriber_exists")`.
    async fn create_subscriber(
        &self,
        input: NewSubscriber,
        actor: &Actor,
    ) -> StoreResult<Subscriber>;
    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: SubscriberPatch,
        actor: &Actor,
    ) -> StoreResult<Subscriber>;
    /// Confirms a subscription (double opt-in); confirming twice changes nothing.
    async fn confirm_subscriber(&self, id: SubscriberId, actor: &Actor) -> StoreResult<Subscriber>;
    /// Deletes (unsubscribes) a subscriber; its pending deliveries are cancelled.
    async fn delete_subscriber(&self, id: SubscriberId, actor: &Actor) -> StoreResult<()>;
    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Subscriber>;
    /// How to reach these subscribers (those that still exist), for the delivery worker.
    async fn subscriber_targets(&self, ids: &[SubscriberId]) -> StoreResult<Vec<SubscriberTarget>>;
    async fn find_subscriber(&self, key: &str) -> StoreResult<Option<Subscriber>>;
    async fn list_subscribers(&self, page: PageRequest) -> StoreResult<Page<Subscriber>>;

    /// Plans the events after the planner's cursor (at most `max_events`): one delivery per
    /// (event, recipient) that wants it, written in the transaction that advances the cursor.
    async fn plan_notifications(&self, max_events: u32) -> StoreResult<PlanReport>;
    /// Claims up to `limit` due deliveries of one lane for `lease`, oldest due first. On
    /// PostgreSQL several processes may claim at once (`FOR UPDATE SKIP LOCKED`).
    async fn claim_deliveries(
        &self,
        lane: crate::notify::record::Lane,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records how attempts ended, in one transaction.
    async fn record_deliveries(&self, outcomes: &[(String, Outcome)]) -> StoreResult<()>;
    /// Makes every claimed delivery due again (a single process starting after a crash).
    async fn release_deliveries(&self) -> StoreResult<u64>;
    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>>;
    async fn get_delivery(&self, key: &str) -> StoreResult<Delivery>;
    /// Puts a dead (or cancelled) delivery back in the queue, due now.
    async fn retry_delivery(&self, key: &str, actor: &Actor) -> StoreResult<Delivery>;
    async fn outbox_stats(&self) -> StoreResult<OutboxStats>;
    /// The events with these sequence numbers (those that exist), in order.
    async fn events_by_seq(&self, seqs: &[i64]) -> StoreResult<Vec<Event>>;
    /// A server-wide secret, made on first use (e.g. the key that signs links).
    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>>;

    /// Channels, components, monitors and vendors a policy names must exist; a subject is
    /// covered by one policy at most (`Conflict("already_covered")`).
    async fn create_policy(&self, input: NewPolicy, actor: &Actor)
        -> StoreResult<EscalationPolicy>;
    async fn update_policy(
        &self,
        id: EscalationPolicyId,
        patch: PolicyPatch,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicy>;
    /// Deletes a policy; its running escalations end.
    async fn delete_policy(&self, id: EscalationPolicyId, actor: &Actor) -> StoreResult<()>;
    async fn get_policy(&self, id: EscalationPolicyId) -> StoreResult<EscalationPolicy>;
    async fn list_policies(&self) -> StoreResult<Vec<EscalationPolicy>>;
    /// The newest escalations, optionally in one state.
    async fn list_escalations(
        &self,
        state: Option<EscalationState>,
        limit: u32,
    ) -> StoreResult<Vec<Escalation>>;
    async fn get_escalation(&self, id: EscalationId) -> StoreResult<Escalation>;
    /// Stops an active escalation; its unsent steps are cancelled.
    async fn acknowledge_escalation(
        &self,
        id: EscalationId,
        actor: &Actor,
    ) -> StoreResult<Escalation>;
    /// Moves escalations whose step waited long enough to their next step (or ends them).
    async fn advance_escalations(&self) -> StoreResult<u64>;

    // ---- accounts of the web UI (see crate::account) -----------------------------------

    /// An email already in use (in any case) is `Conflict("email_taken")`.
    async fn create_user(&self, input: NewUser, actor: &Actor) -> StoreResult<User>;
    /// Disabling a user also deletes its sessions. Setting or removing the TOTP secret
    /// forgets the last step used ([`Store::claim_totp_step`]): a new secret starts afresh.
    async fn update_user(&self, id: UserId, patch: UserPatch, actor: &Actor) -> StoreResult<User>;
    /// Deletes the user and its sessions.
    async fn delete_user(&self, id: UserId, actor: &Actor) -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    /// Every user, by email.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// The user with this (lower-case) email, with its credentials.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<StoredUser>>;
    async fn count_users(&self) -> StoreResult<u64>;
    /// Sets a new password hash and deletes the user's sessions except `keep_session` (the one
    /// that changed it, if any). Appends `user.password_changed`.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<User>;
    /// Counts a wrong password or code. The [`crate::account::LOCK_AFTER_FAILURES`]th in a
    /// row locks the account for [`crate::account::LOCK_FOR`]; a failure after a lock ran out
    /// starts counting again. Returns the user as it is now (see `locked_until`).
    async fn record_failed_login(&self, id: UserId) -> StoreResult<User>;
    /// Records `step` as the last TOTP step the user signed in with, only if it is later than
    /// the one recorded; returns whether it was. One conditional statement, so of two
    /// requests (from any processes) with the same code, exactly one wins.
    async fn claim_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool>;
    /// Signs a user in: resets its failed attempts, deletes the session the browser had before
    /// (`replaces`, so the id rotates at sign-in), stores the new one, appends
    /// `user.signed_in` with the user as actor.
    async fn create_session(
        &self,
        user: UserId,
        session: NewSession,
        replaces: Option<&str>,
    ) -> StoreResult<Session>;
    /// The session stored under this id (the SHA-256 of the cookie) with its user, whether
    /// expired or not: the caller applies the expiry rules.
    async fn find_session(&self, id: &str) -> StoreResult<Option<(Session, StoredUser)>>;
    /// Moves the session's `last_seen_at` to `at`, only if it is more than a minute older, so
    /// many requests (from many processes) write at most once a minute.
    async fn touch_session(&self, id: &str, at: Timestamp) -> StoreResult<()>;
    /// Signs one session out (`user.signed_out`); an unknown id changes nothing.
    async fn delete_session(&self, id: &str, actor: &Actor) -> StoreResult<()>;
    /// Signs a user out everywhere but `except`; returns how many sessions ended.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<u64>;
    /// Deletes sessions past their absolute expiry or not seen since `idle_since`. No events:
    /// nobody signed out. Returns how many.
    async fn prune_sessions(&self, idle_since: Timestamp) -> StoreResult<u64>;
    /// Sets a temporary password chosen by someone else (an admin's reset): the user must
    /// choose a new one at the next sign-in ([`User::must_change_password`]), the temporary
    /// one signs in once only (see [`Store::create_session`]: a second sign-in with it is
    /// `Conflict("temporary_password_used")`), and every session of the user ends. Appends
    /// `user.password_changed`. [`Store::set_password`] clears the flag.
    async fn reset_password(
        &self,
        id: UserId,
        password_hash: &str,
        actor: &Actor,
    ) -> StoreResult<User>;
    /// The user's stored sessions, newest first, whether ended or not (the caller applies the
    /// expiry rules, as with [`Store::find_session`]).
    async fn list_user_sessions(&self, user: UserId) -> StoreResult<Vec<Session>>;
    /// How many live sessions each user has (not past their absolute expiry, seen since
    /// `idle_since`); users without one are absent.
    async fn session_counts(&self, idle_since: Timestamp) -> StoreResult<Vec<(UserId, u64)>>;
    /// Stores the one-time setup token (its hash), replacing any earlier one.
    async fn create_setup_token(&self, token_hash: &str, expires_at: Timestamp) -> StoreResult<()>;
    /// Creates the first admin with the setup token, in one transaction: refused with
    /// `Conflict("already_set_up")` once any user exists, and `Invalid` for a token that is
    /// unknown, spent or expired. Spends the token.
    async fn complete_setup(&self, token_hash: &str, input: NewUser) -> StoreResult<User>;
    /// The event log newest first, at most `limit` events.
    async fn audit_log(&self, filter: AuditFilter, limit: u32) -> StoreResult<Vec<Event>>;

    // ---- incident templates (the web UI's "open an incident" form) ----------------------

    /// Components must exist; a name in use is `Conflict("template_name_taken")`.
    async fn create_incident_template(
        &self,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate>;
    /// Replaces every field of the template.
    async fn update_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate>;
    async fn delete_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
        actor: &Actor,
    ) -> StoreResult<()>;
    async fn get_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
    ) -> StoreResult<IncidentTemplate>;
    /// Every template, by name (there are at most [`MAX_INCIDENT_TEMPLATES`]).
    async fn list_incident_templates(&self) -> StoreResult<Vec<IncidentTemplate>>;

    // ---- page settings (the web UI's `/admin/settings` and `/api/v1/page`) -------------

    /// The stored page settings (all `None` before the first change).
    async fn page_settings(&self) -> StoreResult<StoredPageSettings>;
    /// Applies `patch` to the stored page settings and appends `page.settings_changed` (with
    /// the fields changed and the settings after) in the same transaction. A patch that
    /// changes nothing writes nothing and appends no event. Returns the settings as stored.
    async fn update_page_settings(
        &self,
        patch: PageSettingsPatch,
        actor: &Actor,
    ) -> StoreResult<StoredPageSettings>;

    // configuration as code
    /// Makes the stored config-managed resources match the declarations, in one transaction:
    /// creates what is new, updates what changed (nothing, and no event, when nothing did) and
    /// releases what is no longer declared to the API, matched by key. Monitors name
    /// components by key, resolved among `components`.
    async fn reconcile_config(
        &self,
        groups: &[DeclaredGroup],
        components: &[DeclaredComponent],
        monitors: &[DeclaredMonitor],
        actor: &Actor,
    ) -> StoreResult<ReconcileReport>;
}
