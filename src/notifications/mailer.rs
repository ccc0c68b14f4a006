//! Delivery: SMTP through lettre, or `.eml` files when no SMTP server is configured.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use super::model::ClaimedEmail;
use super::templates::Rendered;
use crate::config::MailConfig;

pub enum Mailer {
    Smtp(SmtpTransport),
    Files(FileTransport),
}

impl Mailer {
    pub fn from_config(mail: &MailConfig, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        match &mail.smtp_url {
            Some(url) => {
                let transport = SmtpTransport::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build();
                Ok(Self::Smtp(transport))
            }
            None => {
                let dir: PathBuf = data_dir.join("mail");
                std::fs::create_dir_all(&dir)?;
                Ok(Self::Files(FileTransport::new(dir)))
            }
        }
    }

    /// Sends `row` as `content` (rendered from it by the worker).
    pub fn send(&self, from: &str, row: &ClaimedEmail, content: Rendered) -> Result<(), String> {
        let from: Mailbox = from.parse().map_err(|e| format!("sender: {e}"))?;
        let to: Mailbox = row.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(content.subject)
            // The outbox id makes the Message-ID stable across retries of the same email.
            .message_id(Some(format!(
                "<outbox-{}-{}@gatehouse>",
                row.id,
                row.event_key.replace([' ', '<', '>', '@'], "_")
            )))
            .multipart(MultiPart::alternative_plain_html(content.text, content.html))
            .map_err(|e| format!("building message: {e}"))?;
        match self {
            Self::Smtp(t) => t.send(&message).map(|_| ()).map_err(|e| e.to_string()),
            Self::Files(t) => t.send(&message).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}
