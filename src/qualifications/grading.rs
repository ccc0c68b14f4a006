//! Pure scoring rules: no database, no clock. Points are integers in thousandths
//! ([`MILLI`]) so partial credit and totals never suffer rounding drift.

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::SliceRandom;
use rand::Rng;

use super::model::{Answer, Question, QuestionKind, Section, SectionFeedback, MILLI};

/// Slack for comparing floating-point numbers that were typed as decimals (0.1 + 0.2).
const FLOAT_SLACK: f64 = 1e-9;

/// Single choice: full points for the correct option id, nothing otherwise.
pub fn score_single(correct: &str, given: Option<&Answer>, points: i64) -> i64 {
    match given {
        Some(Answer::Text(id)) if id == correct => points * MILLI,
        _ => 0,
    }
}

/// Multiple choice with partial credit: each correct option selected earns
/// `points / |correct|`, each wrong option selected takes the same amount away, and the
/// result never goes below zero. Selecting every option therefore earns nothing unless
/// the wrong ones are outnumbered. Duplicates and unknown ids count once / as wrong.
pub fn score_multiple(correct: &[String], given: Option<&Answer>, points: i64) -> i64 {
    let chosen: BTreeSet<&str> = match given {
        Some(Answer::Many(ids)) => ids.iter().map(String::as_str).collect(),
        Some(Answer::Text(id)) => BTreeSet::from([id.as_str()]),
        _ => return 0,
    };
    let key: BTreeSet<&str> = correct.iter().map(String::as_str).collect();
    if key.is_empty() {
        return 0;
    }
    let right = chosen.intersection(&key).count() as i64;
    let wrong = chosen.difference(&key).count() as i64;
    let net = (right - wrong).max(0);
    // Floor to the thousandth: partial credit never rounds up.
    net * points * MILLI / key.len() as i64
}

/// Numeric: full points when `|given − answer| ≤ tolerance` (inclusive, with a tiny
/// slack for decimal input); non-finite input never matches.
pub fn score_numeric(answer: f64, tolerance: f64, given: Option<&Answer>, points: i64) -> i64 {
    match given {
        Some(Answer::Number(x)) if within(*x, answer, tolerance) => points * MILLI,
        _ => 0,
    }
}

fn within(x: f64, answer: f64, tolerance: f64) -> bool {
    x.is_finite() && (x - answer).abs() <= tolerance.abs() + FLOAT_SLACK * answer.abs().max(1.0)
}

/// The objective score of one question, or `None` for free text (a reviewer grades it).
pub fn score_objective(question: &Question, given: Option<&Answer>) -> Option<i64> {
    let p = question.points;
    match &question.kind {
        QuestionKind::SingleChoice { correct, .. } => Some(score_single(correct, given, p)),
        QuestionKind::MultipleChoice { correct, .. } => Some(score_multiple(correct, given, p)),
        QuestionKind::Numeric { answer, tolerance } => Some(score_numeric(*answer, *tolerance, given, p)),
        QuestionKind::FreeText { .. } => None,
    }
}

/// Whole percent, rounded down (a 69.9 % score does not show as 70 %).
pub fn percent(awarded: i64, possible: i64) -> i32 {
    if possible <= 0 {
        return 0;
    }
    (awarded.clamp(0, possible) * 100 / possible) as i32
}

/// Pass when awarded / possible ≥ pass_mark %, compared exactly in integers.
pub fn passes(awarded: i64, possible: i64, pass_mark_percent: i32) -> bool {
    possible > 0 && awarded * 100 >= i64::from(pass_mark_percent) * possible
}

/// The questions of one attempt: every question of a section, or `draw` of them chosen
/// at random, kept in authoring order.
pub fn draw_questions(sections: &[Section], rng: &mut impl Rng) -> Vec<String> {
    let mut ids = Vec::new();
    for section in sections {
        let pool: Vec<&Question> = section.questions.iter().collect();
        match section.draw {
            Some(n) if n < pool.len() => {
                let picked: BTreeSet<&str> = pool.choose_multiple(rng, n).map(|q| q.id.as_str()).collect();
                ids.extend(pool.iter().filter(|q| picked.contains(q.id.as_str())).map(|q| q.id.clone()));
            }
            _ => ids.extend(pool.iter().map(|q| q.id.clone())),
        }
    }
    ids
}

/// Per-section and total scores of the drawn questions, from the points awarded per
/// question id (objective and reviewed). Returns (awarded, possible, feedback).
pub fn tally(
    sections: &[Section],
    drawn: &[String],
    awarded: &BTreeMap<String, i64>,
) -> (i64, i64, Vec<SectionFeedback>) {
    let drawn: BTreeSet<&str> = drawn.iter().map(String::as_str).collect();
    let mut total = (0, 0);
    let mut feedback = Vec::new();
    for section in sections {
        let (mut got, mut max) = (0, 0);
        for q in section.questions.iter().filter(|q| drawn.contains(q.id.as_str())) {
            max += q.points * MILLI;
            got += awarded.get(&q.id).copied().unwrap_or(0);
        }
        if max == 0 {
            continue;
        }
        total.0 += got;
        total.1 += max;
        feedback.push(SectionFeedback {
            title: section.title.clone(),
            points_awarded: got as f64 / MILLI as f64,
            points_possible: max as f64 / MILLI as f64,
            score_percent: percent(got, max),
        });
    }
    (total.0, total.1, feedback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualifications::model::Choice;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn many(v: &[&str]) -> Answer {
        Answer::Many(ids(v))
    }

    #[test]
    fn numeric_tolerance_is_inclusive() {
        let n = |x: f64| Some(Answer::Number(x));
        assert_eq!(score_numeric(2.5, 0.25, n(2.75).as_ref(), 2), 2000);
        assert_eq!(score_numeric(2.5, 0.25, n(2.25).as_ref(), 2), 2000);
        assert_eq!(score_numeric(2.5, 0.25, n(2.7501).as_ref(), 2), 0);
        assert_eq!(score_numeric(2.5, 0.25, n(2.2).as_ref(), 2), 0);
    }

    #[test]
    fn numeric_exact_when_tolerance_is_zero_and_decimal_noise_is_forgiven() {
        assert_eq!(score_numeric(0.3, 0.0, Some(&Answer::Number(0.1 + 0.2)), 1), 1000);
        assert_eq!(score_numeric(42.0, 0.0, Some(&Answer::Number(42.0)), 1), 1000);
        assert_eq!(score_numeric(42.0, 0.0, Some(&Answer::Number(42.001)), 1), 0);
        assert_eq!(score_numeric(-5.0, 0.5, Some(&Answer::Number(-5.5)), 1), 1000);
    }

    #[test]
    fn numeric_rejects_missing_text_and_non_finite_answers() {
        assert_eq!(score_numeric(1.0, 0.5, None, 1), 0);
        assert_eq!(score_numeric(1.0, 0.5, Some(&Answer::Text("1".into())), 1), 0);
        assert_eq!(score_numeric(1.0, f64::INFINITY, Some(&Answer::Number(f64::NAN)), 1), 0);
        assert_eq!(score_numeric(1.0, 1e300, Some(&Answer::Number(f64::INFINITY)), 1), 0);
    }

    #[test]
    fn multiple_choice_full_partial_and_penalised() {
        let key = ids(&["a", "b", "c"]);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "b", "c"])), 3), 3000);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "b"])), 3), 2000);
        assert_eq!(score_multiple(&key, Some(&many(&["a"])), 3), 1000);
        // One wrong selection cancels one right one.
        assert_eq!(score_multiple(&key, Some(&many(&["a", "b", "d"])), 3), 1000);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "d"])), 3), 0);
    }

    #[test]
    fn multiple_choice_never_negative_and_select_all_does_not_pay() {
        let key = ids(&["a"]);
        assert_eq!(score_multiple(&key, Some(&many(&["b", "c"])), 1), 0);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "b", "c", "d"])), 1), 0);
        assert_eq!(score_multiple(&key, Some(&many(&[])), 1), 0);
        assert_eq!(score_multiple(&key, None, 1), 0);
    }

    #[test]
    fn multiple_choice_counts_duplicates_once_and_floors_thirds() {
        let key = ids(&["a", "b", "c"]);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "a", "a"])), 1), 333);
        assert_eq!(score_multiple(&key, Some(&many(&["a", "b"])), 1), 666);
        assert_eq!(score_multiple(&key, Some(&Answer::Text("b".into())), 1), 333);
    }

    #[test]
    fn single_choice_all_or_nothing() {
        assert_eq!(score_single("b", Some(&Answer::Text("b".into())), 2), 2000);
        assert_eq!(score_single("b", Some(&Answer::Text("a".into())), 2), 0);
        assert_eq!(score_single("b", Some(&many(&["b"])), 2), 0);
    }

    #[test]
    fn pass_mark_is_exact_and_percent_rounds_down() {
        assert!(passes(7000, 10000, 70));
        assert!(!passes(6999, 10000, 70));
        assert_eq!(percent(6999, 10000), 69);
        assert_eq!(percent(0, 0), 0);
        assert!(!passes(0, 0, 1));
    }

    #[test]
    fn draw_takes_n_per_section_in_order_and_tally_counts_only_drawn() {
        let q = |id: &str| Question {
            id: id.into(),
            prompt: "?".into(),
            points: 1,
            kind: QuestionKind::SingleChoice {
                options: vec![Choice { id: "x".into(), text: "x".into() }],
                correct: "x".into(),
            },
        };
        let sections = vec![
            Section { title: "A".into(), draw: Some(2), questions: vec![q("a1"), q("a2"), q("a3"), q("a4")] },
            Section { title: "B".into(), draw: None, questions: vec![q("b1")] },
        ];
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            let drawn = draw_questions(&sections, &mut rng);
            assert_eq!(drawn.len(), 3);
            assert_eq!(drawn[2], "b1");
            assert!(drawn[0] < drawn[1], "authoring order kept: {drawn:?}");
            let awarded: BTreeMap<String, i64> = drawn.iter().map(|id| (id.clone(), 1000)).collect();
            let (got, max, feedback) = tally(&sections, &drawn, &awarded);
            assert_eq!((got, max), (3000, 3000));
            assert_eq!(feedback.len(), 2);
            assert_eq!(feedback[0].points_possible, 2.0);
        }
    }
}
