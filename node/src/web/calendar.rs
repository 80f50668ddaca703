//! The calendar pages: a month and an agenda in the reader's zone
//! (recurrences expanded by the library, daylight-saving changes right,
//! cancelled sessions marked). An event's own page and its forms are
//! [`super::events`].

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use r2com_protocol::control::{ApiError, ListFilter};
use r2com_protocol::record::Event;

use super::api::AgendaRow;
use super::page::{render, Answer, Failure, Page};
use super::session::Staff;
use super::{name_of, AppState, OrgNames};

/// Longest agenda window, in days.
pub const MAX_AGENDA_DAYS: i64 = 366;
/// Default agenda window, in days.
pub const AGENDA_DAYS: i64 = 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(month))
        .route("/calendar/agenda", get(agenda))
}

/// One session as the pages show it.
pub struct SessionView {
    pub id: String,
    pub title: String,
    /// `10:00–12:00` in the reader's zone.
    pub time: String,
    /// The organiser's own time when their zone differs (`10:00 Europe/Lisbon`).
    pub organiser_time: Option<String>,
    pub organiser: String,
    pub format: String,
    pub cancelled: bool,
    pub status: String,
    pub place: Option<String>,
    pub online_url: Option<String>,
}

fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

impl SessionView {
    pub fn of(page: &Page, orgs: &OrgNames, r: &AgendaRow) -> SessionView {
        let (start, end) = (parse_time(&r.starts), parse_time(&r.ends));
        let time = match (start, end) {
            (Some(s), Some(e)) if s.date_naive() == e.date_naive() => {
                format!("{}–{}", page.time(&s), page.time(&e))
            }
            (Some(s), Some(e)) => format!("{}–{}", page.time(&s), page.lang.date_time(&e)),
            _ => r.starts.clone(),
        };
        let organiser_time = (r.organiser_zone != r.zone).then(|| {
            let wall = r
                .organiser_starts
                .get(11..16)
                .unwrap_or(&r.organiser_starts);
            format!("{wall} {}", r.organiser_zone)
        });
        let status = name_of(&r.status);
        SessionView {
            id: r.id.clone(),
            title: r.title.clone(),
            time,
            organiser_time,
            organiser: orgs.label(&r.organiser),
            format: page.t(&format!("format-{}", name_of(&r.format).replace(' ', "-"))),
            cancelled: status == "cancelled",
            status: page.t(&format!("event-status-{status}")),
            place: r.location.clone(),
            online_url: r.online_url.clone(),
        }
    }

    /// The local day the session starts on.
    fn day(r: &AgendaRow) -> Option<NaiveDate> {
        parse_time(&r.starts).map(|t| t.date_naive())
    }
}

/// Today in `zone`.
pub fn today(zone: &str) -> NaiveDate {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).date_naive()
}

struct DayCell {
    day: u32,
    label: String,
    in_month: bool,
    today: bool,
    sessions: Vec<SessionView>,
}

#[derive(Template)]
#[template(path = "month.html")]
struct MonthPage {
    page: Page,
    heading: String,
    /// `YYYY-MM`.
    month: String,
    zone: String,
    weekdays: Vec<String>,
    weeks: Vec<Vec<DayCell>>,
    prev: String,
    next: String,
    this_month: String,
    organisations: Vec<super::Opt>,
    organisation: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthQuery {
    /// `YYYY-MM`.
    month: String,
    organisation: String,
}

fn org_filter(organisation: &str) -> ListFilter {
    ListFilter {
        organisation: (!organisation.is_empty()).then(|| organisation.to_owned()),
        ..Default::default()
    }
}

fn month_url(first: NaiveDate, organisation: &str) -> String {
    let mut u = format!("/calendar?month={}", first.format("%Y-%m"));
    if !organisation.is_empty() {
        u.push_str(&format!("&organisation={}", super::urlencode(organisation)));
    }
    u
}

async fn month(State(state): State<AppState>, staff: Staff, Query(q): Query<MonthQuery>) -> Answer {
    let zone = staff.zone(&state);
    let today = today(&zone);
    let first = NaiveDate::parse_from_str(&format!("{}-01", q.month.trim()), "%Y-%m-%d")
        .unwrap_or_else(|_| today.with_day(1).expect("day 1"));
    let next_first = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let last = next_first.pred_opt().unwrap_or(first);
    let page = staff.page("calendar", staff.lang.month_year(first));
    let rows = state
        .api
        .agenda(
            &first.to_string(),
            &last.to_string(),
            &zone,
            org_filter(&q.organisation),
        )
        .await
        .map_err(|e: ApiError| Failure::api(&page, e))?;
    let orgs = state.org_names().await;
    let grid_start = first - Duration::days(first.weekday().num_days_from_monday() as i64);
    let grid_end = last + Duration::days(6 - last.weekday().num_days_from_monday() as i64);
    let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<SessionView>> = Default::default();
    for r in &rows {
        if let Some(d) = SessionView::day(r) {
            by_day
                .entry(d)
                .or_default()
                .push(SessionView::of(&page, &orgs, r));
        }
    }
    let mut weeks = Vec::new();
    let mut d = grid_start;
    while d <= grid_end {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            week.push(DayCell {
                day: d.day(),
                label: page.date(&d),
                in_month: d.month() == first.month(),
                today: d == today,
                sessions: by_day.remove(&d).unwrap_or_default(),
            });
            d += Duration::days(1);
        }
        weeks.push(week);
    }
    let prev_first = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    Ok(render(&MonthPage {
        heading: page.lang.month_year(first),
        month: first.format("%Y-%m").to_string(),
        zone,
        weekdays: (0..7).map(|i| page.lang.weekday_short(i)).collect(),
        weeks,
        prev: month_url(prev_first, &q.organisation),
        next: month_url(next_first, &q.organisation),
        this_month: month_url(today.with_day(1).expect("day 1"), &q.organisation),
        organisations: orgs
            .keys()
            .map(|k| super::Opt::new(k, &orgs.label(k)))
            .collect(),
        organisation: q.organisation,
        page,
    }))
}

struct AgendaDay {
    heading: String,
    sessions: Vec<SessionView>,
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    page: Page,
    zone: String,
    range: String,
    days: Vec<AgendaDay>,
    prev: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AgendaQuery {
    /// `YYYY-MM-DD`; today by default.
    from: String,
    days: Option<i64>,
    organisation: String,
}

async fn agenda(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AgendaQuery>,
) -> Answer {
    let zone = staff.zone(&state);
    let from =
        NaiveDate::parse_from_str(q.from.trim(), "%Y-%m-%d").unwrap_or_else(|_| today(&zone));
    let span = q.days.unwrap_or(AGENDA_DAYS).clamp(1, MAX_AGENDA_DAYS);
    let to = from + Duration::days(span - 1);
    let page = staff.page("calendar", staff.lang.t("agenda-title"));
    let rows = state
        .api
        .agenda(
            &from.to_string(),
            &to.to_string(),
            &zone,
            org_filter(&q.organisation),
        )
        .await
        .map_err(|e| Failure::api(&page, e))?;
    let orgs = state.org_names().await;
    let mut days: Vec<AgendaDay> = Vec::new();
    let mut current: Option<NaiveDate> = None;
    for r in &rows {
        let Some(d) = SessionView::day(r) else {
            continue;
        };
        if current != Some(d) {
            current = Some(d);
            days.push(AgendaDay {
                heading: page.date(&d),
                sessions: Vec::new(),
            });
        }
        if let Some(day) = days.last_mut() {
            day.sessions.push(SessionView::of(&page, &orgs, r));
        }
    }
    let url = |from: NaiveDate| format!("/calendar/agenda?from={from}&days={span}");
    Ok(render(&AgendaPage {
        zone,
        range: page.t2(
            "agenda-range",
            ("from", &page.date(&from)),
            ("to", &page.date(&to)),
        ),
        days,
        prev: url(from - Duration::days(span)),
        next: url(to + Duration::days(1)),
        page,
    }))
}

/// The next sessions of one event (at most `n`, within a year), in `zone`.
pub async fn next_sessions(
    state: &AppState,
    e: &Event,
    zone: &str,
    n: usize,
) -> Result<Vec<AgendaRow>, ApiError> {
    let from = today(zone);
    let to = from + Duration::days(MAX_AGENDA_DAYS);
    let filter = org_filter(&e.organiser);
    let rows = state
        .api
        .agenda(&from.to_string(), &to.to_string(), zone, filter)
        .await?;
    Ok(rows.into_iter().filter(|r| r.id == e.id).take(n).collect())
}
