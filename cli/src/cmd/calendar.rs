//! `calendar agenda` and `calendar export`.

use r2com_protocol::calendar::agenda::AgendaRow;
use r2com_protocol::control::{Ics, ListFilter, Request};

use super::Ctx;
use crate::args::{CalendarCmd, CalendarFilter};
use crate::error::CliError;
use crate::render::Agenda;
use crate::Outcome;

pub fn run(ctx: &Ctx, cmd: CalendarCmd) -> Outcome {
    match cmd {
        CalendarCmd::Agenda(a) => {
            let zone = match a.tz {
                Some(z) if z.parse::<chrono_tz::Tz>().is_ok() => z,
                Some(z) => {
                    return Err(CliError::usage(format!(
                        "--tz {z:?}: not an IANA time zone (Europe/Paris, ...)"
                    )))
                }
                None => system_zone(),
            };
            let tz: chrono_tz::Tz = zone.parse().expect("checked zone");
            let today = chrono::Utc::now().with_timezone(&tz).date_naive();
            // clap checked both dates.
            let date = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
            let from = a.from.as_deref().and_then(date).unwrap_or(today);
            let to =
                a.to.as_deref()
                    .and_then(date)
                    .unwrap_or(from + chrono::Duration::days(90));
            let rows: Vec<AgendaRow> = ctx.ask(Request::CalendarAgenda {
                from: from.to_string(),
                to: to.to_string(),
                zone: zone.clone(),
                filter: filter(a.filter),
            })?;
            ctx.emit(&Agenda {
                rows,
                from: from.to_string(),
                to: to.to_string(),
                zone,
            })
        }
        CalendarCmd::Export(a) => {
            let ics: Ics = ctx.ask(Request::CalendarIcs {
                filter: filter(a.filter),
            })?;
            for why in &ics.skipped {
                let why = crate::output::terminal_safe(why);
                eprintln!("left out (invalid after merging): {why}");
            }
            ctx.export(a.out.as_deref(), &ics, ics.ics.as_bytes())
        }
    }
}

fn filter(f: CalendarFilter) -> ListFilter {
    ListFilter {
        organisation: f.org,
        format: f.format,
        status: f.status,
        language: f.language,
        ..Default::default()
    }
}

/// The reader's zone: `TZ` (a zone name, `:Europe/Paris`, or a path under
/// `zoneinfo/`), else the system's (iana-time-zone: /etc/localtime, then
/// /etc/timezone), else UTC.
fn system_zone() -> String {
    let valid = |s: &str| s.parse::<chrono_tz::Tz>().is_ok();
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':').trim();
        let tz = tz.rsplit_once("zoneinfo/").map_or(tz, |(_, name)| name);
        if valid(tz) {
            return tz.to_owned();
        }
    }
    match iana_time_zone::get_timezone() {
        Ok(z) if valid(&z) => z,
        _ => "UTC".to_owned(),
    }
}
