//! What the facilitator drives through the session document besides phases
//! and locks: the phase timer and the spotlight.
//!
//! Both live in the session document (keys `timer` and `spotlight`, beyond the
//! contract's required ones), so every screen — including one that connects
//! late — shows the same thing, and only the facilitator can change them.
//! Times are milliseconds since the Unix epoch *on the server's clock*: each
//! client estimates its offset to the server and passes `now` in that clock,
//! so phones whose clocks are off still agree on the remaining time.
//!
//! Readers are lenient (a malformed timer reads as no timer); writers clamp
//! durations to [`MAX_TIMER_MS`].

use crate::ops::OpError;
use crate::read;
use automerge::{ObjType, ROOT, ScalarValue};
use autosurgeon::{Doc, ReadDoc};

/// The longest timer accepted: a whole day.
pub const MAX_TIMER_MS: i64 = 24 * 60 * 60 * 1000;

/// The phase timer as stored.
///
/// While it runs, `remaining_ms` is what was left at `running_since`; while
/// paused, `running_since` is `None` and `remaining_ms` is what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub duration_ms: i64,
    pub remaining_ms: i64,
    pub running_since: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStatus {
    /// No timer is set.
    Idle,
    Running,
    Paused,
    /// It ran out (it stays on screen at zero until the facilitator stops it).
    Finished,
}

impl TimerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerStatus::Idle => "idle",
            TimerStatus::Running => "running",
            TimerStatus::Paused => "paused",
            TimerStatus::Finished => "finished",
        }
    }
}

/// What a screen draws at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerState {
    pub status: TimerStatus,
    pub remaining_ms: i64,
    pub duration_ms: i64,
}

impl Timer {
    /// The session document's timer, `None` when unset or malformed.
    pub fn load<D: ReadDoc>(doc: &D) -> Option<Timer> {
        let t = read::get_map(doc, &ROOT, "timer")?;
        let duration_ms = read::get_int(doc, &t, "duration_ms")?;
        let remaining_ms = read::get_int(doc, &t, "remaining_ms")?;
        let running_since = if read::is_null_or_absent(doc, &t, "running_since") {
            None
        } else {
            Some(read::get_int(doc, &t, "running_since")?)
        };
        Some(Timer {
            duration_ms,
            remaining_ms,
            running_since,
        })
    }

    /// Milliseconds left at `now` (never negative).
    pub fn remaining_at(&self, now: i64) -> i64 {
        let left = match self.running_since {
            Some(since) => self.remaining_ms - now.saturating_sub(since).max(0),
            None => self.remaining_ms,
        };
        left.clamp(0, MAX_TIMER_MS)
    }

    pub fn state_at(&self, now: i64) -> TimerState {
        let remaining_ms = self.remaining_at(now);
        let status = if remaining_ms == 0 {
            TimerStatus::Finished
        } else if self.running_since.is_some() {
            TimerStatus::Running
        } else {
            TimerStatus::Paused
        };
        TimerState {
            status,
            remaining_ms,
            duration_ms: self.duration_ms.clamp(0, MAX_TIMER_MS),
        }
    }
}

/// The timer state of a session document at `now` (idle when there is none).
pub fn timer_state<D: ReadDoc>(doc: &D, now: i64) -> TimerState {
    match Timer::load(doc) {
        Some(t) => t.state_at(now),
        None => TimerState {
            status: TimerStatus::Idle,
            remaining_ms: 0,
            duration_ms: 0,
        },
    }
}

fn write_timer<D: Doc>(doc: &mut D, t: &Timer) -> Result<(), OpError> {
    let obj = doc.put_object(ROOT, "timer", ObjType::Map)?;
    doc.put(&obj, "duration_ms", t.duration_ms)?;
    doc.put(&obj, "remaining_ms", t.remaining_ms)?;
    match t.running_since {
        Some(s) => doc.put(&obj, "running_since", s)?,
        None => doc.put(&obj, "running_since", ScalarValue::Null)?,
    }
    Ok(())
}

fn existing<D: ReadDoc>(doc: &D) -> Result<Timer, OpError> {
    Timer::load(doc).ok_or(OpError::NoTimer)
}

/// Starts a timer of `duration_ms` now.
pub fn start_timer<D: Doc>(doc: &mut D, duration_ms: i64, now: i64) -> Result<(), OpError> {
    if !(1..=MAX_TIMER_MS).contains(&duration_ms) {
        return Err(OpError::TimerOutOfRange);
    }
    write_timer(
        doc,
        &Timer {
            duration_ms,
            remaining_ms: duration_ms,
            running_since: Some(now),
        },
    )
}

/// Pauses a running timer (no-op when already paused).
pub fn pause_timer<D: Doc>(doc: &mut D, now: i64) -> Result<(), OpError> {
    let t = existing(doc)?;
    if t.running_since.is_none() {
        return Ok(());
    }
    write_timer(
        doc,
        &Timer {
            remaining_ms: t.remaining_at(now),
            running_since: None,
            ..t
        },
    )
}

/// Resumes a paused timer (no-op when running).
pub fn resume_timer<D: Doc>(doc: &mut D, now: i64) -> Result<(), OpError> {
    let t = existing(doc)?;
    if t.running_since.is_some() {
        return Ok(());
    }
    write_timer(
        doc,
        &Timer {
            running_since: Some(now),
            ..t
        },
    )
}

/// Adds (or, negative, removes) time. A finished timer given more time runs
/// again from now.
pub fn add_time<D: Doc>(doc: &mut D, delta_ms: i64, now: i64) -> Result<(), OpError> {
    if delta_ms.abs() > MAX_TIMER_MS {
        return Err(OpError::TimerOutOfRange);
    }
    let t = existing(doc)?;
    let left = t.remaining_at(now);
    let remaining_ms = (left + delta_ms).clamp(0, MAX_TIMER_MS);
    let running_since = t.running_since.map(|_| now).or_else(|| {
        // A finished timer (paused at zero or run out) restarts when extended.
        (left == 0 && remaining_ms > 0).then_some(now)
    });
    write_timer(
        doc,
        &Timer {
            duration_ms: (t.duration_ms + delta_ms.max(0)).clamp(1, MAX_TIMER_MS),
            remaining_ms,
            running_since,
        },
    )
}

/// Removes the timer from every screen.
pub fn clear_timer<D: Doc>(doc: &mut D) -> Result<(), OpError> {
    doc.put(ROOT, "timer", ScalarValue::Null)?;
    Ok(())
}

/// What the facilitator points everyone at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spotlight {
    /// `automerge:` URL of the question document holding the target.
    pub doc: String,
    /// A note id or a cluster id.
    pub target: String,
    pub kind: SpotlightKind,
    /// When it was set (server clock), so screens can tell a new spotlight
    /// on the same target from the old one.
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpotlightKind {
    Note,
    Cluster,
}

impl SpotlightKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "note" => Some(SpotlightKind::Note),
            "cluster" => Some(SpotlightKind::Cluster),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SpotlightKind::Note => "note",
            SpotlightKind::Cluster => "cluster",
        }
    }
}

impl Spotlight {
    /// The session document's spotlight, `None` when unset or malformed.
    pub fn load<D: ReadDoc>(doc: &D) -> Option<Spotlight> {
        let s = read::get_map(doc, &ROOT, "spotlight")?;
        Some(Spotlight {
            doc: read::get_str(doc, &s, "doc")?,
            target: read::get_str(doc, &s, "target")?,
            kind: SpotlightKind::parse(&read::get_str(doc, &s, "kind")?)?,
            at: read::get_int(doc, &s, "at").unwrap_or(0),
        })
    }
}

pub fn set_spotlight<D: Doc>(doc: &mut D, s: &Spotlight) -> Result<(), OpError> {
    let obj = doc.put_object(ROOT, "spotlight", ObjType::Map)?;
    crate::ops::put_text(doc, &obj, "doc", s.doc.as_str())?;
    crate::ops::put_text(doc, &obj, "target", s.target.as_str())?;
    crate::ops::put_text(doc, &obj, "kind", s.kind.as_str())?;
    doc.put(&obj, "at", s.at)?;
    Ok(())
}

pub fn clear_spotlight<D: Doc>(doc: &mut D) -> Result<(), OpError> {
    doc.put(ROOT, "spotlight", ScalarValue::Null)?;
    Ok(())
}

/// What the projector shows instead of the board while the facilitator
/// gives the room its results back ("restituzione"), one view at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestitutionStep {
    /// The map of the social raw material.
    Map,
    /// Who contributes what.
    Ledger,
    /// The needs, ranked.
    Needs,
    /// The expectations between sectors.
    Matrix,
    /// What the table concluded: syntheses, commitments, next steps.
    Conclusions,
}

impl RestitutionStep {
    pub const ALL: [RestitutionStep; 5] = [
        RestitutionStep::Map,
        RestitutionStep::Ledger,
        RestitutionStep::Needs,
        RestitutionStep::Matrix,
        RestitutionStep::Conclusions,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RestitutionStep::Map => "map",
            RestitutionStep::Ledger => "ledger",
            RestitutionStep::Needs => "needs",
            RestitutionStep::Matrix => "matrix",
            RestitutionStep::Conclusions => "conclusions",
        }
    }

    /// The session document's step, `None` when the projector shows the
    /// board (unset, null or not a step).
    pub fn load<D: ReadDoc>(doc: &D) -> Option<RestitutionStep> {
        RestitutionStep::parse(&read::get_str(doc, &ROOT, "restitution")?)
    }
}

/// Shows one view of the results on the projector, or the board again with
/// `None` (facilitator).
pub fn set_restitution<D: Doc>(doc: &mut D, step: Option<RestitutionStep>) -> Result<(), OpError> {
    match step {
        Some(s) => crate::ops::put_text(doc, &ROOT, "restitution", s.as_str())?,
        None => doc.put(ROOT, "restitution", ScalarValue::Null)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_restitution_step_is_set_read_and_cleared() {
        let mut doc = automerge::AutoCommit::new();
        assert_eq!(RestitutionStep::load(&doc), None);
        set_restitution(&mut doc, Some(RestitutionStep::Needs)).unwrap();
        assert_eq!(RestitutionStep::load(&doc), Some(RestitutionStep::Needs));
        set_restitution(&mut doc, None).unwrap();
        assert_eq!(RestitutionStep::load(&doc), None);
        doc.put(automerge::ROOT, "restitution", "balli").unwrap();
        assert_eq!(
            RestitutionStep::load(&doc),
            None,
            "an unknown step shows the board"
        );
    }

    use super::*;
    use automerge::AutoCommit;

    const MIN: i64 = 60_000;

    #[test]
    fn a_timer_counts_down_pauses_resumes_and_finishes() {
        let mut doc = AutoCommit::new();
        assert_eq!(timer_state(&doc, 0).status, TimerStatus::Idle);
        start_timer(&mut doc, 10 * MIN, 1_000).unwrap();
        let s = timer_state(&doc, 1_000 + MIN);
        assert_eq!((s.status, s.remaining_ms), (TimerStatus::Running, 9 * MIN));
        pause_timer(&mut doc, 1_000 + 2 * MIN).unwrap();
        // Paused: time passing changes nothing.
        let s = timer_state(&doc, 1_000 + 60 * MIN);
        assert_eq!((s.status, s.remaining_ms), (TimerStatus::Paused, 8 * MIN));
        resume_timer(&mut doc, 100 * MIN).unwrap();
        assert_eq!(timer_state(&doc, 101 * MIN).remaining_ms, 7 * MIN);
        add_time(&mut doc, 5 * MIN, 101 * MIN).unwrap();
        let s = timer_state(&doc, 101 * MIN);
        assert_eq!((s.remaining_ms, s.duration_ms), (12 * MIN, 15 * MIN));
        let s = timer_state(&doc, 200 * MIN);
        assert_eq!((s.status, s.remaining_ms), (TimerStatus::Finished, 0));
        // More time for a finished timer runs it again.
        add_time(&mut doc, MIN, 200 * MIN).unwrap();
        let s = timer_state(&doc, 200 * MIN + 1_000);
        assert_eq!(
            (s.status, s.remaining_ms),
            (TimerStatus::Running, MIN - 1_000)
        );
        clear_timer(&mut doc).unwrap();
        assert_eq!(timer_state(&doc, 0).status, TimerStatus::Idle);
    }

    #[test]
    fn timers_out_of_range_and_missing_timers_are_errors() {
        let mut doc = AutoCommit::new();
        assert!(matches!(
            start_timer(&mut doc, 0, 0),
            Err(OpError::TimerOutOfRange)
        ));
        assert!(matches!(
            start_timer(&mut doc, MAX_TIMER_MS + 1, 0),
            Err(OpError::TimerOutOfRange)
        ));
        assert!(matches!(pause_timer(&mut doc, 0), Err(OpError::NoTimer)));
        assert!(matches!(add_time(&mut doc, MIN, 0), Err(OpError::NoTimer)));
    }

    #[test]
    fn a_clock_behind_the_start_does_not_add_time() {
        let mut doc = AutoCommit::new();
        start_timer(&mut doc, MIN, 10_000).unwrap();
        assert_eq!(timer_state(&doc, 9_000).remaining_ms, MIN);
    }

    #[test]
    fn a_malformed_timer_or_spotlight_reads_as_none() {
        let mut doc = AutoCommit::new();
        let t = doc.put_object(ROOT, "timer", ObjType::Map).unwrap();
        doc.put(&t, "duration_ms", "ten minutes").unwrap();
        assert_eq!(Timer::load(&doc), None);
        let s = doc.put_object(ROOT, "spotlight", ObjType::Map).unwrap();
        doc.put(&s, "doc", "automerge:x").unwrap();
        doc.put(&s, "target", "n_1").unwrap();
        doc.put(&s, "kind", "planet").unwrap();
        assert_eq!(Spotlight::load(&doc), None);
    }

    #[test]
    fn a_spotlight_round_trips_and_clears() {
        let mut doc = AutoCommit::new();
        let s = Spotlight {
            doc: "automerge:abc".into(),
            target: "c_1".into(),
            kind: SpotlightKind::Cluster,
            at: 42,
        };
        set_spotlight(&mut doc, &s).unwrap();
        assert_eq!(Spotlight::load(&doc), Some(s));
        clear_spotlight(&mut doc).unwrap();
        assert_eq!(Spotlight::load(&doc), None);
    }
}
