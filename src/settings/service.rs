//! Settings in the database: seeded from the environment at start, read at each use (one
//! small query, so a change made on one instance is in force on every instance at its
//! next use, without a restart), changed by admins with validation, audit and the
//! re-dating of what is pending.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::registry::{self, Kind, Pending, SettingDef, Settings};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::schema::{payout_methods, settings, work_records};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError};
use crate::AppState;

#[derive(Queryable)]
struct Row {
    key: String,
    value: String,
    updated_by: Option<i64>,
    updated_at: NaiveDateTime,
}

fn rows(conn: &mut DbConn) -> AppResult<Vec<Row>> {
    Ok(settings::table
        .select((settings::key, settings::value, settings::updated_by, settings::updated_at))
        .load(conn)?)
}

/// The settings in force: the database's values over `seed` (the environment's). A row
/// that no longer passes its definition (a range narrowed by a later release) is logged
/// and the seed used, so no rule ever sees an out-of-range value.
pub fn current_over(conn: &mut DbConn, seed: &Settings) -> AppResult<Settings> {
    let mut s = seed.clone();
    for r in rows(conn)? {
        let Some(def) = registry::find(&r.key) else { continue };
        match def.parse_text(&r.value) {
            Ok(v) => s.set(def, v),
            Err(e) => tracing::error!(key = %r.key, error = %e, "stored setting out of range; using the seed"),
        }
    }
    if !registry::cross_checks(&s).is_empty() {
        tracing::error!("stored settings break a rule across settings; using the seed");
        return Ok(seed.clone());
    }
    Ok(s)
}

/// The settings in force, read from the database in the caller's connection.
pub fn current(conn: &mut DbConn, st: &AppState) -> AppResult<Settings> {
    current_over(conn, &st.config.settings)
}

/// Writes the seed's value of every setting that has no row yet (the first start, or a
/// setting added by a new release). Several instances may start together: a row another
/// one wrote first is kept.
pub fn seed(conn: &mut DbConn, now: NaiveDateTime, seed: &Settings) -> AppResult<usize> {
    let at = now.format("%Y-%m-%d %H:%M:%S%.6f");
    let mut added = 0;
    for def in registry::ALL {
        // Keys are constants and values passed the registry's checks (digits, or a time
        // zone name); quotes are doubled all the same.
        let value = seed.get(def).to_db().replace('\'', "''");
        added += diesel::sql_query(format!(
            "INSERT INTO settings (key, value, updated_by, updated_at) VALUES ('{}', '{value}', NULL, '{at}') \
             ON CONFLICT (key) DO NOTHING",
            def.key
        ))
        .execute(conn)?;
    }
    Ok(added)
}

/// One setting as the API shows it.
/// A setting's value in the document: a whole number, or a string (the time zone).
fn setting_value_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .build(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingView {
    pub key: &'static str,
    /// A whole number, or a text (the time zone).
    #[schema(schema_with = setting_value_schema)]
    pub value: serde_json::Value,
    /// The value the environment gives (the seed of a new database).
    #[schema(schema_with = setting_value_schema)]
    pub seed: serde_json::Value,
    /// `days`, `hours`, `cents`, … or `time_zone`.
    pub unit: &'static str,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The environment variable that seeds it.
    pub env: &'static str,
    pub description: &'static str,
    /// What a change does to what is already pending.
    pub applies_to_pending: Pending,
    pub updated_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub updated_at: Option<NaiveDateTime>,
}

pub fn view(conn: &mut DbConn, st: &AppState) -> AppResult<Vec<SettingView>> {
    let s = current(conn, st)?;
    let meta: BTreeMap<String, (Option<i64>, NaiveDateTime)> =
        rows(conn)?.into_iter().map(|r| (r.key, (r.updated_by, r.updated_at))).collect();
    Ok(registry::ALL
        .iter()
        .map(|d| {
            let (unit, min, max) = match d.kind {
                Kind::Int { min, max, unit, .. } => (unit, Some(min), Some(max)),
                Kind::TimeZone { .. } => ("time_zone", None, None),
            };
            let m = meta.get(d.key);
            SettingView {
                key: d.key,
                value: s.get(d).to_json(),
                seed: st.config.settings.get(d).to_json(),
                unit,
                min,
                max,
                env: d.env,
                description: d.description,
                applies_to_pending: d.pending,
                updated_by: m.and_then(|m| m.0),
                updated_at: m.map(|m| m.1),
            }
        })
        .collect())
}

/// Validates `changes` (key → JSON value) against the registry — unknown keys, kinds,
/// ranges, then the rules across settings — and returns the new settings and the
/// definitions that changed. Field errors name the key.
pub fn validate(
    current: &Settings,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<(Settings, Vec<&'static SettingDef>), Vec<FieldError>> {
    let mut next = current.clone();
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    for (key, raw) in changes {
        let Some(def) = registry::find(key) else {
            errors.push(FieldError::new(key, "unknown_setting", "no such setting"));
            continue;
        };
        match def.parse_json(raw) {
            Ok(v) => {
                if current.get(def) != &v {
                    changed.push(def);
                }
                next.set(def, v);
            }
            Err(e) => errors.push(FieldError::new(key, "out_of_range", e)),
        }
    }
    if changes.is_empty() {
        errors.push(FieldError::new("settings", "required", "at least one setting to change"));
    }
    if errors.is_empty() {
        for (def, msg) in registry::cross_checks(&next) {
            errors.push(FieldError::new(def.key, "inconsistent", msg));
        }
    }
    if errors.is_empty() {
        Ok((next, changed))
    } else {
        Err(errors)
    }
}

/// What saving the settings did to pending items.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Redated {
    /// Work records awaiting review whose automatic approval moved closer.
    pub review_due: usize,
    /// Rejections whose appeal deadline moved later.
    pub appeal_deadlines: usize,
    /// Approved pay whose hold ends sooner.
    pub earnings_holds: usize,
    /// Changed payout methods whose change hold moved (either way).
    pub method_holds: usize,
}

/// Changes settings (admins): one transaction that validates, writes the rows, re-dates
/// what is pending as each setting's [`Pending`] says, and audits before and after.
pub fn update(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    changes: serde_json::Map<String, serde_json::Value>,
) -> AppResult<(Vec<SettingView>, Redated)> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let before = current(conn, st)?;
        let (next, changed) = validate(&before, &changes).map_err(AppError::Validation)?;
        let mut redated = Redated::default();
        for def in &changed {
            let value = next.get(def).to_db();
            let n = diesel::update(settings::table.find(def.key))
                .set((settings::value.eq(&value), settings::updated_by.eq(admin_id), settings::updated_at.eq(now)))
                .execute(conn)?;
            if n == 0 {
                diesel::insert_into(settings::table)
                    .values((
                        settings::key.eq(def.key),
                        settings::value.eq(&value),
                        settings::updated_by.eq(admin_id),
                        settings::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        for def in &changed {
            redate(conn, now, def, &before, &next, &mut redated)?;
        }
        if !changed.is_empty() {
            let summary = |s: &Settings| -> serde_json::Map<String, serde_json::Value> {
                changed.iter().map(|d| (d.key.to_string(), s.get(d).to_json())).collect()
            };
            audit::record(
                conn,
                now,
                ctx,
                AuditEvent {
                    actor_id: Some(admin_id),
                    action: AuditAction::SettingsUpdated,
                    subject_type: AuditSubject::Settings,
                    subject_id: None,
                    summary: json!({"before": summary(&before), "after": summary(&next), "redated": redated}),
                },
            )?;
        }
        Ok((view(conn, st)?, redated))
    })
}

/// Applies a changed setting to what is pending (docs/settings.md). Dates are recomputed
/// from the moment each item started (ingest, approval, rejection, method change).
fn redate(
    conn: &mut DbConn,
    now: NaiveDateTime,
    def: &SettingDef,
    before: &Settings,
    next: &Settings,
    out: &mut Redated,
) -> AppResult<()> {
    use crate::work::model::WorkStatus;
    let shorter = next.int(def) < before.int(def);
    if def.key == registry::REVIEW_WINDOW_DAYS.key && shorter {
        // Pending records: due = ingest + window; the job approves those now due.
        let rows: Vec<(i64, NaiveDateTime)> = work_records::table
            .filter(work_records::status.eq(WorkStatus::Pending.as_str()))
            .select((work_records::id, work_records::ingested_at))
            .load(conn)?;
        for (id, created) in rows {
            out.review_due += diesel::update(
                work_records::table.find(id).filter(work_records::review_due_at.gt(created + next.review_window())),
            )
            .set(work_records::review_due_at.eq(created + next.review_window()))
            .execute(conn)?;
        }
    } else if def.key == registry::APPEAL_WINDOW_DAYS.key && !shorter {
        // Open appeal deadlines (not passed yet) of rejections: rejection + window.
        let rows: Vec<(i64, Option<NaiveDateTime>)> = work_records::table
            .filter(work_records::status.eq(WorkStatus::Rejected.as_str()))
            .filter(work_records::appeal_deadline.gt(now))
            .select((work_records::id, work_records::decided_at))
            .load(conn)?;
        for (id, decided) in rows {
            let Some(decided) = decided else { continue };
            let deadline = decided + next.appeal_window();
            out.appeal_deadlines +=
                diesel::update(work_records::table.find(id).filter(work_records::appeal_deadline.lt(deadline)))
                    .set(work_records::appeal_deadline.eq(deadline))
                    .execute(conn)?;
        }
    } else if def.key == registry::HOLD_DAYS.key && shorter {
        // Holds not released yet: until = approval + hold.
        let rows: Vec<(i64, Option<NaiveDateTime>)> = work_records::table
            .filter(work_records::status.eq(WorkStatus::Approved.as_str()))
            .filter(work_records::released_at.is_null())
            .filter(work_records::hold_until.gt(now))
            .select((work_records::id, work_records::approved_at))
            .load(conn)?;
        for (id, approved) in rows {
            let Some(approved) = approved else { continue };
            let until = approved + next.hold_period();
            out.earnings_holds +=
                diesel::update(work_records::table.find(id).filter(work_records::hold_until.gt(until)))
                    .set(work_records::hold_until.eq(until))
                    .execute(conn)?;
        }
    } else if def.key == registry::PAYOUT_METHOD_HOLD_HOURS.key {
        // Change holds not ended: usable from = the change + hold. A first method has no
        // hold (usable from its creation) and is left alone.
        let rows: Vec<(i64, NaiveDateTime)> = payout_methods::table
            .filter(payout_methods::usable_from.gt(now))
            .filter(payout_methods::usable_from.gt(payout_methods::created_at))
            .select((payout_methods::id, payout_methods::created_at))
            .load(conn)?;
        for (id, created) in rows {
            out.method_holds += diesel::update(payout_methods::table.find(id))
                .set(payout_methods::usable_from.eq(created + next.method_change_hold()))
                .execute(conn)?;
        }
    }
    Ok(())
}
