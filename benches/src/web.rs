//! The web app's page timings on a node holding the dataset: the library
//! list (first page, a later page, a filtered list), a search, a practice
//! page and a month of the calendar, each requested many times over HTTP by
//! a logged-in client; p50 and p95 of the time to the whole answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use r2com_tests::{gen_dataset, TestNode};

use crate::Figures;

/// Requests per page kind (after one warm-up each).
const REQUESTS: usize = 60;

/// One GET (or POST) on a fresh connection; (status, head, body).
fn request(
    addr: &str,
    line: &str,
    cookie: &str,
    body: &str,
) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).context("connect to the web app")?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{line} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nOrigin: http://{addr}\r\n"
    );
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if line.starts_with("POST") {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("an HTTP head")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head, buf[split + 4..].to_vec()))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Time `paths` (cycled) `REQUESTS` times; (p50, p95) in ms.
fn time_pages(
    addr: &str,
    cookie: &str,
    paths: &[String],
    must_contain: &str,
) -> anyhow::Result<(f64, f64)> {
    for p in paths {
        request(addr, &format!("GET {p}"), cookie, "")?;
    }
    let mut ms = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let path = &paths[i % paths.len()];
        let t = Instant::now();
        let (status, _, body) = request(addr, &format!("GET {path}"), cookie, "")?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if status != 200 || !String::from_utf8_lossy(&body).contains(must_contain) {
            bail!("GET {path}: {status}, not the page expected");
        }
    }
    Ok((percentile(&mut ms, 0.5), percentile(&mut ms, 0.95)))
}

/// The month (`YYYY-MM`) in which most events start.
fn busiest_month(node: &TestNode) -> anyhow::Result<String> {
    let events = node.json(&["event", "list"]);
    let mut count = std::collections::BTreeMap::<String, usize>::new();
    for e in events.as_array().context("events")? {
        if let Some(s) = e["starts_at"].as_str() {
            *count.entry(s[..7].to_owned()).or_default() += 1;
        }
    }
    count
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(m, _)| m)
        .context("no events")
}

pub fn run_once(practices: u32, events: u32, figs: &mut Figures) -> anyhow::Result<()> {
    let data = gen_dataset(practices, events, 1);
    let mut node = TestNode::init();
    node.create_consortium("RAN", "lmds", "Les Militants des Savoirs", "FR");
    node.start();
    node.ok(&["import", data.to_str().unwrap()]);
    let addr = node.web_addr();
    let url = node.ok(&["web", "login-url"]);
    let path = url
        .trim()
        .strip_prefix(&format!("http://{addr}"))
        .context("a login URL on this node")?
        .to_owned();
    let (status, head, _) = request(&addr, &format!("POST {path}"), "", "")?;
    if status != 303 {
        bail!("one-time login: {status}");
    }
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("Set-Cookie: "))
        .and_then(|c| c.split(';').next())
        .context("a session cookie")?
        .to_owned();
    let ids: Vec<String> = (0..20)
        .map(|i| format!("/practices/p-{:06}", (i * 241 + 17) % practices))
        .collect();
    let month = busiest_month(&node)?;
    let pages: [(&str, Vec<String>, &str); 4] = [
        (
            "web_library_list",
            vec![
                "/practices".into(),
                "/practices?p=40".into(),
                "/practices?status=published&language=fr".into(),
            ],
            "id=\"results\"",
        ),
        (
            "web_search",
            [
                "reinsercao",
                "risk+screening",
                "%D0%B7%D0%B0%D1%82%D0%B2%D0%BE%D1%80",
                "famille+communaute+confiance",
            ]
            .iter()
            .map(|q| format!("/practices?q={q}"))
            .collect(),
            "id=\"results\"",
        ),
        ("web_practice_page", ids, "id=\"body\""),
        (
            "web_calendar_month",
            vec![format!("/calendar?month={month}")],
            "id=\"month\"",
        ),
    ];
    for (name, paths, marker) in pages {
        let (p50, p95) = time_pages(&addr, &cookie, &paths, marker)?;
        figs.entry(format!("{name}_p50_ms")).or_default().push(p50);
        figs.entry(format!("{name}_p95_ms")).or_default().push(p95);
    }
    node.stop();
    Ok(())
}
