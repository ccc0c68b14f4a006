//! The dashboard's figures: money owed per ledger account kind, and how many items each
//! of the six review queues held at the end of each of the last 30 days, drawn as small
//! SVG sparklines on the server (no script).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::{
    credentials, standing_moves, test_answer_reviews, work_appeals, work_authorizations, work_records,
};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::ledger::model::AccountKind;

#[derive(diesel::QueryableByName)]
struct KindSum {
    #[diesel(sql_type = Text)]
    kind: AccountKind,
    #[diesel(sql_type = BigInt)]
    balance: i64,
}

/// The sum of every contributor account of each kind (`held`, `available`,
/// `in_payout`, `pending`): what the platform owes, by stage.
pub fn owed_by_kind(conn: &mut DbConn) -> AppResult<Vec<(AccountKind, i64)>> {
    // SUM(BIGINT) is NUMERIC on PostgreSQL: cast back on both backends.
    let rows: Vec<KindSum> = diesel::sql_query(
        "SELECT a.kind AS kind, CAST(SUM(e.amount_cents) AS BIGINT) AS balance \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE a.owner_id IS NOT NULL GROUP BY a.kind ORDER BY a.kind",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.kind, r.balance)).collect())
}

/// Items waiting at the end of day `d` (for the last `days` days, oldest first): those
/// that entered the queue before the day ended and were not decided by then.
fn waiting_per_day(spans: &[(NaiveDateTime, Option<NaiveDateTime>)], now: NaiveDateTime, days: i64) -> Vec<i64> {
    (0..days)
        .rev()
        .map(|back| {
            let end = if back == 0 {
                now
            } else {
                (now.date() - chrono::Duration::days(back - 1)).and_hms_opt(0, 0, 0).unwrap_or(now)
            };
            spans.iter().filter(|(entered, decided)| *entered <= end && decided.is_none_or(|d| d > end)).count() as i64
        })
        .collect()
}

/// Per review queue: the waiting count at the end of each of the last `days` days, from
/// when each item entered the queue and when it was decided.
pub fn waiting_trends(conn: &mut DbConn, now: NaiveDateTime, days: i64) -> AppResult<Vec<(&'static str, Vec<i64>)>> {
    let since = now - chrono::Duration::days(days);
    // Only items that were still waiting at some point of the window.
    macro_rules! spans {
        ($table:ident, $entered:expr) => {
            $table::table
                .filter($table::decided_at.is_null().or($table::decided_at.ge(since)))
                .filter($entered.le(now))
                .select(($entered, $table::decided_at))
                .load::<(NaiveDateTime, Option<NaiveDateTime>)>(conn)?
        };
    }
    let authorizations: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = work_authorizations::table
        .filter(work_authorizations::submitted_at.is_not_null())
        .filter(work_authorizations::decided_at.is_null().or(work_authorizations::decided_at.ge(since)))
        .select((work_authorizations::submitted_at, work_authorizations::decided_at))
        .load(conn)?;
    let authorizations: Vec<(NaiveDateTime, Option<NaiveDateTime>)> =
        authorizations.into_iter().filter_map(|(s, d)| s.map(|s| (s, d))).collect();
    let answers: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = test_answer_reviews::table
        .filter(test_answer_reviews::graded_at.is_null().or(test_answer_reviews::graded_at.ge(since)))
        .filter(test_answer_reviews::created_at.le(now))
        .select((test_answer_reviews::created_at, test_answer_reviews::graded_at))
        .load(conn)?;
    Ok(vec![
        ("work-authorizations", waiting_per_day(&authorizations, now, days)),
        ("credentials", waiting_per_day(&spans!(credentials, credentials::submitted_at), now, days)),
        ("test-answers", waiting_per_day(&answers, now, days)),
        ("work-records", waiting_per_day(&spans!(work_records, work_records::ingested_at), now, days)),
        ("appeals", waiting_per_day(&spans!(work_appeals, work_appeals::created_at), now, days)),
        ("standing-moves", waiting_per_day(&move_spans(conn, since)?, now, days)),
    ])
}

/// When standing moves waited for a reviewer: a proposed move from its proposal until
/// it was reviewed (or took effect without review: no wait), and an appealed move from
/// the appeal until its decision. Only moves that waited at some point since `since`.
fn move_spans(conn: &mut DbConn, since: NaiveDateTime) -> AppResult<Vec<(NaiveDateTime, Option<NaiveDateTime>)>> {
    use crate::quality::model::MoveStatus;
    type Times =
        (NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let rows: Vec<Times> = standing_moves::table
        .filter(
            standing_moves::status
                .eq_any([MoveStatus::Proposed.as_str(), MoveStatus::Appealed.as_str()])
                .or(standing_moves::reviewed_at.ge(since))
                .or(standing_moves::effective_at.ge(since))
                .or(standing_moves::decided_at.ge(since)),
        )
        .select((
            standing_moves::proposed_at,
            standing_moves::reviewed_at,
            standing_moves::effective_at,
            standing_moves::appealed_at,
            standing_moves::decided_at,
        ))
        .load(conn)?;
    let mut spans = Vec::new();
    for (proposed, reviewed, effective, appealed, decided) in rows {
        spans.push((proposed, reviewed.or(effective)));
        if let Some(appealed) = appealed {
            spans.push((appealed, decided));
        }
    }
    Ok(spans)
}

/// A sparkline: an SVG polyline of the points, scaled to the largest, with a text
/// alternative naming the first, last and largest values.
pub struct Spark {
    pub id: String,
    pub points: String,
    pub label: String,
    pub width: i64,
    pub height: i64,
}

impl Spark {
    pub fn of(name: &str, values: &[i64]) -> Self {
        let (width, height) = (120i64, 28i64);
        let max = values.iter().copied().max().unwrap_or(0).max(1);
        let step = if values.len() > 1 { width as f64 / (values.len() - 1) as f64 } else { 0.0 };
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = i as f64 * step;
                let y = (height - 2) as f64 - (*v as f64 / max as f64) * (height - 4) as f64;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ");
        let (first, last) = (values.first().copied().unwrap_or(0), values.last().copied().unwrap_or(0));
        Self {
            id: format!("trend-{name}"),
            points,
            label: format!(
                "Waiting at the end of each of the last {} days: {first} then, {last} now, at most {}",
                values.len(),
                values.iter().copied().max().unwrap_or(0)
            ),
            width,
            height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn waiting_counts_items_entered_and_not_yet_decided() {
        let now = at(30, 12);
        let spans = [(at(27, 10), Some(at(29, 10))), (at(29, 9), None), (at(30, 11), None)];
        // End of 27th: 1; end of 28th: 1; end of 29th: 1 (one decided, one entered); now: 2.
        assert_eq!(waiting_per_day(&spans, now, 4), vec![1, 1, 1, 2]);
    }

    #[test]
    fn sparklines_scale_to_the_largest_value() {
        let s = Spark::of("x", &[0, 2, 1]);
        assert_eq!(s.points, "0.0,26.0 60.0,2.0 120.0,14.0");
        assert!(s.label.contains("0 then, 1 now, at most 2"));
    }
}
