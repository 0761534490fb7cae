//! Identifier newtypes. Every id is a UUIDv7 made by the application, so ids sort by
//! creation time and can serve as pagination cursors. Keeping one type per resource stops an
//! incident id from being passed where a component id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a component group.
    ComponentGroupId
);
id_type!(
    /// Identifies a component.
    ComponentId
);
id_type!(
    /// Identifies an incident.
    IncidentId
);
id_type!(
    /// Identifies one update in an incident's timeline.
    IncidentUpdateId
);
id_type!(
    /// Identifies a scheduled maintenance.
    MaintenanceId
);
id_type!(
    /// Identifies a monitor.
    MonitorId
);
id_type!(
    /// Identifies a followed vendor.
    VendorId
);
id_type!(
    /// Identifies a vendor's component as Pharos stores it.
    VendorComponentId
);
id_type!(
    /// Identifies a vendor's incident or maintenance as Pharos stores it.
    VendorIncidentId
);
id_type!(
    /// Identifies a component's dependency on a vendor.
    DependencyId
);
id_type!(
    /// Identifies an API token (the public part of the token string).
    TokenId
);
id_type!(
    /// Identifies a notification channel (a team's chat, pager, mailing list or webhook).
    ChannelId
);
id_type!(
    /// Identifies a subscriber (an email address or webhook URL that follows the page).
    SubscriberId
);
id_type!(
    /// Identifies a user of the web UI.
    UserId
);
id_type!(
    /// Identifies an escalation policy.
    EscalationPolicyId
);
id_type!(
    /// Identifies one escalation (a policy running for one incident, monitor or vendor
    /// incident).
    EscalationId
);
id_type!(
    /// Identifies an incident template of the web UI.
    IncidentTemplateId
);

/// A short, URL-friendly id for incident links (`/incidents/{short_id}`), in the style of
/// Statuspage's 12-character ids. Random, lower-case base-36.
pub fn new_short_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
