//! Vendors in SQL: the followed pages, and the components, incidents and maintenances last
//! seen on them. A poll's writes arrive as a [`Diff`] computed by `vendor::diff` against the
//! state the poller holds; this module only stores it, with its events, in one transaction.

use super::*;
use crate::vendor::adapter::AdapterKind;
use crate::vendor::diff::{ComponentWrite, RecordWrite};
use crate::vendor::record::IncidentDraft;
use crate::vendor::record::{
    DeclaredVendor, Dependency, NewDependency, NewVendor, PollRecord, RecordKind, RecordStatus,
    SourceState, UpstreamProblem, Vendor, VendorChecked, VendorComponentRecord,
    VendorIncidentRecord, VendorPatch, VendorProblems, VendorState, VendorUpdateRecord,
};

const VENDOR_COLUMNS: &str =
    "id, slug, name, page_url, source_url, adapter, poll_interval_seconds, \
     components_of_interest, enabled, source_state, source_error, unreachable_since, \
     last_checked_at, imported, validators, managed_by, config_key, created_at, updated_at";

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, e))
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("vendor fields serialise")
}

fn vendor_from_row(row: &AnyRow) -> StoreResult<Vendor> {
    let interval: i64 = get(row, "poll_interval_seconds")?;
    let adapter: String = get(row, "adapter")?;
    let state: String = get(row, "source_state")?;
    Ok(Vendor {
        id: get_id(row, "id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        page_url: get(row, "page_url")?,
        source_url: get(row, "source_url")?,
        adapter: AdapterKind::from_str(&adapter).map_err(|e| corrupt("adapter", e))?,
        poll_interval_seconds: interval.max(0) as u64,
        components_of_interest: from_json(row, "components_of_interest")?,
        enabled: get_bool(row, "enabled")?,
        source_state: SourceState::from_str(&state).map_err(|e| corrupt("source_state", e))?,
        source_error: get(row, "source_error")?,
        unreachable_since: get_opt_ts(row, "unreachable_since")?,
        last_checked_at: get_opt_ts(row, "last_checked_at")?,
        imported: get_bool(row, "imported")?,
        validators: from_json(row, "validators")?,
        managed_by: get_enum(row, "managed_by")?,
        config_key: get(row, "config_key")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn component_from_row(row: &AnyRow) -> StoreResult<VendorComponentRecord> {
    Ok(VendorComponentRecord {
        id: get_id(row, "id")?,
        external_id: get(row, "external_id")?,
        name: get(row, "name")?,
        group: get(row, "group_name")?,
        description: get(row, "description")?,
        status: get_enum(row, "status")?,
        position: get(row, "position")?,
        removed_at: get_opt_ts(row, "removed_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn record_from_row(row: &AnyRow) -> StoreResult<VendorIncidentRecord> {
    let kind: String = get(row, "kind")?;
    let kind = RecordKind::from_str(&kind).map_err(|e| corrupt("kind", e))?;
    let status: String = get(row, "status")?;
    Ok(VendorIncidentRecord {
        id: get_id(row, "id")?,
        kind,
        external_id: get(row, "external_id")?,
        fingerprint: get(row, "fingerprint")?,
        name: get(row, "name")?,
        status: RecordStatus::parse(kind, &status).map_err(|e| corrupt("status", e))?,
        impact: get_enum(row, "impact")?,
        started_at: get_ts(row, "started_at")?,
        resolved_at: get_opt_ts(row, "resolved_at")?,
        scheduled_until: get_opt_ts(row, "scheduled_until")?,
        url: get(row, "url")?,
        component_ids: from_json(row, "component_ids")?,
        first_seen_at: get_ts(row, "first_seen_at")?,
        updated_at: get_ts(row, "updated_at")?,
        updates: Vec::new(),
    })
}

/// The part of a query that finds, per dependency `d` of vendor `v`, the vendor components
/// `vc` that are degraded or worse and that the dependency covers (the vendor enabled and
/// its source readable): the one statement of that rule, for the page's "Upstream" lines,
/// the drafts and the holds in `recompute_components`.
pub(super) const UPSTREAM_JOIN: &str = "FROM vendor_dependencies d \
      JOIN vendors v ON v.id = d.vendor_id \
      JOIN vendor_components vc ON vc.vendor_id = d.vendor_id \
     WHERE v.enabled = 1 AND v.source_state <> 'unreachable' AND vc.removed_at IS NULL \
       AND vc.status IN ('degraded_performance', 'partial_outage', 'major_outage') \
       AND (d.vendor_component = vc.external_id \
            OR (d.vendor_component = '' AND (v.components_of_interest = '[]' \
                OR v.components_of_interest LIKE '%\"' || vc.external_id || '\"%')))";

fn dependency_from_row(row: &AnyRow) -> StoreResult<Dependency> {
    let component: String = get(row, "vendor_component")?;
    Ok(Dependency {
        id: get_id(row, "id")?,
        component_id: get_id(row, "component_id")?,
        vendor_id: get_id(row, "vendor_id")?,
        vendor_component: (!component.is_empty()).then_some(component),
        set_status: get_opt_enum(row, "set_status")?,
        draft_incident: get_bool(row, "draft_incident")?,
        created_at: get_ts(row, "created_at")?,
    })
}

const DEPENDENCY_COLUMNS: &str =
    "id, component_id, vendor_id, vendor_component, set_status, draft_incident, created_at";

const DRAFT_COLUMNS: &str = "dr.id, dr.dependency_id, d.component_id, dr.name, dr.body, \
     dr.impact, d.set_status, dr.reference, dr.created_at";

fn draft_from_row(row: &AnyRow) -> StoreResult<IncidentDraft> {
    let id: String = get(row, "id")?;
    Ok(IncidentDraft {
        id: uuid::Uuid::parse_str(&id).map_err(|e| corrupt("incident_drafts.id", e))?,
        dependency_id: get_id(row, "dependency_id")?,
        component_id: get_id(row, "component_id")?,
        name: get(row, "name")?,
        body: get(row, "body")?,
        impact: get_enum(row, "impact")?,
        set_status: get_opt_enum(row, "set_status")?,
        reference: get(row, "reference")?,
        created_at: get_ts(row, "created_at")?,
    })
}

impl WriteTx {
    /// Prepares an incident draft for each dependency on `vendor` that asks for one and whose
    /// upstream is now degraded or worse (unless one is waiting, or the incident published
    /// from the last one is still open), and dismisses the waiting drafts whose upstream
    /// recovered.
    async fn update_drafts(&mut self, vendor: VendorId) -> StoreResult<()> {
        let deps = sqlx::query(&format!(
            "SELECT {DEPENDENCY_COLUMNS} FROM vendor_dependencies WHERE vendor_id = $1 AND draft_incident = 1"
        ))
        .bind(vendor.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(dependency_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        if deps.is_empty() {
            return Ok(());
        }
        let v = self.load_vendor(vendor).await?;
        for dep in deps {
            let worst = sqlx::query(&format!(
                "SELECT vc.name, vc.status, vc.external_id {UPSTREAM_JOIN} AND d.id = $1"
            ))
            .bind(dep.id.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| {
                Ok((
                    get::<String>(r, "name")?,
                    get_enum::<ComponentStatus>(r, "status")?,
                    get::<String>(r, "external_id")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .max_by_key(|(_, s, _)| s.severity());
            let waiting = sqlx::query(
                "SELECT id FROM incident_drafts WHERE dependency_id = $1 AND closed_at IS NULL",
            )
            .bind(dep.id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
            match (worst, waiting) {
                (Some((vc_name, status, external_id)), None) => {
                    let still_open = sqlx::query(
                        "SELECT i.id FROM incident_drafts dr JOIN incidents i ON i.id = dr.published_incident_id \
                          WHERE dr.dependency_id = $1 AND i.resolved_at IS NULL",
                    )
                    .bind(dep.id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    if still_open.is_some() {
                        continue;
                    }
                    let component = self.load_component(dep.component_id).await?;
                    let incident = sqlx::query(
                        "SELECT name, url FROM vendor_incidents WHERE vendor_id = $1 AND kind = 'incident' \
                           AND resolved_at IS NULL AND (component_ids LIKE $2 OR $3 = 1) \
                         ORDER BY started_at DESC LIMIT 1",
                    )
                    .bind(vendor.to_string())
                    .bind(format!("%\"{external_id}\"%"))
                    .bind(dep.vendor_component.is_none() as i64)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    let (vendor_incident, url) = match &incident {
                        Some(r) => (
                            get::<Option<String>>(r, "name")?,
                            get::<Option<String>>(r, "url")?,
                        ),
                        None => (None, None),
                    };
                    let label = match status {
                        ComponentStatus::MajorOutage => "a major outage",
                        ComponentStatus::PartialOutage => "a partial outage",
                        _ => "degraded performance",
                    };
                    let name = format!("{} affected by {} {}", component.name, v.name, vc_name);
                    let mut body = format!(
                        "{} depends on {} {}, which {} reports as {label}.",
                        component.name, v.name, vc_name, v.name
                    );
                    if let Some(title) = &vendor_incident {
                        body.push_str(&format!(" {}'s incident: \"{title}\".", v.name));
                    }
                    body.push_str(" We are monitoring the situation and will post updates here.");
                    let impact = IncidentImpact::from_component_status(Some(
                        dep.set_status.unwrap_or(status),
                    ))
                    .max_minor();
                    let reference = url.or_else(|| Some(v.page_url.clone()));
                    let id = uuid::Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO incident_drafts (id, dependency_id, name, body, impact, reference, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(id.to_string())
                    .bind(dep.id.to_string())
                    .bind(name.clone())
                    .bind(body.clone())
                    .bind(impact.as_str())
                    .bind(reference.clone())
                    .bind(self.now.to_db())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    self.emit(
                        EventKind::IncidentDraftCreated,
                        id,
                        serde_json::json!({
                            "id": id, "dependency_id": dep.id, "component_id": dep.component_id,
                            "vendor_id": vendor, "name": name, "body": body, "impact": impact,
                            "reference": reference,
                        }),
                    );
                }
                (None, Some(row)) => {
                    let id: String = get(&row, "id")?;
                    sqlx::query("UPDATE incident_drafts SET closed_at = $2 WHERE id = $1")
                        .bind(id.clone())
                        .bind(self.now.to_db())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    self.emit(
                        EventKind::IncidentDraftDismissed,
                        &id,
                        serde_json::json!({"id": id, "dependency_id": dep.id, "reason": "the upstream recovered"}),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The components that hold a status through a dependency on `vendor`.
    async fn dependents(&mut self, vendor: VendorId) -> StoreResult<Vec<ComponentId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT component_id FROM vendor_dependencies WHERE vendor_id = $1 AND set_status IS NOT NULL",
        )
        .bind(vendor.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(|r| get_id(r, "component_id")).collect()
    }

    async fn lock_vendor(&mut self, id: VendorId) -> StoreResult<Vendor> {
        let touched = sqlx::query("UPDATE vendors SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("vendor", id));
        }
        self.load_vendor(id).await
    }

    async fn load_vendor(&mut self, id: VendorId) -> StoreResult<Vendor> {
        let row = sqlx::query(&format!(
            "SELECT {VENDOR_COLUMNS} FROM vendors WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("vendor", id))?;
        vendor_from_row(&row)
    }

    pub(super) async fn insert_vendor(&mut self, input: NewVendor) -> StoreResult<Vendor> {
        let id = VendorId::new();
        let now = self.now.to_db();
        sqlx::query(
            "INSERT INTO vendors (id, slug, name, page_url, source_url, adapter, poll_interval_seconds, \
                 components_of_interest, enabled, source_state, imported, validators, managed_by, \
                 config_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, '{}', $10, $11, $12, $12)",
        )
        .bind(id.to_string())
        .bind(input.slug.clone())
        .bind(input.name.clone())
        .bind(input.page_url.clone())
        .bind(input.source_url.clone())
        .bind(input.adapter.as_str())
        .bind(input.poll_interval_seconds as i64)
        .bind(to_json(&input.components_of_interest))
        .bind(input.enabled as i64)
        .bind(input.managed_by.as_str())
        .bind(input.config_key.clone())
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "already_exists",
                format!("a vendor with the slug `{}` already exists", input.slug),
            ),
            other => other,
        })?;
        let vendor = self.load_vendor(id).await?;
        self.emit(EventKind::VendorCreated, id, json(&vendor));
        Ok(vendor)
    }

    pub(super) async fn patch_vendor(
        &mut self,
        current: Vendor,
        patch: VendorPatch,
    ) -> StoreResult<Vendor> {
        let id = current.id;
        let source_changed = patch.adapter.is_some_and(|a| a != current.adapter)
            || patch
                .page_url
                .as_ref()
                .is_some_and(|u| *u != current.page_url)
            || patch
                .source_url
                .as_ref()
                .is_some_and(|u| *u != current.source_url);
        let validators = if source_changed {
            "{}".to_string()
        } else {
            to_json(&current.validators)
        };
        sqlx::query(
            "UPDATE vendors SET name = $2, page_url = $3, source_url = $4, adapter = $5, \
                 poll_interval_seconds = $6, components_of_interest = $7, enabled = $8, \
                 validators = $9, updated_at = $10 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or(current.name.clone()))
        .bind(patch.page_url.unwrap_or(current.page_url.clone()))
        .bind(patch.source_url.unwrap_or(current.source_url.clone()))
        .bind(patch.adapter.unwrap_or(current.adapter).as_str())
        .bind(
            patch
                .poll_interval_seconds
                .unwrap_or(current.poll_interval_seconds) as i64,
        )
        .bind(to_json(
            &patch
                .components_of_interest
                .unwrap_or(current.components_of_interest.clone()),
        ))
        .bind(patch.enabled.unwrap_or(current.enabled) as i64)
        .bind(validators)
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let vendor = self.load_vendor(id).await?;
        let mut before = current.clone();
        before.updated_at = vendor.updated_at;
        if before != vendor {
            self.emit(EventKind::VendorUpdated, id, json(&vendor));
        }
        // Following other components, or none, changes what the dependencies hold.
        let dependents = self.dependents(id).await?;
        self.recompute_components(dependents).await?;
        Ok(vendor)
    }

    async fn write_component(
        &mut self,
        vendor: VendorId,
        c: &VendorComponentRecord,
        insert: bool,
    ) -> StoreResult<()> {
        let sql = if insert {
            "INSERT INTO vendor_components (id, vendor_id, external_id, name, group_name, description, \
                 status, position, removed_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        } else {
            "UPDATE vendor_components SET external_id = $3, name = $4, group_name = $5, description = $6, \
                 status = $7, position = $8, removed_at = $9, updated_at = $10 WHERE id = $1 AND vendor_id = $2"
        };
        sqlx::query(sql)
            .bind(c.id.to_string())
            .bind(vendor.to_string())
            .bind(c.external_id.clone())
            .bind(c.name.clone())
            .bind(c.group.clone())
            .bind(c.description.clone())
            .bind(c.status.as_str())
            .bind(c.position)
            .bind(c.removed_at.map(|t| t.to_db()))
            .bind(c.updated_at.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn write_record(
        &mut self,
        vendor: VendorId,
        r: &VendorIncidentRecord,
        insert: bool,
    ) -> StoreResult<()> {
        let sql = if insert {
            "INSERT INTO vendor_incidents (id, vendor_id, kind, external_id, fingerprint, name, status, \
                 impact, started_at, resolved_at, scheduled_until, url, component_ids, first_seen_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        } else {
            "UPDATE vendor_incidents SET kind = $3, external_id = $4, fingerprint = $5, name = $6, \
                 status = $7, impact = $8, started_at = $9, resolved_at = $10, scheduled_until = $11, \
                 url = $12, component_ids = $13, first_seen_at = $14, updated_at = $15 \
              WHERE id = $1 AND vendor_id = $2"
        };
        sqlx::query(sql)
            .bind(r.id.to_string())
            .bind(vendor.to_string())
            .bind(r.kind.as_str())
            .bind(r.external_id.clone())
            .bind(r.fingerprint.clone())
            .bind(r.name.clone())
            .bind(r.status.as_str())
            .bind(r.impact.as_str())
            .bind(r.started_at.to_db())
            .bind(r.resolved_at.map(|t| t.to_db()))
            .bind(r.scheduled_until.map(|t| t.to_db()))
            .bind(r.url.clone())
            .bind(to_json(&r.component_ids))
            .bind(r.first_seen_at.to_db())
            .bind(r.updated_at.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn append_updates(
        &mut self,
        record: VendorIncidentId,
        updates: &[VendorUpdateRecord],
    ) -> StoreResult<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS last FROM vendor_incident_updates WHERE vendor_incident_id = $1",
        )
        .bind(record.to_string())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let last: i64 = get(&row, "last")?;
        for (i, u) in updates.iter().enumerate() {
            sqlx::query(
                "INSERT INTO vendor_incident_updates (vendor_incident_id, seq, external_id, status, body, \
                     at, first_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(record.to_string())
            .bind(last + 1 + i as i64)
            .bind(u.external_id.clone())
            .bind(u.status.as_str())
            .bind(u.body.clone())
            .bind(u.at.to_db())
            .bind(u.first_seen_at.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}

impl SqlStore {
    pub(super) async fn create_vendor_tx(
        &self,
        input: NewVendor,
        actor: &Actor,
    ) -> StoreResult<Vendor> {
        let mut w = self.begin(actor).await?;
        let vendor = w.insert_vendor(input).await?;
        w.commit().await?;
        Ok(vendor)
    }

    /// Refused (409 `managed_by_config`) when the vendor is declared in the configuration
    /// file and the patch changes anything but `enabled`.
    pub(super) async fn update_vendor_tx(
        &self,
        id: VendorId,
        patch: VendorPatch,
        actor: &Actor,
    ) -> StoreResult<Vendor> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_vendor(id).await?;
        if current.managed_by == ManagedBy::Config {
            let mut beyond = patch.clone();
            beyond.enabled = None;
            if beyond != VendorPatch::default() {
                return Err(StoreError::conflict(
                    "managed_by_config",
                    format!(
                        "vendor `{}` is declared in the configuration file; change it there (only `enabled` may change through the API)",
                        current.slug
                    ),
                ));
            }
        }
        let vendor = w.patch_vendor(current, patch).await?;
        w.commit().await?;
        Ok(vendor)
    }

    pub(super) async fn delete_vendor_tx(&self, id: VendorId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let vendor = w.lock_vendor(id).await?;
        if vendor.managed_by == ManagedBy::Config {
            return Err(StoreError::conflict(
                "managed_by_config",
                format!(
                    "vendor `{}` is declared in the configuration file; remove it there",
                    vendor.slug
                ),
            ));
        }
        let dependents = w.dependents(id).await?;
        // Children first: SQLite enforces the cascade only with foreign keys on, and the
        // explicit order keeps both databases' work the same.
        for sql in [
            "DELETE FROM vendor_dependencies WHERE vendor_id = $1",
            "DELETE FROM vendor_incident_updates WHERE vendor_incident_id IN \
                 (SELECT id FROM vendor_incidents WHERE vendor_id = $1)",
            "DELETE FROM vendor_incidents WHERE vendor_id = $1",
            "DELETE FROM vendor_components WHERE vendor_id = $1",
            "DELETE FROM vendors WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
        }
        w.emit(
            EventKind::VendorDeleted,
            id,
            serde_json::json!({"id": id, "slug": vendor.slug, "name": vendor.name}),
        );
        w.recompute_components(dependents).await?;
        w.commit().await
    }

    pub(super) async fn get_vendor_q(&self, id: VendorId) -> StoreResult<Vendor> {
        let mut conn = self.conn().await?;
        let row = sqlx::query(&format!(
            "SELECT {VENDOR_COLUMNS} FROM vendors WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("vendor", id))?;
        vendor_from_row(&row)
    }

    pub(super) async fn get_vendor_by_slug_q(&self, slug: &str) -> StoreResult<Vendor> {
        let mut conn = self.conn().await?;
        let row = sqlx::query(&format!(
            "SELECT {VENDOR_COLUMNS} FROM vendors WHERE slug = $1"
        ))
        .bind(slug.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("vendor", slug))?;
        vendor_from_row(&row)
    }

    pub(super) async fn all_vendors_q(&self) -> StoreResult<Vec<Vendor>> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "SELECT {VENDOR_COLUMNS} FROM vendors ORDER BY slug"
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        rows.iter().map(vendor_from_row).collect()
    }

    pub(super) async fn vendor_state_q(&self, id: VendorId) -> StoreResult<VendorState> {
        let mut conn = self.conn().await?;
        let exists = sqlx::query("SELECT id FROM vendors WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(StoreError::not_found("vendor", id));
        }
        let rows = sqlx::query(
            "SELECT id, external_id, name, group_name, description, status, position, removed_at, \
                 updated_at FROM vendor_components WHERE vendor_id = $1 ORDER BY position, external_id",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let components = rows
            .iter()
            .map(component_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT id, kind, external_id, fingerprint, name, status, impact, started_at, resolved_at, \
                 scheduled_until, url, component_ids, first_seen_at, updated_at \
               FROM vendor_incidents WHERE vendor_id = $1 ORDER BY started_at DESC, id DESC",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut incidents = rows
            .iter()
            .map(record_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT u.vendor_incident_id, u.kind, u.external_id, u.status, u.body, u.at, u.first_seen_at \
               FROM (SELECT vu.*, vi.kind FROM vendor_incident_updates vu \
                       JOIN vendor_incidents vi ON vi.id = vu.vendor_incident_id \
                      WHERE vi.vendor_id = $1) u \
              ORDER BY u.vendor_incident_id, u.at, u.seq",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let index: BTreeMap<String, usize> = incidents
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.to_string(), i))
            .collect();
        for row in &rows {
            let owner: String = get(row, "vendor_incident_id")?;
            let kind: String = get(row, "kind")?;
            let kind = RecordKind::from_str(&kind).map_err(|e| corrupt("kind", e))?;
            let status: String = get(row, "status")?;
            let update = VendorUpdateRecord {
                external_id: get(row, "external_id")?,
                status: RecordStatus::parse(kind, &status).map_err(|e| corrupt("status", e))?,
                body: get(row, "body")?,
                at: get_ts(row, "at")?,
                first_seen_at: get_ts(row, "first_seen_at")?,
            };
            if let Some(&i) = index.get(&owner) {
                incidents[i].updates.push(update);
            }
        }
        Ok(VendorState {
            components,
            incidents,
        })
    }

    pub(super) async fn record_vendor_poll_tx(
        &self,
        id: VendorId,
        poll: &PollRecord,
    ) -> StoreResult<()> {
        let mut w = self.begin(&Actor::system()).await?;
        let before = w.lock_vendor(id).await?;
        for write in &poll.diff.components {
            match write {
                ComponentWrite::Insert(c) => w.write_component(id, c, true).await?,
                ComponentWrite::Update(c) => w.write_component(id, c, false).await?,
            }
        }
        for write in &poll.diff.records {
            match write {
                RecordWrite::Insert(r) => {
                    w.write_record(id, r, true).await?;
                    w.append_updates(r.id, &r.updates).await?;
                }
                RecordWrite::Update {
                    record,
                    new_updates,
                } => {
                    w.write_record(id, record, false).await?;
                    w.append_updates(record.id, new_updates).await?;
                }
            }
        }
        for event in &poll.diff.events {
            w.emit(event.kind, &event.subject, event.data.clone());
        }
        let source = &poll.source;
        let data = serde_json::json!({
            "vendor_id": id,
            "slug": before.slug,
            "error": source.error,
            "unreachable_since": source.unreachable_since,
        });
        match (before.source_state, source.state) {
            (SourceState::Unreachable, SourceState::Unreachable) => {}
            (_, SourceState::Unreachable) => w.emit(EventKind::VendorSourceUnreachable, id, data),
            (SourceState::Unreachable, SourceState::Ok) => {
                w.emit(EventKind::VendorSourceRecovered, id, data)
            }
            _ => {}
        }
        sqlx::query(
            "UPDATE vendors SET source_state = $2, source_error = $3, unreachable_since = $4, \
                 imported = $5, last_checked_at = $6, validators = $7 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(source.state.as_str())
        .bind(source.error.clone())
        .bind(source.unreachable_since.map(|t| t.to_db()))
        .bind((poll.imported || before.imported) as i64)
        .bind(poll.checked_at.to_db())
        .bind(to_json(&poll.validators))
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        // Dependencies follow the vendor's components and whether its source is readable.
        if !poll.diff.components.is_empty() || before.source_state != source.state {
            let dependents = w.dependents(id).await?;
            w.recompute_components(dependents).await?;
            w.update_drafts(id).await?;
        }
        w.commit().await
    }

    pub(super) async fn create_dependency_tx(
        &self,
        input: NewDependency,
        actor: &Actor,
    ) -> StoreResult<Dependency> {
        let mut w = self.begin(actor).await?;
        w.load_component(input.component_id).await?;
        let vendor = w.lock_vendor(input.vendor_id).await?;
        let id = DependencyId::new();
        sqlx::query(
            "INSERT INTO vendor_dependencies (id, component_id, vendor_id, vendor_component, set_status, \
                 draft_incident, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(input.component_id.to_string())
        .bind(input.vendor_id.to_string())
        .bind(input.vendor_component.clone().unwrap_or_default())
        .bind(input.set_status.map(|s| s.as_str()))
        .bind(input.draft_incident as i64)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "already_exists",
                format!(
                    "component `{}` already depends on {} `{}`",
                    input.component_id,
                    if input.vendor_component.is_some() { "this component of" } else { "the whole of" },
                    vendor.slug
                ),
            ),
            other => other,
        })?;
        let dependency = Dependency {
            id,
            component_id: input.component_id,
            vendor_id: input.vendor_id,
            vendor_component: input.vendor_component,
            set_status: input.set_status,
            draft_incident: input.draft_incident,
            created_at: w.now,
        };
        w.emit(
            EventKind::VendorDependencyCreated,
            id,
            serde_json::json!({"dependency": dependency, "vendor_slug": vendor.slug}),
        );
        w.recompute_components([input.component_id]).await?;
        w.update_drafts(input.vendor_id).await?;
        w.commit().await?;
        Ok(dependency)
    }

    pub(super) async fn delete_dependency_tx(
        &self,
        id: DependencyId,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let row = sqlx::query(&format!(
            "SELECT {DEPENDENCY_COLUMNS} FROM vendor_dependencies WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("dependency", id))?;
        let dependency = dependency_from_row(&row)?;
        sqlx::query("DELETE FROM vendor_dependencies WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(
            EventKind::VendorDependencyDeleted,
            id,
            serde_json::json!({"dependency": dependency}),
        );
        w.recompute_components([dependency.component_id]).await?;
        w.commit().await
    }

    pub(super) async fn dependencies_q(
        &self,
        vendor: Option<VendorId>,
    ) -> StoreResult<Vec<Dependency>> {
        let mut conn = self.conn().await?;
        let rows = match vendor {
            Some(v) => {
                sqlx::query(&format!(
                    "SELECT {DEPENDENCY_COLUMNS} FROM vendor_dependencies WHERE vendor_id = $1 ORDER BY created_at, id"
                ))
                .bind(v.to_string())
                .fetch_all(&mut *conn)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {DEPENDENCY_COLUMNS} FROM vendor_dependencies ORDER BY created_at, id"
                ))
                .fetch_all(&mut *conn)
                .await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(dependency_from_row).collect()
    }

    pub(super) async fn upstream_problems_q(&self) -> StoreResult<Vec<UpstreamProblem>> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT d.component_id, v.id AS vendor_id, v.slug, v.name AS vendor_name, \
                    vc.name AS component_name, vc.status, vc.position \
               {UPSTREAM_JOIN} ORDER BY d.component_id, v.slug, vc.position"
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(UpstreamProblem {
                    component_id: get_id(row, "component_id")?,
                    vendor_id: get_id(row, "vendor_id")?,
                    vendor_slug: get(row, "slug")?,
                    vendor_name: get(row, "vendor_name")?,
                    vendor_component: get(row, "component_name")?,
                    status: get_enum(row, "status")?,
                })
            })
            .collect()
    }

    pub(super) async fn incident_drafts_q(&self) -> StoreResult<Vec<IncidentDraft>> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM incident_drafts dr \
               JOIN vendor_dependencies d ON d.id = dr.dependency_id \
              WHERE dr.closed_at IS NULL ORDER BY dr.created_at, dr.id"
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        rows.iter().map(draft_from_row).collect()
    }

    /// Locks a waiting draft; NotFound when there is none, Conflict when it was already
    /// published or dismissed.
    async fn take_draft(w: &mut WriteTx, id: uuid::Uuid) -> StoreResult<IncidentDraft> {
        let touched = sqlx::query(
            "UPDATE incident_drafts SET closed_at = closed_at WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            let exists = sqlx::query("SELECT id FROM incident_drafts WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *w.tx)
                .await
                .map_err(map_err)?;
            return Err(match exists {
                Some(_) => StoreError::conflict(
                    "draft_closed",
                    format!("incident draft `{id}` was already published or dismissed"),
                ),
                None => StoreError::not_found("incident draft", id),
            });
        }
        let row = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM incident_drafts dr \
               JOIN vendor_dependencies d ON d.id = dr.dependency_id WHERE dr.id = $1"
        ))
        .bind(id.to_string())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(map_err)?;
        draft_from_row(&row)
    }

    pub(super) async fn publish_incident_draft_tx(
        &self,
        id: uuid::Uuid,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        let draft = Self::take_draft(&mut w, id).await?;
        let incident = w
            .open_incident(NewIncident {
                name: draft.name.clone(),
                status: IncidentStatus::Investigating,
                impact: Some(draft.impact),
                body: draft.body.clone(),
                components: vec![ComponentChange {
                    component_id: draft.component_id,
                    status: draft.set_status,
                }],
                source: IncidentSource {
                    kind: SourceKind::Vendor,
                    reference: draft.reference.clone(),
                },
                started_at: None,
            })
            .await?;
        sqlx::query(
            "UPDATE incident_drafts SET closed_at = $2, published_incident_id = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(w.now.to_db())
        .bind(incident.id.to_string())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.emit(
            EventKind::IncidentDraftPublished,
            id,
            serde_json::json!({"id": id, "incident_id": incident.id}),
        );
        w.commit().await?;
        Ok(incident)
    }

    pub(super) async fn dismiss_incident_draft_tx(
        &self,
        id: uuid::Uuid,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        Self::take_draft(&mut w, id).await?;
        sqlx::query("UPDATE incident_drafts SET closed_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(
            EventKind::IncidentDraftDismissed,
            id,
            serde_json::json!({"id": id, "reason": "dismissed"}),
        );
        w.commit().await
    }

    pub(super) async fn reconcile_vendors_tx(
        &self,
        declared: &[DeclaredVendor],
        actor: &Actor,
    ) -> StoreResult<ReconcileReport> {
        let mut w = self.begin(actor).await?;
        let rows = sqlx::query(&format!(
            "SELECT {VENDOR_COLUMNS} FROM vendors ORDER BY slug"
        ))
        .fetch_all(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let existing = rows
            .iter()
            .map(vendor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut report = ReconcileReport::default();
        for d in declared {
            let found = existing
                .iter()
                .find(|v| v.config_key.as_deref() == Some(d.slug.as_str()))
                .or_else(|| existing.iter().find(|v| v.slug == d.slug));
            let Some(current) = found else {
                w.insert_vendor(NewVendor {
                    slug: d.slug.clone(),
                    name: d.name.clone(),
                    page_url: d.page_url.clone(),
                    source_url: d.source_url.clone(),
                    adapter: d.adapter,
                    poll_interval_seconds: d.poll_interval_seconds,
                    components_of_interest: d.components_of_interest.clone(),
                    enabled: d.enabled,
                    managed_by: ManagedBy::Config,
                    config_key: Some(d.slug.clone()),
                })
                .await?;
                report.created += 1;
                continue;
            };
            // A vendor followed through the API under the same slug is taken over by the file.
            let adopted = current.managed_by != ManagedBy::Config
                || current.config_key.as_deref() != Some(d.slug.as_str());
            if adopted {
                sqlx::query(
                    "UPDATE vendors SET managed_by = 'config', config_key = $2 WHERE id = $1",
                )
                .bind(current.id.to_string())
                .bind(d.slug.clone())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
            }
            let patch = VendorPatch {
                name: (d.name != current.name).then(|| d.name.clone()),
                page_url: (d.page_url != current.page_url).then(|| d.page_url.clone()),
                source_url: (d.source_url != current.source_url).then(|| d.source_url.clone()),
                adapter: (d.adapter != current.adapter).then_some(d.adapter),
                poll_interval_seconds: (d.poll_interval_seconds != current.poll_interval_seconds)
                    .then_some(d.poll_interval_seconds),
                components_of_interest: (d.components_of_interest
                    != current.components_of_interest)
                    .then(|| d.components_of_interest.clone()),
                enabled: (d.enabled != current.enabled).then_some(d.enabled),
            };
            if patch != VendorPatch::default() {
                let reloaded = w.load_vendor(current.id).await?;
                w.patch_vendor(reloaded, patch).await?;
                report.updated += 1;
            } else if adopted {
                let reloaded = w.load_vendor(current.id).await?;
                w.emit(EventKind::VendorUpdated, reloaded.id, json(&reloaded));
                report.updated += 1;
            }
        }
        for v in &existing {
            let declared_here = declared
                .iter()
                .any(|d| v.config_key.as_deref() == Some(d.slug.as_str()) || v.slug == d.slug);
            if v.managed_by == ManagedBy::Config && !declared_here {
                sqlx::query(
                    "UPDATE vendors SET managed_by = 'api', config_key = NULL WHERE id = $1",
                )
                .bind(v.id.to_string())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
                let released = w.load_vendor(v.id).await?;
                w.emit(EventKind::VendorUpdated, v.id, json(&released));
                report.released += 1;
            }
        }
        w.commit().await?;
        Ok(report)
    }

    pub(super) async fn vendor_problems_q(&self) -> StoreResult<VendorProblems> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(
            "SELECT vendor_id, external_id, name, status FROM vendor_components \
              WHERE removed_at IS NULL AND status <> 'operational' ORDER BY vendor_id, position",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut problems = VendorProblems::default();
        for row in &rows {
            problems.components.push((
                get_id(row, "vendor_id")?,
                get(row, "external_id")?,
                get(row, "name")?,
                get_enum(row, "status")?,
            ));
        }
        let rows = sqlx::query(
            "SELECT vendor_id, kind, name, impact FROM vendor_incidents \
              WHERE resolved_at IS NULL AND status NOT IN ('resolved', 'postmortem', 'completed') \
              ORDER BY vendor_id, started_at DESC",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        for row in &rows {
            let kind: String = get(row, "kind")?;
            problems.open.push((
                get_id(row, "vendor_id")?,
                RecordKind::from_str(&kind).map_err(|e| corrupt("kind", e))?,
                get(row, "name")?,
                get_enum(row, "impact")?,
            ));
        }
        Ok(problems)
    }

    pub(super) async fn touch_vendors_tx(&self, checked: &[VendorChecked]) -> StoreResult<()> {
        if checked.is_empty() {
            return Ok(());
        }
        let mut w = self.begin(&Actor::system()).await?;
        for c in checked {
            sqlx::query("UPDATE vendors SET last_checked_at = $2, validators = $3 WHERE id = $1")
                .bind(c.id.to_string())
                .bind(c.at.to_db())
                .bind(to_json(&c.validators))
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
        }
        w.commit().await
    }

    pub(super) async fn prune_vendor_history_tx(&self, before: Timestamp) -> StoreResult<u64> {
        let mut w = self.begin(&Actor::system()).await?;
        let cutoff = before.to_db();
        sqlx::query(
            "DELETE FROM vendor_incident_updates WHERE vendor_incident_id IN \
                 (SELECT id FROM vendor_incidents WHERE resolved_at IS NOT NULL AND resolved_at < $1)",
        )
        .bind(cutoff.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let done = sqlx::query(
            "DELETE FROM vendor_incidents WHERE resolved_at IS NOT NULL AND resolved_at < $1",
        )
        .bind(cutoff)
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.commit().await?;
        Ok(done.rows_affected())
    }
}
