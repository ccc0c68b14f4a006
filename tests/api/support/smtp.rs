//! A small SMTP server on loopback: the service's real SMTP client (lettre) talks to it,
//! and tests read what arrived.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The `token=` value of the first link in the text part.
    pub fn link_token(&self) -> String {
        let start = self.text.find("token=").expect("email has a token link") + "token=".len();
        self.text[start..].split_whitespace().next().unwrap().to_string()
    }
}

#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<ReceivedMail>>>);

impl Inbox {
    pub fn all(&self) -> Vec<ReceivedMail> {
        self.0.lock().unwrap().clone()
    }

    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        self.all().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).collect()
    }

    /// Waits until `address` has received at least `n` emails; returns the n-th (1-based).
    pub async fn wait_for_nth(&self, address: &str, n: usize) -> ReceivedMail {
        for _ in 0..200 {
            let got = self.to(address);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no email #{n} for {address} within 10 s; inbox: {:?}",
            self.all().iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
    }

    /// Waits for an email to `address` whose subject contains `needle`.
    pub async fn wait_for_subject(&self, address: &str, needle: &str) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(m) = self.to(address).into_iter().find(|m| m.subject.contains(needle)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no email {needle:?} for {address}: {:?}",
            self.to(address).iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
    }

    pub async fn wait_for(&self, address: &str) -> ReceivedMail {
        self.wait_for_nth(address, 1).await
    }
}

pub struct TestSmtp {
    pub port: u16,
    pub inbox: Inbox,
    task: JoinHandle<()>,
}

impl TestSmtp {
    pub async fn start() -> Self {
        Self::start_on(0, Inbox::default()).await
    }

    /// Starts on a given port (to bring a "down" server back up) with a given inbox.
    pub async fn start_on(port: u16, inbox: Inbox) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind test SMTP");
        let port = listener.local_addr().unwrap().port();
        let shared = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let inbox = shared.clone();
                tokio::spawn(async move {
                    let _ = session(socket, inbox).await;
                });
            }
        });
        Self { port, inbox, task }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: tokio::net::TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost test SMTP\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write.write_all(b"250-localhost\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("HELO")
            || upper.starts_with("MAIL FROM")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            if upper.starts_with("RSET") {
                to.clear();
            }
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr = line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>').to_string();
            to.push(addr);
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                raw.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).expect("parse email");
            let mail = ReceivedMail {
                to: std::mem::take(&mut to),
                subject: parsed.subject().unwrap_or_default().to_string(),
                text: parsed.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                html: parsed.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
            };
            inbox.0.lock().unwrap().push(mail);
            write.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
