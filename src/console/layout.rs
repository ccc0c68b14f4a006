//! What every console page shares: the signed-in user, the navigation, the CSRF token
//! for its forms, and a one-line notice after an action.

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;
use chrono::NaiveDateTime;

use super::guard::{ConsoleError, PageResult};
use super::session::ConsoleUser;
use crate::auth::roles::Role;
use crate::error::{AppError, FieldError, ProblemCode};

pub struct Layout {
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub reviewer: bool,
    pub finance: bool,
    pub admin: bool,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub notice: Option<&'static str>,
}

impl Layout {
    pub fn new(user: &ConsoleUser, section: &'static str, notice: Option<&str>) -> Self {
        Self {
            name: user.full_name.clone(),
            email: user.email.clone(),
            csrf: user.csrf.clone(),
            reviewer: user.has(Role::Reviewer),
            finance: user.has(Role::Finance),
            admin: user.has(Role::Admin),
            section,
            notice: notice.and_then(notice_text),
        }
    }
}

/// The fixed messages an action can leave for the next page (`?notice=code`); a code
/// never carries text of its own, so a crafted link cannot put words on the page.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "claimed" => "Claimed: the item is yours to decide until the claim expires.",
        "decided" => "Decision recorded; the person has been emailed the outcome and its reason.",
        "built" => "Batch built: its items are reserved in the ledger.",
        "approved" => "Batch approved: it can now be exported.",
        "cancelled" => "Batch cancelled: its reservations were released.",
        "settled" => "Settlement file applied.",
        "issued" => "Forms issued: every new or corrected form was emailed to its payee.",
        "staff_created" => "Staff account created; an invitation email is on its way.",
        "roles_changed" => "Roles updated.",
        "project_created" => "Project type created.",
        "settings_saved" => "Settings saved: in force on every instance now.",
        "test_created" => "Qualification test created.",
        "retried" => "Email queued for another attempt.",
        "nothing_to_claim" => "Nothing left to claim in this queue.",
        "deactivated" => "Staff account deactivated: their sessions are ended.",
        "invitation_sent" => "A new invitation email is on its way.",
        _ => return None,
    })
}

/// The errors of a form shown on the same page, beside their fields, with the input
/// kept (a refused post answers 422 with the form again, not a separate error page).
#[derive(Default, Debug)]
pub struct FormErrors {
    pub items: Vec<FieldError>,
}

impl FormErrors {
    pub fn add(&mut self, field: &str, message: &str) {
        self.items.push(FieldError::new(field, "invalid", message));
    }

    /// The field errors of `e`, or its detail as an error of the whole form.
    pub fn absorb(&mut self, e: &AppError) {
        match e {
            AppError::Validation(list) => self.items.extend(list.iter().cloned()),
            AppError::Conflict { code: ProblemCode::EmailTaken, detail } => {
                self.items.push(FieldError::new("email", "email_taken", detail.clone()))
            }
            other => self.items.push(FieldError::new("", "refused", other.public_detail())),
        }
    }

    /// An error a form can show beside its fields (invalid input, a rule refusing it);
    /// others (not found, forbidden, a lost database) stay error pages.
    pub fn from_error(e: AppError) -> Result<Self, AppError> {
        match e {
            AppError::Validation(_)
            | AppError::Invalid { .. }
            | AppError::BadRequest(_)
            | AppError::Conflict { .. }
            | AppError::ConflictWith { .. } => {
                let mut errors = Self::default();
                errors.absorb(&e);
                Ok(errors)
            }
            other => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The messages for `field`, joined; `None` when it has none.
    pub fn of(&self, field: &str) -> Option<String> {
        let messages: Vec<&str> = self.items.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Every message, with its field's name when it has one (the summary at the top).
    pub fn all(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) })
            .collect()
    }
}

/// A page showing a form with its errors: 422.
pub fn render_invalid(page: &impl Template) -> PageResult {
    let mut res = render(page)?;
    *res.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

pub fn render(page: &impl Template) -> PageResult {
    let html = page.render().map_err(|e| ConsoleError::App(AppError::Internal(e.into())))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// After a successful form post: back to a page with a notice (303, so a reload does not
/// post again).
pub fn see_other(location: &str, notice: &str) -> PageResult {
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("{location}{sep}notice={notice}"))).finish())
}

/// Dates as staff read them (also in the review queues' items).
pub use crate::clock::{when, when_opt};

/// How long ago, in the largest whole unit: "3 d", "5 h", "12 min".
pub fn age(now: NaiveDateTime, since: NaiveDateTime) -> String {
    let d = now - since;
    if d.num_days() >= 1 {
        format!("{} d", d.num_days())
    } else if d.num_hours() >= 1 {
        format!("{} h", d.num_hours())
    } else {
        format!("{} min", d.num_minutes().max(0))
    }
}

pub use crate::ledger::money::dollars;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(123_456), "$1,234.56");
        assert_eq!(dollars(-100_000_000), "-$1,000,000.00");
    }

    #[test]
    fn unknown_notices_show_nothing() {
        assert!(notice_text("decided").is_some());
        assert!(notice_text("<script>").is_none());
    }
}
