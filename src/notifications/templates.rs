//! One struct per email event; its text and HTML parts live in `templates/email/`.
//!
//! An email is queued as its template name and its fields (JSON, the template's
//! parameters) and rendered when the outbox worker sends it: [`EmailTemplate::render`]
//! is the registry from a stored name back to the struct that renders it.

use askama::Template;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An email: its template name, a subject and both parts, rendered from its fields. The
/// fields are the template's parameters as the outbox stores them, so they hold what the
/// template shows and nothing more.
pub trait Email: Serialize + DeserializeOwned {
    /// Stable name of the event, stored on the outbox row.
    const TEMPLATE: EmailTemplate;
    fn subject(&self) -> String;
    fn text(&self) -> askama::Result<String>;
    fn html(&self) -> askama::Result<String>;
}

/// An email rendered for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rendered {
    pub fn of<E: Email>(email: &E) -> Result<Self, String> {
        let failed = |e: askama::Error| format!("rendering {}: {e}", E::TEMPLATE);
        Ok(Self { subject: email.subject(), text: email.text().map_err(failed)?, html: email.html().map_err(failed)? })
    }
}

/// The email `E` from its stored parameters.
fn from_params<E: Email>(params: &str) -> Result<E, String> {
    serde_json::from_str(params).map_err(|e| {
        // serde's "invalid type" and "invalid value" messages quote the value, which may
        // be a name or a link with a token, and `last_error` is shown to admins: only the
        // messages that name a field are kept whole.
        let message = e.to_string();
        let why = if message.starts_with("missing field") || message.starts_with("duplicate field") {
            message
        } else {
            format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column())
        };
        format!("the stored parameters of {} do not fit it: {why}", E::TEMPLATE)
    })
}

/// The registry: every email's stored name (a closed set, CHECKed in the `outbox`
/// table) and the struct that renders it; the variant is the struct's name.
macro_rules! registry {
    ($( $name:ident = $text:tt ),+ $(,)?) => {
        crate::text_enum! {
            /// The template of an email, as stored on its outbox row.
            pub enum EmailTemplate {
                $( $name = $text ),+
            }
        }

        impl EmailTemplate {
            /// Renders this template from its stored parameters; an error says why they
            /// cannot be rendered (recorded as the attempt's `last_error`).
            pub fn render(self, params: &str) -> Result<Rendered, String> {
                match self {
                    $( Self::$name => Rendered::of(&from_params::<$name>(params)?), )+
                }
            }

            /// Only the subject, for the admins' outbox list (the bodies stay unread).
            pub fn subject(self, params: &str) -> Result<String, String> {
                match self {
                    $( Self::$name => Ok(from_params::<$name>(params)?.subject()), )+
                }
            }
        }
    };
}

registry! {
    VerifyEmail = "verify_email",
    PasswordReset = "password_reset",
    StaffInvite = "staff_invite",
    AuthorizationDecision = "authorization_decision",
    CredentialDecision = "credential_decision",
    WorkDecision = "work_decision",
    AppealOutcome = "appeal_outcome",
    QualityStanding = "quality_standing",
    StandingMove = "standing_move",
    CredentialExpiry = "credential_expiry",
    AdminAlert = "admin_alert",
    AccountRemoved = "account_removed",
    AccountDecision = "account_decision",
    ReverificationReminder = "reverification_reminder",
    AuthorizationExpired = "authorization_expired",
    PayoutMethodChanged = "payout_method_changed",
    PayoutSent = "payout_sent",
    PayoutFailed = "payout_failed",
    BNoticeSent = "b_notice",
    WorkAutoApproved = "work_auto_approved",
    TestResult = "test_result",
    TaxFormAvailable = "tax_form_available",
}

/// Declares an email: its fields (the stored parameters), subject, and the text and HTML
/// templates; its stored name is the registry's entry of the same name.
macro_rules! email {
    ($name:ident, $text:literal, $html:literal, |$s:ident| $subject:expr, { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(serde::Serialize, serde::Deserialize)]
        pub struct $name { $(pub $field: $ty),* }

        const _: () = {
            #[derive(Template)]
            #[template(path = $text, escape = "none")]
            struct Text<'a> { m: &'a $name }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> { m: &'a $name }

            impl Email for $name {
                const TEMPLATE: EmailTemplate = EmailTemplate::$name;
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

email!(VerifyEmail, "email/verify_email.txt", "email/verify_email.html",
    |_m| "Confirm your email address for Gatehouse".to_string(),
    { full_name: String, link: String, expires_hours: u64 });

email!(PasswordReset, "email/password_reset.txt", "email/password_reset.html",
    |_m| "Reset your Gatehouse password".to_string(),
    { full_name: String, link: String, expires_minutes: u64 });

email!(StaffInvite, "email/staff_invite.txt", "email/staff_invite.html",
    |_m| "You have been given a Gatehouse staff account".to_string(),
    { full_name: String, link: String, roles: String, expires_hours: u64 });

email!(AuthorizationDecision, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(CredentialDecision, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(WorkDecision, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AppealOutcome, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(QualityStanding, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(StandingMove, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(CredentialExpiry, "email/credential_expiry.txt", "email/credential_expiry.html",
    |m| if m.expired { format!("Your {} has expired", m.credential) } else { format!("Your {} expires on {}", m.credential, m.expires_on) },
    { full_name: String, credential: String, expires_on: String, expired: bool, lapsed: String });

email!(AdminAlert, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AccountRemoved, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(AccountDecision, "email/decision.txt", "email/decision.html",
    |m| m.subject.clone(),
    { full_name: String, subject: String, headline: String, reason: String, note: String, next_steps: String });

email!(ReverificationReminder, "email/reverification_reminder.txt", "email/reverification_reminder.html",
    |m| format!("Your US work authorization expires in {} days", m.days_left),
    { full_name: String, days_left: i64, expires_on: String });

email!(AuthorizationExpired, "email/authorization_expired.txt", "email/authorization_expired.html",
    |_m| "Your US work authorization has expired: new work is paused".to_string(),
    { full_name: String, expires_on: String });
email!(PayoutMethodChanged, "email/payout_method_changed.txt", "email/payout_method_changed.html",
    |_m| "Your Gatehouse payout method was changed".to_string(),
    { full_name: String, old_destination: String, new_destination: String, usable_from: String,
      bank_notice: String });

email!(PayoutSent, "email/payout_sent.txt", "email/payout_sent.html",
    |m| format!("Your payout of {} USD is on its way", m.net),
    { full_name: String, item_id: i64, gross: String, withheld: String, net: String, destination: String });

email!(PayoutFailed, "email/payout_failed.txt", "email/payout_failed.html",
    |m| format!("Your payout of {} USD was {}", m.net, m.outcome),
    { full_name: String, item_id: i64, net: String, destination: String, outcome: String, reason: String,
      next_steps: String });

email!(BNoticeSent, "email/b_notice.txt", "email/b_notice.html",
    |m| if m.first { "Important tax notice: give us a corrected Form W-9".to_string() } else { "Important tax notice: backup withholding".to_string() },
    { full_name: String, first: bool, tin: String, notice_date: String, deadline: String, rate: String });

/// One auto-approved record of a digest.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DigestLine {
    pub task_ref: String,
    pub pay: String,
}

email!(WorkAutoApproved, "email/work_auto_approved.txt", "email/work_auto_approved.html",
    |m| format!("{} work records approved automatically", m.count),
    { full_name: String, count: usize, total: String, available_on: String, lines: Vec<DigestLine> });

/// One line of a test result email: a section and its score, never the answers.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SectionLine {
    pub title: String,
    pub score_percent: i32,
}

email!(TestResult, "email/test_result.txt", "email/test_result.html",
    |m| format!("Your result for {}: {}", m.test_title, if m.passed { "passed" } else { "not passed" }),
    { full_name: String, test_title: String, passed: bool, score_percent: i32, pass_mark_percent: i32,
      sections: Vec<SectionLine>, qualification: String });

email!(TaxFormAvailable, "email/tax_form_available.txt", "email/tax_form_available.html",
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

    #[test]
    fn the_registry_renders_stored_parameters_as_the_struct_does() {
        let email = TestResult {
            full_name: "Ana".into(),
            test_title: "Spanish grammar".into(),
            passed: true,
            score_percent: 91,
            pass_mark_percent: 80,
            sections: vec![SectionLine { title: "Agreement".into(), score_percent: 88 }],
            qualification: "es-grammar".into(),
        };
        let params = serde_json::to_string(&email).unwrap();
        let stored = EmailTemplate::parse(TestResult::TEMPLATE.as_str()).unwrap();
        assert_eq!(stored, EmailTemplate::TestResult);
        assert_eq!(stored.render(&params).unwrap(), Rendered::of(&email).unwrap());
        assert_eq!(stored.subject(&params).unwrap(), "Your result for Spanish grammar: passed");
        // Another template's parameters do not render as this one.
        assert!(EmailTemplate::PayoutSent.render(&params).is_err());
    }

    #[test]
    fn parameters_that_do_not_fit_say_why_without_quoting_values() {
        let err = EmailTemplate::VerifyEmail.render(r#"{"full_name": "Ana", "expires_hours": 24}"#).unwrap_err();
        assert_eq!(
            err,
            "the stored parameters of verify_email do not fit it: missing field `link` at line 1 column 41"
        );
        let err = EmailTemplate::VerifyEmail
            .render(r#"{"full_name": "Ana", "link": "http://x/?token=secret", "expires_hours": "Ana Secret"}"#)
            .unwrap_err();
        assert!(err.starts_with("the stored parameters of verify_email do not fit it: Data error at line 1"), "{err}");
        assert!(!err.contains("Secret"), "{err}");
        let err = EmailTemplate::PayoutSent.subject("not json").unwrap_err();
        assert!(err.contains("Syntax error"), "{err}");
    }
}
