//! A hit as the policy core sees it and the store keeps it: its states, its fields and one
//! transition. The rules that move a hit between states live in `lifecycle`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle::{ConfirmResult, HitEnding};

/// The states of a hit's lifecycle (the rules that move between them are in `lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitState {
    /// Raised, not yet acknowledged.
    New,
    /// Acknowledged by the officer.
    Acknowledged,
    /// The officer compared the plate visually and it matches.
    Verified,
    /// Communications confirmed the record.
    Confirmed,
    /// May be acted on.
    Actionable,
    /// Acted on under exigent circumstances before confirmation (flagged for review).
    ActionableExigent,
    /// Misread, or the record was not confirmed.
    Rejected,
    /// Finished.
    Closed,
}

impl HitState {
    /// Every state.
    pub const ALL: [HitState; 8] = [
        Self::New,
        Self::Acknowledged,
        Self::Verified,
        Self::Confirmed,
        Self::Actionable,
        Self::ActionableExigent,
        Self::Rejected,
        Self::Closed,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Acknowledged => "acknowledged",
            Self::Verified => "verified",
            Self::Confirmed => "confirmed",
            Self::Actionable => "actionable",
            Self::ActionableExigent => "actionable_exigent",
            Self::Rejected => "rejected",
            Self::Closed => "closed",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// True while the hit still needs a decision or review, which protects its read from
    /// the retention purge.
    pub fn under_review(self) -> bool {
        !matches!(self, Self::Rejected | Self::Closed)
    }
}

/// A hit as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRecord {
    /// Row id (0 before insertion).
    pub id: i64,
    /// The read that raised it.
    pub read_id: Option<i64>,
    /// The plate that matched.
    pub plate: String,
    /// The hot list it matched.
    pub list: String,
    /// The list's priority.
    pub priority: i32,
    /// Current state: private, so `lifecycle::apply` is the only way to change it (and the
    /// store the only way to read one back); read it with [`HitRecord::state`].
    state: HitState,
    /// Officer in the car.
    pub officer: Option<String>,
    /// When it was raised.
    pub raised: DateTime<Utc>,
    /// When acknowledged.
    pub acknowledged: Option<DateTime<Utc>>,
    /// When visually verified.
    pub verified: Option<DateTime<Utc>>,
    /// When confirmed with communications.
    pub confirmed: Option<DateTime<Utc>>,
    /// When it became actionable.
    pub actionable: Option<DateTime<Utc>>,
    /// When closed or rejected.
    pub closed: Option<DateTime<Utc>>,
    /// Dispatcher who confirmed.
    pub dispatcher_id: Option<String>,
    /// Incident number from dispatch.
    pub incident_number: Option<String>,
    /// Result of the confirmation.
    pub result: Option<ConfirmResult>,
    /// Acted on under exigent circumstances.
    pub exigent: bool,
    /// How it ended: a misread, or its disposition.
    pub disposition: Option<HitEnding>,
    /// Milliseconds from raise to acknowledgement.
    pub time_to_ack_ms: Option<i64>,
}

impl HitRecord {
    /// A new hit in state `New`.
    pub fn new(
        read_id: Option<i64>,
        plate: &str,
        list: &str,
        priority: i32,
        officer: Option<&str>,
        raised: DateTime<Utc>,
    ) -> Self {
        Self {
            id: 0,
            read_id,
            plate: plate.to_owned(),
            list: list.to_owned(),
            priority,
            state: HitState::New,
            officer: officer.map(str::to_owned),
            raised,
            acknowledged: None,
            verified: None,
            confirmed: None,
            actionable: None,
            closed: None,
            dispatcher_id: None,
            incident_number: None,
            result: None,
            exigent: false,
            disposition: None,
            time_to_ack_ms: None,
        }
    }

    /// Where the hit stands in its lifecycle.
    pub fn state(&self) -> HitState {
        self.state
    }

    /// Sets the state a lifecycle step decided (`lifecycle::apply` only).
    pub(super) fn set_state(&mut self, state: HitState) {
        self.state = state;
    }

    /// The hit as the store holds it: the state a lifecycle step wrote to its row. Only the
    /// store's row reader calls this; everything else changes a hit through
    /// `lifecycle::apply`.
    pub(crate) fn with_stored_state(mut self, state: HitState) -> Self {
        self.state = state;
        self
    }
}

/// One transition of a hit, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HitEventRecord {
    /// The hit.
    pub hit_id: i64,
    /// When.
    pub time: DateTime<Utc>,
    /// Who.
    pub user: String,
    /// State before.
    pub from: HitState,
    /// State after.
    pub to: HitState,
    /// What was entered (dispatcher, incident, reason, justification).
    pub detail: String,
}
