//! Driving a real Chromium (Debian's `chromium` and `chromium-driver`)
//! through WebDriver (fantoccini), plus raw HTTP for what a browser will
//! not send (a wrong `Host`, a forged form). Screenshots of each page go to
//! `target/tmp/web-screenshots/<test>/`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use r2com_tests::TestNode;

/// One browser at a time: Chromium is heavy on a 2-core machine.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a page may take to show what a test waits for.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

fn find(candidates: &[&str], what: &str) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{what} not found (looked at {candidates:?}): install Debian's chromium and \
                 chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)"
            )
        })
}

/// A headless Chromium with a fresh profile, driven by chromedriver.
pub struct Chrome {
    pub client: Client,
    driver: Child,
    /// chromedriver's port and the session, to end it cleanly on drop.
    port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    count: usize,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

impl Chrome {
    /// Start chromedriver on a port the OS picks and open a session.
    pub async fn start(test: &str) -> Chrome {
        let one = ONE_BROWSER.lock().await;
        let driver_bin = find(
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
            "chromedriver",
        );
        let browser_bin = find(
            &["/usr/lib/chromium/chromium", "/usr/bin/chromium"],
            "chromium",
        );
        // Its own process group: chromedriver and every Chromium process
        // it starts are killed together, even when a test fails.
        let mut driver = Command::new(driver_bin)
            .process_group(0)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut lines = BufReader::new(driver.stdout.take().expect("stdout"));
        let mut port = None;
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(p) = line
                .trim()
                .strip_prefix("ChromeDriver was started successfully on port ")
            {
                port = p.trim_end_matches('.').parse::<u16>().ok();
                break;
            }
            line.clear();
        }
        let port = port.expect("chromedriver did not say its port");
        // Keep draining chromedriver's output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while lines.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        let profile = tempfile::Builder::new()
            .prefix("r2com-chrome")
            .tempdir()
            .expect("profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1000".to_owned(),
            "--lang=en-GB".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": browser_bin, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with chromium");
        let session = client.session_id().await.ok().flatten();
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("web-screenshots")
            .join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Chrome {
            client,
            driver,
            port,
            session,
            _profile: profile,
            shots,
            count: 0,
            _one: one,
        }
    }

    /// Save a screenshot of the page as `NN-name.png`.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        self.count += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.count));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// The `csrf` field's value of the page being loaded, once its form is
    /// there (a page's source read right after `goto` can still be the
    /// page before it).
    pub async fn csrf(&self) -> String {
        let start = Instant::now();
        loop {
            let html = self.source().await;
            if html.contains("name=\"csrf\" value=\"") {
                return csrf_of(&html);
            }
            assert!(
                start.elapsed() < PAGE_TIMEOUT,
                "no form with a csrf field on {} after {PAGE_TIMEOUT:?}\n{html}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until an element matching `css` is there.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        let start = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(_) if start.elapsed() < PAGE_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!(
                    "no {css} on {} after {PAGE_TIMEOUT:?}: {e}\n{}",
                    self.url().await,
                    self.source().await
                ),
            }
        }
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("text")
    }

    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.expect("click");
    }

    /// Replace the value of a text field.
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.wait(css).await;
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.wait(css)
            .await
            .select_by_value(value)
            .await
            .expect("select");
    }

    /// Wait until the page's text contains `needle`.
    pub async fn wait_text(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let body = self.client.find(Locator::Css("body")).await.ok();
            let text = match body {
                Some(b) => b.text().await.unwrap_or_default(),
                None => String::new(),
            };
            if text.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < PAGE_TIMEOUT,
                "{needle:?} not on {} after {PAGE_TIMEOUT:?}:\n{text}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of the session cookie.
    pub async fn session_cookie(&self) -> Option<String> {
        self.client
            .get_named_cookie("r2com_session")
            .await
            .ok()
            .map(|c| c.value().to_owned())
    }

    /// Log out of the web app by forgetting every cookie.
    pub async fn forget_cookies(&self) {
        self.client
            .delete_all_cookies()
            .await
            .expect("delete cookies");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.session = None;
    }
}

impl Drop for Chrome {
    /// End the session (Chromium and its crash handlers exit), then kill
    /// chromedriver's process group in case anything is left, and reap it.
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                );
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// `http://ADDR` of a running node's web app.
pub fn base(node: &TestNode) -> String {
    format!("http://{}", node.web_addr())
}

/// A one-time login URL from `r2com web login-url` (as `user`, or as the
/// operator).
pub fn login_url(node: &TestNode, user: Option<&str>) -> String {
    let mut args = vec!["web", "login-url"];
    if let Some(u) = user {
        args.extend(["--user", u]);
    }
    node.ok(&args).trim().to_owned()
}

/// An HTTP answer: status, head (lower-cased), body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Send one raw HTTP/1.1 request to `addr` with `Host: host`.
pub fn http(
    addr: &str,
    host: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect to the web app");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || request_line.starts_with("POST") {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// The value of the hidden `csrf` field of a page's HTML.
pub fn csrf_of(html: &str) -> String {
    let (_, rest) = html
        .split_once("name=\"csrf\" value=\"")
        .expect("a form with a csrf field");
    rest.split('"').next().unwrap().to_owned()
}
