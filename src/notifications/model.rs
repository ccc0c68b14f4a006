use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::templates::{EmailTemplate, Rendered};
use crate::db::schema::outbox;

crate::text_enum! {
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        /// Gave up after the configured number of attempts; an admin can retry it.
        Dead = "dead",
    }
}

/// An outbox row as listed to admins: everything but the bodies.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub event_key: String,
    pub recipient: String,
    pub template: EmailTemplate,
    /// The template's parameters (JSON); `None` for a row queued rendered, before
    /// migration 2026-11-30-001201.
    pub params: Option<String>,
    /// The subject of a row queued rendered; `None` for one rendered when sent.
    pub subject: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    /// The subject the email has (or will have) when sent; `None` when its parameters
    /// cannot be rendered (the worker records why in `last_error` when it tries).
    pub fn subject(&self) -> Option<String> {
        match (&self.params, &self.subject) {
            (Some(params), _) => self.template.subject(params).ok(),
            (None, subject) => subject.clone(),
        }
    }
}

/// A row the worker has claimed, with what it needs to render and send it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct ClaimedEmail {
    pub id: i64,
    pub event_key: String,
    pub recipient: String,
    /// Read as text and parsed per email: a name this binary does not know (one added
    /// by a newer instance during a rolling upgrade) fails that email's attempt instead
    /// of the whole claim.
    pub template: String,
    pub params: Option<String>,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub attempts: i32,
}

impl ClaimedEmail {
    /// The email to send: rendered now from its template and parameters, or, for a row
    /// queued before emails were rendered at send time, its stored rendering.
    pub fn content(&self) -> Result<Rendered, String> {
        match (&self.params, &self.subject, &self.body_text, &self.body_html) {
            (Some(params), ..) => EmailTemplate::parse(&self.template)
                .ok_or_else(|| format!("unknown email template {:?}: this version cannot render it", self.template))?
                .render(params),
            (None, Some(subject), Some(text), Some(html)) => {
                Ok(Rendered { subject: subject.clone(), text: text.clone(), html: html.clone() })
            }
            _ => Err("the outbox row has neither parameters nor a rendered email".into()),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow<'a> {
    pub event_key: &'a str,
    pub recipient: &'a str,
    pub template: EmailTemplate,
    pub params: &'a str,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}
