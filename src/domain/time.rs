//! UTC timestamps with one storage form. Times are stored as fixed-width RFC 3339 text with
//! microseconds (`2026-11-28T15:09:52.123456Z`), which both SQLite and PostgreSQL compare and
//! sort correctly as text and which stays readable when an operator inspects the database.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time, always UTC, at microsecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        // Truncate to microseconds so a value survives a round trip through the database.
        let micros = dt.timestamp_micros();
        Self(DateTime::from_timestamp_micros(micros).expect("in range"))
    }

    /// The storage and wire form.
    pub fn to_db(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// `14:05 UTC`, for text written into incident updates.
    pub fn hhmm_utc(&self) -> String {
        self.0.format("%H:%M UTC").to_string()
    }

    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}
