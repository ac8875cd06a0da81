//! The hit lifecycle as a state machine that refuses illegal transitions (order S3: a hit is
//! not probable cause; it becomes actionable only after communications confirm it, or under
//! exigent circumstances with a written justification that is flagged for review).
//!
//! ```text
//! New -ack-> Acknowledged -plate matches-> Verified -confirmed active-> Confirmed -mark-> Actionable
//!                 |                          |  \-not on file / cleared-> Rejected
//!                 +-misread-> Rejected <-----+--misread
//!                                            +-exigent + justification-> ActionableExigent
//!                                                 (confirmation still recorded afterwards)
//! any acknowledged, unfinished hit -close with a disposition-> Closed
//!     (a disposition that says the officer acted, Stopped, Recovered or Arrest, only from
//!      Actionable or ActionableExigent; Rejected is final, its disposition is the misread
//!      or dispatch's answer)
//! ```
//!
//! [`apply`] is the only way a [`HitRecord`] changes state; it fills the record's time stamps
//! and returns the [`HitEventRecord`] the store keeps and audits with it.

use chrono::{DateTime, Utc};

use super::record::{HitEventRecord, HitRecord, HitState};

/// The shortest written justification accepted for acting under exigent circumstances.
pub const MIN_JUSTIFICATION_CHARS: usize = 20;

/// What dispatch said about the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmResult {
    /// The record is on file and active: the hit may be acted on.
    ConfirmedActive,
    /// Dispatch has no such record.
    NotOnFile,
    /// The record was cleared, or the vehicle already recovered.
    ClearedOrRecovered,
}

impl ConfirmResult {
    /// Every result, for pickers.
    pub const ALL: [ConfirmResult; 3] = [Self::ConfirmedActive, Self::NotOnFile, Self::ClearedOrRecovered];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmedActive => "confirmed_active",
            Self::NotOnFile => "not_on_file",
            Self::ClearedOrRecovered => "cleared_or_recovered",
        }
    }

    /// The result stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Words for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConfirmedActive => "Confirmed active",
            Self::NotOnFile => "Not on file",
            Self::ClearedOrRecovered => "Cleared / recovered",
        }
    }
}

/// How a hit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The vehicle was stopped.
    Stopped,
    /// The vehicle was not found.
    NotLocated,
    /// The officer lost sight of it.
    LostSight,
    /// The vehicle was recovered.
    Recovered,
    /// An arrest was made.
    Arrest,
    /// No action was taken (e.g. the record was not confirmed).
    NoAction,
}

impl Disposition {
    /// Every disposition, for pickers.
    pub const ALL: [Disposition; 6] =
        [Self::Stopped, Self::NotLocated, Self::LostSight, Self::Recovered, Self::Arrest, Self::NoAction];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::NotLocated => "not_located",
            Self::LostSight => "lost_sight",
            Self::Recovered => "recovered",
            Self::Arrest => "arrest",
            Self::NoAction => "no_action",
        }
    }

    /// True for a disposition that says the officer acted on the hit: it needs a hit marked
    /// actionable (confirmed with communications, or exigent), since a hit alone is not
    /// probable cause.
    pub fn implies_action(self) -> bool {
        matches!(self, Self::Stopped | Self::Recovered | Self::Arrest)
    }

    /// The dispositions a hit in `state` may be closed with, for the screen to offer only
    /// those (an exigent hit that still owes its confirmation has none yet).
    pub fn allowed_in(state: HitState, exigent_confirmed: bool) -> Vec<Disposition> {
        Self::ALL
            .into_iter()
            .filter(|&disposition| next_state(state, exigent_confirmed, &HitAction::Close { disposition }).is_ok())
            .collect()
    }

    /// Words for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Stopped => "Stopped",
            Self::NotLocated => "Not located",
            Self::LostSight => "Lost sight",
            Self::Recovered => "Recovered",
            Self::Arrest => "Arrest",
            Self::NoAction => "No action",
        }
    }

    /// The disposition stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// How a finished hit ended: recorded as a misread, or closed with a disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitEnding {
    /// The read was wrong (the hit is rejected).
    Misread,
    /// The hit was closed this way.
    Disposition(Disposition),
}

impl HitEnding {
    /// The stored text: `misread`, or the disposition's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Misread => "misread",
            Self::Disposition(d) => d.as_str(),
        }
    }

    /// The ending stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "misread" { Some(Self::Misread) } else { Disposition::parse(text).map(Self::Disposition) }
    }

    /// Words for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Misread => "Misread",
            Self::Disposition(d) => d.label(),
        }
    }
}

/// What an officer does to a hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitAction {
    /// Silences the alert: the officer has seen it.
    Acknowledge,
    /// The officer compared the plate crop with the entry and they match.
    PlateMatches,
    /// The read was wrong; why.
    Misread {
        /// Why (e.g. "3 read as 8", "different state").
        reason: String,
    },
    /// Communications answered.
    Confirm {
        /// The dispatcher's id.
        dispatcher_id: String,
        /// Dispatch's incident number.
        incident_number: String,
        /// What dispatch said.
        result: ConfirmResult,
    },
    /// Act on a confirmed hit.
    MarkActionable,
    /// Act before confirmation because circumstances are exigent.
    Exigent {
        /// Why waiting for dispatch was not possible.
        justification: String,
    },
    /// Finish the hit.
    Close {
        /// How it ended.
        disposition: Disposition,
    },
}

impl HitAction {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::PlateMatches => "plate matches",
            Self::Misread { .. } => "misread",
            Self::Confirm { .. } => "confirm with communications",
            Self::MarkActionable => "mark actionable",
            Self::Exigent { .. } => "exigent circumstances",
            Self::Close { .. } => "close",
        }
    }
}

/// Why an action was refused; the hit is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HitError {
    /// The action is not allowed in the hit's state.
    #[error("cannot {action} a hit that is {state}")]
    NotAllowed {
        /// The action tried.
        action: &'static str,
        /// The hit's state.
        state: &'static str,
    },
    /// A required entry is empty or malformed.
    #[error("{0}")]
    Missing(&'static str),
    /// The exigent justification is too short to be a justification.
    #[error("the justification needs at least {MIN_JUSTIFICATION_CHARS} characters")]
    JustificationTooShort,
    /// An exigent hit is closed only after the confirmation it still owes.
    #[error("an exigent hit still needs its confirmation with communications before it is closed")]
    ConfirmationOwed,
    /// A disposition that says the officer acted, on a hit never marked actionable.
    #[error("'{0}' means the hit was acted on: mark it actionable first (confirmed with communications, or exigent)")]
    NotActionable(&'static str),
}

/// True for ids and numbers typed on the keypad: letters, digits and dashes.
fn valid_reference(text: &str) -> bool {
    !text.is_empty() && text.len() <= 32 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn refuse(action: &HitAction, state: HitState) -> HitError {
    HitError::NotAllowed { action: action.name(), state: state.as_str() }
}

/// The state `action` leads to from `state`, or why it cannot be taken. Pure: no time, no
/// user, so the rule can be read (and exhaustively tested) on its own.
pub fn next_state(state: HitState, exigent_confirmed: bool, action: &HitAction) -> Result<HitState, HitError> {
    use HitState::*;
    match (state, action) {
        (New, HitAction::Acknowledge) => Ok(Acknowledged),
        (Acknowledged, HitAction::PlateMatches) => Ok(Verified),
        (Acknowledged | Verified, HitAction::Misread { reason }) => {
            if reason.trim().is_empty() {
                Err(HitError::Missing("say why the read is wrong"))
            } else {
                Ok(Rejected)
            }
        }
        (Verified | ActionableExigent, HitAction::Confirm { dispatcher_id, incident_number, result }) => {
            if !valid_reference(dispatcher_id.trim()) {
                return Err(HitError::Missing("enter the dispatcher's id"));
            }
            if !valid_reference(incident_number.trim()) {
                return Err(HitError::Missing("enter the incident number"));
            }
            if state == ActionableExigent {
                if exigent_confirmed {
                    return Err(refuse(action, state));
                }
                // The action was already taken; the confirmation is recorded for review.
                return Ok(ActionableExigent);
            }
            Ok(if *result == ConfirmResult::ConfirmedActive { Confirmed } else { Rejected })
        }
        (Confirmed, HitAction::MarkActionable) => Ok(Actionable),
        (Verified, HitAction::Exigent { justification }) => {
            if justification.trim().chars().count() < MIN_JUSTIFICATION_CHARS {
                Err(HitError::JustificationTooShort)
            } else {
                Ok(ActionableExigent)
            }
        }
        (ActionableExigent, HitAction::Close { .. }) if !exigent_confirmed => Err(HitError::ConfirmationOwed),
        (Acknowledged | Verified | Confirmed, HitAction::Close { disposition }) if disposition.implies_action() => {
            Err(HitError::NotActionable(disposition.label()))
        }
        (Acknowledged | Verified | Confirmed | Actionable | ActionableExigent, HitAction::Close { .. }) => Ok(Closed),
        _ => Err(refuse(action, state)),
    }
}

/// Applies `action` by `user` at `now` to `hit`: checks it against the lifecycle, updates the
/// record's state, time stamps and entered fields, and returns the transition to store and
/// audit with it. On error the hit is unchanged.
pub fn apply(
    hit: &mut HitRecord,
    action: &HitAction,
    user: &str,
    now: DateTime<Utc>,
) -> Result<HitEventRecord, HitError> {
    let exigent_confirmed = hit.exigent && hit.confirmed.is_some();
    let from = hit.state();
    let to = next_state(from, exigent_confirmed, action)?;
    let detail = match action {
        HitAction::Acknowledge => {
            hit.acknowledged = Some(now);
            hit.time_to_ack_ms = Some((now - hit.raised).num_milliseconds().max(0));
            String::new()
        }
        HitAction::PlateMatches => {
            hit.verified = Some(now);
            "plate crop compared with the entry: matches".to_owned()
        }
        HitAction::Misread { reason } => {
            hit.closed = Some(now);
            hit.disposition = Some(HitEnding::Misread);
            format!("misread: {}", reason.trim())
        }
        HitAction::Confirm { dispatcher_id, incident_number, result } => {
            hit.confirmed = Some(now);
            hit.dispatcher_id = Some(dispatcher_id.trim().to_owned());
            hit.incident_number = Some(incident_number.trim().to_owned());
            hit.result = Some(*result);
            if to == HitState::Rejected {
                hit.closed = Some(now);
            }
            format!("dispatcher {}, incident {}, {}", dispatcher_id.trim(), incident_number.trim(), result.as_str())
        }
        HitAction::MarkActionable => {
            hit.actionable = Some(now);
            "confirmed by communications".to_owned()
        }
        HitAction::Exigent { justification } => {
            hit.actionable = Some(now);
            hit.exigent = true;
            format!("exigent circumstances (flagged for supervisor review): {}", justification.trim())
        }
        HitAction::Close { disposition } => {
            hit.closed = Some(now);
            hit.disposition = Some(HitEnding::Disposition(*disposition));
            format!("disposition: {}", disposition.as_str())
        }
    };
    hit.set_state(to);
    Ok(HitEventRecord { hit_id: hit.id, time: now, user: user.to_owned(), from, to, detail })
}

/// True while a hit still needs the officer (an open alert or an unfinished workflow).
pub fn is_open(state: HitState) -> bool {
    !matches!(state, HitState::Rejected | HitState::Closed)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashSet, VecDeque};

    use super::*;

    fn hit() -> HitRecord {
        HitRecord::new(Some(1), "7ABC123", "svs", 3, Some("officer1"), Utc::now())
    }

    fn confirm(result: ConfirmResult) -> HitAction {
        HitAction::Confirm { dispatcher_id: "D12".into(), incident_number: "26-1044".into(), result }
    }

    fn exigent(text: &str) -> HitAction {
        HitAction::Exigent { justification: text.into() }
    }

    /// Every action an officer could press, with good and bad entries.
    fn all_actions() -> Vec<HitAction> {
        let mut actions = vec![
            HitAction::Acknowledge,
            HitAction::PlateMatches,
            HitAction::Misread { reason: "3 read as 8".into() },
            HitAction::Misread { reason: "  ".into() },
            HitAction::MarkActionable,
            exigent("suspect vehicle fleeing toward the school zone"),
            exigent("hurry"),
            HitAction::Confirm {
                dispatcher_id: String::new(),
                incident_number: "1".into(),
                result: ConfirmResult::ConfirmedActive,
            },
        ];
        actions.extend(ConfirmResult::ALL.map(confirm));
        actions.extend(Disposition::ALL.map(|disposition| HitAction::Close { disposition }));
        actions
    }

    fn run(actions: &[HitAction]) -> Result<HitRecord, HitError> {
        let mut h = hit();
        for a in actions {
            apply(&mut h, a, "officer1", Utc::now())?;
        }
        Ok(h)
    }

    #[test]
    fn the_confirmed_path_reaches_actionable_and_closes() {
        let h = run(&[
            HitAction::Acknowledge,
            HitAction::PlateMatches,
            confirm(ConfirmResult::ConfirmedActive),
            HitAction::MarkActionable,
        ])
        .unwrap();
        assert_eq!(h.state(), HitState::Actionable);
        assert_eq!(h.dispatcher_id.as_deref(), Some("D12"));
        assert!(h.acknowledged.is_some() && h.verified.is_some() && h.confirmed.is_some() && h.actionable.is_some());
        assert!(!h.exigent);
    }

    #[test]
    fn mark_actionable_is_refused_before_confirmation() {
        for prefix in [vec![], vec![HitAction::Acknowledge], vec![HitAction::Acknowledge, HitAction::PlateMatches]] {
            let mut h = run(&prefix).unwrap();
            let before = h.clone();
            let err = apply(&mut h, &HitAction::MarkActionable, "officer1", Utc::now()).unwrap_err();
            assert!(matches!(err, HitError::NotAllowed { .. }), "{err}");
            assert_eq!(h, before, "a refused action changes nothing");
        }
    }

    #[test]
    fn dispatch_not_confirming_rejects() {
        for result in [ConfirmResult::NotOnFile, ConfirmResult::ClearedOrRecovered] {
            let h = run(&[HitAction::Acknowledge, HitAction::PlateMatches, confirm(result)]).unwrap();
            assert_eq!(h.state(), HitState::Rejected);
            let err =
                run(&[HitAction::Acknowledge, HitAction::PlateMatches, confirm(result), HitAction::MarkActionable]);
            assert!(err.is_err());
        }
    }

    #[test]
    fn exigent_demands_a_written_justification_and_still_owes_confirmation() {
        let base = [HitAction::Acknowledge, HitAction::PlateMatches];
        for short in ["", "   ", "hurry", "                         x"] {
            let mut h = run(&base).unwrap();
            assert_eq!(apply(&mut h, &exigent(short), "o", Utc::now()), Err(HitError::JustificationTooShort));
            assert_eq!(h.state(), HitState::Verified);
        }
        let mut h = run(&base).unwrap();
        apply(&mut h, &exigent("vehicle fleeing with a child inside, no time"), "o", Utc::now()).unwrap();
        assert_eq!(h.state(), HitState::ActionableExigent);
        assert!(h.exigent, "flagged for supervisor review");
        let close = HitAction::Close { disposition: Disposition::Stopped };
        assert_eq!(apply(&mut h, &close, "o", Utc::now()), Err(HitError::ConfirmationOwed));
        apply(&mut h, &confirm(ConfirmResult::ConfirmedActive), "o", Utc::now()).unwrap();
        assert_eq!(h.state(), HitState::ActionableExigent);
        assert!(apply(&mut h, &confirm(ConfirmResult::ConfirmedActive), "o", Utc::now()).is_err(), "confirmed once");
        apply(&mut h, &close, "o", Utc::now()).unwrap();
        assert_eq!(h.state(), HitState::Closed);
        assert_eq!(h.disposition, Some(HitEnding::Disposition(Disposition::Stopped)));
    }

    #[test]
    fn exigent_needs_the_plate_verified_first() {
        let good = exigent("vehicle fleeing with a child inside, no time");
        assert!(run(std::slice::from_ref(&good)).is_err());
        assert!(run(&[HitAction::Acknowledge, good]).is_err());
    }

    #[test]
    fn entries_are_checked() {
        let base = [HitAction::Acknowledge, HitAction::PlateMatches];
        let check = |action: HitAction, expected: HitError| {
            let mut h = run(&base).unwrap();
            assert_eq!(apply(&mut h, &action, "o", Utc::now()), Err(expected));
        };
        check(HitAction::Misread { reason: " ".into() }, HitError::Missing("say why the read is wrong"));
        let confirm_with = |d: &str, i: &str| HitAction::Confirm {
            dispatcher_id: d.into(),
            incident_number: i.into(),
            result: ConfirmResult::ConfirmedActive,
        };
        check(confirm_with("", "26-1"), HitError::Missing("enter the dispatcher's id"));
        check(confirm_with("D 1", "26-1"), HitError::Missing("enter the dispatcher's id"));
        check(confirm_with("D1", ""), HitError::Missing("enter the incident number"));
        check(confirm_with("D1", "26/1"), HitError::Missing("enter the incident number"));
    }

    #[test]
    fn acknowledge_records_time_to_acknowledge() {
        let mut h = hit();
        let later = h.raised + chrono::Duration::milliseconds(2500);
        let event = apply(&mut h, &HitAction::Acknowledge, "officer1", later).unwrap();
        assert_eq!(h.time_to_ack_ms, Some(2500));
        assert_eq!((event.from, event.to, event.user.as_str()), (HitState::New, HitState::Acknowledged, "officer1"));
    }

    #[test]
    fn nothing_happens_to_a_closed_hit() {
        let h = run(&[HitAction::Acknowledge, HitAction::Close { disposition: Disposition::LostSight }]).unwrap();
        for action in all_actions() {
            let mut h2 = h.clone();
            assert!(apply(&mut h2, &action, "o", Utc::now()).is_err(), "{action:?}");
        }
    }

    #[test]
    fn arrest_is_refused_on_a_hit_never_marked_actionable() {
        // Confirmed by dispatch but never marked actionable: no arrest, stop or recovery.
        let confirmed = [HitAction::Acknowledge, HitAction::PlateMatches, confirm(ConfirmResult::ConfirmedActive)];
        for disposition in [Disposition::Arrest, Disposition::Stopped, Disposition::Recovered] {
            let err = run(&[&confirmed[..], &[HitAction::Close { disposition }]].concat()).unwrap_err();
            assert_eq!(err, HitError::NotActionable(disposition.label()));
        }
        assert_eq!(
            Disposition::allowed_in(HitState::Confirmed, false),
            vec![Disposition::NotLocated, Disposition::LostSight, Disposition::NoAction]
        );
        let arrested =
            run(&[&confirmed[..], &[HitAction::MarkActionable, HitAction::Close { disposition: Disposition::Arrest }]]
                .concat())
            .unwrap();
        assert_eq!(
            (arrested.state(), arrested.disposition),
            (HitState::Closed, Some(HitEnding::Disposition(Disposition::Arrest)))
        );
        assert_eq!(Disposition::allowed_in(HitState::Actionable, false), Disposition::ALL.to_vec());
    }

    #[test]
    fn a_rejected_hit_is_final_and_offers_no_disposition() {
        let h = run(&[HitAction::Acknowledge, HitAction::Misread { reason: "8 read as B".into() }]).unwrap();
        assert_eq!(h.state(), HitState::Rejected);
        assert!(Disposition::allowed_in(HitState::Rejected, false).is_empty());
        assert!(Disposition::allowed_in(HitState::ActionableExigent, false).is_empty(), "confirmation owed first");
        let mut again = h.clone();
        assert!(apply(&mut again, &HitAction::Close { disposition: Disposition::NoAction }, "o", Utc::now()).is_err());
        assert_eq!(again, h);
    }

    /// Explores every sequence of actions from a new hit (breadth first over the reachable
    /// records) and proves `Actionable` is only ever reached after dispatch confirmed the
    /// record, and `ActionableExigent` only with a justification: there is no other way in.
    #[test]
    fn actionable_is_unreachable_without_confirmation_or_justification() {
        let actions = all_actions();
        let mut seen: HashSet<(HitState, bool, bool, Option<ConfirmResult>)> = HashSet::new();
        let mut queue: VecDeque<HitRecord> = VecDeque::from([hit()]);
        let mut reached_actionable = false;
        let mut reached_exigent = false;
        while let Some(h) = queue.pop_front() {
            for action in &actions {
                let mut next = h.clone();
                let Ok(event) = apply(&mut next, action, "o", Utc::now()) else { continue };
                if next.state() == HitState::Actionable {
                    reached_actionable = true;
                    assert_eq!(h.state(), HitState::Confirmed, "Actionable only from Confirmed");
                    assert_eq!(next.result, Some(ConfirmResult::ConfirmedActive));
                    assert!(next.dispatcher_id.is_some() && next.incident_number.is_some());
                }
                if next.state() == HitState::ActionableExigent && h.state() != HitState::ActionableExigent {
                    reached_exigent = true;
                    assert!(
                        matches!(action, HitAction::Exigent { justification } if justification.len() >= MIN_JUSTIFICATION_CHARS)
                    );
                    assert!(next.exigent && event.detail.contains("exigent"));
                }
                if let HitAction::Close { disposition } = action
                    && disposition.implies_action()
                {
                    assert!(
                        matches!(h.state(), HitState::Actionable | HitState::ActionableExigent),
                        "{disposition:?} only after the hit was marked actionable, not from {:?}",
                        h.state()
                    );
                }
                let key = (next.state(), next.exigent, next.confirmed.is_some(), next.result);
                if seen.insert(key) {
                    queue.push_back(next);
                }
            }
        }
        assert!(reached_actionable && reached_exigent, "the search reached both ways in");
    }
}
