//! Monitors in SQL: their settings and verdicts, batched check results, and the transaction
//! that applies a change of health, with the incident it opens, joins, updates or resolves.
//!
//! A monitor's hold on its components is not stored: `recompute_components` reads it from
//! the monitors that are `down` or `degraded` (see `domain::rules`), so a verdict and the
//! statuses it implies can never disagree.

use super::*;
use crate::monitor::evaluate::{
    incident_action, Health, IncidentAction, IncidentContext, Memory, OpenIncident, Policy,
    Transition, DEFAULT_DOWN_STATUS,
};
use crate::monitor::model::{
    Check, CheckRecord, Monitor, MonitorComponent, MonitorPatch, NewMonitor,
};
use crate::monitor::probe::ProbeReport;

pub(super) const MONITOR_COLUMNS: &str = "id, name, description, settings, interval_seconds, timeout_ms, \
     policy, tags, paused, auto_incidents, health, health_since, flapping, memory, last_checked_at, \
     last_outcome, last_message, incident_id, managed_by, config_key, created_at, updated_at";

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, e))
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("monitor settings serialise")
}

fn monitor_from_row(row: &AnyRow) -> StoreResult<Monitor> {
    let interval: i64 = get(row, "interval_seconds")?;
    let timeout: i64 = get(row, "timeout_ms")?;
    Ok(Monitor {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        check: from_json::<Check>(row, "settings")?,
        interval_seconds: interval.max(0) as u64,
        timeout_ms: timeout.max(0) as u64,
        policy: from_json::<Policy>(row, "policy")?,
        components: Vec::new(),
        tags: from_json(row, "tags")?,
        paused: get_bool(row, "paused")?,
        auto_incidents: get_bool(row, "auto_incidents")?,
        health: get_enum(row, "health")?,
        health_since: get_ts(row, "health_since")?,
        flapping: get_bool(row, "flapping")?,
        last_checked_at: get_opt_ts(row, "last_checked_at")?,
        last_outcome: get_opt_enum(row, "last_outcome")?,
        last_message: get(row, "last_message")?,
        incident_id: get_opt_enum(row, "incident_id")?,
        managed_by: get_enum(row, "managed_by")?,
        config_key: get(row, "config_key")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        memory: from_json(row, "memory")?,
    })
}

/// Loads the components of each monitor (one query for all of them).
async fn fill_monitors(
    conn: &mut sqlx::AnyConnection,
    monitors: &mut [Monitor],
) -> StoreResult<()> {
    if monitors.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = monitors.iter().map(|m| m.id.to_string()).collect();
    let mut by_monitor: BTreeMap<String, Vec<MonitorComponent>> = BTreeMap::new();
    // Chunks keep the parameter count well below both databases' limits.
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT monitor_id, component_id, down_status FROM monitor_components \
              WHERE monitor_id IN ({}) ORDER BY monitor_id, component_id",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.clone());
        }
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            by_monitor
                .entry(get(&row, "monitor_id")?)
                .or_default()
                .push(MonitorComponent {
                    component_id: get_id(&row, "component_id")?,
                    down_status: get_enum(&row, "down_status")?,
                });
        }
    }
    for m in monitors.iter_mut() {
        m.components = by_monitor.remove(&m.id.to_string()).unwrap_or_default();
    }
    Ok(())
}

fn check_from_row(row: &AnyRow) -> StoreResult<CheckRecord> {
    let latency_us: i64 = get(row, "latency_us")?;
    let status_code: Option<i64> = get(row, "status_code")?;
    Ok(CheckRecord {
        monitor_id: get_id(row, "monitor_id")?,
        at: get_ts(row, "at")?,
        location: get(row, "location")?,
        outcome: get_enum(row, "outcome")?,
        error: get_opt_enum(row, "error_class")?,
        message: get(row, "message")?,
        status_code: status_code.and_then(|c| u16::try_from(c).ok()),
        latency_ms: latency_us as f64 / 1000.0,
        report: from_json::<ProbeReport>(row, "report")?,
    })
}

/// The statuses a monitor's verdict holds on its components.
fn holds_of(monitor: &Monitor, health: Health) -> Vec<ComponentChange> {
    monitor
        .components
        .iter()
        .map(|c| ComponentChange {
            component_id: c.component_id,
            status: Some(match health {
                Health::Down => c.down_status,
                Health::Degraded => ComponentStatus::DegradedPerformance,
                Health::Up | Health::Pending => ComponentStatus::Operational,
            }),
        })
        .collect()
}

impl WriteTx {
    async fn load_monitor(&mut self, id: MonitorId) -> StoreResult<Monitor> {
        let row = sqlx::query(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("monitor", id))?;
        let mut monitors = vec![monitor_from_row(&row)?];
        fill_monitors(&mut self.tx, &mut monitors).await?;
        Ok(monitors.remove(0))
    }

    /// Locks the monitor's row for the rest of the transaction.
    async fn lock_monitor(&mut self, id: MonitorId) -> StoreResult<()> {
        let touched = sqlx::query("UPDATE monitors SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("monitor", id));
        }
        Ok(())
    }

    async fn set_monitor_components(
        &mut self,
        id: MonitorId,
        components: &[MonitorComponent],
    ) -> StoreResult<()> {
        let ids: Vec<ComponentId> = components.iter().map(|c| c.component_id).collect();
        let distinct: BTreeSet<ComponentId> = ids.iter().copied().collect();
        if distinct.len() != ids.len() {
            return Err(StoreError::invalid(
                "`components` names a component twice; list each once",
            ));
        }
        self.components_by_id(&ids).await?;
        sqlx::query("DELETE FROM monitor_components WHERE monitor_id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for c in components {
            sqlx::query(
                "INSERT INTO monitor_components (monitor_id, component_id, down_status) VALUES ($1, $2, $3)",
            )
            .bind(id.to_string())
            .bind(c.component_id.to_string())
            .bind(c.down_status.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }

    /// The open incident `monitor` belongs to, or else an open monitor incident on one of its
    /// components that it can join.
    async fn monitor_incident(
        &mut self,
        monitor: &Monitor,
    ) -> StoreResult<Option<(IncidentId, bool, bool)>> {
        if let Some(id) = monitor.incident_id {
            let row = sqlx::query(
                "SELECT taken_over_at FROM incidents WHERE id = $1 AND resolved_at IS NULL",
            )
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
            if let Some(row) = row {
                let taken: Option<String> = get(&row, "taken_over_at")?;
                return Ok(Some((id, true, taken.is_some())));
            }
        }
        for c in &monitor.components {
            let row = sqlx::query(
                "SELECT i.id AS id, i.taken_over_at AS taken_over_at FROM incidents i \
                   CROSS JOIN incident_components ic \
                  WHERE i.resolved_at IS NULL AND i.source_kind = 'monitor' \
                    AND ic.incident_id = i.id AND ic.component_id = $1 \
                  ORDER BY i.started_at LIMIT 1",
            )
            .bind(c.component_id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
            if let Some(row) = row {
                let taken: Option<String> = get(&row, "taken_over_at")?;
                return Ok(Some((get_id(&row, "id")?, false, taken.is_some())));
            }
        }
        Ok(None)
    }

    /// True when a maintenance in progress covers one of the monitor's components.
    async fn in_maintenance(&mut self, monitor: &Monitor) -> StoreResult<bool> {
        for c in &monitor.components {
            let row = sqlx::query(
                "SELECT 1 AS hit FROM maintenances m CROSS JOIN maintenance_components mc \
                  WHERE m.status IN ('in_progress', 'verifying') AND mc.maintenance_id = m.id \
                    AND mc.component_id = $1 LIMIT 1",
            )
            .bind(c.component_id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
            if row.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn link_monitor_incident(
        &mut self,
        monitor: MonitorId,
        incident: Option<IncidentId>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE monitors SET incident_id = $2 WHERE id = $1")
            .bind(monitor.to_string())
            .bind(incident.map(|i| i.to_string()))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Other monitors linked to `incident` that are still failing.
    async fn failing_partners(
        &mut self,
        incident: IncidentId,
        except: MonitorId,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT name FROM monitors WHERE incident_id = $1 AND id <> $2 \
               AND health IN ('down', 'degraded') ORDER BY name",
        )
        .bind(incident.to_string())
        .bind(except.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(|r| get(r, "name")).collect()
    }

    /// Opens the incident for a confirmed outage: source `monitor`, started at the first
    /// failing check, holding the monitor's statuses on its components.
    async fn open_monitor_incident(
        &mut self,
        monitor: &Monitor,
        transition: &Transition,
    ) -> StoreResult<IncidentId> {
        let id = IncidentId::new();
        let holds = holds_of(monitor, transition.to);
        let named: Vec<ComponentId> = holds.iter().map(|c| c.component_id).collect();
        self.lock_components(named.iter().copied()).await?;
        let before = self.components_by_id(&named).await?;
        let impact = IncidentImpact::from_component_status(ComponentStatus::worst(
            holds.iter().filter_map(|c| c.status),
        ));
        let started = transition.first_failure_at.unwrap_or(transition.at);
        let what = match transition.to {
            Health::Degraded => "degraded",
            _ => "down",
        };
        sqlx::query(
            "INSERT INTO incidents (id, short_id, name, status, impact, source_kind, source_ref, started_at, \
                                    created_at, updated_at) \
             VALUES ($1, $2, $3, 'investigating', $4, 'monitor', $5, $6, $7, $7)",
        )
        .bind(id.to_string())
        .bind(new_short_id())
        .bind(format!("{} is {what}", monitor.name))
        .bind(impact.as_str())
        .bind(monitor.id.to_string())
        .bind(started.to_db())
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.apply_holds(id, &holds).await?;
        let after = self.recompute_components(named.iter().copied()).await?;
        let affected: Vec<AffectedComponent> = named
            .iter()
            .filter_map(|cid| {
                let (name, old_status) = before.get(cid)?.clone();
                Some(AffectedComponent {
                    component_id: *cid,
                    name,
                    old_status,
                    new_status: after.get(cid).copied().unwrap_or(old_status),
                })
            })
            .collect();
        let body = format!(
            "Detected by Pharos: **{}** has been failing since {} ({} checks confirmed it). Latest result: {}",
            monitor.name,
            started.hhmm_utc(),
            transition.evidence.len(),
            evidence_line(transition),
        );
        self.insert_update(id, IncidentStatus::Investigating, &body, &affected)
            .await?;
        self.link_monitor_incident(monitor.id, Some(id)).await?;
        let incident = self.load_incident(id).await?;
        let first = incident.updates.first().map(|u| u.id);
        self.emit(
            EventKind::IncidentOpened,
            id,
            incident_event(&incident, first),
        );
        Ok(id)
    }

    async fn post_monitor_update(
        &mut self,
        incident: IncidentId,
        status: Option<IncidentStatus>,
        body: String,
        components: Vec<ComponentChange>,
        impact: Option<IncidentImpact>,
    ) -> StoreResult<()> {
        let current = self.lock_incident(incident).await?;
        if current.is_closed() {
            return Ok(());
        }
        self.post_update_locked(
            incident,
            current,
            NewIncidentUpdate {
                status,
                body,
                components,
                impact,
            },
        )
        .await?;
        Ok(())
    }
}

/// The latest evidence in one line, for update bodies.
fn evidence_line(t: &Transition) -> String {
    t.evidence
        .last()
        .map(|o| o.message.clone())
        .unwrap_or_else(|| "no detail".into())
}

impl WriteTx {
    /// Inserts a monitor and queues `monitor.created`.
    async fn insert_monitor(&mut self, input: NewMonitor) -> StoreResult<Monitor> {
        let id = MonitorId::new();
        let now = self.now;
        sqlx::query(
            "INSERT INTO monitors (id, name, description, kind, settings, interval_seconds, timeout_ms, \
                 policy, tags, paused, auto_incidents, push_token_hash, health, health_since, flapping, \
                 memory, managed_by, config_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, 0, $14, $15, $16, $13, $13)",
        )
        .bind(id.to_string())
        .bind(input.name.clone())
        .bind(input.description.clone())
        .bind(input.check.kind())
        .bind(to_json(&input.check))
        .bind(input.interval_seconds as i64)
        .bind(input.timeout_ms as i64)
        .bind(to_json(&input.policy))
        .bind(to_json(&input.tags))
        .bind(input.paused as i64)
        .bind(input.auto_incidents as i64)
        .bind(input.push_token_hash.clone())
        .bind(now.to_db())
        .bind(to_json(&Memory::default()))
        .bind(input.managed_by.as_str())
        .bind(input.config_key.clone())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.set_monitor_components(id, &input.components).await?;
        let monitor = self.load_monitor(id).await?;
        self.emit(EventKind::MonitorCreated, id, json(&monitor));
        Ok(monitor)
    }

    /// Applies `patch` to `current` (loaded under the row's lock), lets the components it
    /// drove or drives follow, and queues `monitor.updated`.
    async fn patch_monitor(
        &mut self,
        current: Monitor,
        patch: MonitorPatch,
    ) -> StoreResult<Monitor> {
        let id = current.id;
        let before: BTreeSet<ComponentId> =
            current.components.iter().map(|c| c.component_id).collect();
        let pausing = patch.paused == Some(true) && !current.paused;
        let check = patch.check.unwrap_or_else(|| current.check.clone());
        let policy_changed = patch.policy.as_ref().is_some_and(|p| *p != current.policy);
        let check_changed = check != current.check;
        let policy = patch.policy.unwrap_or_else(|| current.policy.clone());
        // A paused monitor, or one whose check or thresholds changed, starts over: its old
        // results say nothing about the new check, and it must not keep holding a status.
        let restart = pausing || check_changed || policy_changed;
        let (health, since, flapping, memory) = if restart {
            (Health::Pending, self.now, false, Memory::default())
        } else {
            (
                current.health,
                current.health_since,
                current.flapping,
                current.memory.clone(),
            )
        };
        sqlx::query(
            "UPDATE monitors SET name = $2, description = $3, kind = $4, settings = $5, interval_seconds = $6, \
                    timeout_ms = $7, policy = $8, tags = $9, paused = $10, auto_incidents = $11, health = $12, \
                    health_since = $13, flapping = $14, memory = $15, updated_at = $16 \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or_else(|| current.name.clone()))
        .bind(patch.description.unwrap_or_else(|| current.description.clone()))
        .bind(check.kind())
        .bind(to_json(&check))
        .bind(patch.interval_seconds.unwrap_or(current.interval_seconds) as i64)
        .bind(patch.timeout_ms.unwrap_or(current.timeout_ms) as i64)
        .bind(to_json(&policy))
        .bind(to_json(patch.tags.as_ref().unwrap_or(&current.tags)))
        .bind(patch.paused.unwrap_or(current.paused) as i64)
        .bind(patch.auto_incidents.unwrap_or(current.auto_incidents) as i64)
        .bind(health.as_str())
        .bind(since.to_db())
        .bind(flapping as i64)
        .bind(to_json(&memory))
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if let Some(components) = &patch.components {
            self.set_monitor_components(id, components).await?;
        }
        let monitor = self.load_monitor(id).await?;
        let mut affected = before;
        affected.extend(monitor.components.iter().map(|c| c.component_id));
        self.recompute_components(affected).await?;
        self.emit(EventKind::MonitorUpdated, id, json(&monitor));
        Ok(monitor)
    }
}

impl WriteTx {
    /// The monitor part of `reconcile_config`: creates, updates and releases config-managed
    /// monitors, matched by key, naming components through `component_ids` (key to id).
    pub(super) async fn reconcile_monitors(
        &mut self,
        monitors: &[DeclaredMonitor],
        component_ids: &BTreeMap<String, ComponentId>,
        report: &mut ReconcileReport,
    ) -> StoreResult<()> {
        for m in monitors {
            if matches!(m.check, Check::Push(_)) {
                return Err(StoreError::invalid(format!(
                    "monitor `{}` is a push monitor, which cannot be declared: its secret URL is shown once, when created through the API",
                    m.key
                )));
            }
            let mut components = m
                .components
                .iter()
                .map(|c| {
                    let id = component_ids.get(&c.component_key).ok_or_else(|| {
                        StoreError::invalid(format!(
                            "monitor `{}` names component `{}`, which is not declared",
                            m.key, c.component_key
                        ))
                    })?;
                    Ok(MonitorComponent {
                        component_id: *id,
                        down_status: c.down_status,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            // Stored components come back ordered by id; compare (and store) them that way.
            components.sort_by_key(|c| c.component_id);
            let existing = sqlx::query("SELECT id FROM monitors WHERE config_key = $1")
                .bind(m.key.clone())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
            let Some(row) = existing else {
                self.insert_monitor(NewMonitor {
                    name: m.name.clone(),
                    description: m.description.clone(),
                    check: m.check.clone(),
                    interval_seconds: m.interval_seconds,
                    timeout_ms: m.timeout_ms,
                    policy: m.policy.clone(),
                    components,
                    tags: m.tags.clone(),
                    paused: m.paused.unwrap_or(false),
                    auto_incidents: m.auto_incidents,
                    push_token_hash: None,
                    managed_by: ManagedBy::Config,
                    config_key: Some(m.key.clone()),
                })
                .await?;
                report.created += 1;
                continue;
            };
            let id: MonitorId = get_id(&row, "id")?;
            self.lock_monitor(id).await?;
            let current = self.load_monitor(id).await?;
            // Only what differs goes into the patch, so an unchanged monitor keeps its verdict
            // and an unchanged file appends no event.
            let patch = MonitorPatch {
                name: (current.name != m.name).then(|| m.name.clone()),
                description: (current.description != m.description).then(|| m.description.clone()),
                check: (current.check != m.check).then(|| m.check.clone()),
                interval_seconds: (current.interval_seconds != m.interval_seconds)
                    .then_some(m.interval_seconds),
                timeout_ms: (current.timeout_ms != m.timeout_ms).then_some(m.timeout_ms),
                policy: (current.policy != m.policy).then(|| m.policy.clone()),
                components: (current.components != components).then_some(components),
                tags: (current.tags != m.tags).then(|| m.tags.clone()),
                paused: m.paused.filter(|p| *p != current.paused),
                auto_incidents: (current.auto_incidents != m.auto_incidents)
                    .then_some(m.auto_incidents),
            };
            if patch != MonitorPatch::default() {
                self.patch_monitor(current, patch).await?;
                report.updated += 1;
            }
        }
        // Monitors no longer declared are released to the API rather than deleted: removing
        // a line from the file must never destroy their results.
        let declared: BTreeSet<&str> = monitors.iter().map(|m| m.key.as_str()).collect();
        let rows = sqlx::query("SELECT id, config_key FROM monitors WHERE managed_by = 'config'")
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for row in rows {
            let key: Option<String> = get(&row, "config_key")?;
            if key.as_deref().is_some_and(|k| declared.contains(k)) {
                continue;
            }
            let id: MonitorId = get_id(&row, "id")?;
            sqlx::query(
                "UPDATE monitors SET managed_by = 'api', config_key = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(self.now.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
            let monitor = self.load_monitor(id).await?;
            self.emit(EventKind::MonitorUpdated, id, json(&monitor));
            report.released += 1;
        }
        Ok(())
    }
}

/// The fields `patch` would change on `current`, by name; `paused` is not counted. What the
/// API may not change on a monitor the configuration file declares.
fn changes_beyond_pausing(current: &Monitor, patch: &MonitorPatch) -> Vec<&'static str> {
    let sorted = |components: &[MonitorComponent]| {
        let mut v = components.to_vec();
        v.sort_by_key(|c| c.component_id);
        v
    };
    let mut fields = Vec::new();
    let mut differs = |field, changed: bool| {
        if changed {
            fields.push(field);
        }
    };
    differs(
        "name",
        patch.name.as_ref().is_some_and(|v| *v != current.name),
    );
    differs(
        "description",
        patch
            .description
            .as_ref()
            .is_some_and(|v| *v != current.description),
    );
    differs(
        "check",
        patch.check.as_ref().is_some_and(|v| *v != current.check),
    );
    differs(
        "interval_seconds",
        patch
            .interval_seconds
            .is_some_and(|v| v != current.interval_seconds),
    );
    differs(
        "timeout_ms",
        patch.timeout_ms.is_some_and(|v| v != current.timeout_ms),
    );
    differs(
        "policy",
        patch.policy.as_ref().is_some_and(|v| *v != current.policy),
    );
    differs(
        "components",
        patch
            .components
            .as_ref()
            .is_some_and(|v| sorted(v) != sorted(&current.components)),
    );
    differs(
        "tags",
        patch.tags.as_ref().is_some_and(|v| *v != current.tags),
    );
    differs(
        "auto_incidents",
        patch
            .auto_incidents
            .is_some_and(|v| v != current.auto_incidents),
    );
    fields
}

impl SqlStore {
    pub(super) async fn create_monitor_tx(
        &self,
        input: NewMonitor,
        actor: &Actor,
    ) -> StoreResult<Monitor> {
        let mut w = self.begin(actor).await?;
        let monitor = w.insert_monitor(input).await?;
        w.commit().await?;
        Ok(monitor)
    }

    /// Refused (409 `managed_by_config`) when the monitor is declared in the configuration
    /// file and the patch changes anything but `paused`: the file is the source of truth, and
    /// pausing is what an operator may still do in an emergency.
    pub(super) async fn update_monitor_tx(
        &self,
        id: MonitorId,
        patch: MonitorPatch,
        actor: &Actor,
    ) -> StoreResult<Monitor> {
        let mut w = self.begin(actor).await?;
        w.lock_monitor(id).await?;
        let current = w.load_monitor(id).await?;
        if current.managed_by == ManagedBy::Config {
            let fields = changes_beyond_pausing(&current, &patch);
            if !fields.is_empty() {
                return Err(StoreError::conflict(
                    "managed_by_config",
                    format!(
                        "monitor `{id}` is declared in the configuration file (as `{}`); change `{}` there (only `paused` may change through the API)",
                        current.config_key.as_deref().unwrap_or("?"),
                        fields.join("`, `")
                    ),
                ));
            }
        }
        let monitor = w.patch_monitor(current, patch).await?;
        w.commit().await?;
        Ok(monitor)
    }

    pub(super) async fn delete_monitor_tx(&self, id: MonitorId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        w.lock_monitor(id).await?;
        let monitor = w.load_monitor(id).await?;
        if monitor.managed_by == ManagedBy::Config {
            return Err(StoreError::conflict(
                "managed_by_config",
                format!(
                    "monitor `{id}` is declared in the configuration file (as `{}`); remove it there",
                    monitor.config_key.as_deref().unwrap_or("?")
                ),
            ));
        }
        sqlx::query("DELETE FROM monitors WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.recompute_components(monitor.components.iter().map(|c| c.component_id))
            .await?;
        w.emit(EventKind::MonitorDeleted, id, json(&monitor));
        w.commit().await
    }

    pub(super) async fn get_monitor_q(&self, id: MonitorId) -> StoreResult<Monitor> {
        let mut conn = self.conn().await?;
        let row = sqlx::query(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("monitor", id))?;
        let mut monitors = vec![monitor_from_row(&row)?];
        fill_monitors(&mut conn, &mut monitors).await?;
        Ok(monitors.remove(0))
    }

    pub(super) async fn list_monitors_q(&self, page: PageRequest) -> StoreResult<Page<Monitor>> {
        let after = match &page.cursor {
            None => String::new(),
            Some(c) => decode_cursor(c, 1)?.remove(0),
        };
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(page.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(monitor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(|m| encode_cursor(&[&m.id.to_string()]))
        } else {
            None
        };
        fill_monitors(&mut conn, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    pub(super) async fn all_monitors_q(&self) -> StoreResult<Vec<Monitor>> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors ORDER BY id"
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(monitor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        fill_monitors(&mut conn, &mut items).await?;
        Ok(items)
    }

    pub(super) async fn component_checks_q(&self) -> StoreResult<Vec<ComponentChecks>> {
        let mut conn = self.conn().await?;
        // One row per (component, active monitor), folded per component below: the names go
        // to the page's links, so they are read here rather than per monitor.
        let rows = sqlx::query(
            "SELECT mc.component_id AS component_id, m.id AS monitor_id, m.name AS name, \
                    m.last_checked_at AS last_checked_at \
               FROM monitor_components mc JOIN monitors m ON m.id = mc.monitor_id \
              WHERE m.paused = 0 ORDER BY mc.component_id, m.name, m.id",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut out: Vec<ComponentChecks> = Vec::new();
        for row in &rows {
            let component_id: ComponentId = get_id(row, "component_id")?;
            let last_checked_at = get_opt_ts(row, "last_checked_at")?;
            let monitor = crate::monitor::model::MonitorRef {
                id: get_id(row, "monitor_id")?,
                name: get(row, "name")?,
            };
            match out.last_mut() {
                Some(c) if c.component_id == component_id => {
                    c.monitors = c.monitors.saturating_add(1);
                    c.last_checked_at = c.last_checked_at.max(last_checked_at);
                    c.monitor_refs.push(monitor);
                }
                _ => out.push(ComponentChecks {
                    component_id,
                    monitors: 1,
                    last_checked_at,
                    monitor_refs: vec![monitor],
                }),
            }
        }
        Ok(out)
    }

    pub(super) async fn find_push_monitor_q(&self, hash: &str) -> StoreResult<Option<Monitor>> {
        let mut conn = self.conn().await?;
        let row = sqlx::query(&format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE push_token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut monitors = vec![monitor_from_row(&row)?];
        fill_monitors(&mut conn, &mut monitors).await?;
        Ok(monitors.pop())
    }

    /// Each monitor's row is updated once per batch, not once per result: from the newest
    /// result of the batch (the latest of equal times, as the order of the batch would leave
    /// it) and with the earliest result's hour for `mark_stale`, which is what updating it
    /// for every result in turn left behind. On PostgreSQL every update writes a new version
    /// of the whole row (memory included) that no one can reclaim before the transaction ends:
    /// a batch with many results per monitor (the backlog written when the database comes
    /// back, the benchmark's two days of results) left the `monitors` table tens of times its
    /// live size, and every scan of it paid for that.
    pub(super) async fn record_checks_tx(&self, batch: &[RecordedCheck]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // Per monitor, in order of first appearance: the index of its newest result, its
        // earliest result's time, and its results' indexes.
        struct Of {
            newest: usize,
            earliest: Timestamp,
            items: Vec<usize>,
        }
        let mut order: Vec<MonitorId> = Vec::new();
        let mut of: std::collections::HashMap<MonitorId, Of> = std::collections::HashMap::new();
        for (i, item) in batch.iter().enumerate() {
            let r = &item.record;
            match of.get_mut(&r.monitor_id) {
                Some(m) => {
                    if r.at >= batch[m.newest].record.at {
                        m.newest = i;
                    }
                    if r.at < m.earliest {
                        m.earliest = r.at;
                    }
                    m.items.push(i);
                }
                None => {
                    order.push(r.monitor_id);
                    of.insert(
                        r.monitor_id,
                        Of {
                            newest: i,
                            earliest: r.at,
                            items: vec![i],
                        },
                    );
                }
            }
        }
        // No events: a write of results only, so `begin`'s actor is never recorded.
        let mut w = self.begin(&Actor::system()).await?;
        for id in order {
            let m = &of[&id];
            let newest = &batch[m.newest];
            let r = &newest.record;
            // The monitor's row first: if it was deleted meanwhile, its results are dropped.
            // Either statement also marks the results' earliest hour stale if it is already
            // rolled up (see `rollups`).
            let updated = sqlx::query(&format!(
                "UPDATE monitors SET last_checked_at = $2, last_outcome = $3, last_message = $4, memory = $5, {} \
                  WHERE id = $1 AND (last_checked_at IS NULL OR last_checked_at <= $2)",
                super::rollups::mark_stale("$6")
            ))
            .bind(id.to_string())
            .bind(r.at.to_db())
            .bind(r.outcome.as_str())
            .bind(r.message.clone())
            .bind(to_json(&newest.memory))
            .bind(super::rollups::hour_of(m.earliest))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
            if updated.rows_affected() == 0 {
                let exists = sqlx::query(&format!(
                    "UPDATE monitors SET {} WHERE id = $1",
                    super::rollups::mark_stale("$2")
                ))
                .bind(id.to_string())
                .bind(super::rollups::hour_of(m.earliest))
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
                if exists.rows_affected() == 0 {
                    continue;
                }
            }
            for &i in &m.items {
                let r = &batch[i].record;
                // Idempotent: a batch written again (a retry after a commit whose answer was
                // lost) adds nothing. The lookup uses the (monitor_id, at) index.
                sqlx::query(
                    "INSERT INTO check_results (monitor_id, at, location, outcome, error_class, message, \
                         status_code, latency_us, report) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE NOT EXISTS \
                         (SELECT 1 FROM check_results WHERE monitor_id = $1 AND at = $2 AND location = $3)",
                )
                .bind(r.monitor_id.to_string())
                .bind(r.at.to_db())
                .bind(r.location.clone())
                .bind(r.outcome.as_str())
                .bind(r.error.map(|e| e.as_str()))
                .bind(r.message.clone())
                .bind(r.status_code.map(i64::from))
                .bind((r.latency_ms * 1000.0).round() as i64)
                .bind(to_json(&r.report))
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
            }
        }
        w.commit().await
    }

    pub(super) async fn apply_transition_tx(
        &self,
        id: MonitorId,
        transition: &Transition,
        memory: &Memory,
    ) -> StoreResult<Monitor> {
        let mut w = self.begin(&Actor::system()).await?;
        w.lock_monitor(id).await?;
        sqlx::query(
            "UPDATE monitors SET health = $2, health_since = $3, flapping = $4, memory = $5, updated_at = $6 \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(transition.to.as_str())
        .bind(transition.at.to_db())
        .bind(transition.flapping as i64)
        .bind(to_json(memory))
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let monitor = w.load_monitor(id).await?;
        w.emit(
            EventKind::MonitorStateChanged,
            id,
            serde_json::json!({ "monitor": monitor, "transition": transition }),
        );

        let open = w.monitor_incident(&monitor).await?;
        let partners = match open {
            Some((incident, true, _)) => w.failing_partners(incident, id).await?,
            _ => Vec::new(),
        };
        let ctx = IncidentContext {
            auto_incidents: monitor.auto_incidents,
            in_maintenance: w.in_maintenance(&monitor).await?,
            down_status: ComponentStatus::worst(monitor.components.iter().map(|c| c.down_status))
                .unwrap_or(DEFAULT_DOWN_STATUS),
            open_incident: open.map(|(_, own, taken_over)| OpenIncident {
                monitor_health: own.then_some(transition.from),
                taken_over,
                other_monitors_failing: !partners.is_empty(),
            }),
        };
        let action = incident_action(transition, &ctx);
        tracing::info!(monitor.id = %id, from = transition.from.as_str(), to = transition.to.as_str(),
            action = ?action, "monitor health changed");
        let at = transition.at.hhmm_utc();
        match (action, open) {
            (IncidentAction::Open { .. }, _) => {
                w.open_monitor_incident(&monitor, transition).await?;
            }
            (IncidentAction::Join { .. }, Some((incident, _, _))) => {
                w.link_monitor_incident(id, Some(incident)).await?;
                let body = format!(
                    "Also failing since {at}: **{}**. Latest result: {}",
                    monitor.name,
                    evidence_line(transition)
                );
                w.post_monitor_update(
                    incident,
                    None,
                    body,
                    holds_of(&monitor, transition.to),
                    None,
                )
                .await?;
            }
            (IncidentAction::Worsen { .. }, Some((incident, _, _))) => {
                let holds = holds_of(&monitor, transition.to);
                let impact = IncidentImpact::from_component_status(ComponentStatus::worst(
                    holds.iter().filter_map(|c| c.status),
                ));
                let body = format!(
                    "**{}** is now {} (since {at}). Latest result: {}",
                    monitor.name,
                    transition.to.as_str(),
                    evidence_line(transition)
                );
                w.post_monitor_update(incident, None, body, holds, Some(impact))
                    .await?;
            }
            (IncidentAction::NoteFlapping, Some((incident, _, _))) => {
                let body = format!(
                    "**{}** is flapping: its checks keep changing between passing and failing. \
                     Pharos waits for it to settle before posting more.",
                    monitor.name
                );
                w.post_monitor_update(incident, None, body, Vec::new(), None)
                    .await?;
            }
            (IncidentAction::PostRecovery, Some((incident, _, _))) => {
                let body = if partners.is_empty() {
                    format!(
                        "**{}** has recovered: checks pass again since {at}.",
                        monitor.name
                    )
                } else {
                    format!(
                        "**{}** has recovered (since {at}); still failing: {}.",
                        monitor.name,
                        partners.join(", ")
                    )
                };
                w.post_monitor_update(incident, None, body, holds_of(&monitor, Health::Up), None)
                    .await?;
                w.link_monitor_incident(id, None).await?;
            }
            (IncidentAction::Resolve, Some((incident, _, _))) => {
                w.link_monitor_incident(id, None).await?;
                let body = format!(
                    "**{}** has recovered: checks pass again since {at}. Resolved by Pharos.",
                    monitor.name
                );
                w.post_monitor_update(
                    incident,
                    Some(IncidentStatus::Resolved),
                    body,
                    holds_of(&monitor, Health::Up),
                    None,
                )
                .await?;
            }
            _ => {}
        }
        // The monitor's own hold follows its health, incident or not.
        let components: Vec<ComponentId> =
            monitor.components.iter().map(|c| c.component_id).collect();
        w.recompute_components(components).await?;
        let monitor = w.load_monitor(id).await?;
        w.commit().await?;
        Ok(monitor)
    }

    pub(super) async fn recent_checks_q(
        &self,
        id: MonitorId,
        limit: u32,
    ) -> StoreResult<Vec<CheckRecord>> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(
            "SELECT monitor_id, at, location, outcome, error_class, message, status_code, latency_us, report \
               FROM check_results WHERE monitor_id = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(id.to_string())
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        rows.iter().map(check_from_row).collect()
    }
}

/// The rank a list sorts monitors by: running ones by health, worst first; paused ones last.
///
/// Migration 0008 indexes this expression (`monitors_list`, and `monitors_kind_list` after
/// `kind`): it must stay character for character the one there, or the list falls back to
/// sorting every monitor (SQLite and PostgreSQL match index expressions structurally).
const LIST_RANK: &str = "CASE WHEN paused <> 0 THEN 4 WHEN health = 'down' THEN 0 \
     WHEN health = 'degraded' THEN 1 WHEN health = 'pending' THEN 2 ELSE 3 END";

/// The [`LIST_RANK`] of the monitors a state filter keeps, when it keeps exactly one rank.
fn rank_of(state: MonitorStateFilter) -> Option<u8> {
    match state {
        MonitorStateFilter::Down => Some(0),
        MonitorStateFilter::Degraded => Some(1),
        MonitorStateFilter::Pending => Some(2),
        MonitorStateFilter::Up => Some(3),
        MonitorStateFilter::Paused => Some(4),
        MonitorStateFilter::Flapping => None,
    }
}

/// `text` as a `LIKE` pattern matching it anywhere, lower case, with `\\` escaping `%` and `_`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether a list query has no text to find.
fn text_clauses_empty(search: &Option<String>) -> bool {
    search.as_deref().is_none_or(|s| s.trim().is_empty())
}

impl SqlStore {
    /// The admin list: a filtered count and one page sorted by [`LIST_RANK`], reading only
    /// the columns a row shows (not the memory, which is the largest).
    pub(super) async fn monitor_listing_q(
        &self,
        query: &MonitorQuery,
    ) -> StoreResult<MonitorListing> {
        let mut clauses: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        // A state is a rank (`paused = 0 AND health = 'down'` is rank 0): filtering on the
        // rank lets the index seek to it and read the page in name order, no sort.
        let rank = query.state.and_then(rank_of);
        match (query.state, rank) {
            (_, Some(rank)) => clauses.push(format!("{LIST_RANK} = {rank}")),
            (Some(_), None) => clauses.push(format!("{LIST_RANK} < 4 AND flapping <> 0")),
            (None, None) => {}
        }
        if let Some(kind) = &query.kind {
            binds.push(kind.clone());
            clauses.push(format!("kind = ${}", binds.len()));
        }
        if let Some(search) = query.search.as_deref().filter(|s| !s.trim().is_empty()) {
            binds.push(contains_pattern(search.trim()));
            let n = binds.len();
            // The pattern is lower case. PostgreSQL's LIKE heeds case, so the columns are
            // folded first. SQLite's LIKE already ignores ASCII case (Pharos never sets
            // `case_sensitive_like`) and its LOWER folds only ASCII, so there the two forms
            // match the same rows; calling LOWER twice on every row doubled the search's scan
            // (4.6 to 2.2 ms on the benchmark's 10,000 monitors).
            let fold = |column: &str| match self.backend {
                Backend::Postgres => format!("LOWER({column})"),
                Backend::Sqlite => column.to_string(),
            };
            clauses.push(format!(
                "({} LIKE ${n} ESCAPE '\\' OR {} LIKE ${n} ESCAPE '\\')",
                fold("name"),
                fold("tags")
            ));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let mut conn = self.conn().await?;
        // With a text to find, one scan gives the page's ids and the total (a window over the
        // matching rows), so the LIKEs run once; it reads only `monitors_text`, which holds
        // every column the filter and the order need (an index-only scan: on PostgreSQL the
        // table itself, rewritten by every stored result, can be many times its live size),
        // and a second query reads those ids' rows. Without text, the page is read in order
        // from `monitors_list` (or `monitors_kind_list`), and the count is a cheap index scan:
        // a window would make SQLite read every row in full.
        let windowed = !text_clauses_empty(&query.search);
        // Within one rank the rank is constant: ordering by it too would make SQLite sort.
        let order = if rank.is_some() {
            "name, id".to_string()
        } else {
            format!("{LIST_RANK}, name, id")
        };
        const COLUMNS: &str = "id, name, settings, tags, paused, health, health_since, \
                               flapping, last_checked_at, last_message, managed_by";
        let page_sql = format!(
            "SELECT {} FROM monitors {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            if windowed {
                "id, CAST(COUNT(*) OVER () AS BIGINT) AS total"
            } else {
                COLUMNS
            },
            binds.len() + 1,
            binds.len() + 2
        );
        let mut page = sqlx::query(&page_sql);
        for b in &binds {
            page = page.bind(b.clone());
        }
        let mut rows = page
            .bind(i64::from(query.limit))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        let mut window_total: Option<i64> = None;
        if windowed && !rows.is_empty() {
            window_total = Some(get(&rows[0], "total")?);
            let ids = rows
                .iter()
                .map(|row| get::<String>(row, "id"))
                .collect::<StoreResult<Vec<_>>>()?;
            let by_id = format!(
                "SELECT {COLUMNS} FROM monitors WHERE id IN ({})",
                placeholders(1, ids.len())
            );
            let mut q = sqlx::query(&by_id);
            for id in &ids {
                q = q.bind(id.clone());
            }
            let mut found = q.fetch_all(&mut *conn).await.map_err(map_err)?;
            let position: std::collections::HashMap<&str, usize> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            let mut keyed = Vec::with_capacity(found.len());
            for row in found.drain(..) {
                let id: String = get(&row, "id")?;
                keyed.push((
                    position.get(id.as_str()).copied().unwrap_or(usize::MAX),
                    row,
                ));
            }
            keyed.sort_by_key(|(i, _)| *i);
            rows = keyed.into_iter().map(|(_, row)| row).collect();
        }
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let total: i64 = match (window_total, rows.first()) {
            (Some(total), _) => total,
            (None, None) if query.offset == 0 => 0,
            // A short page is the last one: the total is known without counting.
            (None, Some(_)) if rows.len() < query.limit as usize => {
                offset.saturating_add(rows.len() as i64)
            }
            _ => {
                let count_sql =
                    format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM monitors {filter}");
                let mut count = sqlx::query(&count_sql);
                for b in &binds {
                    count = count.bind(b.clone());
                }
                let row = count.fetch_one(&mut *conn).await.map_err(map_err)?;
                get(&row, "n")?
            }
        };
        let items = rows
            .iter()
            .map(|row| {
                Ok(MonitorSummary {
                    id: get_id(row, "id")?,
                    name: get(row, "name")?,
                    check: from_json::<Check>(row, "settings")?,
                    tags: from_json(row, "tags")?,
                    paused: get_bool(row, "paused")?,
                    health: get_enum(row, "health")?,
                    health_since: get_ts(row, "health_since")?,
                    flapping: get_bool(row, "flapping")?,
                    last_checked_at: get_opt_ts(row, "last_checked_at")?,
                    last_message: get(row, "last_message")?,
                    managed_by: get_enum(row, "managed_by")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(MonitorListing {
            items,
            total: total.max(0) as u64,
        })
    }

    /// Hour roll-ups from the first whole hour of the last 24 up to each monitor's
    /// `rollup_until`, plus its raw results from there (or from 24 hours ago) on, in one
    /// statement for the whole page.
    ///
    /// The statement is driven by the page's monitors (`page`, at most 200 rows read by id):
    /// for each, one range of the roll-ups' key and one of the results' (monitor_id, at) index,
    /// bounded at both ends by that monitor's own `rollup_until`. Joining the other way round
    /// (results first, then each result's monitor) read every result of the last 24 hours and
    /// looked its monitor up once per result: 15 to 20 ms a page on PostgreSQL, where the
    /// planner also launched a parallel worker for it, against about 1 ms this way (see
    /// README, "Admin pages"). `CROSS JOIN` keeps SQLite's join order as written.
    pub(super) async fn uptime_24h_q(
        &self,
        ids: &[MonitorId],
        now: Timestamp,
    ) -> StoreResult<BTreeMap<MonitorId, f64>> {
        let mut tally: BTreeMap<MonitorId, (i64, i64)> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let start = Timestamp::from_datetime(now.0 - chrono::Duration::hours(24));
        let hours_from = crate::monitor::rollup::Period::Hour.ceil(start);
        let mut conn = self.conn().await?;
        for chunk in ids.chunks(200) {
            let sql = format!(
                "WITH page AS (SELECT id, rollup_until FROM monitors WHERE id IN ({})) \
                 SELECT monitor_id, CAST(SUM(checks) AS BIGINT) AS checks, \
                        CAST(SUM(passed) AS BIGINT) AS passed \
                   FROM (SELECT p.id AS monitor_id, r.checks AS checks, \
                                r.up_checks + r.degraded_checks AS passed \
                           FROM page p CROSS JOIN check_rollups r \
                          WHERE r.monitor_id = p.id AND r.period = 'hour' \
                            AND r.period_start >= $1 AND r.period_start < $3 \
                            AND r.period_start < p.rollup_until \
                         UNION ALL \
                         SELECT p.id AS monitor_id, 1 AS checks, \
                                CASE WHEN c.outcome = 'down' THEN 0 ELSE 1 END AS passed \
                           FROM page p CROSS JOIN check_results c \
                          WHERE c.monitor_id = p.id AND c.at >= $2 AND c.at <= $3 \
                            AND c.at >= CASE WHEN p.rollup_until IS NOT NULL AND p.rollup_until > $2 \
                                             THEN p.rollup_until ELSE $2 END) u \
                  GROUP BY monitor_id",
                placeholders(4, chunk.len())
            );
            let mut q = sqlx::query(&sql)
                .bind(hours_from.to_db())
                .bind(start.to_db())
                .bind(now.to_db());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut *conn).await.map_err(map_err)? {
                let id: MonitorId = get_id(&row, "monitor_id")?;
                let checks: i64 = get(&row, "checks")?;
                let passed: Option<i64> = get(&row, "passed")?;
                let entry = tally.entry(id).or_default();
                entry.0 += checks;
                entry.1 += passed.unwrap_or(0);
            }
        }
        Ok(tally
            .into_iter()
            .filter_map(|(id, (checks, passed))| {
                crate::monitor::rollup::uptime_percent(passed.max(0) as u64, checks.max(0) as u64)
                    .map(|p| (id, p))
            })
            .collect())
    }
}

impl SqlStore {
    /// The newest `monitor.state_changed` event of the monitor, through `events_subject`.
    pub(super) async fn last_transition_q(&self, id: MonitorId) -> StoreResult<Option<Transition>> {
        let mut conn = self.conn().await?;
        let row = sqlx::query(
            "SELECT data FROM events WHERE subject_id = $1 AND kind = $2 \
              ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.to_string())
        .bind(EventKind::MonitorStateChanged.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let data: serde_json::Value = from_json(&row, "data")?;
        match data.get("transition") {
            Some(t) => serde_json::from_value(t.clone())
                .map(Some)
                .map_err(|e| corrupt("events.data", e)),
            None => Ok(None),
        }
    }
}
