//! `practice ...` and `event ...`: list, show, add, edit, rm.

use anyhow::anyhow;
use serde_json::{Map, Value};

use r2com_protocol::control::{
    ApiError, AttachmentRow, Edit, ErrorCode, EventRow, ListFilter, PracticeRow, Record, Removed,
    Request, Response, MAX_LIST_PAGE,
};
use r2com_protocol::ids::RecordKind;

use super::Ctx;
use crate::args::{EditArgs, EventAdd, EventCmd, Fold, PracticeAdd, PracticeCmd};
use crate::error::CliError;
use crate::render::{Listed, Saved, Shown};
use crate::{client, files, Outcome};

pub fn practice(ctx: &Ctx, cmd: PracticeCmd) -> Outcome {
    let kind = RecordKind::Practice;
    match cmd {
        PracticeCmd::List(f) => list(
            ctx,
            kind,
            ListFilter {
                organisation: f.org,
                theme: f.theme,
                target_group: f.target_group,
                status: f.status,
                language: f.language,
                country: f.country,
                evidence: f.evidence,
                full: f.full,
                ..Default::default()
            },
        ),
        PracticeCmd::Show { id } => show(ctx, kind, id),
        PracticeCmd::Add(a) => {
            let reuse = a.reuse;
            let record = practice_value(*a)?;
            add(ctx, kind, record, false, reuse)
        }
        PracticeCmd::Edit(a) => {
            let edits = edits(&a, "body")?;
            edit(ctx, kind, a.id, edits, false)
        }
        PracticeCmd::Rm { id } => remove(ctx, kind, id),
    }
}

pub fn event(ctx: &Ctx, cmd: EventCmd) -> Outcome {
    let kind = RecordKind::Event;
    match cmd {
        EventCmd::List(f) => list(
            ctx,
            kind,
            ListFilter {
                organisation: f.org,
                status: f.status,
                language: f.language,
                format: f.format,
                from: f.from,
                to: f.to,
                full: f.full,
                ..Default::default()
            },
        ),
        EventCmd::Show { id } => show(ctx, kind, id),
        EventCmd::Add(a) => {
            let accept_ambiguous = accept_fold(a.fold)?;
            let reuse = a.reuse;
            let record = event_value(*a)?;
            add(ctx, kind, record, accept_ambiguous, reuse)
        }
        EventCmd::Edit(a) => {
            let edits = edits(&a, "description")?;
            let accept_ambiguous = accept_fold(a.fold)?;
            edit(ctx, kind, a.id, edits, accept_ambiguous)
        }
        EventCmd::Rm { id } => remove(ctx, kind, id),
    }
}

fn list(ctx: &Ctx, kind: RecordKind, filter: ListFilter) -> Outcome {
    let listed = match (filter.full, kind) {
        (true, _) => Listed::Records(pages(ctx, kind, filter, |r| match r {
            Response::Records(v) => Ok(v),
            other => Err(other.name()),
        })?),
        (false, RecordKind::Practice) => {
            Listed::Practices(pages(ctx, kind, filter, |r| match r {
                Response::Practices(v) => Ok(v),
                other => Err(other.name()),
            })?)
        }
        (false, RecordKind::Event) => Listed::Events(pages(ctx, kind, filter, |r| match r {
            Response::Events(v) => Ok(v),
            other => Err(other.name()),
        })?),
    };
    ctx.emit(&listed)
}

/// A row of a list, by the id that pages the list.
trait Paged {
    fn page_id(&self) -> &str;
}

impl Paged for Record {
    fn page_id(&self) -> &str {
        self.id()
    }
}

impl Paged for PracticeRow {
    fn page_id(&self) -> &str {
        &self.id
    }
}

impl Paged for EventRow {
    fn page_id(&self) -> &str {
        &self.id
    }
}

/// Every row of a list, asked page after page ([`MAX_LIST_PAGE`] rows
/// each, after the last id of the page before), so that the node never
/// holds a big library's whole list in one answer. `rows` takes the rows
/// out of an answer (or names an answer of the wrong kind).
fn pages<T: Paged>(
    ctx: &Ctx,
    kind: RecordKind,
    filter: ListFilter,
    rows: impl Fn(Response) -> Result<Vec<T>, &'static str>,
) -> Result<Vec<T>, CliError> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let filter = ListFilter {
            after: after.take(),
            limit: Some(MAX_LIST_PAGE),
            ..filter.clone()
        };
        let answer = client::call(&ctx.dir, Request::List { kind, filter }, &mut |_, _| {})?;
        let page = rows(answer).map_err(|other| {
            CliError(ApiError::new(
                ErrorCode::Internal,
                format!("the node answered list with {other}"),
            ))
        })?;
        let full = page.len() >= MAX_LIST_PAGE as usize;
        after = page.last().map(|r| r.page_id().to_owned());
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

fn show(ctx: &Ctx, kind: RecordKind, id: String) -> Outcome {
    let record: Record = ctx.ask(Request::Show { kind, id })?;
    let files = if record.attachments().is_empty() || ctx.json {
        Vec::new()
    } else {
        let all: Vec<AttachmentRow> = ctx.ask(Request::Attachments { missing: false })?;
        let me = format!("{kind}/{}", record.id());
        all.into_iter().filter(|r| r.record == me).collect()
    };
    let translations = match &record {
        Record::Practice(p) if !ctx.json => ctx.ask(Request::Translations { id: p.id.clone() })?,
        _ => Vec::new(),
    };
    ctx.emit(&Shown {
        record,
        files,
        translations,
    })
}

fn add(ctx: &Ctx, kind: RecordKind, record: Value, accept_ambiguous: bool, reuse: bool) -> Outcome {
    let record: Record = ctx.ask(Request::Add {
        kind,
        record,
        accept_ambiguous,
        reuse,
    })?;
    ctx.emit(&Saved {
        record,
        verb: "added",
    })
}

fn edit(
    ctx: &Ctx,
    kind: RecordKind,
    id: String,
    edits: Vec<Edit>,
    accept_ambiguous: bool,
) -> Outcome {
    let record: Record = ctx.ask(Request::Edit {
        kind,
        id,
        edits,
        accept_ambiguous,
    })?;
    ctx.emit(&Saved {
        record,
        verb: "updated",
    })
}

fn remove(ctx: &Ctx, kind: RecordKind, id: String) -> Outcome {
    let removed: Removed = ctx.ask(Request::Remove { kind, id })?;
    ctx.emit(&removed)
}

/// `--fold earlier` accepts a repeated autumn time as stored (its first
/// occurrence); `--fold later` cannot be stored as a wall-clock time.
fn accept_fold(fold: Option<Fold>) -> Result<bool, CliError> {
    match fold {
        None => Ok(false),
        Some(Fold::Earlier) => Ok(true),
        Some(Fold::Later) => Err(CliError::usage(
            "--fold later: events keep the organiser's wall-clock time, and a time in the \
             repeated autumn hour always means its first (summer-time) occurrence; \
             choose a time outside that hour",
        )),
    }
}

/// The edits `--set`, `--text-file` and `--splice` ask for.
fn edits(args: &EditArgs, default_field: &str) -> Result<Vec<Edit>, CliError> {
    let mut out = Vec::new();
    for s in &args.sets {
        let (field, value) = s
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--set {s:?}: write FIELD=VALUE")))?;
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
        out.push(Edit::Set {
            field: field.clone(),
            value: files::read_text_file(path)?,
        });
    }
    for s in &args.splice {
        let bad = || CliError::usage(format!("--splice {s:?}: write POS:DELETE:TEXT"));
        let mut parts = s.splitn(3, ':');
        let (Some(pos), Some(del), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        out.push(Edit::Splice {
            field: field.clone(),
            pos: pos.parse().map_err(|_| bad())?,
            delete: del.parse().map_err(|_| bad())?,
            insert: text.to_owned(),
        });
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --set, --text-file or --splice",
        ));
    }
    Ok(out)
}

fn practice_value(a: PracticeAdd) -> Result<Value, CliError> {
    if let Some(path) = a.from_json {
        return Ok(files::read_json_file(&path)?);
    }
    let body = match &a.body_file {
        Some(p) => files::read_text_file(p)?,
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
    if let Some(of) = a.translation_of {
        m.insert("translation_of".into(), of.into());
    }
    if let Some(l) = a.written_in {
        m.insert("language".into(), l.into());
    }
    Ok(Value::Object(m))
}

/// "2026-03-10 10:00", "2026-03-10T10:00:00" -> a local time.
fn local_time(s: &str, flag: &str) -> Result<chrono::NaiveDateTime, CliError> {
    let s = s.trim().replace(' ', "T");
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|fmt| chrono::NaiveDateTime::parse_from_str(&s, fmt).ok())
        .ok_or_else(|| {
            CliError::usage(format!(
                "--{flag} {s:?}: write a local time like \"2026-03-10 10:00\""
            ))
        })
}

fn event_value(a: EventAdd) -> Result<Value, CliError> {
    if let Some(path) = a.from_json {
        return Ok(files::read_json_file(&path)?);
    }
    let fmt = "%Y-%m-%dT%H:%M:%S";
    let starts = local_time(a.starts.as_deref().unwrap_or_default(), "starts")?;
    let ends = match (&a.ends, a.duration) {
        (Some(e), _) => local_time(e, "ends")?,
        (None, Some(d)) => {
            let d = chrono::Duration::from_std(d).map_err(|_| anyhow!("--duration is too long"))?;
            starts + d
        }
        (None, None) => return Err(CliError::usage("give --ends or --duration")),
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
