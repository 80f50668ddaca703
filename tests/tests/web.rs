//! The web app in a real Chromium (headless, through chromedriver): staff
//! log in by a one-time URL, search with and without accents, open a
//! practice (its other language, its history) and edit it (merged with a
//! partner's concurrent edit), and see the edit on
//! the partner's node; an event added in Europe/Lisbon shows at the right
//! hour for a Europe/Sofia reader; the secret calendar feed is subscribed
//! to, parsed and revoked; and a logged-out browser, a reader editing, a
//! forged CSRF token, a cross-site form and a wrong Host are refused.
//! Screenshots of every page: target/tmp/web-screenshots/<test>/.

mod web_support;

use std::time::Duration;

use ical::parser::ical::component::IcalCalendar;
use r2com_tests::{wait_for, TestNode};
use serde_json::json;
use web_support::{base, http, login_url, Chrome};

const CONVERGE: Duration = Duration::from_secs(90);

/// A running admin node (lmds) of a new consortium.
fn founder() -> TestNode {
    let mut a = TestNode::init();
    a.create_consortium(
        "RAN practitioners",
        "lmds",
        "Les Militants des Savoirs",
        "FR",
    );
    a.start();
    a
}

/// A second member (ips), joined through `admin` and running.
fn partner(admin: &TestNode) -> TestNode {
    let mut b = TestNode::init();
    let token = admin.ok(&[
        "invite",
        "--org",
        "ips",
        "--org-name",
        "IPS Innovative Prison Systems",
        "--country",
        "PT",
        "--key",
        &b.peer_id(),
        "--addr",
        &admin.listen_addr(),
    ]);
    b.ok(&["join", token.trim()]);
    b.start();
    b
}

fn body_of(node: &TestNode, id: &str) -> String {
    node.json(&["practice", "show", id])["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn add_practice(node: &TestNode, id: &str, title: &str, body: &str) {
    let file = node.data_dir().join(format!("{id}.md"));
    std::fs::write(&file, body).unwrap();
    node.ok(&[
        "practice",
        "add",
        "--id",
        id,
        "--title",
        title,
        "--organisation",
        "lmds",
        "--contact",
        "team@example.org",
        "--theme",
        "mentoring",
        "--language",
        "pt",
        "--country",
        "PT",
        "--body-file",
        file.to_str().unwrap(),
    ]);
}

const BODY: &str = "Acompanhamento da reinserção familiar após a libertação.\n\n\
                    Second paragraph, unchanged.\n\nThird paragraph.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_log_in_search_edit_and_the_partner_sees_the_edit() {
    let a = founder();
    let b = partner(&a);
    add_practice(&a, "p-web1", "Mentoring after release", BODY);
    add_practice(
        &a,
        "p-web2",
        "Screening guidelines",
        "Nothing about families here.\n",
    );
    // A's learning material for the practice; the partner does not fetch
    // it until someone downloads it.
    let material = a.data_dir().join("checklist.txt");
    std::fs::write(&material, CHECKLIST).unwrap();
    a.ok(&[
        "attach",
        "p-web1",
        material.to_str().unwrap(),
        "--title",
        "Family visit checklist",
        "--language",
        "pt",
    ]);
    assert!(
        wait_for(CONVERGE, || b
            .cli(&["practice", "show", "p-web1"])
            .status
            .success()),
        "the practice did not reach the partner; A log:\n{}",
        a.log()
    );

    let mut chrome = Chrome::start("log_in_search_edit").await;
    // Log in by the one-time URL the operator printed.
    chrome.goto(&login_url(&a, None)).await;
    chrome.wait("#continue").await;
    chrome.shot("one-time-login").await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    assert!(
        chrome.url().await.ends_with("/practices"),
        "{}",
        chrome.url().await
    );
    chrome.shot("library").await;

    // Add a practice: a bad field is refused next to the field, and nothing
    // is written until it is right.
    chrome.click("#add-practice").await;
    chrome.fill("#title", "Family days in prison").await;
    chrome.fill("#contact", "not an address").await;
    chrome.fill("#themes", "families, visits").await;
    chrome
        .client
        .execute("document.getElementById('contact').type = 'text';", vec![])
        .await
        .unwrap();
    chrome.click("#save").await;
    let error = chrome.text("#contact-error").await;
    assert!(!error.is_empty());
    assert_eq!(
        chrome
            .wait("#contact")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    chrome.shot("add-form-error").await;
    assert_eq!(a.json(&["practice", "list"]).as_array().unwrap().len(), 2);
    chrome.fill("#contact", "families@example.org").await;
    chrome.click("#save").await;
    chrome.wait("#notice").await;
    assert_eq!(chrome.text("h1").await, "Family days in prison");
    assert_eq!(a.json(&["practice", "list"]).as_array().unwrap().len(), 3);
    chrome.goto(&format!("{}/practices", base(&a))).await;

    // Search, without and with accents and capitals.
    for query in ["reinsercao familiar", "REINSERÇÃO"] {
        chrome.fill("#q", query).await;
        chrome.click("#search-submit").await;
        chrome.wait_text("1 found").await;
        let results = chrome.text("#results").await;
        assert!(
            results.contains("Mentoring after release"),
            "{query}: {results}"
        );
        assert!(
            !results.contains("Screening guidelines"),
            "{query}: {results}"
        );
    }
    chrome.shot("search").await;

    // The practice in French, linked to it as its translation.
    let fr = a.data_dir().join("p-web1-fr.md");
    std::fs::write(&fr, "Accompagnement après la libération.\n").unwrap();
    a.ok(&[
        "practice",
        "add",
        "--id",
        "p-web1-fr",
        "--title",
        "Mentorat après la libération",
        "--organisation",
        "lmds",
        "--contact",
        "team@example.org",
        "--translation-of",
        "p-web1",
        "--written-in",
        "fr",
        "--body-file",
        fr.to_str().unwrap(),
    ]);

    // Open the practice: its other language, and its history.
    chrome.click("#results a").await;
    chrome.wait("#body").await;
    assert_eq!(chrome.text("h1").await, "Mentoring after release");
    assert!(chrome.text("#body").await.contains("reinserção familiar"));
    let translations = chrome.text("#translations").await;
    assert!(
        translations.contains("Mentorat après la libération (fr)"),
        "{translations}"
    );
    let history = chrome.text("#history").await;
    assert!(
        history.contains("Les Militants des Savoirs (lmds)") && history.contains("created"),
        "{history}"
    );
    chrome.shot("practice").await;
    chrome.click("#translations a").await;
    chrome.wait_text("Mentorat après la libération").await;
    assert_eq!(chrome.text("#language").await, "fr");
    assert!(chrome
        .text("#translations")
        .await
        .contains("Mentoring after release"));
    chrome.shot("practice-translation").await;
    chrome.goto(&format!("{}/practices/p-web1", base(&a))).await;
    chrome.wait("#body").await;

    // Open the edit form; meanwhile the partner edits the third paragraph.
    chrome.click("#edit").await;
    chrome.wait("textarea#body").await;
    chrome.shot("edit-form").await;
    let theirs = BODY.replace("Third paragraph.", "Third paragraph, from IPS.");
    let file = b.data_dir().join("theirs.md");
    std::fs::write(&file, &theirs).unwrap();
    b.ok(&[
        "practice",
        "edit",
        "p-web1",
        "--text-file",
        file.to_str().unwrap(),
    ]);
    assert!(
        wait_for(CONVERGE, || body_of(&a, "p-web1").contains("from IPS")),
        "the partner's edit did not arrive"
    );
    // The browser still shows the text as it was when the form opened.
    let mine = BODY.replace("libertação.", "libertação, edited in the browser.");
    chrome.fill("textarea#body", &mine).await;
    chrome.click("#save").await;
    chrome.wait("#notice").await;
    chrome.shot("saved").await;
    let merged = body_of(&a, "p-web1");
    assert!(
        merged.contains("edited in the browser") && merged.contains("from IPS"),
        "both edits are kept: {merged:?}"
    );
    // Which local account made it stays on this node, on the practice page.
    let audit = chrome.text("#audit").await;
    assert!(audit.contains("operator"), "{audit}");

    // The partner's node has the edit, and shows it in its own web app.
    assert!(
        wait_for(CONVERGE, || body_of(&b, "p-web1")
            .contains("edited in the browser")),
        "the browser's edit did not reach the partner; A log:\n{}",
        a.log()
    );
    chrome.goto(&login_url(&b, None)).await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    chrome.goto(&format!("{}/practices/p-web1", base(&b))).await;
    chrome.wait_text("edited in the browser").await;
    assert!(chrome.text("#body").await.contains("from IPS"));
    // Its history names both organisations' changes, newest first.
    let history = chrome.text("#history").await;
    assert!(
        history.contains("IPS Innovative Prison Systems (ips)")
            && history.contains("edited: body")
            && history.contains("Les Militants des Savoirs (lmds)"),
        "{history}"
    );
    assert!(
        !chrome.source().await.contains("id=\"audit\""),
        "another node does not see who made the change"
    );
    chrome.shot("partner-node").await;

    // The partner's page lists A's file, not held there yet; the download
    // fetches it from A, and then it is held.
    let files = chrome.text("#files").await;
    assert!(
        files.contains("Family visit checklist")
            && files.contains("checklist.txt")
            && files.contains("fetched from a member"),
        "{files}"
    );
    let href = chrome
        .wait("#files a")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("a download link");
    let cookie = format!("r2com_session={}", chrome.session_cookie().await.unwrap());
    let addr = b.web_addr();
    let got = http(
        &addr,
        &addr,
        &format!("GET {href}"),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(
        got.status,
        200,
        "{}\n{}\nB log:\n{}",
        got.head,
        got.body,
        b.log()
    );
    assert_eq!(got.body, CHECKLIST);
    assert!(
        got.head.contains("content-disposition: attachment")
            && got.head.contains("x-content-type-options: nosniff"),
        "{}",
        got.head
    );
    // Logged out, the file is not served.
    let anon = http(&addr, &addr, &format!("GET {href}"), &[], "");
    assert_ne!(anon.status, 200);
    assert!(!anon.body.contains(CHECKLIST));
    chrome.goto(&format!("{}/practices/p-web1", base(&b))).await;
    chrome.wait_text("held on this node").await;
    chrome.shot("practice-files").await;

    // The partner's consortium page: A, connected directly, in sync.
    chrome.goto(&format!("{}/consortium", base(&b))).await;
    chrome.wait("#peers").await;
    let peers = chrome.text("#peers").await;
    assert!(
        peers.contains("lmds") && peers.contains("connected directly"),
        "{peers}"
    );
    chrome.close().await;
}

const CHECKLIST: &str = "Before the visit: documents, times, a quiet room.\n";

/// Set a form field's value the way a date or time picker would.
async fn set_value(chrome: &Chrome, id: &str, value: &str) {
    chrome
        .client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(value)],
        )
        .await
        .expect("set a field");
}

fn parse_ics(text: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    parser.next().expect("a calendar").expect("valid iCalendar")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_lisbon_shows_at_sofia_time_and_the_secret_feed_works() {
    let a = founder();
    let addr = a.web_addr();
    let mut chrome = Chrome::start("lisbon_sofia_feed").await;

    // The operator adds a weekly event at 10:00 in Lisbon (summer: UTC+1).
    chrome.goto(&login_url(&a, None)).await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    chrome.goto(&format!("{}/events/new", base(&a))).await;
    chrome.fill("#title", "Peer exchange in Lisbon").await;
    set_value(&chrome, "date", "2026-07-14").await;
    set_value(&chrome, "time", "10:00").await;
    chrome.fill("#hours", "2").await;
    chrome.select("#timezone", "Europe/Lisbon").await;
    chrome.select("#freq", "WEEKLY").await;
    chrome.click("#day-TU").await;
    chrome.click("#ends-count").await;
    chrome.fill("#count", "3").await;
    chrome.fill("#location", "Lisboa").await;
    chrome.shot("event-form").await;
    chrome.click("#save").await;
    chrome.wait("#notice").await;
    chrome.shot("event").await;
    let events = a.json(&["event", "list"]);
    let e = &events.as_array().unwrap()[0];
    assert_eq!(e["starts_at"], "2026-07-14T10:00:00");
    assert_eq!(e["timezone"], "Europe/Lisbon");
    assert_eq!(e["recurrence"], "FREQ=WEEKLY;BYDAY=TU;COUNT=3");

    // A reader in Sofia (summer: UTC+3) sets a password and her zone.
    let link = a.ok(&["user", "add", "sofia", "--role", "reader"]);
    chrome.forget_cookies().await;
    chrome.goto(link.trim()).await;
    chrome.fill("#password", "a long enough password").await;
    chrome.fill("#again", "a long enough password").await;
    chrome.shot("set-password").await;
    chrome.click("button[type=submit]").await;
    chrome.wait("#results").await;
    assert!(
        chrome
            .client
            .find(fantoccini::Locator::Css("#add-practice"))
            .await
            .is_err(),
        "readers get no add button"
    );
    chrome.goto(&format!("{}/account", base(&a))).await;
    chrome.select("#zone", "Europe/Sofia").await;
    chrome.click("#save-settings").await;
    chrome.wait("#notice").await;

    // Her agenda and month show the sessions at 12:00.
    chrome
        .goto(&format!(
            "{}/calendar/agenda?from=2026-07-01&days=31",
            base(&a)
        ))
        .await;
    chrome.wait_text("Peer exchange in Lisbon").await;
    let agenda = chrome.text("#agenda").await;
    assert_eq!(agenda.matches("12:00–14:00").count(), 3, "{agenda}");
    assert!(agenda.contains("10:00 Europe/Lisbon"), "{agenda}");
    assert!(agenda.contains("Tuesday 14 July 2026"), "{agenda}");
    chrome.shot("agenda").await;
    chrome
        .goto(&format!("{}/calendar?month=2026-07", base(&a)))
        .await;
    let month = chrome.text("#month").await;
    assert_eq!(month.matches("12:00–14:00").count(), 3, "{month}");
    chrome.shot("month").await;

    // She subscribes: the secret address serves the calendar to any client.
    chrome.goto(&format!("{}/account", base(&a))).await;
    chrome.click("#make-feed").await;
    let url = chrome.text("#feed-url").await;
    chrome.shot("account").await;
    let path = url
        .strip_prefix(&format!("http://{addr}"))
        .expect("the feed address is on this node");
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    let feed = http(&addr, &addr, &format!("GET {path}"), &[], "");
    assert_eq!(feed.status, 200, "{}", feed.head);
    assert!(feed
        .head
        .contains("content-type: text/calendar; charset=utf-8"));
    let cal = parse_ics(&feed.body);
    let ev = &cal.events[0];
    let prop = |name: &str| {
        ev.properties
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", ev.properties))
    };
    assert_eq!(
        prop("SUMMARY").value.as_deref(),
        Some("Peer exchange in Lisbon")
    );
    assert_eq!(prop("DTSTART").value.as_deref(), Some("20260714T100000"));
    let tzid = prop("DTSTART").params.as_ref().unwrap();
    assert!(tzid
        .iter()
        .any(|(k, v)| k == "TZID" && v == &["Europe/Lisbon"]));
    assert!(prop("RRULE").value.as_deref().unwrap().contains("COUNT=3"));
    // Revoked, the address answers nothing.
    chrome
        .client
        .find(fantoccini::Locator::Css("button[value=revoke]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome.wait("#make-feed").await;
    assert_eq!(
        http(&addr, &addr, &format!("GET {path}"), &[], "").status,
        404
    );

    // Password login, and a wrong password refused.
    chrome.forget_cookies().await;
    chrome.goto(&format!("{}/login", base(&a))).await;
    chrome.fill("#name", "sofia").await;
    chrome.fill("#password", "not her password").await;
    chrome.click("button[type=submit]").await;
    chrome.wait("#login-error").await;
    chrome.shot("login-failed").await;
    chrome.fill("#password", "a long enough password").await;
    chrome.click("button[type=submit]").await;
    chrome.wait("#results").await;
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_readers_forged_forms_and_other_hosts_are_refused() {
    let a = founder();
    let addr = a.web_addr();
    add_practice(&a, "p-ref", "Mentoring after release", BODY);
    a.ok(&["user", "add", "rita", "--role", "reader"]);
    a.ok(&["user", "add", "eddie", "--role", "editor"]);
    let title = || a.json(&["practice", "show", "p-ref"])["title"].clone();
    let mut chrome = Chrome::start("refusals").await;

    // A logged-out browser is sent to the login page.
    chrome
        .goto(&format!("{}/practices/p-ref/edit", base(&a)))
        .await;
    chrome.wait("#password").await;
    assert!(
        chrome.url().await.contains("/login?next="),
        "{}",
        chrome.url().await
    );
    chrome.shot("logged-out").await;
    let posted = http(
        &addr,
        &addr,
        "POST /practices/p-ref/edit",
        &[],
        "title=Hijacked&csrf=x",
    );
    assert_eq!(posted.status, 403, "{}", posted.body);

    // A reader reads, but may not edit.
    chrome.goto(&login_url(&a, Some("rita"))).await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    chrome.goto(&format!("{}/practices/p-ref", base(&a))).await;
    chrome.wait("#body").await;
    assert!(!chrome.source().await.contains("id=\"edit\""));
    chrome
        .goto(&format!("{}/practices/p-ref/edit", base(&a)))
        .await;
    chrome.wait_text("Not allowed").await;
    chrome.shot("reader-refused").await;
    let cookie = chrome.session_cookie().await.expect("a session");
    chrome.goto(&format!("{}/practices/p-ref", base(&a))).await;
    let csrf = chrome.csrf().await;
    let cookie_header = format!("r2com_session={cookie}");
    let posted = http(
        &addr,
        &addr,
        "POST /practices/p-ref/edit",
        &[("Cookie", &cookie_header)],
        &format!("csrf={csrf}&title=Hijacked"),
    );
    assert_eq!(posted.status, 403, "{}", posted.body);
    let staff = http(
        &addr,
        &addr,
        "GET /staff",
        &[("Cookie", &cookie_header)],
        "",
    );
    assert_eq!(staff.status, 403);

    // An editor's form with a forged token is refused, and so is her valid
    // form sent from another site.
    chrome.forget_cookies().await;
    chrome.goto(&login_url(&a, Some("eddie"))).await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    chrome
        .goto(&format!("{}/practices/p-ref/edit", base(&a)))
        .await;
    chrome.fill("#title", "Forged title").await;
    chrome
        .client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged');",
            vec![],
        )
        .await
        .unwrap();
    chrome.click("#save").await;
    chrome
        .wait_text("has expired or was not sent from this site")
        .await;
    chrome.shot("csrf-refused").await;
    let cookie = chrome.session_cookie().await.expect("a session");
    chrome
        .goto(&format!("{}/practices/p-ref/edit", base(&a)))
        .await;
    let csrf = chrome.csrf().await;
    let cookie_header = format!("r2com_session={cookie}");
    let cross = http(
        &addr,
        &addr,
        "POST /practices/p-ref/edit",
        &[
            ("Cookie", &cookie_header),
            ("Origin", "http://evil.example.com"),
        ],
        &format!("csrf={csrf}&title=Cross-site"),
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    assert_eq!(title(), "Mentoring after release", "nothing changed");
    // The same form from this site goes through.
    let origin = format!("http://{addr}");
    let ok = http(
        &addr,
        &addr,
        "POST /practices/p-ref/edit",
        &[("Cookie", &cookie_header), ("Origin", &origin)],
        &format!(
            "csrf={csrf}&title=Renamed&organisation=lmds&evidence=not+yet+evaluated&status=draft\
             &contact=team%40example.org&themes=mentoring&languages=pt&countries=PT&body={}&base_body={}",
            form_encode(BODY),
            form_encode(BODY)
        ),
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(title(), "Renamed");

    // Another host name (DNS rebinding) gets nothing, logged in or not.
    for headers in [vec![], vec![("Cookie", cookie_header.as_str())]] {
        let port = addr.rsplit(':').next().unwrap();
        let evil = format!("evil.example.com:{port}");
        let r = http(&addr, &evil, "GET /practices", &headers, "");
        assert_eq!(r.status, 421, "{}", r.head);
        assert!(!r.body.contains("Renamed"));
    }
    // Every answer carries the strict policy.
    let login = http(&addr, &addr, "GET /login", &[], "");
    assert_eq!(login.status, 200);
    assert!(login
        .head
        .contains("content-security-policy: default-src 'none'; script-src 'self'"));
    assert!(login.head.contains("samesite=strict") && login.head.contains("httponly"));

    // The admin pages, for the screenshots.
    chrome.forget_cookies().await;
    chrome.goto(&login_url(&a, None)).await;
    chrome.click("#continue").await;
    chrome.wait("#results").await;
    chrome.goto(&format!("{}/staff", base(&a))).await;
    chrome.wait("#staff").await;
    chrome.shot("staff").await;
    chrome.goto(&format!("{}/consortium", base(&a))).await;
    chrome.wait("#members").await;
    chrome.shot("consortium").await;
    chrome.close().await;
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
