//! One struct per email event; its text and HTML parts live in `templates/email/`.

use askama::Template;

/// An email ready to be queued: a template name, a subject and both parts.
pub trait Email {
    /// Stable name of the event, stored on the outbox row.
    const TEMPLATE: &'static str;
    fn subject(&self) -> String;
    fn text(&self) -> askama::Result<String>;
    fn html(&self) -> askama::Result<String>;
}

/// Declares an email: its fields, subject, and the text and HTML templates.
macro_rules! email {
    ($name:ident, $template:literal, $text:literal, $html:literal, |$s:ident| $subject:expr, { $($field:ident : $ty:ty),* $(,)? }) => {
        pub struct $name { $(pub $field: $ty),* }

        const _: () = {
            #[derive(Template)]
            #[template(path = $text, escape = "none")]
            struct Text<'a> { m: &'a $name }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> { m: &'a $name }

            impl Email for $name {
                const TEMPLATE: &'static str = $template;
                fn subject(&self) -> String {
                    let $s = self;
                    $subject
                }
                fn text(&self) -> askama::Result<String> {
                    Text { m: self }.render()
                }
                fn html(&self) -> askama::Result<String> {
                    Html { m: self }.render()
                }
            }
        };
    };
}

email!(VerifyEmail, "verify_email", "email/verify_email.txt", "email/verify_email.html",
    |_m| "Confirm your email address for Gatehouse".to_string(),
    { full_name: String, link: String, expires_hours: u64 });

email!(PasswordReset, "password_reset", "email/password_reset.txt", "email/password_reset.html",
    |_m| "Reset your Gatehouse password".to_string(),
    { full_name: String, link: String, expires_minutes: u64 });

email!(StaffInvite, "staff_invite", "email/staff_invite.txt", "email/staff_invite.html",
    |_m| "You have been given a Gatehouse staff account".to_string(),
    { full_name: String, link: String, roles: String, expires_hours: u64 });

email!(AuthorizationDecision, "authorization_decision", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(CredentialDecision, "credential_decision", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(WorkDecision, "work_decision", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AppealOutcome, "appeal_outcome", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(QualityStanding, "quality_standing", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(StandingMove, "standing_move", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(CredentialExpiry, "credential_expiry", "email/credential_expiry.txt", "email/credential_expiry.html",
    |m| if m.expired { format!("Your {} has expired", m.credential) } else { format!("Your {} expires on {}", m.credential, m.expires_on) },
    { full_name: String, credential: String, expires_on: String, expired: bool, lapsed: String });

email!(AdminAlert, "admin_alert", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AccountRemoved, "account_removed", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AccountDecision, "account_decision", "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(ReverificationReminder, "reverification_reminder", "email/reverification_reminder.txt", "email/reverification_reminder.html",
    |m| format!("Your US work authorization expires in {} days", m.days_left),
    { full_name: String, days_left: i64, expires_on: String });

email!(AuthorizationExpired, "authorization_expired", "email/authorization_expired.txt", "email/authorization_expired.html",
    |_m| "Your US work authorization has expired: new work is paused".to_string(),
    { full_name: String, expires_on: String });
email!(PayoutMethodChanged, "payout_method_changed", "email/payout_method_changed.txt", "email/payout_method_changed.html",
    |_m| "Your Gatehouse payout method was changed".to_string(),
    { full_name: String, old_destination: String, new_destination: String, usable_from: String,
      bank_notice: String });

email!(PayoutSent, "payout_sent", "email/payout_sent.txt", "email/payout_sent.html",
    |m| format!("Your payout of {} USD is on its way", m.net),
    { full_name: String, item_id: i64, gross: String, withheld: String, net: String, destination: String });

email!(PayoutFailed, "payout_failed", "email/payout_failed.txt", "email/payout_failed.html",
    |m| format!("Your payout of {} USD was {}", m.net, m.outcome),
    { full_name: String, item_id: i64, net: String, destination: String, outcome: String, reason: String,
      next_steps: String });

email!(BNoticeSent, "b_notice", "email/b_notice.txt", "email/b_notice.html",
    |m| if m.first { "Important tax notice: give us a corrected Form W-9".to_string() } else { "Important tax notice: backup withholding".to_string() },
    { full_name: String, first: bool, tin: String, notice_date: String, deadline: String, rate: String });

/// One auto-approved record of a digest.
pub struct DigestLine {
    pub task_ref: String,
    pub pay: String,
}

email!(WorkAutoApproved, "work_auto_approved", "email/work_auto_approved.txt", "email/work_auto_approved.html",
    |m| format!("{} work records approved automatically", m.count),
    { full_name: String, count: usize, total: String, available_on: String, lines: Vec<DigestLine> });

/// One line of a test result email: a section and its score, never the answers.
pub struct SectionLine {
    pub title: String,
    pub score_percent: i32,
}

email!(TestResult, "test_result", "email/test_result.txt", "email/test_result.html",
    |m| format!("Your result for {}: {}", m.test_title, if m.passed { "passed" } else { "not passed" }),
    { full_name: String, test_title: String, passed: bool, score_percent: i32, pass_mark_percent: i32,
      sections: Vec<SectionLine>, qualification: String });

email!(TaxFormAvailable, "tax_form_available", "email/tax_form_available.txt", "email/tax_form_available.html",
    |m| if m.corrected { format!("Your corrected {} Form 1099-NEC is available", m.year) } else { format!("Your {} Form 1099-NEC is available", m.year) },
    { full_name: String, year: i64, corrected: bool, amount: String, withheld: String, tin: String });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_part_escapes_and_text_part_does_not() {
        let m = VerifyEmail {
            full_name: "Ana <O'Neil>".into(),
            link: "http://x/verify?token=a&b".into(),
            expires_hours: 24,
        };
        let html = m.html().unwrap();
        assert!(html.contains("Ana &#60;O&#39;Neil&#62;") || html.contains("Ana &lt;O&#x27;Neil&gt;"), "{html}");
        let text = m.text().unwrap();
        assert!(text.contains("Ana <O'Neil>"));
        assert!(text.contains("http://x/verify?token=a&b"));
    }
}
