//! The rule that decides a component's status.
//!
//! A component's status is the worst status *held* for it by open incidents (through
//! `components: {id: status}` on the incident or its updates) and by active maintenances
//! (which hold `under_maintenance`) and by monitors that are down or degraded (their
//! `down_status`, or `degraded_performance`). With no hold, it is the status last set by hand
//! (`base_status`, `operational` for a new component). Setting a status by hand while holds
//! exist *pins* it: the hand-set value wins until an incident update names the component
//! again or the last hold is released. Resolving an incident therefore restores whatever the
//! remaining incidents and maintenances still hold, or the hand-set status.

use super::ComponentStatus;

/// What the rule needs to know about one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusInputs<'a> {
    pub base_status: ComponentStatus,
    pub pinned: bool,
    pub holds: &'a [ComponentStatus],
}

/// The status a component should show now.
pub fn effective_status(inputs: StatusInputs<'_>) -> ComponentStatus {
    if inputs.pinned {
        return inputs.base_status;
    }
    ComponentStatus::worst(inputs.holds.iter().copied()).unwrap_or(inputs.base_status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    fn status(base: ComponentStatus, pinned: bool, holds: &[ComponentStatus]) -> ComponentStatus {
        effective_status(StatusInputs {
            base_status: base,
            pinned,
            holds,
        })
    }

    #[test]
    fn no_holds_shows_the_hand_set_status() {
        assert_eq!(status(Operational, false, &[]), Operational);
        assert_eq!(status(DegradedPerformance, false, &[]), DegradedPerformance);
    }

    #[test]
    fn holds_win_over_the_base_and_the_worst_hold_wins() {
        assert_eq!(status(Operational, false, &[PartialOutage]), PartialOutage);
        assert_eq!(
            status(
                Operational,
                false,
                &[PartialOutage, MajorOutage, UnderMaintenance]
            ),
            MajorOutage
        );
        // An incident that says "operational again" does not hide another's outage.
        assert_eq!(
            status(Operational, false, &[Operational, PartialOutage]),
            PartialOutage
        );
    }

    #[test]
    fn a_pinned_status_wins_over_holds() {
        assert_eq!(status(Operational, true, &[MajorOutage]), Operational);
    }
}
