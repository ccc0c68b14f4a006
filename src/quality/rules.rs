//! Standing per contributor and domain: pure rules, unit-tested (docs/quality.md).
//!
//! Figures are whole percents rounded down, each with its count; a figure below the
//! confidence floor (`min_items`) decides nothing. Promotion needs every figure known and
//! at its bar, plus an active qualification in the domain; demotion (back to entry-level
//! work in the domain) needs any known figure below its floor.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::StandingConfig;

crate::text_enum! {
    /// Which project types of a domain a contributor may work on. Project types declare the
    /// tier they need; a contributor's tier in a domain is `standard` until a move changes it.
    #[derive(PartialOrd, Ord)]
    pub enum StandingTier {
        /// Entry-level project types only.
        Entry = "entry",
        /// Entry-level and standard project types (everyone starts here).
        Standard = "standard",
        /// Every project type of the domain, advanced ones included.
        Advanced = "advanced",
    }
}

impl StandingTier {
    pub fn up(self) -> Option<Self> {
        match self {
            Self::Entry => Some(Self::Standard),
            Self::Standard => Some(Self::Advanced),
            Self::Advanced => None,
        }
    }
}

crate::text_enum! {
    pub enum Direction {
        Promotion = "promotion",
        Demotion = "demotion",
    }
}

crate::text_enum! {
    /// Why a move was made: the reason code the contributor reads.
    pub enum MoveReason {
        /// Every figure at its bar over the window.
        SustainedHighQuality = "sustained_high_quality",
        LowGoldAccuracy = "low_gold_accuracy",
        LowConsensusAgreement = "low_consensus_agreement",
        HighRejectionShare = "high_rejection_share",
    }
}

/// The counts behind a standing, over the window since the last move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Figures {
    /// Items carrying an agreement-with-consensus signal, and the sum of their percents.
    pub agreement_count: i64,
    pub agreement_points: i64,
    /// Gold items, and the sum of their scores in percent.
    pub gold_count: i64,
    pub gold_points: i64,
    /// Records decided (approved or rejected), and those rejected.
    pub decided_count: i64,
    pub rejected_count: i64,
}

fn mean(points: i64, count: i64) -> Option<i32> {
    (count > 0).then(|| (points / count) as i32)
}

impl Figures {
    pub fn agreement_percent(&self) -> Option<i32> {
        mean(self.agreement_points, self.agreement_count)
    }
    pub fn gold_percent(&self) -> Option<i32> {
        mean(self.gold_points, self.gold_count)
    }
    pub fn rejection_percent(&self) -> Option<i32> {
        mean(self.rejected_count * 100, self.decided_count)
    }
}

/// A move the rules call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub direction: Direction,
    pub from: StandingTier,
    pub to: StandingTier,
    pub reason: MoveReason,
    /// The numbers behind the move, in words.
    pub note: String,
}

/// The figure below its floor that calls for a demotion, if any (gold first: it is the
/// most direct measure of correctness).
fn low_figure(cfg: &StandingConfig, f: &Figures) -> Option<(MoveReason, String)> {
    let known = |count: i64| count >= cfg.min_items;
    if let (true, Some(p)) = (known(f.gold_count), f.gold_percent()) {
        if p < cfg.demote_gold_percent {
            return Some((
                MoveReason::LowGoldAccuracy,
                format!(
                    "gold accuracy {p} % on {} gold items, below the {} % floor",
                    f.gold_count, cfg.demote_gold_percent
                ),
            ));
        }
    }
    if let (true, Some(p)) = (known(f.agreement_count), f.agreement_percent()) {
        if p < cfg.demote_agreement_percent {
            return Some((
                MoveReason::LowConsensusAgreement,
                format!(
                    "agreement with other annotators {p} % on {} items, below the {} % floor",
                    f.agreement_count, cfg.demote_agreement_percent
                ),
            ));
        }
    }
    if let (true, Some(p)) = (known(f.decided_count), f.rejection_percent()) {
        if p >= cfg.demote_rejection_percent {
            return Some((
                MoveReason::HighRejectionShare,
                format!(
                    "{p} % of {} reviewed records rejected, at or above the {} % limit",
                    f.decided_count, cfg.demote_rejection_percent
                ),
            ));
        }
    }
    None
}

/// True when every figure is known and at its promotion bar.
fn all_at_bar(cfg: &StandingConfig, f: &Figures) -> bool {
    let known = |count: i64| count >= cfg.min_items;
    known(f.gold_count)
        && known(f.agreement_count)
        && known(f.decided_count)
        && f.gold_percent().is_some_and(|p| p >= cfg.promote_gold_percent)
        && f.agreement_percent().is_some_and(|p| p >= cfg.promote_agreement_percent)
        && f.rejection_percent().is_some_and(|p| p <= cfg.promote_max_rejection_percent)
}

fn summary(f: &Figures) -> String {
    let p = |v: Option<i32>| v.map_or("n/a".to_string(), |v| format!("{v} %"));
    format!(
        "gold accuracy {} on {} items, agreement with other annotators {} on {} items, {} of {} reviewed records rejected",
        p(f.gold_percent()),
        f.gold_count,
        p(f.agreement_percent()),
        f.agreement_count,
        f.rejected_count,
        f.decided_count
    )
}

/// The move the figures call for, if any. `qualified`: the contributor holds an active
/// qualification in the domain (promotion stays within verified qualifications).
pub fn decide(cfg: &StandingConfig, tier: StandingTier, f: &Figures, qualified: bool) -> Option<Move> {
    if tier > StandingTier::Entry {
        if let Some((reason, why)) = low_figure(cfg, f) {
            return Some(Move {
                direction: Direction::Demotion,
                from: tier,
                to: StandingTier::Entry,
                reason,
                note: format!("Moved back to entry-level work: {why} ({}).", summary(f)),
            });
        }
    }
    let to = tier.up()?;
    if qualified && all_at_bar(cfg, f) && low_figure(cfg, f).is_none() {
        return Some(Move {
            direction: Direction::Promotion,
            from: tier,
            to,
            reason: MoveReason::SustainedHighQuality,
            note: format!(
                "Promoted to {} work: {} (bars: gold {} %, agreement {} %, rejected at most {} %, on at least {} items each).",
                to.as_str(),
                summary(f),
                cfg.promote_gold_percent,
                cfg.promote_agreement_percent,
                cfg.promote_max_rejection_percent,
                cfg.min_items
            ),
        });
    }
    None
}

/// How many more items scoring 100 % lift a mean of `points / count` to at least `bar`
/// percent on at least `floor` items.
pub fn items_to_reach(points: i64, count: i64, bar: i32, floor: i64) -> Option<i64> {
    let bar = bar as i64;
    let to_floor = (floor - count).max(0);
    if bar >= 100 && points < 100 * count {
        return None; // a perfect mean is out of reach once one item fell short
    }
    // points + 100 n >= bar (count + n)  ⇔  n >= (bar·count − points) / (100 − bar)
    let deficit = bar * count - points;
    let to_bar = if deficit <= 0 { 0 } else { (deficit + (100 - bar) - 1) / (100 - bar) };
    Some(to_floor.max(to_bar))
}

/// What would change the standing, in the contributor's words: the next promotion's
/// missing items, or what keeps a move back at bay.
pub fn next_steps(cfg: &StandingConfig, tier: StandingTier, f: &Figures, qualified: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(to) = tier.up() {
        let target = to.as_str();
        if !qualified {
            out.push(format!("Hold an active qualification in this domain to be promoted to {target} work."));
        }
        match items_to_reach(f.gold_points, f.gold_count, cfg.promote_gold_percent, cfg.min_items) {
            Some(0) => {}
            Some(n) => out.push(format!(
                "{n} more gold items answered correctly to reach {} % gold accuracy on at least {} items, the bar for {target} work.",
                cfg.promote_gold_percent, cfg.min_items
            )),
            None => out.push(format!("Gold accuracy cannot reach {} % in this window.", cfg.promote_gold_percent)),
        }
        match items_to_reach(f.agreement_points, f.agreement_count, cfg.promote_agreement_percent, cfg.min_items) {
            Some(0) => {}
            Some(n) => out.push(format!(
                "{n} more items in agreement with the other annotators to reach {} % agreement on at least {} items, the bar for {target} work.",
                cfg.promote_agreement_percent, cfg.min_items
            )),
            None => {
                out.push(format!("Agreement cannot reach {} % in this window.", cfg.promote_agreement_percent))
            }
        }
        let max = cfg.promote_max_rejection_percent as i64;
        let needed_decided = if f.rejected_count == 0 {
            Some(cfg.min_items)
        } else if max == 0 {
            None
        } else {
            Some((f.rejected_count * 100 + max - 1) / max)
        };
        match needed_decided.map(|d| d.max(cfg.min_items) - f.decided_count) {
            Some(n) if n > 0 => out.push(format!(
                "{n} more approved records to bring the rejected share to {} % or less on at least {} reviewed records, the bar for {target} work.",
                cfg.promote_max_rejection_percent, cfg.min_items
            )),
            Some(_) => {}
            None => out.push("No rejected record may remain in the window for a promotion.".to_string()),
        }
    }
    if tier > StandingTier::Entry {
        out.push(format!(
            "Keep gold accuracy at {} % or more, agreement at {} % or more and rejected work below {} % to stay at {} work.",
            cfg.demote_gold_percent,
            cfg.demote_agreement_percent,
            cfg.demote_rejection_percent,
            tier.as_str()
        ));
    }
    out
}

/// One change of tier in a domain: a move taking effect, or an overturned move's effect
/// ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierEvent {
    pub at: NaiveDateTime,
    pub tier: StandingTier,
}

/// The tier in force at `t`: the last event at or before it, `standard` before any.
/// Pay already earned never moves: work is judged by the tier when it was done.
pub fn tier_at(events: &[TierEvent], t: NaiveDateTime) -> StandingTier {
    events.iter().filter(|e| e.at <= t).max_by_key(|e| e.at).map_or(StandingTier::Standard, |e| e.tier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StandingConfig {
        StandingConfig::default()
    }

    fn figures(gold: (i64, i64), agreement: (i64, i64), decided: (i64, i64)) -> Figures {
        Figures {
            gold_count: gold.0,
            gold_points: gold.1,
            agreement_count: agreement.0,
            agreement_points: agreement.1,
            decided_count: decided.0,
            rejected_count: decided.1,
        }
    }

    #[test]
    fn promotion_needs_every_figure_known_and_at_its_bar() {
        let good = figures((20, 20 * 95), (20, 20 * 90), (20, 0));
        let m = decide(&cfg(), StandingTier::Standard, &good, true).unwrap();
        assert_eq!(
            (m.direction, m.to, m.reason),
            (Direction::Promotion, StandingTier::Advanced, MoveReason::SustainedHighQuality)
        );
        assert!(m.note.contains("gold accuracy 95 % on 20 items"), "{}", m.note);
        assert_eq!(decide(&cfg(), StandingTier::Entry, &good, true).unwrap().to, StandingTier::Standard);
        assert_eq!(decide(&cfg(), StandingTier::Advanced, &good, true), None, "no tier above advanced");
        assert_eq!(decide(&cfg(), StandingTier::Standard, &good, false), None, "outside verified qualifications");
        // Too few items of any one figure: no move.
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((19, 19 * 100), (20, 2000), (20, 0)), true), None);
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 2000), (19, 1900), (20, 0)), true), None);
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 2000), (20, 2000), (19, 0)), true), None);
        // Exactly at the bars promotes; one point under does not.
        assert!(decide(&cfg(), StandingTier::Standard, &figures((20, 1800), (20, 1700), (20, 1)), true).is_some());
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 1799), (20, 1700), (20, 1)), true), None);
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 1800), (20, 1699), (20, 1)), true), None);
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 1800), (20, 1700), (19, 1)), true), None);
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((20, 1800), (20, 1700), (40, 3)), true), None);
    }

    #[test]
    fn demotion_needs_one_known_figure_below_its_floor() {
        let low_gold = figures((20, 20 * 60), (0, 0), (0, 0));
        let m = decide(&cfg(), StandingTier::Advanced, &low_gold, true).unwrap();
        assert_eq!(
            (m.direction, m.from, m.to, m.reason),
            (Direction::Demotion, StandingTier::Advanced, StandingTier::Entry, MoveReason::LowGoldAccuracy)
        );
        assert!(m.note.contains("gold accuracy 60 % on 20 gold items, below the 70 % floor"), "{}", m.note);
        assert_eq!(decide(&cfg(), StandingTier::Entry, &low_gold, true), None, "nothing below entry");
        assert_eq!(
            decide(&cfg(), StandingTier::Standard, &figures((19, 0), (19, 0), (19, 19)), true),
            None,
            "too few items"
        );
        let low_agreement = figures((0, 0), (20, 20 * 59), (0, 0));
        assert_eq!(
            decide(&cfg(), StandingTier::Standard, &low_agreement, false).unwrap().reason,
            MoveReason::LowConsensusAgreement
        );
        assert_eq!(
            decide(&cfg(), StandingTier::Standard, &figures((0, 0), (20, 1200), (0, 0)), true),
            None,
            "at the floor"
        );
        let rejected = figures((0, 0), (0, 0), (20, 5));
        assert_eq!(
            decide(&cfg(), StandingTier::Standard, &rejected, true).unwrap().reason,
            MoveReason::HighRejectionShare
        );
        assert_eq!(decide(&cfg(), StandingTier::Standard, &figures((0, 0), (0, 0), (20, 4)), true), None);
        assert_eq!(
            decide(&cfg(), StandingTier::Standard, &figures((20, 1400), (0, 0), (0, 0)), true),
            None,
            "at the gold floor"
        );
    }

    #[test]
    fn items_to_reach_a_bar() {
        // 40 items at 75 %: 90 % needs n with 3000 + 100n >= 90 (40 + n): n >= 60.
        assert_eq!(items_to_reach(3000, 40, 90, 20), Some(60));
        assert_eq!(items_to_reach(0, 0, 90, 20), Some(20), "the floor first");
        assert_eq!(items_to_reach(1900, 19, 90, 20), Some(1));
        assert_eq!(items_to_reach(1800, 20, 90, 20), Some(0));
        assert_eq!(items_to_reach(1799, 20, 90, 20), Some(1));
        assert_eq!(items_to_reach(99, 1, 100, 1), None);
        assert_eq!(items_to_reach(100, 1, 100, 3), Some(2));
        // 8 of 10 correct, bar 80: met once the floor is.
        assert_eq!(items_to_reach(800, 10, 80, 20), Some(10));
    }

    #[test]
    fn next_steps_name_the_missing_items() {
        let f = figures((8, 800), (20, 1800), (20, 0));
        let steps = next_steps(&cfg(), StandingTier::Standard, &f, true);
        assert!(steps[0].starts_with("12 more gold items answered correctly to reach 90 %"), "{steps:?}");
        assert!(steps.iter().any(|s| s.contains("to stay at standard work")), "{steps:?}");
        assert_eq!(steps.len(), 2, "{steps:?}");
        let steps = next_steps(&cfg(), StandingTier::Entry, &figures((0, 0), (0, 0), (10, 2)), false);
        assert!(steps[0].starts_with("Hold an active qualification"), "{steps:?}");
        assert!(steps.iter().any(|s| s.starts_with("30 more approved records")), "{steps:?}");
        assert!(next_steps(&cfg(), StandingTier::Advanced, &f, true).iter().all(|s| !s.contains("more gold")));
    }

    #[test]
    fn the_tier_in_force_at_a_time() {
        let t = |h: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(h, 0, 0).unwrap();
        let events =
            [TierEvent { at: t(10), tier: StandingTier::Entry }, TierEvent { at: t(12), tier: StandingTier::Standard }];
        assert_eq!(tier_at(&events, t(9)), StandingTier::Standard);
        assert_eq!(tier_at(&events, t(10)), StandingTier::Entry);
        assert_eq!(tier_at(&events, t(11)), StandingTier::Entry);
        assert_eq!(tier_at(&events, t(13)), StandingTier::Standard);
        assert_eq!(tier_at(&[], t(13)), StandingTier::Standard);
    }

    #[test]
    fn tiers_order_and_parse() {
        for t in [StandingTier::Entry, StandingTier::Standard, StandingTier::Advanced] {
            assert_eq!(StandingTier::parse(t.as_str()), Some(t));
        }
        assert_eq!(StandingTier::parse("expert"), None);
        assert!(StandingTier::Entry < StandingTier::Standard && StandingTier::Standard < StandingTier::Advanced);
    }
}
