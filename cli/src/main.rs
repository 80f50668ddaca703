//! The `r2com` binary. `r2com run` starts the node; every other command is a
//! thin client of its control API (or works on the store directly while the
//! node is stopped).
//!
//! Exit codes: 0 success, 1 internal or I/O error, 2 bad command line,
//! 3 invalid input (nothing changed), 4 not found, 5 exists already,
//! 6 verification failed.

mod args;
mod client;
mod output;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use serde_json::{json, Map, Value};

use args::{
    CalendarCmd, CalendarFilter, Cli, Command, ConsortiumCmd, EditArgs, EventAdd, EventCmd, Fold,
    HandoverCmd, PracticeAdd, PracticeCmd,
};
use client::CallError;
use r2com_protocol::control::{Edit, ErrorCode, ListFilter, Request};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::roster::{OrgInfo, Role};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CallError::Api(e)) => {
            eprintln!("r2com: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::Internal => 1,
                ErrorCode::Invalid => 3,
                ErrorCode::NotFound => 4,
                ErrorCode::Exists => 5,
                ErrorCode::VerifyFailed => 6,
                ErrorCode::Unavailable => 7,
            })
        }
        Err(CallError::Other(e)) => {
            eprintln!("r2com: {:#}", e);
            ExitCode::from(1)
        }
    }
}

fn data_dir(cli: &Cli) -> anyhow::Result<PathBuf> {
    match &cli.data_dir {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("r2com"))
            .ok_or_else(|| anyhow!("no data directory: give --data-dir or set R2COM_DATA_DIR")),
    }
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn call(dir: &Path, req: Request) -> Result<Value, CallError> {
    client::call(dir, &req, &mut |_, _| {})
}

fn run(cli: Cli) -> Result<(), CallError> {
    let dir = data_dir(&cli)?;
    let json = cli.json;
    match cli.command {
        Command::Init => {
            let (key, created) =
                r2com_node::identity::init(&dir).context("creating the node key")?;
            let v = json!({
                "public_key": key.public().to_hex(),
                "peer_id": r2com_node::identity::peer_id(&key),
                "data_dir": dir.display().to_string(),
                "created": created,
            });
            if json {
                print_json(&v)?;
            } else {
                if !created {
                    eprintln!("r2com: {} has a key already; keeping it", dir.display());
                }
                println!(
                    "public key  {}",
                    v["public_key"].as_str().unwrap_or_default()
                );
                println!("peer id     {}", v["peer_id"].as_str().unwrap_or_default());
                println!("data dir    {}", dir.display());
            }
        }
        Command::Id => {
            let key = r2com_node::identity::load(&dir).map_err(anyhow::Error::new)?;
            let v = json!({
                "public_key": key.public().to_hex(),
                "peer_id": r2com_node::identity::peer_id(&key),
            });
            if json {
                print_json(&v)?;
            } else {
                println!(
                    "public key  {}",
                    v["public_key"].as_str().unwrap_or_default()
                );
                println!("peer id     {}", v["peer_id"].as_str().unwrap_or_default());
            }
        }
        Command::Run {
            feed_listen,
            listen,
            no_mdns,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .init();
            let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
            rt.block_on(r2com_node::run::run(
                &dir,
                feed_listen.as_deref(),
                r2com_node::run::NetOptions { listen, no_mdns },
            ))
            .map_err(anyhow::Error::new)?;
        }
        Command::Status => {
            let v = call(&dir, Request::Status)?;
            if json {
                print_json(&v)?;
            } else {
                let c = &v["counts"];
                println!("public key  {}", output::cell(&v["public_key"]));
                println!("peer id     {}", output::cell(&v["peer_id"]));
                println!("data dir    {}", output::cell(&v["data_dir"]));
                println!(
                    "node        {}",
                    if v["running"] == true {
                        "running"
                    } else {
                        "stopped (store opened directly)"
                    }
                );
                let cons = &v["consortium"];
                if let Some(l) = v.get("listen") {
                    println!("listening   {}", output::cell(l));
                }
                if cons.is_null() {
                    println!("consortium  none (r2com consortium create, or r2com join TOKEN)");
                } else {
                    println!(
                        "consortium  {} ({}), {} members; this node: {}",
                        output::cell(&cons["name"]),
                        output::cell(&cons["id"]),
                        cons["members"],
                        output::cell(&cons["this_node"])
                    );
                }
                println!(
                    "records     {} practices, {} events ({} documents, {} signed changes)",
                    c["practices"], c["events"], c["documents"], c["changes"]
                );
            }
        }
        Command::Import { file } => {
            let data = read_json_file(&file)?;
            let bar = indicatif::ProgressBar::new(0);
            if !std::io::stderr().is_terminal() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {elapsed}")
                    .expect("template"),
            );
            let result = client::call(&dir, &Request::Import { data }, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let v = result?;
            if json {
                print_json(&v)?;
            } else {
                println!(
                    "imported {} records: {} created, {} updated, {} unchanged",
                    v["records"], v["created"], v["updated"], v["unchanged"]
                );
            }
        }
        Command::Export { out } => {
            let v = call(&dir, Request::Export)?;
            let mut text = serde_json::to_string_pretty(&v).context("encoding")?;
            text.push('\n');
            match out {
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .context("writing")?,
                Some(path) => write_atomically(&path, text.as_bytes())?,
            }
        }
        Command::Practice(cmd) => practice(&dir, json, cmd)?,
        Command::Event(cmd) => event(&dir, json, cmd)?,
        Command::Calendar(cmd) => calendar(&dir, json, cmd)?,
        Command::Search { text, limit } => {
            let v = call(
                &dir,
                Request::Search {
                    query: text.join(" "),
                    limit,
                },
            )?;
            if json {
                print_json(&v)?;
            } else {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|h| {
                                vec![
                                    output::cell(&h["kind"]),
                                    output::cell(&h["id"]),
                                    output::cell(&h["score"]),
                                    output::cell(&h["title"]),
                                    output::cell(&h["snippet"]),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if rows.is_empty() {
                    eprintln!("no matches");
                } else {
                    output::table(&["KIND", "ID", "SCORE", "TITLE", "MATCH"], &rows, 60);
                }
            }
        }
        Command::Consortium(ConsortiumCmd::Create {
            name,
            org,
            org_name,
            country,
        }) => {
            let org = OrgInfo {
                key: org,
                name: org_name,
                country,
            };
            let v = call(&dir, Request::ConsortiumCreate { name, org })?;
            if json {
                print_json(&v)?;
            } else {
                println!(
                    "founded consortium {} ({})",
                    output::cell(&v["name"]),
                    output::cell(&v["consortium"])
                );
            }
        }
        Command::Invite(a) => {
            let org = OrgInfo {
                key: a.org,
                name: a.org_name,
                country: a.country,
            };
            let expires_secs = duration(&a.expires, "expires")?.num_seconds();
            let v = call(
                &dir,
                Request::Invite {
                    org,
                    key: a.key,
                    admin: a.admin,
                    expires_secs,
                    addrs: a.addrs,
                },
            )?;
            if json {
                print_json(&v)?;
            } else {
                eprintln!("invite for {} valid until {}; give this token to that node (r2com join TOKEN):", output::cell(&v["key"]), output::cell(&v["expires_at"]));
                println!("{}", output::cell(&v["token"]));
            }
        }
        Command::Join { token } => {
            let v = call(&dir, Request::Join { token })?;
            if json {
                print_json(&v)?;
            } else if v["admitted"] == true {
                println!(
                    "joined consortium {} as {}",
                    output::cell(&v["consortium"]),
                    output::cell(&v["org"])
                );
            } else {
                println!(
                    "invite accepted for consortium {} as {}; admission completes when a member receives it (addresses: {})",
                    output::cell(&v["consortium"]),
                    output::cell(&v["org"]),
                    output::cell(&v["addrs"])
                );
            }
        }
        Command::Members => {
            let v = call(&dir, Request::Members)?;
            if json {
                print_json(&v)?;
            } else {
                let mut rows = Vec::new();
                for o in v["orgs"].as_array().cloned().unwrap_or_default() {
                    for k in o["keys"].as_array().cloned().unwrap_or_default() {
                        let revoked = if !o["revoked"].is_null() {
                            format!("org revoked {}", output::cell(&o["revoked"]["at"]))
                        } else if !k["revoked"].is_null() {
                            format!("key revoked {}", output::cell(&k["revoked"]["at"]))
                        } else {
                            "-".into()
                        };
                        rows.push(vec![
                            output::cell(&o["key"]),
                            output::cell(&o["name"]),
                            output::cell(&o["country"]),
                            output::cell(&o["role"]),
                            output::cell(&k["key"])[..16].to_owned(),
                            output::cell(&k["added_by"]).chars().take(16).collect(),
                            output::cell(&k["added_at"]),
                            revoked,
                        ]);
                    }
                }
                output::table(
                    &[
                        "ORG", "NAME", "CC", "ROLE", "NODE KEY", "ADDED BY", "ADDED AT", "REVOKED",
                    ],
                    &rows,
                    40,
                );
            }
        }
        Command::Revoke { target, reason } => {
            let v = call(&dir, Request::Revoke { target, reason })?;
            if json {
                print_json(&v)?;
            } else {
                println!("revoked {}", output::cell(&v["revoked"]));
            }
        }
        Command::Promote { org } => set_role(&dir, json, org, Role::Admin)?,
        Command::Demote { org } => set_role(&dir, json, org, Role::Member)?,
        Command::Roster(cmd) => handover(&dir, json, cmd, Request::RosterExport, |data| {
            Request::RosterImport { data }
        })?,
        Command::Changes(cmd) => handover(&dir, json, cmd, Request::ChangesExport, |data| {
            Request::ChangesImport { data }
        })?,
        Command::Peer(args::PeerCmd::Add { addr }) => {
            let v = call(&dir, Request::PeerAdd { addr })?;
            if json {
                print_json(&v)?;
            } else {
                println!("added {}", output::cell(&v["added"]));
            }
        }
        Command::Peers => {
            let v = call(&dir, Request::Peers)?;
            if json {
                print_json(&v)?;
            } else {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        vec![
                            output::cell(&p["org"]),
                            output::cell(&p["peer_id"]),
                            if p["revoked"] == true {
                                "revoked".into()
                            } else if p["connected"] == true {
                                "connected".into()
                            } else {
                                "-".into()
                            },
                            output::cell(&p["last_sync"]),
                            format!("{}/{}", p["we_lack"], p["they_lack"]),
                            format!("{}/{}", p["bytes_sent"], p["bytes_received"]),
                            output::cell(&p["addrs"]),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "ORG",
                        "PEER",
                        "STATE",
                        "LAST SYNC",
                        "LACK US/THEM",
                        "BYTES OUT/IN",
                        "ADDRESSES",
                    ],
                    &rows,
                    60,
                );
            }
        }
        Command::Sync { peer } => {
            let v = call(&dir, Request::Sync { peer })?;
            if json {
                print_json(&v)?;
            } else {
                for r in v.as_array().cloned().unwrap_or_default() {
                    let res = &r["result"];
                    if res.get("error").is_some() {
                        println!(
                            "{}: failed: {}",
                            output::cell(&r["peer"]),
                            output::cell(&res["error"])
                        );
                    } else {
                        println!(
                            "{}: fetched {} changes; it lacks {}",
                            output::cell(&r["peer"]),
                            res["fetched"],
                            res["they_lack"]
                        );
                    }
                }
            }
        }
        Command::Verify => {
            let v = call(&dir, Request::Verify)?;
            if json {
                print_json(&v)?;
            } else {
                println!(
                    "verified {} signed changes in {} documents: {} valid, {} invalid",
                    v["changes"], v["documents"], v["valid"], v["invalid"]
                );
            }
        }
    }
    Ok(())
}

fn set_role(dir: &Path, json: bool, org: String, role: Role) -> Result<(), CallError> {
    let v = call(dir, Request::SetRole { org, role })?;
    if json {
        print_json(&v)?;
    } else {
        println!(
            "{} is now {}",
            output::cell(&v["org"]),
            output::cell(&v["role"])
        );
    }
    Ok(())
}

fn handover(
    dir: &Path,
    json: bool,
    cmd: HandoverCmd,
    export: Request,
    import: impl Fn(Value) -> Request,
) -> Result<(), CallError> {
    match cmd {
        HandoverCmd::Export { out } => {
            let v = call(dir, export)?;
            let mut text = serde_json::to_string(&v).context("encoding")?;
            text.push('\n');
            match out {
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .context("writing")?,
                Some(path) => write_atomically(&path, text.as_bytes())?,
            }
        }
        HandoverCmd::Import { file } => {
            let data = read_json_file(&file)?;
            let v = call(dir, import(data))?;
            let _ = json;
            print_json(&v)?;
        }
    }
    Ok(())
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn read_json_file(path: &Path) -> anyhow::Result<Value> {
    let bytes = read_input(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_record(json: bool, v: &Value) -> anyhow::Result<()> {
    if json {
        return print_json(v);
    }
    let Some(obj) = v.as_object() else {
        return print_json(v);
    };
    let long = ["summary", "body", "description"];
    for (k, val) in obj {
        if !long.contains(&k.as_str()) {
            println!("{:<14}{}", k, output::cell(val));
        }
    }
    for k in long {
        if let Some(text) = obj.get(k).and_then(Value::as_str) {
            println!("\n{k}:\n{text}");
        }
    }
    Ok(())
}

fn list_rows(json: bool, kind: RecordKind, v: &Value, full: bool) -> anyhow::Result<()> {
    if json || full {
        return print_json(v);
    }
    let items = v.as_array().cloned().unwrap_or_default();
    let (headers, fields): (&[&str], &[&str]) = match kind {
        RecordKind::Practice => (
            &["ID", "ORG", "STATUS", "EVIDENCE", "UPDATED", "TITLE"],
            &[
                "id",
                "organisation",
                "status",
                "evidence",
                "updated_at",
                "title",
            ],
        ),
        RecordKind::Event => (
            &["ID", "STARTS", "ZONE", "ORG", "FORMAT", "STATUS", "TITLE"],
            &[
                "id",
                "starts_at",
                "timezone",
                "organiser",
                "format",
                "status",
                "title",
            ],
        ),
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| fields.iter().map(|f| output::cell(&r[*f])).collect())
        .collect();
    output::table(headers, &rows, 70);
    eprintln!("{} {}s", rows.len(), kind);
    Ok(())
}

fn edits(args: &EditArgs, default_field: &str) -> anyhow::Result<Vec<Edit>> {
    let mut out = Vec::new();
    for s in &args.sets {
        let (field, value) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {s:?}: write FIELD=VALUE"))?;
        out.push(Edit::Set {
            field: field.trim().to_owned(),
            value: value.to_owned(),
        });
    }
    let field = args
        .field
        .clone()
        .unwrap_or_else(|| default_field.to_owned());
    if let Some(path) = &args.text_file {
        let text = String::from_utf8(read_input(path)?)
            .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
        out.push(Edit::Set {
            field: field.clone(),
            value: text,
        });
    }
    for s in &args.splice {
        let mut parts = s.splitn(3, ':');
        let (Some(pos), Some(del), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("--splice {s:?}: write POS:DELETE:TEXT");
        };
        let pos = pos
            .parse()
            .with_context(|| format!("--splice {s:?}: POS is not a number"))?;
        let delete = del
            .parse()
            .with_context(|| format!("--splice {s:?}: DELETE is not a number"))?;
        out.push(Edit::Splice {
            field: field.clone(),
            pos,
            delete,
            insert: text.to_owned(),
        });
    }
    if out.is_empty() {
        bail!("nothing to change: give --set, --text-file or --splice");
    }
    Ok(out)
}

fn practice(dir: &Path, json: bool, cmd: PracticeCmd) -> Result<(), CallError> {
    let kind = RecordKind::Practice;
    match cmd {
        PracticeCmd::List(f) => {
            let full = f.full;
            let filter = ListFilter {
                organisation: f.org,
                theme: f.theme,
                target_group: f.target_group,
                status: f.status,
                language: f.language,
                country: f.country,
                evidence: f.evidence,
                full,
                ..Default::default()
            };
            let v = call(dir, Request::List { kind, filter })?;
            list_rows(json, kind, &v, full)?;
        }
        PracticeCmd::Show { id } => print_record(json, &call(dir, Request::Show { kind, id })?)?,
        PracticeCmd::Add(a) => {
            let record = practice_value(*a)?;
            let v = call(
                dir,
                Request::Add {
                    kind,
                    record,
                    accept_ambiguous: false,
                },
            )?;
            report_written(json, "added", &v)?;
        }
        PracticeCmd::Edit(a) => {
            let edits = edits(&a, "body")?;
            let v = call(
                dir,
                Request::Edit {
                    kind,
                    id: a.id,
                    edits,
                    accept_ambiguous: false,
                },
            )?;
            report_written(json, "updated", &v)?;
        }
        PracticeCmd::Rm { id } => {
            let v = call(dir, Request::Remove { kind, id })?;
            report_written(json, "removed", &v)?;
        }
    }
    Ok(())
}

fn event(dir: &Path, json: bool, cmd: EventCmd) -> Result<(), CallError> {
    let kind = RecordKind::Event;
    match cmd {
        EventCmd::List(f) => {
            let full = f.full;
            let filter = ListFilter {
                organisation: f.org,
                status: f.status,
                language: f.language,
                format: f.format,
                from: f.from,
                to: f.to,
                full,
                ..Default::default()
            };
            let v = call(dir, Request::List { kind, filter })?;
            list_rows(json, kind, &v, full)?;
        }
        EventCmd::Show { id } => print_record(json, &call(dir, Request::Show { kind, id })?)?,
        EventCmd::Add(a) => {
            let accept_ambiguous = accept_fold(a.fold)?;
            let record = event_value(*a)?;
            let v = call(
                dir,
                Request::Add {
                    kind,
                    record,
                    accept_ambiguous,
                },
            )?;
            report_written(json, "added", &v)?;
        }
        EventCmd::Edit(a) => {
            let edits = edits(&a, "description")?;
            let accept_ambiguous = accept_fold(a.fold)?;
            let v = call(
                dir,
                Request::Edit {
                    kind,
                    id: a.id,
                    edits,
                    accept_ambiguous,
                },
            )?;
            report_written(json, "updated", &v)?;
        }
        EventCmd::Rm { id } => {
            let v = call(dir, Request::Remove { kind, id })?;
            report_written(json, "removed", &v)?;
        }
    }
    Ok(())
}

/// `--fold earlier` accepts a repeated autumn time as stored (its first
/// occurrence); `--fold later` cannot be stored as a wall-clock time.
fn accept_fold(fold: Option<Fold>) -> anyhow::Result<bool> {
    match fold {
        None => Ok(false),
        Some(Fold::Earlier) => Ok(true),
        Some(Fold::Later) => bail!(
            "--fold later: events keep the organiser's wall-clock time, and a time in the \
             repeated autumn hour always means its first (summer-time) occurrence; \
             choose a time outside that hour"
        ),
    }
}

/// The reader's zone: `TZ`, else the target of /etc/localtime, else
/// /etc/timezone, else UTC.
fn system_zone() -> String {
    let valid = |s: &str| s.parse::<chrono_tz::Tz>().is_ok();
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':').trim();
        let tz = tz.rsplit_once("zoneinfo/").map_or(tz, |(_, name)| name);
        if valid(tz) {
            return tz.to_owned();
        }
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let t = target.to_string_lossy();
        if let Some((_, name)) = t.rsplit_once("zoneinfo/") {
            if valid(name) {
                return name.to_owned();
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string("/etc/timezone") {
        if valid(text.trim()) {
            return text.trim().to_owned();
        }
    }
    "UTC".to_owned()
}

fn calendar_filter(f: CalendarFilter) -> ListFilter {
    ListFilter {
        organisation: f.org,
        format: f.format,
        status: f.status,
        language: f.language,
        ..Default::default()
    }
}

fn calendar(dir: &Path, json: bool, cmd: CalendarCmd) -> Result<(), CallError> {
    match cmd {
        CalendarCmd::Agenda(a) => {
            let zone = match a.tz {
                Some(z) => {
                    z.parse::<chrono_tz::Tz>().map_err(|_| {
                        anyhow!("--tz {z:?}: not an IANA time zone (Europe/Paris, ...)")
                    })?;
                    z
                }
                None => system_zone(),
            };
            let tz: chrono_tz::Tz = zone.parse().expect("checked zone");
            let today = chrono::Utc::now().with_timezone(&tz).date_naive();
            let from = match a.from {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").context("--from")?,
                None => today,
            };
            let to = match a.to {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").context("--to")?,
                None => from + chrono::Duration::days(90),
            };
            let v = call(
                dir,
                Request::CalendarAgenda {
                    from: from.to_string(),
                    to: to.to_string(),
                    zone: zone.clone(),
                    filter: calendar_filter(a.filter),
                },
            )?;
            if json {
                print_json(&v)?;
            } else {
                let rows: Vec<Vec<String>> = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| {
                                let when = |k: &str| {
                                    r[k].as_str()
                                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                                        .map(|t| t.format("%a %Y-%m-%d %H:%M").to_string())
                                        .unwrap_or_default()
                                };
                                let ends = when("ends");
                                let mark = match r["status"].as_str() {
                                    Some("cancelled") => "CANCELLED ",
                                    Some("postponed") => "POSTPONED ",
                                    _ => "",
                                };
                                let starts = when("starts");
                                // Same day: only the time; else the whole end.
                                let ends = if starts.get(..14) == ends.get(..14) {
                                    ends.get(15..).unwrap_or_default().to_owned()
                                } else {
                                    ends
                                };
                                vec![
                                    starts,
                                    ends,
                                    output::cell(&r["id"]),
                                    output::cell(&r["organiser"]),
                                    format!("{mark}{}", output::cell(&r["title"])),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                output::table(&["STARTS", "ENDS", "ID", "ORG", "TITLE"], &rows, 70);
                eprintln!(
                    "{} sessions from {from} to {to}, times in {zone}",
                    rows.len()
                );
            }
        }
        CalendarCmd::Export(a) => {
            let v = call(
                dir,
                Request::CalendarIcs {
                    filter: calendar_filter(a.filter),
                },
            )?;
            let text = v
                .as_str()
                .ok_or_else(|| anyhow!("the node did not answer with a calendar"))?;
            match a.out {
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .context("writing")?,
                Some(path) => write_atomically(&path, text.as_bytes())?,
            }
        }
    }
    Ok(())
}

fn report_written(json: bool, what: &str, v: &Value) -> anyhow::Result<()> {
    if json {
        print_json(v)
    } else {
        let id = v
            .get("id")
            .or_else(|| v.get("removed"))
            .map(output::cell)
            .unwrap_or_default();
        println!("{what} {id}");
        Ok(())
    }
}

fn practice_value(a: PracticeAdd) -> anyhow::Result<Value> {
    if let Some(path) = a.from_json {
        return read_json_file(&path);
    }
    let body = match &a.body_file {
        Some(p) => String::from_utf8(read_input(p)?).context("the body file is not UTF-8 text")?,
        None => a.body,
    };
    let mut m = Map::new();
    if let Some(id) = a.id {
        m.insert("id".into(), id.into());
    }
    m.insert("title".into(), a.title.unwrap_or_default().into());
    m.insert("summary".into(), a.summary.into());
    m.insert("body".into(), body.into());
    m.insert("themes".into(), a.themes.into());
    m.insert("target_groups".into(), a.target_groups.into());
    m.insert("countries".into(), a.countries.into());
    m.insert("languages".into(), a.languages.into());
    m.insert(
        "organisation".into(),
        a.organisation.unwrap_or_default().into(),
    );
    m.insert("evidence".into(), a.evidence.into());
    m.insert("contact".into(), a.contact.unwrap_or_default().into());
    m.insert("status".into(), a.status.into());
    Ok(Value::Object(m))
}

/// "2026-03-10 10:00", "2026-03-10T10:00:00" -> "2026-03-10T10:00:00".
fn local_time(s: &str, what: &str) -> anyhow::Result<chrono::NaiveDateTime> {
    let s = s.trim().replace(' ', "T");
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&s, fmt) {
            return Ok(t);
        }
    }
    bail!("--{what} {s:?}: write a local time like \"2026-03-10 10:00\"")
}

/// "90m", "2h", "1h30m", "2d", "30s" -> a duration.
fn duration(s: &str, flag: &str) -> anyhow::Result<chrono::Duration> {
    let mut total = chrono::Duration::zero();
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num
            .parse()
            .map_err(|_| anyhow!("--{flag} {s:?}: write 90m, 2h, 1h30m, 2d or 30s"))?;
        num.clear();
        total += match c {
            'd' => chrono::Duration::days(n),
            'h' => chrono::Duration::hours(n),
            'm' => chrono::Duration::minutes(n),
            's' => chrono::Duration::seconds(n),
            _ => bail!("--{flag} {s:?}: write 90m, 2h, 1h30m, 2d or 30s"),
        };
    }
    if !num.is_empty() || total <= chrono::Duration::zero() {
        bail!("--{flag} {s:?}: write 90m, 2h, 1h30m, 2d or 30s");
    }
    Ok(total)
}

fn event_value(a: EventAdd) -> anyhow::Result<Value> {
    if let Some(path) = a.from_json {
        return read_json_file(&path);
    }
    let fmt = "%Y-%m-%dT%H:%M:%S";
    let starts = local_time(a.starts.as_deref().unwrap_or_default(), "starts")?;
    let ends = match (&a.ends, &a.duration) {
        (Some(e), _) => local_time(e, "ends")?,
        (None, Some(d)) => starts + duration(d, "duration")?,
        (None, None) => bail!("give --ends or --duration"),
    };
    let mut m = Map::new();
    if let Some(id) = a.id {
        m.insert("id".into(), id.into());
    }
    m.insert("title".into(), a.title.unwrap_or_default().into());
    m.insert("description".into(), a.description.into());
    m.insert("starts_at".into(), starts.format(fmt).to_string().into());
    m.insert("ends_at".into(), ends.format(fmt).to_string().into());
    m.insert("timezone".into(), a.tz.unwrap_or_default().into());
    m.insert("format".into(), a.format.into());
    m.insert("organiser".into(), a.organiser.unwrap_or_default().into());
    m.insert("language".into(), a.language.into());
    m.insert("capacity".into(), a.capacity.into());
    m.insert("location".into(), a.location.into());
    m.insert("online_url".into(), a.online_url.into());
    m.insert("status".into(), a.status.into());
    if let Some(r) = a.rrule {
        m.insert("recurrence".into(), r.into());
    }
    Ok(Value::Object(m))
}
