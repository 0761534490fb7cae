//! Seeds a realistic status page for the public-side benchmark (`scripts/bench-public`), which
//! then starts `pharos serve` on the data folder and measures it against nginx. This program
//! only writes the database; it prints what it made on stderr and nothing on stdout.
//!
//! ```text
//! cargo run --release --example bench_public -- --data-dir DIR
//! ```
//!
//! What it makes, through the library ([`SqlStore`] with a [`ManualClock`], so that the store
//! stamps every record with a time in the past):
//!
//! - 90 days ago: 6 component groups holding 40 components;
//! - over the 90 days since: resolved incidents on about a third of the days (1 to 3
//!   components each, a few updates, resolved after 20 minutes to 5 hours, some with a
//!   published postmortem), and a few short status changes set by hand, so the uptime bars
//!   have colour;
//! - in the last hours: 2 open incidents with 5 updates each (the opening one included);
//! - 1 maintenance window scheduled 3 days from now.
//!
//! Everything is drawn from a fixed seed, so two runs make the same page (apart from the
//! times, which follow the wall clock, and the random ids).

use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use clap::Parser;
use pharos::clock::{Clock, ManualClock};
use pharos::domain::model::IncidentSource;
use pharos::domain::{ComponentId, ComponentStatus, IncidentStatus, SourceKind, Timestamp};
use pharos::events::Actor;
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{
    ComponentChange, ComponentPatch, NewComponent, NewGroup, NewIncident, NewIncidentUpdate,
    NewMaintenance, PostmortemInput, Store,
};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "bench_public",
    about = "Seed a realistic status page (40 components, 90 days of history) for scripts/bench-public"
)]
struct Args {
    /// The data folder `pharos serve --data-dir` will use; it must not hold a database yet.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
}

const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "Website & API",
        "The public website, the REST API and its edges",
        &[
            "Website",
            "REST API",
            "GraphQL API",
            "Webhooks delivery",
            "CDN",
            "DNS",
            "Developer portal",
            "Dashboard",
        ],
    ),
    (
        "Authentication",
        "Signing in, single sign-on and tokens",
        &[
            "Login",
            "Single sign-on (SAML)",
            "OAuth provider",
            "Two-factor authentication",
            "API tokens",
        ],
    ),
    (
        "Payments",
        "Checkout, billing and payouts",
        &[
            "Checkout",
            "Card processing",
            "Bank transfers",
            "Invoicing",
            "Subscriptions",
            "Payouts",
            "Fraud screening",
        ],
    ),
    (
        "Data & Storage",
        "Where your data lives",
        &[
            "Primary database",
            "Read replicas",
            "Object storage",
            "Search",
            "Backups",
            "Data exports",
            "Analytics pipeline",
            "Message queue",
        ],
    ),
    (
        "Notifications",
        "Messages we send on your behalf",
        &[
            "Email delivery",
            "SMS delivery",
            "Push notifications",
            "In-app notifications",
            "Slack integration",
            "Microsoft Teams integration",
        ],
    ),
    (
        "Regions",
        "Hosting regions",
        &[
            "EU West (Dublin)",
            "EU Central (Frankfurt)",
            "US East (Virginia)",
            "US West (Oregon)",
            "Asia Pacific (Singapore)",
            "Asia Pacific (Sydney)",
        ],
    ),
];

const CAUSES: &[&str] = &[
    "elevated error rates",
    "increased latency",
    "failed requests for some customers",
    "delayed processing",
    "intermittent timeouts",
    "connection errors",
];

const INVESTIGATING: &str = "We are investigating reports of **{cause}** affecting {what}. \
Some customers may see errors or slow responses. We will post an update within 30 minutes.";
const IDENTIFIED: &str = "We have identified the cause: a configuration change rolled out to \
part of the fleet exhausted a connection pool under peak load. The change is being reverted \
region by region.\n\n- Requests already accepted are not lost\n- Retries succeed for most \
customers";
const MONITORING: &str = "The fix has been deployed everywhere and error rates are back to \
normal levels. We are monitoring the results and will resolve the incident once we are \
confident the problem will not come back.";
const RESOLVED: &str = "This incident has been resolved. Everything has been working normally \
for the last hour. We apologise for the disruption; a postmortem will follow for the larger \
incidents.";
const POSTMORTEM: &str = "## Summary\n\nA configuration change reduced the size of a \
connection pool. Under the daily peak the pool ran dry and requests queued until they timed \
out.\n\n## What we are changing\n\n1. Pool sizes are now checked against the previous peak \
before a change ships.\n2. The rollout tool stops on the first region whose error rate rises.\n\
3. An alert now fires on pool saturation, not only on errors.";

/// A small fixed-seed generator (xorshift64*), so the page is the same from run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn manual() -> IncidentSource {
    IncidentSource {
        kind: SourceKind::Manual,
        reference: None,
    }
}

struct Seeder {
    store: SqlStore,
    clock: Arc<ManualClock>,
    actor: Actor,
    rng: Rng,
    /// (id, name) of every component.
    components: Vec<(ComponentId, String)>,
    incidents: usize,
    updates: usize,
    status_changes: usize,
}

impl Seeder {
    fn at(&self, t: chrono::DateTime<Utc>) {
        self.clock.set(Timestamp::from_datetime(t));
    }
    fn advance_minutes(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }

    /// 1 to `max` distinct components, as (id, name).
    fn some_components(&mut self, max: u64) -> Vec<(ComponentId, String)> {
        let n = 1 + self.rng.below(max) as usize;
        let mut picked: Vec<(ComponentId, String)> = Vec::new();
        while picked.len() < n {
            let c = self.rng.pick(&self.components).clone();
            if !picked.iter().any(|(id, _)| *id == c.0) {
                picked.push(c);
            }
        }
        picked
    }

    fn random_status(&mut self) -> ComponentStatus {
        match self.rng.below(10) {
            0..=4 => ComponentStatus::DegradedPerformance,
            5..=8 => ComponentStatus::PartialOutage,
            _ => ComponentStatus::MajorOutage,
        }
    }

    /// Opens an incident at the clock's time; returns its id.
    async fn open(
        &mut self,
        affected: &[(ComponentId, String)],
        status: ComponentStatus,
    ) -> anyhow::Result<pharos::domain::IncidentId> {
        let cause = *self.rng.pick(CAUSES);
        let names: Vec<&str> = affected.iter().map(|(_, n)| n.as_str()).collect();
        let what = names.join(", ");
        let mut title = cause.to_string();
        title[..1].make_ascii_uppercase();
        let incident = self
            .store
            .create_incident(
                NewIncident {
                    name: format!("{title} on {what}"),
                    status: IncidentStatus::Investigating,
                    impact: None,
                    body: INVESTIGATING
                        .replace("{cause}", cause)
                        .replace("{what}", &what),
                    components: affected
                        .iter()
                        .map(|(id, _)| ComponentChange {
                            component_id: *id,
                            status: Some(status),
                        })
                        .collect(),
                    source: manual(),
                    started_at: None,
                },
                &self.actor,
            )
            .await
            .context("creating an incident")?;
        self.incidents += 1;
        self.updates += 1;
        Ok(incident.id)
    }

    async fn update(
        &mut self,
        id: pharos::domain::IncidentId,
        status: IncidentStatus,
        body: &str,
        components: Vec<ComponentChange>,
    ) -> anyhow::Result<()> {
        self.store
            .post_incident_update(
                id,
                NewIncidentUpdate {
                    status: Some(status),
                    body: body.to_string(),
                    components,
                    impact: None,
                },
                &self.actor,
            )
            .await
            .context("posting an incident update")?;
        self.updates += 1;
        Ok(())
    }

    /// One past incident on the day starting at `day`: opened, updated, resolved.
    async fn past_incident(&mut self, day: chrono::DateTime<Utc>) -> anyhow::Result<()> {
        let affected = self.some_components(3);
        let status = self.random_status();
        let hour = 1 + self.rng.below(20) as i64;
        let minute = self.rng.below(60) as i64;
        self.at(day + Duration::hours(hour) + Duration::minutes(minute));
        let id = self.open(&affected, status).await?;
        let duration = 20 + self.rng.below(280) as i64;
        if self.rng.chance(70) {
            self.advance_minutes(duration / 3);
            self.update(id, IncidentStatus::Identified, IDENTIFIED, Vec::new())
                .await?;
        }
        if self.rng.chance(60) {
            self.advance_minutes(duration / 3);
            let recovered = affected
                .iter()
                .map(|(id, _)| ComponentChange {
                    component_id: *id,
                    status: Some(ComponentStatus::Operational),
                })
                .collect();
            self.update(id, IncidentStatus::Monitoring, MONITORING, recovered)
                .await?;
        }
        self.advance_minutes(duration / 3 + 5);
        self.store
            .resolve_incident(id, Some(RESOLVED.to_string()), &self.actor)
            .await
            .context("resolving an incident")?;
        self.updates += 1;
        if status == ComponentStatus::MajorOutage || self.rng.chance(15) {
            self.advance_minutes(60 * 24);
            self.store
                .set_postmortem(
                    id,
                    PostmortemInput {
                        body: POSTMORTEM.to_string(),
                        publish: true,
                    },
                    &self.actor,
                )
                .await
                .context("publishing a postmortem")?;
        }
        Ok(())
    }

    /// A short status change set by hand (no incident), then back to operational.
    async fn blip(&mut self, day: chrono::DateTime<Utc>) -> anyhow::Result<()> {
        let (id, _) = self.rng.pick(&self.components).clone();
        let hour = 2 + self.rng.below(18) as i64;
        self.at(day + Duration::hours(hour));
        for status in [
            ComponentStatus::DegradedPerformance,
            ComponentStatus::Operational,
        ] {
            self.store
                .update_component(
                    id,
                    ComponentPatch {
                        status: Some(status),
                        ..Default::default()
                    },
                    &self.actor,
                )
                .await
                .context("changing a component's status")?;
            self.status_changes += 1;
            let minutes = 15 + self.rng.below(45) as i64;
            self.advance_minutes(minutes);
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = args.data_dir.join("pharos.db");
    if db.exists() {
        bail!("{} already exists; seed a fresh folder", db.display());
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    // A minute ago, so nothing is stamped after the server's own clock once it starts.
    let now = Utc::now() - Duration::minutes(1);
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let origin = today - Duration::days(90);
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(origin)));
    let store = SqlStore::open(
        &ConnectOptions::new(format!("sqlite://{}", db.display())),
        clock.clone(),
    )
    .await
    .context("opening the database")?;
    let mut s = Seeder {
        store,
        clock,
        actor: Actor::cli(),
        rng: Rng(0x05EE_D0F9_A405),
        components: Vec::new(),
        incidents: 0,
        updates: 0,
        status_changes: 0,
    };

    for (position, (group, description, names)) in GROUPS.iter().enumerate() {
        let g = s
            .store
            .create_group(
                NewGroup {
                    name: group.to_string(),
                    description: Some(description.to_string()),
                    position: Some(position as i64),
                },
                &s.actor,
            )
            .await
            .context("creating a group")?;
        for (i, name) in names.iter().enumerate() {
            let c = s
                .store
                .create_component(
                    NewComponent {
                        name: name.to_string(),
                        description: Some(format!("{name}, part of {group}")),
                        group_id: Some(g.id),
                        position: Some(i as i64),
                        ..Default::default()
                    },
                    &s.actor,
                )
                .await
                .context("creating a component")?;
            s.components.push((c.id, name.to_string()));
        }
    }

    // The history: yesterday back to 89 days ago.
    for days_ago in (1..90).rev() {
        let day = today - Duration::days(days_ago);
        if s.rng.chance(33) {
            s.past_incident(day).await?;
        }
        if s.rng.chance(10) {
            s.blip(day).await?;
        }
    }

    // Two open incidents of 5 updates each, the first opened 3 hours ago, the second 100
    // minutes ago; their last updates are a few minutes old.
    for (opened_minutes_ago, step) in [(180i64, 40i64), (100, 20)] {
        let affected = s.some_components(3);
        let status = s.random_status();
        s.at(now - Duration::minutes(opened_minutes_ago));
        let id = s.open(&affected, status).await?;
        let steps = [
            (IncidentStatus::Investigating, "We are still investigating. Engineers from the platform and database teams are on the call; the next update will follow within 30 minutes."),
            (IncidentStatus::Identified, IDENTIFIED),
            (IncidentStatus::Identified, "The revert has completed in two of three regions. Error rates there are back to normal; the last region is in progress."),
            (IncidentStatus::Monitoring, MONITORING),
        ];
        for (status, body) in steps {
            s.advance_minutes(step);
            s.update(id, status, body, Vec::new()).await?;
        }
    }

    // One maintenance, 3 days from now, for 2 hours.
    s.at(now);
    let start = (today + Duration::days(3) + Duration::hours(2)).max(now + Duration::hours(1));
    let on: Vec<ComponentId> = s.components[16..20].iter().map(|(id, _)| *id).collect();
    s.store
        .create_maintenance(
            NewMaintenance {
                name: "Primary database upgrade".to_string(),
                scheduled_for: Timestamp::from_datetime(start),
                scheduled_until: Timestamp::from_datetime(start + Duration::hours(2)),
                component_ids: on,
                body: Some("We will upgrade the primary database cluster to a new major version. Writes may be refused for up to 5 minutes during the switch-over; reads stay available.".to_string()),
                auto_transition: true,
            },
            &s.actor,
        )
        .await
        .context("scheduling the maintenance")?;

    let events = s.store.last_event_seq().await.unwrap_or(0);
    let clock_now = s.clock.now();
    s.store.close().await;
    eprintln!(
        "bench_public: seeded {} with {} groups, {} components, {} incidents ({} updates, 2 open), \
{} manual status changes, 1 maintenance, {} events; clock ended at {}",
        db.display(),
        GROUPS.len(),
        s.components.len(),
        s.incidents,
        s.updates,
        s.status_changes,
        events,
        clock_now.to_db()
    );
    Ok(())
}
