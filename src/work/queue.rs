//! The work-record and appeal review queues ([`ReviewQueue`]): what the console lists,
//! shows and decides, and the rules of a claim.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AppealRow, WorkRecordRow, WorkStatus};
use super::service::{self, AppealVerdict, ReviewDecision, Verdict};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::when;
use crate::db::schema::{users, work_appeals, work_records};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::ledger::money::dollars;
use crate::review::{self, fact, Decision, Form, Item, ListFilter, ReviewQueue, Taken, Waiting};
use crate::AppState;

/// Pending work records (`/review/work-records`).
pub struct WorkRecords;

/// Appeals of rejected work (`/review/appeals`).
pub struct Appeals;

/// Pending work records with their contributor, selecting `$select`, boxed.
macro_rules! pending_records {
    ($select:expr) => {
        work_records::table
            .inner_join(users::table.on(users::id.eq(work_records::contributor_id)))
            .filter(work_records::status.eq(WorkStatus::Pending.as_str()))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on work records: the task reference is searched too.
macro_rules! filter_records {
    ($q:ident, $filter:expr, $now:expr) => {
        review::filter_queue!(
            $q,
            $filter,
            $now,
            work_records,
            work_records::contributor_id,
            work_records::ingested_at,
            [work_records::task_ref]
        )
    };
}

/// Pending appeals with the record appealed and the contributor, selecting `$select`.
macro_rules! pending_appeals {
    ($select:expr) => {
        work_appeals::table
            .inner_join(work_records::table)
            .inner_join(users::table.on(users::id.eq(work_appeals::contributor_id)))
            .filter(work_appeals::status.eq(super::model::AppealStatus::Pending))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on appeals: the task reference of the record is searched too.
macro_rules! filter_appeals {
    ($q:ident, $filter:expr, $now:expr) => {
        review::filter_queue!(
            $q,
            $filter,
            $now,
            work_appeals,
            work_appeals::contributor_id,
            work_appeals::created_at,
            [work_records::task_ref]
        )
    };
}

fn work_facts(r: &WorkRecordRow) -> Vec<(String, String)> {
    vec![
        fact("Task", r.task_ref.clone()),
        fact("Quantity", format!("{} {} at {}", r.quantity, r.unit_kind, r.rate)),
        fact("Pay", dollars(r.pay_cents)),
        fact("Completed", when(&r.completed_at)),
        fact("Status", r.status.as_str()),
        fact("Reason", r.reason_code.clone().unwrap_or_else(|| "—".into())),
        fact("Note", r.note.clone().unwrap_or_else(|| "—".into())),
    ]
}

impl ReviewQueue for WorkRecords {
    fn slug(&self) -> &'static str {
        "work-records"
    }

    fn title(&self) -> &'static str {
        "Work records"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::WorkRecord
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::WorkRecordClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        review::waiting!(conn, work_records, WorkStatus::Pending.as_str(), ingested_at)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        let now = st.clock.now();
        let rows: Vec<WorkRecordRow> = st.db.read_sync(|conn| {
            let mut q = pending_records!(WorkRecordRow::as_select());
            filter_records!(q, filter, now);
            let source = work_records::table.inner_join(users::table.on(users::id.eq(work_records::contributor_id)));
            review::order_queue!(
                q,
                conn,
                filter,
                source,
                work_records::id,
                work_records::ingested_at,
                work_records::pay_cents
            );
            Ok(q.load(conn)?)
        })?;
        Ok(rows
            .into_iter()
            .map(|r| Waiting {
                id: r.id,
                person_id: r.contributor_id,
                summary: format!("task {} · {} {} · {}", r.task_ref, r.quantity, r.unit_kind, dollars(r.pay_cents)),
                since: r.ingested_at,
                claimed_by: r.claimed_by,
                claim_expires_at: r.claim_expires_at,
                flagged: false,
                cents: r.pay_cents,
            })
            .collect())
    }

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending_records!(diesel::dsl::count_star());
            filter_records!(q, filter, now);
            Ok(q.first(conn)?)
        })
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let r = service::record_row(conn, id)?;
        Ok(Item {
            person_id: r.contributor_id,
            heading: format!("Work record #{id} · task {}", r.task_ref),
            facts: work_facts(&r),
            file_ids: vec![],
            pending: r.status() == WorkStatus::Pending,
            claimed_by: r.claimed_by,
            claim_expires_at: r.claim_expires_at,
            form: Form::Verdicts(vec![(Verdict::Approve.as_str(), "Approve"), (Verdict::Reject.as_str(), "Reject")]),
        })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<Taken> {
        let record = service::record_row(conn, id)?;
        if record.contributor_id == reviewer {
            return Err(AppError::Forbidden("nobody reviews their own work".into()));
        }
        if record.status() != WorkStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this work record is already decided"));
        }
        let rows = review::claim_row!(conn, work_records, id, WorkStatus::Pending, reviewer, now, until)?;
        Ok(Taken { claimed_by: record.claimed_by, rows })
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (verdict, reason_code) = d.parts();
        let d = ReviewDecision {
            verdict: review::choice::<Verdict>("decision", verdict)?,
            reason_code: reason_code.to_string(),
            note: d.note.clone(),
            snapshot_ref: None,
        };
        service::decide(st, ctx, reviewer, id, d).map(drop)
    }
}

impl ReviewQueue for Appeals {
    fn slug(&self) -> &'static str {
        "appeals"
    }

    fn title(&self) -> &'static str {
        "Appeals"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::WorkAppeal
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::WorkAppealClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        review::waiting!(conn, work_appeals, "pending", created_at)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        let now = st.clock.now();
        let rows: Vec<(AppealRow, WorkRecordRow)> = st.db.read_sync(|conn| {
            let mut q = pending_appeals!((AppealRow::as_select(), WorkRecordRow::as_select()));
            filter_appeals!(q, filter, now);
            let source = work_appeals::table
                .inner_join(work_records::table)
                .inner_join(users::table.on(users::id.eq(work_appeals::contributor_id)));
            review::order_queue!(
                q,
                conn,
                filter,
                source,
                work_appeals::id,
                work_appeals::created_at,
                work_records::pay_cents
            );
            Ok(q.load(conn)?)
        })?;
        Ok(rows
            .into_iter()
            .map(|(a, r)| Waiting {
                id: a.id,
                person_id: a.contributor_id,
                summary: format!(
                    "task {} · {} · rejected: {}",
                    r.task_ref,
                    dollars(r.pay_cents),
                    r.reason_code.unwrap_or_default()
                ),
                since: a.created_at,
                claimed_by: a.claimed_by,
                claim_expires_at: a.claim_expires_at,
                flagged: false,
                cents: r.pay_cents,
            })
            .collect())
    }

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending_appeals!(diesel::dsl::count_star());
            filter_appeals!(q, filter, now);
            Ok(q.first(conn)?)
        })
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let a = service::appeal_row(conn, id)?;
        let r = service::record_row(conn, a.work_record_id)?;
        let mut facts = vec![fact("Appeal", a.message.clone()), fact("Appealed", when(&a.created_at))];
        facts.extend(work_facts(&r));
        Ok(Item {
            person_id: a.contributor_id,
            heading: format!("Appeal #{id} · task {}", r.task_ref),
            facts,
            file_ids: vec![],
            pending: a.status == super::model::AppealStatus::Pending,
            claimed_by: a.claimed_by,
            claim_expires_at: a.claim_expires_at,
            form: Form::Verdicts(vec![
                (AppealVerdict::Uphold.as_str(), "Uphold the rejection"),
                (AppealVerdict::Overturn.as_str(), "Overturn: approve and pay"),
            ]),
        })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<Taken> {
        let appeal = service::appeal_row(conn, id)?;
        service::may_decide_appeal(&appeal, reviewer)?;
        if appeal.status != super::model::AppealStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this appeal is already decided"));
        }
        let rows =
            review::claim_row!(conn, work_appeals, id, super::model::AppealStatus::Pending, reviewer, now, until)?;
        Ok(Taken { claimed_by: appeal.claimed_by, rows })
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (verdict, reason_code) = d.parts();
        let verdict: AppealVerdict = review::choice("decision", verdict)?;
        service::decide_appeal(st, ctx, reviewer, id, verdict, reason_code, &d.note).map(drop)
    }
}
