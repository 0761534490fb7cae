//! Incident templates in SQL, and deleting one update of an incident (both for the web UI's
//! incident screens, and the API routes that keep parity with them).
//!
//! A template names components by id; they must exist when it is saved, and one deleted
//! later is skipped when the template is used (the form shows only components that exist).
//! Each change appends `incident_template.*` with the template as it is after the change (as
//! it was, for a deletion).

use super::*;
use crate::domain::ids::IncidentTemplateId;

const TEMPLATE_COLUMNS: &str =
    "id, name, title, impact, status, body, components, created_at, updated_at";

fn template_from_row(row: &AnyRow) -> StoreResult<IncidentTemplate> {
    let components: String = get(row, "components")?;
    Ok(IncidentTemplate {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        title: get(row, "title")?,
        impact: get_opt_enum(row, "impact")?,
        status: get_enum(row, "status")?,
        body: get(row, "body")?,
        components: serde_json::from_str(&components).map_err(|e| corrupt("components", e))?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

impl WriteTx {
    /// Refuses what no template may hold: a closing status, an unknown component, a name
    /// another template has.
    async fn check_template(
        &mut self,
        input: &IncidentTemplateInput,
        except: Option<IncidentTemplateId>,
    ) -> StoreResult<()> {
        if input.status.is_closed() {
            return Err(StoreError::invalid(
                "a template opens an incident, so its status must be investigating, identified or monitoring",
            ));
        }
        let ids: Vec<ComponentId> = input.components.iter().map(|c| c.component_id).collect();
        self.components_by_id(&ids).await?;
        let taken = sqlx::query("SELECT id FROM incident_templates WHERE name = $1 AND id <> $2")
            .bind(input.name.clone())
            .bind(except.map(|id| id.to_string()).unwrap_or_default())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if taken.is_some() {
            return Err(StoreError::conflict(
                "template_name_taken",
                format!(
                    "a template is already called `{}`; choose another name",
                    input.name
                ),
            ));
        }
        Ok(())
    }

    async fn load_template(&mut self, id: IncidentTemplateId) -> StoreResult<IncidentTemplate> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM incident_templates WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("incident template", id))?;
        template_from_row(&row)
    }
}

impl SqlStore {
    pub(super) async fn create_incident_template_tx(
        &self,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate> {
        let mut w = self.begin(actor).await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM incident_templates")
            .fetch_one(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if get::<i64>(&count, "n")? as u64 >= MAX_INCIDENT_TEMPLATES {
            return Err(StoreError::conflict(
                "too_many_templates",
                format!("there are already {MAX_INCIDENT_TEMPLATES} incident templates; delete one first"),
            ));
        }
        w.check_template(&input, None).await?;
        let id = IncidentTemplateId::new();
        sqlx::query(
            "INSERT INTO incident_templates (id, name, title, impact, status, body, components, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.to_string())
        .bind(input.name)
        .bind(input.title)
        .bind(input.impact.map(|i| i.as_str()))
        .bind(input.status.as_str())
        .bind(input.body)
        .bind(serde_json::to_string(&input.components).expect("serialise"))
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let template = w.load_template(id).await?;
        w.emit(EventKind::IncidentTemplateCreated, id, json(&template));
        w.commit().await?;
        Ok(template)
    }

    pub(super) async fn update_incident_template_tx(
        &self,
        id: IncidentTemplateId,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate> {
        let mut w = self.begin(actor).await?;
        w.load_template(id).await?;
        w.check_template(&input, Some(id)).await?;
        sqlx::query(
            "UPDATE incident_templates SET name = $2, title = $3, impact = $4, status = $5, body = $6, \
                    components = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(input.name)
        .bind(input.title)
        .bind(input.impact.map(|i| i.as_str()))
        .bind(input.status.as_str())
        .bind(input.body)
        .bind(serde_json::to_string(&input.components).expect("serialise"))
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let template = w.load_template(id).await?;
        w.emit(EventKind::IncidentTemplateUpdated, id, json(&template));
        w.commit().await?;
        Ok(template)
    }

    pub(super) async fn delete_incident_template_tx(
        &self,
        id: IncidentTemplateId,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let template = w.load_template(id).await?;
        sqlx::query("DELETE FROM incident_templates WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(EventKind::IncidentTemplateDeleted, id, json(&template));
        w.commit().await
    }

    pub(super) async fn get_incident_template_q(
        &self,
        id: IncidentTemplateId,
    ) -> StoreResult<IncidentTemplate> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM incident_templates WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("incident template", id))?;
        template_from_row(&row)
    }

    pub(super) async fn list_incident_templates_q(&self) -> StoreResult<Vec<IncidentTemplate>> {
        let rows = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM incident_templates ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(template_from_row).collect()
    }

    /// Deletes one update; the incident keeps its status and holds (see the trait).
    pub(super) async fn delete_incident_update_tx(
        &self,
        id: IncidentId,
        update_id: IncidentUpdateId,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        w.lock_incident(id).await?;
        let before = w.load_incident(id).await?;
        if !before.updates.iter().any(|u| u.id == update_id) {
            return Err(StoreError::not_found("incident update", update_id));
        }
        if before.updates.len() == 1 {
            return Err(StoreError::conflict(
                "only_update",
                "this is the incident's only update, and an incident needs one; edit its text instead, or delete the incident",
            ));
        }
        // Its edit history goes with it (ON DELETE CASCADE, which SQLite applies only with
        // foreign keys on, so it is deleted explicitly for both).
        sqlx::query("DELETE FROM incident_update_edits WHERE update_id = $1")
            .bind(update_id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM incident_updates WHERE id = $1 AND incident_id = $2")
            .bind(update_id.to_string())
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(
            EventKind::IncidentUpdateDeleted,
            id,
            incident_event(&before, Some(update_id)),
        );
        let incident = w.load_incident(id).await?;
        w.commit().await?;
        Ok(incident)
    }
}
