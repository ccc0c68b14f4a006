//! Headless Chromium driven over WebDriver (chromedriver + fantoccini) for the console's
//! end-to-end tests. Without a browser the tests are skipped with a message, except
//! under `CI=true`, where a missing browser fails them (`.ci/run` installs one).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// One browser at a time: Chromium is heavy on a 2-core machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

pub struct Browser {
    pub client: Client,
    pub downloads: tempfile::TempDir,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    /// A fresh headless browser, or `None` (with a message) when none is installed
    /// outside CI.
    pub async fn start() -> Option<Browser> {
        let chromium =
            find("CHROME_BIN", &["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]);
        let driver = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("the console tests need chromium and chromedriver under CI=true (.ci/run installs them)");
            }
            eprintln!("SKIPPED: console browser test (install Debian's chromium and chromium-driver to run it)");
            return None;
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-extensions", "--no-first-run",
                    "--window-size=1400,1000", format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::native().capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Some(Browser { client, downloads, driver, _profile: profile, _turn: turn });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The text of the first element matching `css`, waiting for it to appear.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                // A page being replaced can turn a found element stale: look again.
                if let Ok(text) = el.text().await {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no element {css} on {}", self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default());
    }

    /// Clicks an element that does not leave the page (a download link, a checkbox).
    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks a link or a submit button and waits for the next page to load.
    pub async fn navigate(&self, css: &str) {
        self.client.execute("window.__gatehouse_old_page = true;", vec![]).await.unwrap();
        self.click(css).await;
        self.wait_for_new_page().await;
    }

    async fn wait_for_new_page(&self) {
        for _ in 0..100 {
            let ready = self
                .client
                .execute(
                    "return window.__gatehouse_old_page === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if ready.ok().and_then(|v| v.as_bool()) == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page did not change");
    }

    /// Runs a script that leaves the page (a form submit) and waits for the next one.
    pub async fn run_and_wait(&self, script: &str, args: Vec<serde_json::Value>) {
        self.client.execute("window.__gatehouse_old_page = true;", vec![]).await.unwrap();
        self.client.execute(script, args).await.unwrap();
        self.wait_for_new_page().await;
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no field {css}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    pub async fn body(&self) -> String {
        self.text("body").await
    }

    /// Signs in through the form.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/console/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.navigate("form button[type=submit]").await;
    }

    /// Saves a screenshot under `$GATEHOUSE_SCREENSHOTS/<name>.png` when that variable is
    /// set (how the pictures in docs/screenshots are made); otherwise does nothing.
    pub async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("GATEHOUSE_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    /// Waits for a finished download.
    pub async fn downloaded(&self) -> (String, Vec<u8>) {
        for _ in 0..200 {
            let files: Vec<_> = std::fs::read_dir(self.downloads.path())
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                // Chromium writes `.org.chromium.*` and `*.crdownload` until a download is done.
                .filter(|p| p.extension().is_none_or(|x| x != "crdownload"))
                .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .collect();
            if let Some(file) = files.first() {
                let name = file.file_name().unwrap().to_string_lossy().to_string();
                return (name, std::fs::read(file).unwrap());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no download finished in {}", self.downloads.path().display());
    }

    /// Runs axe-core (npm, installed in `tests/browser` by `npm ci`) on the current page
    /// and fails on any WCAG 2.0/2.1 A or AA violation. Without the package the check is
    /// skipped with a message, except under `CI=true`, where it fails.
    pub async fn assert_accessible(&self, page: &str) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/node_modules/axe-core/axe.min.js");
        let Ok(axe) = std::fs::read_to_string(path) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("axe-core is missing: run `npm ci --prefix tests/browser` (.ci/run does)");
            }
            eprintln!("SKIPPED: axe-core check of {page} (run `npm ci --prefix tests/browser`)");
            return;
        };
        self.client.execute(&axe, vec![]).await.unwrap_or_else(|e| panic!("axe-core did not load on {page}: {e}"));
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
              .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }))))
              .catch(e => done([{ id: 'axe-error', help: String(e) }]));
        "#;
        let violations =
            self.client.execute_async(script, vec![]).await.unwrap_or_else(|e| panic!("axe on {page}: {e}"));
        let list = violations.as_array().cloned().unwrap_or_default();
        assert!(
            list.is_empty(),
            "WCAG 2.1 A/AA violations on {page}: {}",
            serde_json::to_string_pretty(&violations).unwrap()
        );
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
