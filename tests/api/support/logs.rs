//! Captures every log line the service writes during the test run, so tests can check
//! that sensitive values never reach the logs.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::fmt::TestWriter;
use tracing_subscriber::EnvFilter;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BUFFER.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info,gatehouse=debug"))
            .with_ansi(false)
            .with_writer(TestWriter::new().and(|| Capture))
            .try_init();
    });
}

/// Everything logged so far by every test in this process.
pub fn captured() -> String {
    String::from_utf8_lossy(&BUFFER.lock().unwrap()).to_string()
}
