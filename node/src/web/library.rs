//! The library list: practices newest first, filtered by organisation,
//! theme, target group, country, language, status and evidence, or found
//! by full-text search, a page at a time. A practice's own page and its
//! forms are [`super::practices`].

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use r2com_protocol::control::{ApiError, ErrorCode, ListFilter};
use r2com_protocol::ids::RecordKind;

use super::api::PracticeRow;
use super::page::{render, Answer, Failure, Page};
use super::practices::{label_key, EVIDENCE, STATUS};
use super::record_page::notice;
use super::session::Staff;
use super::{name_of, AppState, Opt};
use crate::library::PracticeHits;

/// Practices per page of the list.
pub const PAGE_SIZE: usize = 50;
/// Most search hits considered.
const SEARCH_LIMIT: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/practices", get(list))
}

/// A filter of the list: its select and what is chosen.
struct FilterView {
    name: &'static str,
    label: String,
    options: Vec<Opt>,
    selected: String,
}

/// One entry of the list or of the search results.
struct Item {
    id: String,
    title: String,
    snippet: String,
    meta: String,
}

#[derive(Template)]
#[template(path = "practices.html")]
struct ListPage {
    page: Page,
    notice: Option<String>,
    q: String,
    filters: Vec<FilterView>,
    items: Vec<Item>,
    count_line: String,
    prev: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    organisation: String,
    theme: String,
    target_group: String,
    country: String,
    language: String,
    status: String,
    evidence: String,
    /// Page number, from 1.
    p: usize,
    notice: String,
}

impl ListQuery {
    fn filter(&self) -> ListFilter {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        ListFilter {
            organisation: opt(&self.organisation),
            theme: opt(&self.theme),
            target_group: opt(&self.target_group),
            status: opt(&self.status),
            language: opt(&self.language),
            country: opt(&self.country),
            evidence: opt(&self.evidence),
            ..Default::default()
        }
    }

    /// This query on page `p`.
    fn url(&self, p: usize) -> String {
        let pairs = [
            ("q", &self.q),
            ("organisation", &self.organisation),
            ("theme", &self.theme),
            ("target_group", &self.target_group),
            ("country", &self.country),
            ("language", &self.language),
            ("status", &self.status),
            ("evidence", &self.evidence),
        ];
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("p", &p.to_string());
        format!("/practices?{}", s.finish())
    }
}

fn meta(page: &Page, orgs: &super::OrgNames, row: &PracticeRow) -> String {
    [
        orgs.label(&row.organisation),
        page.t(&label_key("status", &name_of(&row.status))),
        page.t(&label_key("evidence", &name_of(&row.evidence))),
        page.t1("practice-updated", "when", &page.when(&row.updated_at)),
    ]
    .join(" · ")
}

async fn list(State(state): State<AppState>, staff: Staff, Query(q): Query<ListQuery>) -> Answer {
    let page = staff.page("library", staff.lang.t("library-title"));
    let fail = |e: ApiError| Failure::api(&page, e);
    let orgs = state.org_names().await;
    let facets = state.facets.get(&state.api).await;
    let p = q.p.max(1);
    let mut error = None;
    let (items, total) = if q.q.trim().is_empty() {
        let mut rows = state
            .api
            .list(RecordKind::Practice, q.filter())
            .await
            .map_err(fail)?;
        rows.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
        let total = rows.len();
        let items = rows
            .iter()
            .skip((p - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|r| Item {
                id: r.id.clone(),
                title: r.title.clone(),
                snippet: String::new(),
                meta: meta(&page, &orgs, r),
            })
            .collect();
        (items, total)
    } else {
        let found = state
            .api
            .search_practices(
                &q.q,
                q.filter(),
                SEARCH_LIMIT,
                (p - 1) * PAGE_SIZE,
                PAGE_SIZE,
            )
            .await;
        let found = match found {
            Ok(f) => f,
            Err(e) if e.code == ErrorCode::Invalid => {
                error = Some(page.t("search-no-words"));
                PracticeHits::default()
            }
            Err(e) => return Err(fail(e)),
        };
        let items = found
            .hits
            .iter()
            .map(|(h, row)| Item {
                id: h.id.clone(),
                title: h.title.clone(),
                snippet: h.snippet.clone(),
                meta: meta(&page, &orgs, row),
            })
            .collect();
        (items, found.total)
    };
    let opts = |values: &[String]| -> Vec<Opt> { values.iter().map(|v| Opt::same(v)).collect() };
    let fixed = |prefix: &str, values: &[&str]| -> Vec<Opt> {
        values
            .iter()
            .map(|v| Opt::new(v, &page.t(&label_key(prefix, v))))
            .collect()
    };
    let filters = vec![
        FilterView {
            name: "organisation",
            label: page.t("field-organisation"),
            options: facets
                .organisations
                .iter()
                .map(|o| Opt::new(o, &orgs.label(o)))
                .collect(),
            selected: q.organisation.clone(),
        },
        FilterView {
            name: "theme",
            label: page.t("field-themes"),
            options: opts(&facets.themes),
            selected: q.theme.clone(),
        },
        FilterView {
            name: "target_group",
            label: page.t("field-target-groups"),
            options: opts(&facets.target_groups),
            selected: q.target_group.clone(),
        },
        FilterView {
            name: "country",
            label: page.t("field-countries"),
            options: opts(&facets.countries),
            selected: q.country.clone(),
        },
        FilterView {
            name: "language",
            label: page.t("field-languages"),
            options: opts(&facets.languages),
            selected: q.language.clone(),
        },
        FilterView {
            name: "status",
            label: page.t("field-status"),
            options: fixed("status", &STATUS),
            selected: q.status.clone(),
        },
        FilterView {
            name: "evidence",
            label: page.t("field-evidence"),
            options: fixed("evidence", &EVIDENCE),
            selected: q.evidence.clone(),
        },
    ];
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let count_line = if q.q.trim().is_empty() {
        page.t2(
            "library-count",
            ("count", &total.to_string()),
            ("page", &format!("{p}/{pages}")),
        )
    } else {
        page.t2(
            "search-count",
            ("count", &total.to_string()),
            ("page", &format!("{p}/{pages}")),
        )
    };
    Ok(render(&ListPage {
        notice: notice(&page, &q.notice),
        q: q.q.clone(),
        filters,
        items,
        count_line,
        prev: (p > 1).then(|| q.url(p - 1)),
        next: (p < pages).then(|| q.url(p + 1)),
        error,
        page,
    }))
}
