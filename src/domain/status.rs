//! The closed sets of the vocabulary: component status, incident status and impact,
//! maintenance status, where an incident came from, and token scopes. Each has one
//! `as_str` (the form used in JSON, SQL and the CLI) and a `FromStr` that names the allowed
//! values when it fails.

/// An unknown value for one of the enums below.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct EnumParseError {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::status::EnumParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::status::EnumParseError {
                        kind: $kind,
                        value: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}
/// The closed sets of other modules (notifications, escalation) are declared the same way.
pub(crate) use string_enum;

string_enum!(
    /// The status of a component, as Statuspage names it.
    ComponentStatus, "component status", {
        Operational => "operational",
        DegradedPerformance => "degraded_performance",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
        UnderMaintenance => "under_maintenance",
    }
);

impl ComponentStatus {
    /// How bad a status is, for taking the worst of several. Maintenance ranks above
    /// operational but below any outage, so an outage during a maintenance window shows.
    pub fn severity(&self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// The worst of several statuses; `None` when there are none.
    pub fn worst(statuses: impl IntoIterator<Item = ComponentStatus>) -> Option<ComponentStatus> {
        statuses.into_iter().max_by_key(|s| s.severity())
    }
}

string_enum!(
    /// Where an incident stands. `resolved` and `postmortem` are closed states.
    IncidentStatus, "incident status", {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Postmortem => "postmortem",
    }
);

impl IncidentStatus {
    pub fn is_closed(&self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Postmortem)
    }
}

string_enum!(
    /// How much an incident hurts, in Statuspage's four levels.
    IncidentImpact, "incident impact", {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
    }
);

impl IncidentImpact {
    /// At least `minor`: an incident someone publishes has some impact.
    pub fn max_minor(self) -> IncidentImpact {
        if self == IncidentImpact::None {
            IncidentImpact::Minor
        } else {
            self
        }
    }

    /// Statuspage's default when a responder does not choose: derived from the worst
    /// component status the incident sets.
    pub fn from_component_status(status: Option<ComponentStatus>) -> IncidentImpact {
        match status {
            Some(ComponentStatus::MajorOutage) => IncidentImpact::Critical,
            Some(ComponentStatus::PartialOutage) => IncidentImpact::Major,
            Some(ComponentStatus::DegradedPerformance) => IncidentImpact::Minor,
            _ => IncidentImpact::None,
        }
    }
}

string_enum!(
    /// The life of a scheduled maintenance window.
    MaintenanceStatus, "maintenance status", {
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
);

impl MaintenanceStatus {
    /// While active, a maintenance holds its components `under_maintenance`.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying
        )
    }
}

string_enum!(
    /// Who opened an incident: a person, a monitor, or a followed vendor.
    SourceKind, "incident source", {
        Manual => "manual",
        Monitor => "monitor",
        Vendor => "vendor",
    }
);

string_enum!(
    /// What a component or group is managed by. Resources declared in the configuration
    /// file are reconciled at start and cannot be deleted through the API.
    ManagedBy, "managed_by", {
        Api => "api",
        Config => "config",
    }
);

string_enum!(
    /// What an API token may do. Each scope includes the ones before it.
    TokenScope, "token scope", {
        Read => "read",
        Write => "write",
        Admin => "admin",
    }
);

impl TokenScope {
    pub fn allows(&self, needed: TokenScope) -> bool {
        self.rank() >= needed.rank()
    }

    fn rank(&self) -> u8 {
        match self {
            TokenScope::Read => 0,
            TokenScope::Write => 1,
            TokenScope::Admin => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_ranks_outages_above_maintenance() {
        use ComponentStatus::*;
        assert_eq!(ComponentStatus::worst([]), None);
        assert_eq!(
            ComponentStatus::worst([Operational, UnderMaintenance]),
            Some(UnderMaintenance)
        );
        assert_eq!(
            ComponentStatus::worst([UnderMaintenance, DegradedPerformance]),
            Some(DegradedPerformance)
        );
        assert_eq!(
            ComponentStatus::worst([MajorOutage, PartialOutage, Operational]),
            Some(MajorOutage)
        );
    }

    #[test]
    fn parse_error_names_the_allowed_values() {
        let err = "down".parse::<ComponentStatus>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`down`"), "{text}");
        assert!(text.contains("major_outage"), "{text}");
    }

    #[test]
    fn every_value_round_trips() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<ComponentStatus>().unwrap(), *s);
        }
        for s in IncidentStatus::ALL {
            assert_eq!(s.as_str().parse::<IncidentStatus>().unwrap(), *s);
        }
        for s in MaintenanceStatus::ALL {
            assert_eq!(s.as_str().parse::<MaintenanceStatus>().unwrap(), *s);
        }
    }

    #[test]
    fn scopes_include_lower_ones() {
        assert!(TokenScope::Admin.allows(TokenScope::Write));
        assert!(TokenScope::Write.allows(TokenScope::Read));
        assert!(!TokenScope::Read.allows(TokenScope::Write));
    }
}
