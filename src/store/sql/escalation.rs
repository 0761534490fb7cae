//! Escalation in SQL: policies and what they cover, and escalations started by the planner
//! (in its transaction, from the event log), advanced by the worker when a step's wait ends,
//! and stopped by an acknowledgement or the subject's recovery. Every change appends its
//! `escalation.*` event; the deliveries of a step are ordinary outbox rows that carry the
//! escalation's id.

use super::*;
use crate::notify::escalation::{
    next_position, trigger, validate_policy, Escalation, EscalationPolicy, EscalationState,
    EscalationStep, NewPolicy, PolicyPatch, TargetKind, Trigger,
};

const POLICY_COLUMNS: &str = "id, name, steps, repeat, created_at, updated_at";
const ESCALATION_COLUMNS: &str = "id, policy_id, subject_key, event_seq, state, step, round, \
     next_at, acknowledged_at, acknowledged_by, ended_at, created_at, updated_at";

fn policy_from_row(row: &AnyRow) -> StoreResult<EscalationPolicy> {
    let steps: String = get(row, "steps")?;
    let repeat: i64 = get(row, "repeat")?;
    Ok(EscalationPolicy {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        steps: serde_json::from_str(&steps).map_err(|e| corrupt("steps", e))?,
        repeat: repeat.clamp(0, u32::MAX as i64) as u32,
        components: Vec::new(),
        monitors: Vec::new(),
        vendors: Vec::new(),
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn escalation_from_row(row: &AnyRow) -> StoreResult<Escalation> {
    let step: i64 = get(row, "step")?;
    let round: i64 = get(row, "round")?;
    Ok(Escalation {
        id: get_id(row, "id")?,
        policy_id: get_id(row, "policy_id")?,
        subject_key: get(row, "subject_key")?,
        event_seq: get(row, "event_seq")?,
        state: get_enum(row, "state")?,
        step: step.clamp(0, u32::MAX as i64) as u32,
        round: round.clamp(0, u32::MAX as i64) as u32,
        next_at: get_opt_ts(row, "next_at")?,
        acknowledged_at: get_opt_ts(row, "acknowledged_at")?,
        acknowledged_by: get(row, "acknowledged_by")?,
        ended_at: get_opt_ts(row, "ended_at")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn after_seconds(now: Timestamp, seconds: u32) -> Timestamp {
    Timestamp::from_datetime(now.0 + chrono::Duration::seconds(i64::from(seconds)))
}

/// The policy as events show it.
fn policy_event(p: &EscalationPolicy) -> serde_json::Value {
    json(p)
}

impl WriteTx {
    async fn load_policy(&mut self, id: EscalationPolicyId) -> StoreResult<EscalationPolicy> {
        let row = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM escalation_policies WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("escalation policy", id))?;
        let mut policy = policy_from_row(&row)?;
        fill_targets(&mut self.tx, std::slice::from_mut(&mut policy)).await?;
        Ok(policy)
    }

    /// Writes a policy's steps and targets after checking that what they name exists.
    async fn write_policy(&mut self, id: EscalationPolicyId, p: &NewPolicy) -> StoreResult<()> {
        validate_policy(p).map_err(StoreError::invalid)?;
        let channels: BTreeSet<String> = p
            .steps
            .iter()
            .flat_map(|s| s.channel_ids.iter().map(|c| c.to_string()))
            .collect();
        self.require_all("channels", "channel", &channels).await?;
        let components: BTreeSet<String> = p.components.iter().map(|c| c.to_string()).collect();
        self.require_all("components", "component", &components)
            .await?;
        let monitors: BTreeSet<String> = p.monitors.iter().map(|c| c.to_string()).collect();
        self.require_all("monitors", "monitor", &monitors).await?;
        let vendors: BTreeSet<String> = p.vendors.iter().map(|c| c.to_string()).collect();
        self.require_all("vendors", "vendor", &vendors).await?;
        sqlx::query("DELETE FROM escalation_targets WHERE policy_id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for (kind, ids) in [
            (TargetKind::Component, &components),
            (TargetKind::Monitor, &monitors),
            (TargetKind::Vendor, &vendors),
        ] {
            for subject in ids {
                sqlx::query(
                    "INSERT INTO escalation_targets (subject_kind, subject_id, policy_id) VALUES ($1, $2, $3)",
                )
                .bind(kind.as_str())
                .bind(subject.as_str())
                .bind(id.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| match map_err(e) {
                    StoreError::Conflict { .. } => StoreError::conflict(
                        "already_covered",
                        format!(
                            "{} {subject} is covered by another escalation policy; a {0} has at most one",
                            kind.as_str()
                        ),
                    ),
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    /// Fails with a 422 naming the first id in `ids` that `table` does not hold.
    async fn require_all(
        &mut self,
        table: &str,
        what: &str,
        ids: &BTreeSet<String>,
    ) -> StoreResult<()> {
        for id in ids {
            let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
            if found.is_none() {
                return Err(StoreError::invalid(format!("there is no {what} {id}")));
            }
        }
        Ok(())
    }

    async fn load_escalation(&mut self, id: EscalationId) -> StoreResult<Escalation> {
        let row = sqlx::query(&format!(
            "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("escalation", id))?;
        escalation_from_row(&row)
    }

    /// Queues one step's deliveries.
    async fn queue_step(
        &mut self,
        escalation: &Escalation,
        step: &EscalationStep,
        event_kind: &str,
    ) -> StoreResult<u64> {
        let mut made = 0;
        for channel in &step.channel_ids {
            let key = format!(
                "esc-{}-{}-{}-{channel}",
                escalation.id, escalation.round, escalation.step
            );
            let done = sqlx::query(
                "INSERT INTO deliveries (key, event_seq, event_kind, recipient_kind, recipient_id, purpose, escalation_id, lane, state, attempts, due_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'channel', $4, 'escalate', $5, 'channel', 'pending', 0, $6, $6, $6) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(escalation.event_seq)
            .bind(event_kind)
            .bind(channel.to_string())
            .bind(escalation.id.to_string())
            .bind(self.now.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
            made += done.rows_affected();
        }
        Ok(made)
    }

    /// Ends an escalation (acknowledged, resolved or exhausted) and cancels its unsent steps.
    async fn end_escalation(
        &mut self,
        id: EscalationId,
        state: EscalationState,
        by: Option<&str>,
    ) -> StoreResult<Escalation> {
        let acknowledged = state == EscalationState::Acknowledged;
        sqlx::query(
            "UPDATE escalations SET state = $2, next_at = NULL, ended_at = $3, updated_at = $3, \
                    acknowledged_at = CASE WHEN $4 = 1 THEN $3 ELSE acknowledged_at END, \
                    acknowledged_by = CASE WHEN $4 = 1 THEN $5 ELSE acknowledged_by END \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(state.as_str())
        .bind(self.now.to_db())
        .bind(acknowledged as i64)
        .bind(by.map(str::to_string))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = $2, lease_until = NULL, updated_at = $3 \
              WHERE escalation_id = $1 AND state = 'pending'",
        )
        .bind(id.to_string())
        .bind(format!("the escalation was {}", state.as_str()))
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let escalation = self.load_escalation(id).await?;
        let kind = match state {
            EscalationState::Acknowledged => EventKind::EscalationAcknowledged,
            EscalationState::Resolved => EventKind::EscalationResolved,
            _ => EventKind::EscalationExhausted,
        };
        self.emit(kind, id, json(&escalation));
        Ok(escalation)
    }

    /// What an event means for escalations, in the planner's transaction: start the
    /// policies covering its subject, or end the subject's running escalations. Returns the
    /// deliveries queued.
    pub(super) async fn escalate(&mut self, event: &Event) -> StoreResult<u64> {
        match trigger(event) {
            None => Ok(0),
            Some(Trigger::End { subject_key }) => {
                let rows = sqlx::query(
                    "SELECT id FROM escalations WHERE subject_key = $1 AND state = 'active'",
                )
                .bind(subject_key.as_str())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                for row in &rows {
                    let id: EscalationId = get_id(row, "id")?;
                    self.end_escalation(id, EscalationState::Resolved, None)
                        .await?;
                }
                Ok(0)
            }
            Some(Trigger::Start {
                subject_key,
                targets,
            }) => {
                let mut policies = BTreeSet::new();
                for (kind, id) in &targets {
                    let row = sqlx::query(
                        "SELECT policy_id FROM escalation_targets WHERE subject_kind = $1 AND subject_id = $2",
                    )
                    .bind(kind.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    if let Some(row) = row {
                        policies.insert(get::<String>(&row, "policy_id")?);
                    }
                }
                let mut made = 0;
                for policy_id in policies {
                    let policy = self
                        .load_policy(policy_id.parse().map_err(|e| corrupt("policy id", e))?)
                        .await?;
                    let Some(first) = policy.steps.first() else {
                        continue;
                    };
                    let id = EscalationId::new();
                    let started = sqlx::query(
                        "INSERT INTO escalations (id, policy_id, subject_key, event_seq, state, step, round, next_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, 'active', 0, 0, $5, $6, $6) \
                         ON CONFLICT (policy_id, subject_key) WHERE state = 'active' DO NOTHING",
                    )
                    .bind(id.to_string())
                    .bind(policy.id.to_string())
                    .bind(subject_key.as_str())
                    .bind(event.seq)
                    .bind(after_seconds(self.now, first.wait_seconds).to_db())
                    .bind(self.now.to_db())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    if started.rows_affected() == 0 {
                        // Already escalating this subject under this policy.
                        continue;
                    }
                    let escalation = self.load_escalation(id).await?;
                    made += self.queue_step(&escalation, first, &event.kind).await?;
                    self.emit(EventKind::EscalationStarted, id, json(&escalation));
                }
                Ok(made)
            }
        }
    }
}

impl SqlStore {
    pub(super) async fn create_policy_tx(
        &self,
        input: NewPolicy,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicy> {
        let mut w = self.begin(actor).await?;
        let id = EscalationPolicyId::new();
        sqlx::query(
            "INSERT INTO escalation_policies (id, name, steps, repeat, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.to_string())
        .bind(input.name.trim())
        .bind(serde_json::to_string(&input.steps).expect("steps serialise"))
        .bind(i64::from(input.repeat))
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "policy_exists",
                format!("an escalation policy named `{}` exists; choose another name", input.name.trim()),
            ),
            other => other,
        })?;
        w.write_policy(id, &input).await?;
        let policy = w.load_policy(id).await?;
        w.emit(
            EventKind::EscalationPolicyCreated,
            id,
            policy_event(&policy),
        );
        w.commit().await?;
        Ok(policy)
    }

    pub(super) async fn update_policy_tx(
        &self,
        id: EscalationPolicyId,
        patch: PolicyPatch,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicy> {
        let mut w = self.begin(actor).await?;
        let touched = sqlx::query("UPDATE escalation_policies SET updated_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("escalation policy", id));
        }
        let current = w.load_policy(id).await?;
        let next = NewPolicy {
            name: patch.name.unwrap_or(current.name),
            steps: patch.steps.unwrap_or(current.steps),
            repeat: patch.repeat.unwrap_or(current.repeat),
            components: patch.components.unwrap_or(current.components),
            monitors: patch.monitors.unwrap_or(current.monitors),
            vendors: patch.vendors.unwrap_or(current.vendors),
        };
        sqlx::query(
            "UPDATE escalation_policies SET name = $2, steps = $3, repeat = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(next.name.trim())
        .bind(serde_json::to_string(&next.steps).expect("steps serialise"))
        .bind(i64::from(next.repeat))
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "policy_exists",
                format!(
                    "an escalation policy named `{}` exists; choose another name",
                    next.name.trim()
                ),
            ),
            other => other,
        })?;
        w.write_policy(id, &next).await?;
        let policy = w.load_policy(id).await?;
        w.emit(
            EventKind::EscalationPolicyUpdated,
            id,
            policy_event(&policy),
        );
        w.commit().await?;
        Ok(policy)
    }

    pub(super) async fn delete_policy_tx(
        &self,
        id: EscalationPolicyId,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let policy = w.load_policy(id).await?;
        // Running escalations stop with their policy.
        let rows =
            sqlx::query("SELECT id FROM escalations WHERE policy_id = $1 AND state = 'active'")
                .bind(id.to_string())
                .fetch_all(&mut *w.tx)
                .await
                .map_err(map_err)?;
        for row in &rows {
            let eid: EscalationId = get_id(row, "id")?;
            w.end_escalation(eid, EscalationState::Resolved, None)
                .await?;
        }
        sqlx::query("DELETE FROM escalation_policies WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(
            EventKind::EscalationPolicyDeleted,
            id,
            policy_event(&policy),
        );
        w.commit().await
    }

    pub(super) async fn get_policy_q(
        &self,
        id: EscalationPolicyId,
    ) -> StoreResult<EscalationPolicy> {
        // A read through a transaction without writes: the loader is shared with the writers.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM escalation_policies WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("escalation policy", id))?;
        let mut policy = policy_from_row(&row)?;
        fill_targets(&mut tx, std::slice::from_mut(&mut policy)).await?;
        tx.rollback().await.map_err(map_err)?;
        Ok(policy)
    }

    pub(super) async fn list_policies_q(&self) -> StoreResult<Vec<EscalationPolicy>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let rows = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM escalation_policies ORDER BY name, id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut policies = rows
            .iter()
            .map(policy_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        fill_targets(&mut tx, &mut policies).await?;
        tx.rollback().await.map_err(map_err)?;
        Ok(policies)
    }

    pub(super) async fn list_escalations_q(
        &self,
        state: Option<EscalationState>,
        limit: u32,
    ) -> StoreResult<Vec<Escalation>> {
        let filter = if state.is_some() {
            "WHERE state = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ESCALATION_COLUMNS} FROM escalations {filter} ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(i64::from(limit.max(1)));
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(escalation_from_row).collect()
    }

    pub(super) async fn get_escalation_q(&self, id: EscalationId) -> StoreResult<Escalation> {
        let row = sqlx::query(&format!(
            "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("escalation", id))?;
        escalation_from_row(&row)
    }

    /// Acknowledging an escalation that has already ended changes nothing.
    pub(super) async fn acknowledge_escalation_tx(
        &self,
        id: EscalationId,
        actor: &Actor,
    ) -> StoreResult<Escalation> {
        let mut w = self.begin(actor).await?;
        let touched = sqlx::query("UPDATE escalations SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("escalation", id));
        }
        let current = w.load_escalation(id).await?;
        if current.state != EscalationState::Active {
            return Ok(current);
        }
        let by = w.actor.clone();
        let escalation = w
            .end_escalation(id, EscalationState::Acknowledged, Some(&by))
            .await?;
        w.commit().await?;
        Ok(escalation)
    }

    /// Moves every escalation whose step has waited long enough to its next step (queueing
    /// that step's deliveries) or ends it as exhausted. Returns how many moved.
    pub(super) async fn advance_escalations_tx(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        let due = sqlx::query(
            "SELECT id FROM escalations WHERE state = 'active' AND next_at <= $1 LIMIT 1",
        )
        .bind(now.to_db())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if due.is_none() {
            return Ok(0);
        }
        let mut w = self.begin(&Actor::system()).await?;
        let rows = sqlx::query(&format!(
            "UPDATE escalations SET updated_at = $1 WHERE state = 'active' AND next_at <= $1 \
              RETURNING {ESCALATION_COLUMNS}"
        ))
        .bind(w.now.to_db())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let due = rows
            .iter()
            .map(escalation_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut moved = 0;
        for escalation in due {
            let policy = w.load_policy(escalation.policy_id).await?;
            match next_position(
                escalation.step,
                escalation.round,
                policy.steps.len(),
                policy.repeat,
            ) {
                None => {
                    w.end_escalation(escalation.id, EscalationState::Exhausted, None)
                        .await?;
                }
                Some((step, round)) => {
                    let wait = policy.steps[step as usize].wait_seconds;
                    sqlx::query(
                        "UPDATE escalations SET step = $2, round = $3, next_at = $4 WHERE id = $1",
                    )
                    .bind(escalation.id.to_string())
                    .bind(i64::from(step))
                    .bind(i64::from(round))
                    .bind(after_seconds(w.now, wait).to_db())
                    .execute(&mut *w.tx)
                    .await
                    .map_err(map_err)?;
                    let moved_to = w.load_escalation(escalation.id).await?;
                    let kind: String = sqlx::query("SELECT kind FROM events WHERE seq = $1")
                        .bind(escalation.event_seq)
                        .fetch_optional(&mut *w.tx)
                        .await
                        .map_err(map_err)?
                        .map(|r| get(&r, "kind"))
                        .transpose()?
                        .unwrap_or_default();
                    w.queue_step(&moved_to, &policy.steps[step as usize], &kind)
                        .await?;
                    w.emit(
                        EventKind::EscalationEscalated,
                        escalation.id,
                        json(&moved_to),
                    );
                }
            }
            moved += 1;
        }
        w.commit().await?;
        Ok(moved)
    }
}

async fn fill_targets(
    tx: &mut Transaction<'static, Any>,
    policies: &mut [EscalationPolicy],
) -> StoreResult<()> {
    for policy in policies.iter_mut() {
        let rows = sqlx::query(
            "SELECT subject_kind, subject_id FROM escalation_targets WHERE policy_id = $1 ORDER BY subject_kind, subject_id",
        )
        .bind(policy.id.to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
        for row in &rows {
            let kind: String = get(row, "subject_kind")?;
            let subject: String = get(row, "subject_id")?;
            let bad = |e: uuid::Error| corrupt("escalation target", e);
            match kind.as_str() {
                "component" => policy.components.push(subject.parse().map_err(bad)?),
                "monitor" => policy.monitors.push(subject.parse().map_err(bad)?),
                "vendor" => policy.vendors.push(subject.parse().map_err(bad)?),
                other => return Err(corrupt("escalation target kind", other)),
            }
        }
    }
    Ok(())
}
