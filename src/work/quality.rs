//! The quality ladder: pure rules, unit-tested. Standing is the rejection share over the
//! last decided records; double-reviewed items (appeals) give the reviewer agreement.

use crate::config::QualityLadder;

crate::text_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Level {
        Good = "good",
        Warning = "warning",
        Retraining = "retraining",
        Suspension = "suspension",
    }
}

impl Level {
    /// What the contributor reads about this rung.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Good => "Your recent work meets the quality bar.",
            Self::Warning => "More of your recent work was rejected than we expect: review the guidelines.",
            Self::Retraining => "Too much of your recent work was rejected: complete the retraining before new work.",
            Self::Suspension => "Your recent rejection rate is too high: new work is suspended pending review.",
        }
    }
}

/// Rejection share in whole percent (rounded down) of `rejected` among `decided`.
pub fn rejection_percent(rejected: i64, decided: i64) -> i32 {
    if decided <= 0 {
        0
    } else {
        (rejected * 100 / decided) as i32
    }
}

/// The rung for a rejection share, once enough records are decided.
pub fn level(ladder: &QualityLadder, rejected: i64, decided: i64) -> Level {
    if decided < ladder.min_decided {
        return Level::Good;
    }
    let share = rejection_percent(rejected, decided);
    if share >= ladder.suspension_percent {
        Level::Suspension
    } else if share >= ladder.retraining_percent {
        Level::Retraining
    } else if share >= ladder.warning_percent {
        Level::Warning
    } else {
        Level::Good
    }
}

/// Plain agreement on double-reviewed items: the share of appeals that upheld the first
/// decision; `None` without any decided appeal.
pub fn agreement_percent(upheld: i64, decided_appeals: i64) -> Option<i32> {
    (decided_appeals > 0).then(|| (upheld * 100 / decided_appeals) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> QualityLadder {
        QualityLadder {
            window: 50,
            min_decided: 20,
            warning_percent: 10,
            retraining_percent: 20,
            suspension_percent: 30,
        }
    }

    #[test]
    fn ladder_rungs() {
        let l = ladder();
        assert_eq!(level(&l, 19, 19), Level::Good, "too few decided records");
        assert_eq!(level(&l, 1, 20), Level::Good);
        assert_eq!(level(&l, 2, 20), Level::Warning);
        assert_eq!(level(&l, 4, 20), Level::Retraining);
        assert_eq!(level(&l, 6, 20), Level::Suspension);
        assert_eq!(level(&l, 50, 50), Level::Suspension);
        assert!(Level::Suspension > Level::Retraining && Level::Retraining > Level::Warning);
    }

    #[test]
    fn agreement() {
        assert_eq!(agreement_percent(0, 0), None);
        assert_eq!(agreement_percent(3, 4), Some(75));
        assert_eq!(rejection_percent(1, 3), 33);
    }
}
