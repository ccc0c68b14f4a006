use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ClaimedEmail, NewOutboxRow, OutboxRow, OutboxStatus};
use super::templates::{Email, EmailTemplate};
use crate::audit::{AuditAction, AuditSubject};
use crate::db::schema::outbox;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};

/// Queues `email` to `to`, in the caller's transaction. `event_key` names the event
/// (e.g. `verify_email:token:42`): queuing the same event twice sends one email.
pub fn enqueue<E: Email>(conn: &mut DbConn, now: NaiveDateTime, to: &str, event_key: &str, email: &E) -> AppResult<()> {
    enqueue_once(conn, now, to, event_key, email).map(|_| ())
}

/// [`enqueue`], answering whether this call queued the email (false: the event was
/// already queued), for jobs that report what they did.
pub fn enqueue_once<E: Email>(
    conn: &mut DbConn,
    now: NaiveDateTime,
    to: &str,
    event_key: &str,
    email: &E,
) -> AppResult<bool> {
    let queued = prepare(to.to_string(), event_key.to_string(), email)?;
    Ok(enqueue_many(conn, now, std::slice::from_ref(&queued))? == 1)
}

/// An email waiting to be queued by [`enqueue_many`]: its template and parameters. It
/// is rendered when the worker sends it.
pub struct Prepared {
    to: String,
    event_key: String,
    template: EmailTemplate,
    params: String,
}

/// Prepares `email` for [`enqueue_many`]: its fields, as JSON, are the parameters.
pub fn prepare<E: Email>(to: String, event_key: String, email: &E) -> AppResult<Prepared> {
    let params = serde_json::to_string(email)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("parameters of {}: {e}", E::TEMPLATE)))?;
    Ok(Prepared { to, event_key, template: E::TEMPLATE, params })
}

/// Queues prepared emails in the caller's transaction, once per event by the UNIQUE
/// event_key itself, 500 per multi-row insert (a batch's first export queues one email
/// per item); answers how many were newly queued. No lookup first: in the benchmark,
/// the first export of a 100,000-item batch kept PostgreSQL at full CPU for over seven
/// minutes on such a lookup per email, apparently a plan that scanned the rows queued
/// so far.
pub fn enqueue_many(conn: &mut DbConn, now: NaiveDateTime, emails: &[Prepared]) -> AppResult<usize> {
    let mut queued = 0;
    for chunk in emails.chunks(500) {
        let rows: Vec<NewOutboxRow> = chunk
            .iter()
            .map(|e| NewOutboxRow {
                event_key: &e.event_key,
                recipient: &e.to,
                template: e.template,
                params: &e.params,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            })
            .collect();
        // Runs on the concrete connection (not offered by MultiConnection). diesel offers
        // ON CONFLICT on a multi-row insert for PostgreSQL only; SQLite's INSERT OR IGNORE
        // is the same here, where the one constraint a row can break is the UNIQUE
        // event_key (the status is the constant `pending`, the template an enum, the
        // rest NOT NULL values always given).
        queued += match conn {
            DbConn::Postgresql(c) => diesel::insert_into(outbox::table)
                .values(&rows)
                .on_conflict(outbox::event_key)
                .do_nothing()
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(outbox::table).values(&rows).execute(c)?,
        };
    }
    Ok(queued)
}

/// Delay before the next attempt after `attempts` failures: base × 2^(attempts−1), capped.
pub fn retry_delay(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    base.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

/// Claims up to `limit` due emails with a lease, one conditional UPDATE each: of two
/// workers racing for a row, only one sees its UPDATE change a row. This works the same
/// on SQLite and PostgreSQL (an equivalent of `FOR UPDATE SKIP LOCKED`).
pub fn claim_due(conn: &mut DbConn, now: NaiveDateTime, lease: Duration, limit: i64) -> AppResult<Vec<ClaimedEmail>> {
    let lease_end = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let candidates: Vec<i64> = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending.as_str()))
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::locked_until.is_null().or(outbox::locked_until.lt(now)))
        .order(outbox::id.asc())
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for id in candidates {
        let changed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq(OutboxStatus::Pending.as_str()))
                .filter(outbox::locked_until.is_null().or(outbox::locked_until.lt(now))),
        )
        .set((outbox::locked_until.eq(lease_end), outbox::attempts.eq(outbox::attempts + 1)))
        .execute(conn)?;
        if changed == 1 {
            claimed.push(outbox::table.find(id).select(ClaimedEmail::as_select()).first(conn)?);
        }
    }
    Ok(claimed)
}

/// Extends the lease of a claimed email from `now`, if it is still this claim's: the
/// attempt count the claim set is the fencing token (a later claim increments it).
/// Answers false when another worker has claimed the email since, or it is no longer
/// pending.
pub fn renew_lease(conn: &mut DbConn, row: &ClaimedEmail, now: NaiveDateTime, lease: Duration) -> AppResult<bool> {
    let lease_end = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let changed = diesel::update(
        outbox::table
            .filter(outbox::id.eq(row.id))
            .filter(outbox::attempts.eq(row.attempts))
            .filter(outbox::status.eq(OutboxStatus::Pending)),
    )
    .set(outbox::locked_until.eq(lease_end))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn mark_sent(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Sent.as_str()),
            outbox::sent_at.eq(now),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: schedules the next one with backoff, or dead-letters the
/// email once `max_attempts` is reached.
pub fn mark_failed(
    conn: &mut DbConn,
    row: &ClaimedEmail,
    now: NaiveDateTime,
    error: &str,
    mail: &crate::config::MailConfig,
) -> AppResult<OutboxStatus> {
    let status = if row.attempts >= mail.max_attempts { OutboxStatus::Dead } else { OutboxStatus::Pending };
    let delay = retry_delay(row.attempts, mail.retry_base, mail.retry_max);
    let next = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
    diesel::update(outbox::table.find(row.id))
        .set((
            outbox::status.eq(status),
            outbox::next_attempt_at.eq(next),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(truncate(error, 500)),
        ))
        .execute(conn)?;
    Ok(status)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
    pub recipient: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

pub fn list(conn: &mut DbConn, filter: &OutboxFilter) -> AppResult<Vec<OutboxRow>> {
    let mut query = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(outbox::status.eq(status));
    }
    if let Some(r) = &filter.recipient {
        query = query.filter(outbox::recipient.eq(r.to_lowercase()));
    }
    if let Some(before) = filter.cursor {
        query = query.filter(outbox::id.lt(before));
    }
    Ok(query.order(outbox::id.desc()).limit(crate::db::page_limit(filter.limit)).load(conn)?)
}

/// Puts a dead-lettered email back in the queue, due now, with a fresh attempt count.
pub fn retry(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> AppResult<OutboxRow> {
    let row: OutboxRow = outbox::table.find(id).select(OutboxRow::as_select()).first(conn)?;
    if row.status != OutboxStatus::Dead {
        return Err(AppError::conflict(ProblemCode::NotDeadLettered, "only dead-lettered emails can be retried"));
    }
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(outbox::table.find(id).select(OutboxRow::as_select()).first(conn)?)
}

/// An admin puts a dead-lettered email back in the queue; audited.
pub fn retry_dead(st: &crate::AppState, ctx: &crate::auth::RequestCtx, admin_id: i64, id: i64) -> AppResult<OutboxRow> {
    st.db.tx_sync(|c| {
        let now = st.clock.now();
        let row = retry(c, id, now)?;
        crate::audit::record(
            c,
            now,
            ctx,
            crate::audit::AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::OutboxRetry,
                subject_type: AuditSubject::Outbox,
                subject_id: Some(id.to_string()),
                summary: serde_json::json!({"before": "dead", "after": "pending"}),
            },
        )?;
        Ok(row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        assert_eq!(retry_delay(1, base, max), Duration::from_secs(30));
        assert_eq!(retry_delay(2, base, max), Duration::from_secs(60));
        assert_eq!(retry_delay(4, base, max), Duration::from_secs(240));
        assert_eq!(retry_delay(20, base, max), max);
        assert_eq!(retry_delay(i32::MAX, base, max), max);
    }
}
