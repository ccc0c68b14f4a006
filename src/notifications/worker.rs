//! The outbox worker: claims due emails, sends them, records the outcome.

use std::sync::Arc;
use std::time::Duration;

use super::mailer::Mailer;
use super::service;
use crate::AppState;

/// How long a claimed email stays reserved for the worker that claimed it. The worker
/// renews the lease of each email just before sending it, so the lease only has to
/// outlast one SMTP exchange (each SMTP command times out after 20 s, see
/// [`Mailer::from_config`]); an instance killed in the middle of a pass leaves its
/// claimed emails to the others after at most this long.
pub const LEASE: Duration = Duration::from_secs(60);

/// Sends every email that is due now; returns how many were delivered.
pub fn run_once(state: &AppState, mailer: &Mailer) -> crate::error::AppResult<usize> {
    let now = state.clock.now();
    let batch = state.db.tx_sync(|c| service::claim_due(c, now, LEASE, 50))?;
    let mut delivered = 0;
    for row in batch {
        // The claim is renewed, fenced by the attempt count the claim set: if the batch
        // took so long that the lease of this email ran out and another worker claimed
        // it, that worker sends it and this one skips it.
        let now = state.clock.now();
        if !state.db.tx_sync(|c| service::renew_lease(c, &row, now, LEASE))? {
            tracing::info!(outbox_id = row.id, "email claimed by another worker after this one's lease ran out");
            continue;
        }
        // Rendered here, when sent: an email that cannot be rendered is a failed attempt
        // like one SMTP refused, retried with backoff and dead-lettered in the end.
        let result = row
            .content()
            .map_err(|e| format!("cannot render: {e}"))
            .and_then(|content| mailer.send(&state.config.mail.from, &row, content));
        let now = state.clock.now();
        match result {
            Ok(()) => {
                state.db.tx_sync(|c| service::mark_sent(c, row.id, now))?;
                delivered += 1;
                tracing::info!(outbox_id = row.id, template = %row.template, "email sent");
            }
            Err(error) => {
                let status = state.db.tx_sync(|c| service::mark_failed(c, &row, now, &error, &state.config.mail))?;
                tracing::warn!(outbox_id = row.id, attempts = row.attempts, ?status, %error, "email not sent");
            }
        }
    }
    Ok(delivered)
}

/// Polls the outbox on the blocking pool until the server stops.
pub fn spawn(state: Arc<AppState>, mailer: Arc<Mailer>) {
    let interval = state.config.mail.poll_interval;
    actix_web::rt::spawn(async move {
        let beat = state.workers.outbox.running();
        let mut ticker = actix_web::rt::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let (s, m) = (state.clone(), mailer.clone());
            match actix_web::web::block(move || run_once(&s, &m)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "outbox worker pass failed"),
                Err(e) => tracing::error!(error = %e, "outbox worker panicked"),
            }
            beat.pass(state.clock.now());
        }
    });
}
