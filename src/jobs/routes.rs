use actix_web::{post, web, HttpResponse};
use serde_json::json;

use super::{run_due, JobReport};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::{Admin, Staff};
use crate::error::{AppResult, Problem};
use crate::{blocking, AppState};

/// Run the due scheduled jobs now (admins); they also run on a timer.
#[utoipa::path(
    tag = "admin",
    responses((status = 200, body = JobReport), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[post("/admin/jobs/run-due")]
pub async fn run_jobs(state: web::Data<AppState>, admin: Staff<Admin>) -> AppResult<HttpResponse> {
    let st = state.clone();
    let report = blocking(move || {
        let report = run_due(&st)?;
        st.db.tx_sync(|c| {
            audit::record(
                c,
                st.clock.now(),
                &admin.ctx,
                AuditEvent {
                    actor_id: Some(admin.id),
                    action: AuditAction::JobsRun,
                    subject_type: AuditSubject::Jobs,
                    subject_id: None,
                    summary: json!(&report),
                },
            )
        })?;
        Ok(report)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(run_jobs);
}
